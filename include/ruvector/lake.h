/*
 * ruvector/lake.h — RuLake: a cache-first vector federation layer over backends.
 *
 * Vectors live in backends (in memory, files, user-defined stores). Per (backend, collection)
 * key the lake keeps a RABITQ_PLUS index built from the backend's data and serves searches from
 * it. A witness — SHAKE-256/32 over the collection's identity and version (data_ref, dim,
 * rotation seed, rerank factor, generation), lowercase hex — tells whether the cache is
 * current; keys with the same witness share one cache entry.
 *
 * Thread safety: every function may be called from any number of threads at once unless it
 * says otherwise. Backend callbacks run without any lake lock held and may be called from
 * several threads at once.
 * Ownership: strings and arrays passed in are borrowed for the call; handles are freed with
 * their *_release/_destroy function; strings returned inside structs are owned by the struct.
 */
#ifndef RUVECTOR_LAKE_H
#define RUVECTOR_LAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ruvector/base.h"
#include "ruvector/index.h"
#include "ruvector/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RV_LAKE_MAX_DIM 8192u                 /* upstream's pulled-batch caps */
#define RV_LAKE_MAX_VECTORS 100000000u
#define RV_WITNESS_HEX 64u

/* ---- witness ---------------------------------------------------------------------------- */

/* A collection's version: a number or an opaque string (upstream Generation::Num / Opaque). */
typedef struct rv_generation {
    bool opaque;
    uint64_t num;      /* when !opaque */
    const char *text;  /* when opaque: NUL-terminated UTF-8, borrowed */
} rv_generation;

/* Writes the 64 lowercase hex chars + NUL of the upstream "rulake-bundle-witness-v1" digest
 * into out. Errors: INVALID_ARGUMENT (NULL strings), INTERNAL (libcrypto failure). */
rv_status rv_witness(const char *data_ref, uint64_t dim, uint64_t rotation_seed,
                     uint64_t rerank_factor, const rv_generation *generation,
                     char out[RV_WITNESS_HEX + 1]);

/* ---- bundles (table.rulake.json) -------------------------------------------------------- */

/* Owned strings (rv_bundle_clear frees them). Optional ones are NULL when absent. */
typedef struct rv_bundle {
    uint32_t format_version;
    char *data_ref;
    uint64_t dim, rotation_seed, rerank_factor;
    bool gen_opaque;
    uint64_t gen_num;
    char *gen_text;
    char witness[RV_WITNESS_HEX + 1];
    char *pii_policy, *lineage_id, *memory_class;
    char *index_sha256; /* ours: hex SHA-256 of the index file saved beside it (warm restart) */
} rv_bundle;

void rv_bundle_clear(rv_bundle *b);
/* Writes dir/table.rulake.json atomically (mkdir -p dir). Errors: IO, INVALID_ARGUMENT. */
rv_status rv_bundle_write_dir(const rv_bundle *b, const char *dir);
/* Reads and validates dir/table.rulake.json (size caps, format_version <= 2, field types) and
 * verifies its witness. Errors: IO (missing/unreadable), LAKE (malformed), WITNESS. */
rv_status rv_bundle_read_dir(const char *dir, rv_bundle *out);
/* Parses bundle JSON text without verifying the witness. Errors: LAKE. */
rv_status rv_bundle_parse(const char *json, size_t len, rv_bundle *out);
/* Recomputes the witness from the fields; true when it equals b->witness exactly. */
bool rv_bundle_verify(const rv_bundle *b);

/* ---- backends --------------------------------------------------------------------------- */

typedef struct rv_backend rv_backend;

/* What a backend reports for a collection: its identity and version. */
typedef struct rv_ident {
    char *data_ref;  /* owned (rv_alloc'ed by the backend) */
    uint32_t dim;    /* 0: unknown until pulled */
    bool opaque;
    uint64_t num;
    char *text;      /* owned, when opaque */
} rv_ident;
/* Frees the strings and zeroes the struct. Never fails. */
void rv_ident_clear(rv_ident *id);

/* A pulled collection: n rows of dim floats with their ids, owned (rv_pulled_clear frees). */
typedef struct rv_pulled {
    int64_t *ids;
    float *vectors;
    size_t n;
    uint32_t dim;
} rv_pulled;
/* Frees the arrays and zeroes the struct. Never fails. */
void rv_pulled_clear(rv_pulled *p);

/* What changed in a collection since one of its generations, as the backend holds it now: n rows
 * upserted (ids and their current vectors of dim floats), nremoved ids removed, and the identity
 * (as ident() reports it) the changes bring the collection to. Owned (rv_changes_clear frees). */
typedef struct rv_changes {
    int64_t *ids;
    float *vectors;
    size_t n;
    uint32_t dim;
    int64_t *removed;
    size_t nremoved;
    rv_ident at;
} rv_changes;
/* Frees the arrays and the identity and zeroes the struct. Never fails. */
void rv_changes_clear(rv_changes *c);

/* A backend implementation. Each callback returns a status and sets rv_fail's message; memory
 * handed back is allocated with rv_lake_alloc. Callbacks must be thread-safe. */
typedef struct rv_backend_ops {
    rv_status (*ident)(void *self, const char *collection, rv_ident *out);
    rv_status (*pull)(void *self, const char *collection, rv_pulled *out);
    /* *out = whether the backend holds the collection */
    rv_status (*holds)(void *self, const char *collection, bool *out);
    /* *names = array of *count NUL-terminated strings, each and the array rv_lake_alloc'ed */
    rv_status (*list)(void *self, char ***names, size_t *count);
    void (*destroy)(void *self);
    /* Optional (NULL: the backend cannot say; the lake then pulls). The changes since the
     * generation in *since (its data_ref, opaque, num, text), read at one instant. *known =
     * false when the backend's bounded change log does not reach back to it (or it is not one
     * of the collection's generations): the lake then pulls. The built-in backends log the ids
     * of their last writes, bounded by RV_CHANGELOG_MAX_IDS / _WRITES (below). */
    rv_status (*changes)(void *self, const char *collection, const rv_ident *since, rv_changes *out,
                         bool *known);
} rv_backend_ops;

/* Memory for backend callbacks' results (64-byte aligned; rv_lake_free releases). */
void *rv_lake_alloc(size_t size);
void rv_lake_free(void *p);

/* Wraps an implementation; self is owned by the backend from now on (ops->destroy frees it,
 * also on failure). name: 1..255 bytes. Starts with one reference. Errors: INVALID_ARGUMENT,
 * NO_MEMORY. */
rv_status rv_backend_new(const char *name, const rv_backend_ops *ops, void *self, rv_backend **out);
void rv_backend_retain(rv_backend *b);
void rv_backend_release(rv_backend *b);
const char *rv_backend_name(const rv_backend *b);
/* The implementation pointer when b was made with ops, else NULL. */
void *rv_backend_impl(const rv_backend *b, const rv_backend_ops *ops);
/* Lists the collections (names as in rv_backend_ops.list; free with rv_lake_free_names). */
rv_status rv_backend_list(rv_backend *b, char ***names, size_t *count);
void rv_lake_free_names(char **names, size_t count);

/* The built-in backends' change logs keep the ids of at most this many writes and ids (the
 * oldest go first; a generation older than the log is answered "not known" and the lake pulls).
 * Fixed caps, not tunables: they bound each collection's log memory. */
#define RV_CHANGELOG_MAX_IDS 65536u
#define RV_CHANGELOG_MAX_WRITES 4096u

/* In-memory backend. upsert inserts or replaces by id (the collection is created, its dim fixed
 * by the first upsert); delete removes the ids it holds (*removed counts them); drop removes
 * the collection. Every write bumps the collection's generation and is logged (the ids it
 * touched, bounded by RV_CHANGELOG_MAX_IDS / _WRITES) so the lake can update its
 * cache in place. Errors: INVALID_ARGUMENT (non-finite values, bad names), DUPLICATE_ID (an id
 * twice in one upsert, as rv_index_build refuses; nothing is written), DIMENSION_MISMATCH, LAKE
 * (unknown collection), NO_MEMORY. */
rv_status rv_local_backend_new(const char *name, rv_backend **out);
/* Inserts or replaces rows by id. */
rv_status rv_local_upsert(rv_backend *b, const char *collection, const int64_t *ids,
                          const float *vectors, size_t n, uint32_t dim);
/* Removes the ids held; *removed counts them. */
rv_status rv_local_delete(rv_backend *b, const char *collection, const int64_t *ids, size_t n,
                          size_t *removed);
/* Removes the collection. */
rv_status rv_local_drop(rv_backend *b, const char *collection);

/* File backend: one upstream "ruvec1" file per collection, named by the collection, under root
 * (created). Same write operations as the local backend, each an atomic rewrite of the file; the
 * change log covers this process's writes only (a file another writer changed is pulled).
 * Collection names must be safe file names (no '/', '\\', ':', control bytes, '.', '..').
 * Errors: as the local backend, plus IO, and BACKEND for a corrupt file. */
rv_status rv_fsb_new(const char *name, const char *root, rv_backend **out);
/* As rv_local_upsert, rewriting the collection's file atomically. */
rv_status rv_fsb_upsert(rv_backend *b, const char *collection, const int64_t *ids,
                       const float *vectors, size_t n, uint32_t dim);
/* As rv_local_delete, rewriting the file when something was removed. */
rv_status rv_fsb_delete(rv_backend *b, const char *collection, const int64_t *ids, size_t n,
                       size_t *removed);
/* Deletes the collection's file. */
rv_status rv_fsb_drop(rv_backend *b, const char *collection);
/* Validates a collection/file name by upstream's rules. Errors: INVALID_ARGUMENT. */
rv_status rv_fsb_check_name(const char *name);

/* ---- the lake --------------------------------------------------------------------------- */

typedef struct rv_lake rv_lake;
typedef struct rv_lake_session rv_lake_session;

typedef enum rv_consistency {
    RV_CONSISTENCY_FRESH = 0,    /* ask the backend for its witness on every search */
    RV_CONSISTENCY_EVENTUAL = 1, /* re-check at most every eventual_ttl_ms */
    RV_CONSISTENCY_STALE = 2     /* never re-check a primed key */
} rv_consistency;

/* The lake's tunables, each a DEFAULT/MIN/MAX triple (rv_lake_params_default uses the
 * defaults; rv_lake_create checks rerank_factor and reprime_fraction against their ranges). The
 * seed, entry and byte bounds and TTL take any value in C; their MIN/MAX are the range the
 * Python glue accepts (Python and JSON ints stay exact below 2^63), where None / 0 means
 * unbounded. */
#define RV_LAKE_RERANK_FACTOR_DEFAULT RV_RERANK_FACTOR_DEFAULT_PLUS /* the lake builds RABITQ_PLUS */
#define RV_LAKE_RERANK_FACTOR_MIN RV_RERANK_FACTOR_MIN
#define RV_LAKE_RERANK_FACTOR_MAX RV_RERANK_FACTOR_MAX
#define RV_LAKE_ROTATION_SEED_DEFAULT 42u
#define RV_LAKE_ROTATION_SEED_MIN 0u
#define RV_LAKE_ROTATION_SEED_MAX 0x7fffffffffffffffu
#define RV_LAKE_MAX_ENTRIES_DEFAULT 0u /* unbounded */
#define RV_LAKE_MAX_ENTRIES_MIN 1u
#define RV_LAKE_MAX_ENTRIES_MAX 0x7fffffffffffffffu
#define RV_LAKE_MAX_BYTES_DEFAULT 0u /* unbounded */
#define RV_LAKE_MAX_BYTES_MIN 1u
#define RV_LAKE_MAX_BYTES_MAX 0x7fffffffffffffffu
#define RV_LAKE_EVENTUAL_TTL_MS_DEFAULT 1000u
#define RV_LAKE_EVENTUAL_TTL_MS_MIN 0u
#define RV_LAKE_EVENTUAL_TTL_MS_MAX 0x7fffffffffffffffu

typedef struct rv_lake_params {
    uint32_t rerank_factor;     /* RV_LAKE_RERANK_FACTOR_MIN..MAX; part of the witness */
    uint64_t rotation_seed;     /* part of the witness */
    size_t max_entries;         /* 0: unbounded */
    size_t max_bytes;           /* 0: unbounded */
    rv_consistency consistency;
    uint64_t eventual_ttl_ms;
    bool pull_on_miss;          /* false: a search needing a pull fails with CACHE_MISS */
    const char *cache_dir;      /* NULL: none. Sessions save primed entries here on close, and
                                   a miss warms from here when the saved witness is current */
    double reprime_fraction;    /* incremental updates (see below); 0 turns them off */
} rv_lake_params;

/* Incremental updates: when a key's entry is stale and its backend can say what changed since
 * the entry's generation (rv_backend_ops.changes), the lake applies the changes to the cached
 * index in place (under the index's write lock: concurrent searches see it before or after)
 * instead of pulling and rebuilding. Once the rows changed since the last full prime exceed
 * reprime_fraction x the rows it had, the lake also re-primes the key in the background on the
 * worker pool while the updated entry keeps serving, and swaps the fresh build in when it is at
 * the same version. An entry pinned by a session or a save, or shared by several keys, is never
 * changed in place: such a key is re-primed as before. */
#define RV_LAKE_REPRIME_FRACTION_DEFAULT 0.10
#define RV_LAKE_REPRIME_FRACTION_MIN 0.0
#define RV_LAKE_REPRIME_FRACTION_MAX 1.0

rv_lake_params rv_lake_params_default(void);

typedef struct rv_lake_stats {
    uint64_t hits, misses, primes, invalidations, evictions, shared_hits, warm_installs, pulls;
    double total_prime_ms, last_prime_ms;
} rv_lake_stats;

/* One federated hit. backend points at the backend's name (valid while the lake lives). */
typedef struct rv_lake_hit {
    const char *backend;
    int64_t id;
    float score;
} rv_lake_hit;

/* Creates a lake. Errors: INVALID_ARGUMENT, NO_MEMORY. Free with rv_lake_destroy (not while
 * other calls run). */
rv_status rv_lake_create(const rv_lake_params *params, rv_lake **out);
void rv_lake_destroy(rv_lake *lake);
rv_lake_params rv_lake_params_of(const rv_lake *lake);

/* Adds a backend (the lake takes its own reference). Errors: LAKE (duplicate name). */
rv_status rv_lake_register(rv_lake *lake, rv_backend *backend);
/* The registered backend with this name, retained (release it), or NULL. */
rv_backend *rv_lake_backend(rv_lake *lake, const char *name);

/* Searches m queries against one collection. backend NULL: the one backend holding it (none or
 * several: LAKE naming them). One freshness check for the whole call. Writes kk = min(k, n,
 * out_cap) slots per query in rows of stride kk (ids/scores hold m * min(k, out_cap)), kk to
 * *k_out, each row's number of real hits to counts_out (m entries, or NULL; slots past it hold
 * RV_PAD_ID / +inf, as rv_index_search) and the backend's name to *backend_out. session may be
 * NULL. progress reports a prime and, between chunks of a batch, lets the caller cancel.
 * Errors: LAKE, BACKEND, CACHE_MISS, DIMENSION_MISMATCH, EMPTY_INDEX, INVALID_ARGUMENT,
 * NO_MEMORY, CANCELLED. */
rv_status rv_lake_search(rv_lake *lake, rv_lake_session *session, const char *backend,
                         const char *collection, const float *queries, size_t m, uint32_t dim,
                         size_t k, size_t out_cap, int64_t *ids, float *scores, size_t *counts_out,
                         size_t *k_out, const char **backend_out, const rv_progress *progress);

/* Searches every named backend (NULL/0: every backend holding the collection) in parallel and
 * merges by score, ties by backend name then id. Writes up to k hits to out, count to *count.
 * Errors: as rv_lake_search; LAKE when no backend holds the collection. */
rv_status rv_lake_search_federated(rv_lake *lake, rv_lake_session *session,
                                   const char *const *backends, size_t nbackends,
                                   const char *collection, const float *query, uint32_t dim,
                                   size_t k, rv_lake_hit *out, size_t *count);

/* Cache management. key = (backend, collection). */
rv_status rv_lake_invalidate(rv_lake *lake, const char *backend, const char *collection);
/* Copies the key's current witness into out; false when the key is not primed. */
bool rv_lake_witness_of(rv_lake *lake, const char *backend, const char *collection,
                        char out[RV_WITNESS_HEX + 1]);
/* The key's cached index, retained (rv_index_release it; it is frozen), or NULL. */
rv_index *rv_lake_cached_index(rv_lake *lake, const char *backend, const char *collection);
/* Whether idx is an index the cache currently serves. */
bool rv_lake_holds_index(rv_lake *lake, const rv_index *idx);
size_t rv_lake_entry_count(rv_lake *lake);
size_t rv_lake_cached_bytes(rv_lake *lake);
rv_lake_stats rv_lake_stats_get(rv_lake *lake);
/* Per-backend (collection NULL) or per-key stats; false when nothing was recorded for it. */
bool rv_lake_stats_for(rv_lake *lake, const char *backend, const char *collection, rv_lake_stats *out);
/* Keys with stats, as parallel arrays of backend/collection names (rv_lake_free_names each). */
rv_status rv_lake_stat_keys(rv_lake *lake, char ***backends, char ***collections, size_t *count);

/* Writes the backend's current bundle for the collection into out_dir; the witness to out.
 * Errors: LAKE, BACKEND, IO. */
rv_status rv_lake_publish_bundle(rv_lake *lake, const char *backend, const char *collection,
                                 const char *out_dir, char out[RV_WITNESS_HEX + 1]);

typedef enum rv_refresh_result {
    RV_REFRESH_UP_TO_DATE = 0,
    RV_REFRESH_INVALIDATED = 1,
    RV_REFRESH_BUNDLE_MISSING = 2
} rv_refresh_result;
/* First the key itself: an unregistered backend, or a collection the backend does not hold and
 * the lake does not cache, is LAKE naming it (a typo must not read as UP_TO_DATE). Then
 * upstream's order: no bundle file -> BUNDLE_MISSING; unreadable/invalid -> LAKE or WITNESS,
 * cache untouched; the key's witness equals the bundle's -> UP_TO_DATE; differs -> invalidate,
 * INVALIDATED; the key is not primed -> UP_TO_DATE. */
rv_status rv_lake_refresh_from_bundle_dir(rv_lake *lake, const char *backend,
                                          const char *collection, const char *dir,
                                          rv_refresh_result *out);

/* Saves the key's entry (index with codes and real ids, plus the bundle of the witness it was
 * built from, binding the index file by SHA-256) into dir. Errors: LAKE (not primed), IO. */
rv_status rv_lake_save_entry(rv_lake *lake, const char *backend, const char *collection,
                             const char *dir);
/* Installs an entry saved by rv_lake_save_entry for the key without contacting the backend;
 * *n_out = vectors. Errors: IO, WITNESS (bundle does not verify, or was made with another
 * seed/rerank factor), PERSIST-class FORMAT (index file does not match its bundle). */
rv_status rv_lake_warm_from_dir(rv_lake *lake, const char *backend, const char *collection,
                                const char *dir, size_t *n_out);

/* Sessions: the first search of a key in a session checks freshness once and pins the entry;
 * later searches of that key in the session use the pinned entry (a consistent snapshot).
 * rv_lake_session_close saves pinned entries to the lake's cache_dir (when set) and frees the
 * session; it returns the first save error, if any. */
rv_status rv_lake_session_open(rv_lake *lake, rv_lake_session **out);
rv_status rv_lake_session_close(rv_lake_session *s);
/* The per-key directory name used under cache_dir (for users who want to inspect it). */
rv_status rv_lake_key_dirname(const char *backend, const char *collection, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
