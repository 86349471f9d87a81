/*
 * lake/lake_internal.h — what the RuLake files share: the backends' helpers (util.c,
 * backend.c), and the lake's state with the functions its phase files call across each other
 * (lake.c lifecycle and resolve, lake_cache.c keys, entries and LRU, lake_stats.c, lake_prime.c
 * acquire and single-flight priming, lake_update.c incremental updates and background
 * re-primes, lake_search.c, lake_persist.c bundles, warm restart and sessions).
 *
 * Locking: one mutex `mu` guards every map, key, entry field except `refs`, and the stats.
 * Backend calls, index builds, file I/O and scans run without it. A cache entry is an immutable
 * (frozen) index plus the bundle fields it was built from, except while an incremental update
 * applies a change set to it (`updating`, under the index's own write lock); `refs` counts its
 * holders (the entry map, searches in flight, sessions), so an evicted entry lives until its
 * last search ends. Functions named *_locked are called with mu held; the others take it
 * themselves or need no lock.
 *
 * One header rather than two (this used to be lake_internal.h for the backends and cache.h
 * for the lake): the backends need only the first half, but a split saved no rebuilds and made
 * every reader look in two places.
 */
#ifndef RV_LAKE_INTERNAL_H
#define RV_LAKE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/internal.h"
#include "base/strmap.h"
#include "ruvector/lake.h"

#define RV_BUNDLE_FILE "table.rulake.json"
#define RV_ENTRY_INDEX_FILE "index.rvx"
#define RV_BUNDLE_MAX_BYTES 65536u
#define RV_BUNDLE_MAX_FIELD 4096u

/* ---- backend helpers (util.c, backend.c) ------------------------------------------------ */

/* Hex SHA-256 of a whole file. Errors: IO, INTERNAL. */
rv_status rv_sha256_file(const char *path, char out[65]);
/* mkdir -p. Errors: IO. */
rv_status rv_mkdirs(const char *dir);
/* Checks a pulled batch: dims and counts within upstream's caps, every value finite. Errors:
 * BACKEND naming the backend and collection. */
rv_status rv_pulled_check(const rv_pulled *p, const char *backend, const char *collection);

/* Backend calls with validation (backend.c): ident must carry a data_ref; pulls are checked
 * with rv_pulled_check. */
rv_status rv_backend_ident(rv_backend *b, const char *collection, rv_ident *out);
rv_status rv_backend_pull(rv_backend *b, const char *collection, rv_pulled *out);
rv_status rv_backend_holds(rv_backend *b, const char *collection, bool *out);
/* Whether the backend has a changes callback at all. */
bool rv_backend_tells_changes(const rv_backend *b);
/* The backend's changes since *since, validated as a pull (*known false, nothing owned, when the
 * backend has no changes callback or cannot say). */
rv_status rv_backend_changes(rv_backend *b, const char *collection, const rv_ident *since, rv_changes *out,
                             bool *known);

/* ---- the lake's state ------------------------------------------------------------------- */

typedef struct rv_entry {
    atomic_uint refs;
    rv_index *index;
    rv_bundle ident; /* data_ref, dim, seed, rerank, generation and witness it was built from */
    size_t bytes;
    uint64_t last_used;
    unsigned pointers; /* keys pointing at it */
    /* incremental updates (lake_update.c): an entry is changed in place only while pins == 0 and
     * one key points at it; `updating` is set while a change set is applied (the entry is then
     * out of the entry map, so no other key can share it meanwhile) */
    unsigned pins;      /* sessions and saves holding it as a snapshot */
    bool updating;      /* a change set is being applied */
    bool rebuilding;    /* a background re-prime is queued or running */
    size_t base_n;      /* rows at its last full prime */
    size_t changed;     /* rows changed in place since */
} rv_entry;

typedef struct rv_key {
    char *backend, *collection;
    rv_entry *entry; /* the pointer; NULL when not primed */
    uint64_t last_checked_ms;
    bool checked, priming;
    uint32_t last_dim;
    rv_lake_stats stats;
    /* the last identity the backend reported and its witness, so an unchanged identity costs a
     * comparison instead of a SHAKE-256 */
    rv_ident memo;
    uint32_t memo_dim;
    char memo_witness[RV_WITNESS_HEX + 1];
} rv_key;

struct rv_lake {
    rv_lake_params params;
    char *cache_dir;
    pthread_mutex_t mu;
    pthread_cond_t primed;
    rv_backend **backends; /* registration order */
    size_t nbackends, backends_cap;
    rv_strmap keys;    /* "backend\0collection" -> rv_key* */
    rv_strmap entries; /* witness -> rv_entry* */
    rv_strmap backend_stats; /* backend name -> rv_lake_stats* */
    size_t bytes;
    uint64_t tick;
    rv_lake_stats stats;
    size_t bg_jobs; /* background re-primes queued or running (destroy waits for them) */
};

struct rv_lake_session {
    rv_lake *lake;
    rv_key **keys;
    rv_entry **entries;
    size_t n, cap;
};

/* ---- lake.c: lifecycle, clocks, resolving backends -------------------------------------- */

uint64_t rv_now_ms(void);
double rv_now_sec(void);
/* The retained backend named `name`, or the one holding `collection` when name is NULL. */
rv_status rv_lake_resolve(rv_lake *L, const char *name, const char *collection, rv_backend **out);
/* A retained snapshot of the registered backends (*out holds *n + 1 slots; free with
 * rv_release_backends). Errors: NO_MEMORY. */
rv_status rv_lake_backends(rv_lake *L, rv_backend ***out, size_t *n);
void rv_release_backends(rv_backend **bs, size_t n);
/* "'a', 'b', 'c'" of the backends' names (or "none"), into buf, for messages. */
void rv_lake_names(rv_backend **bs, size_t n, char *buf, size_t cap);

/* ---- lake_cache.c: entries, keys, pointers, LRU eviction -------------------------------- */

void rv_entry_retain(rv_entry *e);
void rv_entry_release(rv_entry *e);
/* Creates an entry (refs 1) around a frozen index and its bundle fields (moved in). */
rv_status rv_entry_new(rv_index *idx, rv_bundle *ident, rv_entry **out);
/* Under mu: waits until e is not being updated in place, then pins it (a snapshot: no in-place
 * update while pinned); rv_entry_unpin_locked undoes it. */
void rv_entry_pin_locked(rv_lake *L, rv_entry *e);
void rv_entry_unpin_locked(rv_entry *e);
/* Under mu: the key record, created on first use (NULL on NO_MEMORY, message set). */
rv_key *rv_lake_key_locked(rv_lake *L, const char *backend, const char *collection);
/* Under mu: the existing key record or NULL. */
rv_key *rv_lake_find_key_locked(rv_lake *L, const char *backend, const char *collection);
/* Under mu: makes key point at e (inserting e in the entry map if new, taking one ref for the
 * map); drops the old pointer. Evicts over the caps. */
rv_status rv_lake_install_locked(rv_lake *L, rv_key *key, rv_entry *e);
/* Under mu: drops key's pointer (entry freed when no key points at it). */
void rv_lake_unpoint_locked(rv_lake *L, rv_key *key);
/* The witness for an ident with dim (when ident->dim is 0 the caller supplies it). */
rv_status rv_lake_witness_of_ident(const rv_lake *L, const rv_ident *id, uint32_t dim, char out[RV_WITNESS_HEX + 1]);

/* ---- lake_stats.c ----------------------------------------------------------------------- */

/* Under mu: adds 1 to a stats field in the global, backend and key rows. */
void rv_lake_count_locked(rv_lake *L, rv_key *key, size_t field_offset);
#define RV_COUNT(L, key, field) rv_lake_count_locked((L), (key), offsetof(rv_lake_stats, field))
/* Under mu: adds a prime's time to the global, backend and key rows. */
void rv_lake_prime_ms_locked(rv_lake *L, rv_key *key, double ms);

/* ---- lake_prime.c: acquire, single-flight priming --------------------------------------- */

/* Builds an entry for the key from cache_dir (when a saved entry is current) or a pull; *warm
 * and *pulled tell which. witness NULL: the backend did not tell its dim. Runs without mu.
 * Errors: CACHE_MISS (pull_on_miss off), BACKEND, and the index build's. */
rv_status rv_lake_prime(rv_lake *L, rv_backend *b, const char *collection, rv_ident *id, const char *witness,
                        const rv_progress *progress, rv_entry **out, bool *warm, bool *pulled);
/* The key's current entry for backend b, retained (checked for freshness per the lake's
 * consistency, primed when stale; recorded in the session s when not NULL). Takes mu. */
rv_status rv_lake_acquire(rv_lake *L, rv_lake_session *s, rv_backend *b, const char *collection,
                          const rv_progress *progress, rv_entry **out);

/* ---- lake_update.c: incremental updates, background re-primes --------------------------- */

/* Under mu: whether the key's stale entry may be brought to `id` in place. */
bool rv_lake_can_update_locked(const rv_lake *L, rv_backend *b, const rv_key *key, const rv_ident *id,
                               uint32_t dim);
/* Under mu (dropped meanwhile): brings the key's stale entry up to date in place. *out = the
 * entry to serve (the caller retains it) when that worked; NULL when the caller should prime
 * as before. */
rv_status rv_lake_update_locked(rv_lake *L, rv_backend *b, rv_key *key, const char *collection, rv_entry **out);

/* ---- lake_persist.c: saved entries, sessions --------------------------------------------- */

/* Loads a saved entry from dir (bundle + index.rvx), checking it against the lake's seed and
 * rerank factor and, when expect is not NULL, that its witness equals expect. */
rv_status rv_lake_load_entry(rv_lake *L, const char *dir, const char *expect, rv_entry **out);
/* The entry the session holds for key, or NULL (s may be NULL). Under mu. */
rv_entry *rv_session_find(rv_lake_session *s, rv_key *key);
/* Under mu: records e (retained and pinned) as the session's snapshot of key. Errors: NO_MEMORY. */
rv_status rv_session_add_locked(rv_lake_session *s, rv_key *key, rv_entry *e);

#endif
