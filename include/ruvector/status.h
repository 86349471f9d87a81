/*
 * ruvector/status.h — the error model of the whole C API.
 *
 * Every fallible call returns an rv_status. On failure the calling thread also gets a message
 * naming the offending values ("query has dim 127, index has dim 128"), readable with
 * rv_last_error() until the next failing call on that thread. The library never prints, exits
 * or aborts on bad input.
 */
#ifndef RUVECTOR_STATUS_H
#define RUVECTOR_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rv_status {
    RV_OK = 0,
    RV_ERR_INVALID_ARGUMENT = 1,  /* a value out of range: k = 0, dim = 0, NaN in a vector */
    RV_ERR_DIMENSION_MISMATCH = 2,/* vector dim != index dim */
    RV_ERR_EMPTY_INDEX = 3,       /* search on an index holding no vectors */
    RV_ERR_DUPLICATE_ID = 4,      /* add of an id the index already holds */
    RV_ERR_UNKNOWN_ID = 5,        /* get/remove of an id the index does not hold */
    RV_ERR_NOT_RETAINED = 6,      /* original vectors asked of an index that keeps codes only */
    RV_ERR_BUSY = 7,              /* mutation while the storage is pinned (exported view) */
    RV_ERR_CHANGED = 8,           /* the index changed under an iterator */
    RV_ERR_NO_MEMORY = 9,         /* allocation failed or a size overflowed */
    RV_ERR_IO = 10,               /* open/read/write/fsync/rename failed (errno in the message) */
    RV_ERR_FORMAT = 11,           /* a file is truncated, corrupt, or not ours */
    RV_ERR_CANCELLED = 12,        /* a progress callback asked to stop */
    RV_ERR_INTERNAL = 13,         /* a broken invariant: a bug, please report it */
    RV_ERR_LAKE = 14,             /* RuLake: unknown/ambiguous backend or collection, bad bundle */
    RV_ERR_BACKEND = 15,          /* a backend failed or returned bad data (message names it) */
    RV_ERR_CACHE_MISS = 16,       /* pull_on_miss is off and the cache cannot serve the key */
    RV_ERR_WITNESS = 17,          /* a bundle's witness does not verify or does not match */
    RV_ERR_MODEL = 18,            /* an embedding model is missing, unreadable, malformed, fails
                                     its pinned digest, or produced non-finite output */
    RV_ERR_TRANSPORT = 19,        /* HTTP/SSE: DNS, connect, TLS, timeout, reset, redirects, caps */
    RV_ERR_POLICY = 20,           /* A2A: a task policy guard refused or aborted a call */
    RV_ERR_BUDGET = 21,           /* A2A: the process-wide budget gate refused a call */
    RV_ERR_SIGNATURE = 22         /* A2A: an agent card's signature or identity does not verify */
} rv_status;

/* Stable name of a status ("RV_ERR_FORMAT"); never NULL. */
const char *rv_status_name(rv_status status);

/* Message of the last failing call on this thread; "" if none. Borrowed: valid until the next
 * ruvector call on this thread. */
const char *rv_last_error(void);

/* Sets the calling thread's error message (printf-style) and returns status, so a failing path
 * reads `return rv_fail(RV_ERR_..., "...", ...)`. For code implementing callbacks the library
 * calls (RuLake backends). Never fails (the message is truncated to 511 bytes). */
rv_status rv_fail(rv_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
