/*
 * base/hash.h — SHA-256 and SHAKE-256, the library's only two digests, behind one small
 * streaming interface so that exactly one file (hash.c) talks to libcrypto.
 *
 * Users: model downloads (SHA-256 of the bytes as they stream in), RuLake's saved cache entries
 * (SHA-256 of an index file, of a cache key) and the bundle witness (SHAKE-256 squeezed to 32
 * bytes); the coming A2A client derives agent ids with SHAKE-256 too.
 *
 * Errors are sticky: rv_hash_init and rv_hash_update return nothing and a failure inside
 * libcrypto (which in practice means no memory) is remembered, so a caller lays its bytes out
 * as straight-line code and checks once, at rv_hash_final. Considered and rejected: one
 * function per digest with a status on every update (each caller grew a chain of `ok &&` or a
 * goto per field, as witness.c had), and an opaque heap handle (a struct on the caller's stack
 * holding libcrypto's context pointer costs no extra allocation).
 *
 * Threading: an rv_hash belongs to one thread at a time; distinct hashes are independent.
 */
#ifndef RV_BASE_HASH_H
#define RV_BASE_HASH_H

#include <stdbool.h>
#include <stddef.h>

#include "ruvector/status.h"

#define RV_SHA256_BYTES 32u

typedef enum rv_hash_kind {
    RV_HASH_SHA256 = 1,   /* digest of exactly RV_SHA256_BYTES */
    RV_HASH_SHAKE256 = 2  /* extendable output: any length at final */
} rv_hash_kind;

typedef struct rv_hash {
    void *ctx;           /* libcrypto's EVP_MD_CTX, NULL after final/abort */
    rv_hash_kind kind;
    bool failed;         /* an init or update failed: final reports it */
} rv_hash;

/* Starts a digest of the given kind. Never fails by itself: a failure is reported by
 * rv_hash_final. Pair with rv_hash_final or rv_hash_abort. */
void rv_hash_init(rv_hash *h, rv_hash_kind kind);
/* Feeds n bytes (n may be 0, data then may be NULL). */
void rv_hash_update(rv_hash *h, const void *data, size_t n);
/* Writes out_len bytes of digest (RV_SHA256_BYTES for SHA-256, any length for SHAKE-256) and
 * releases the context, successful or not. Errors: INTERNAL ("libcrypto SHA-256 failed", with
 * the digest's name), INVALID_ARGUMENT (an SHA-256 of another length than 32). */
rv_status rv_hash_final(rv_hash *h, unsigned char *out, size_t out_len);
/* Releases the context without a result; safe after final and on a zeroed struct. */
void rv_hash_abort(rv_hash *h);

/* One-shot helpers: the digest of one buffer. Errors as rv_hash_final. */
rv_status rv_sha256(const void *data, size_t n, unsigned char out[RV_SHA256_BYTES]);
rv_status rv_shake256(const void *data, size_t n, unsigned char *out, size_t out_len);

#endif
