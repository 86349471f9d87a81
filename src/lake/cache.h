/*
 * lake/cache.h — the lake's state, shared by lake.c (freshness, priming, search) and
 * lake_persist.c (bundles, warm restart, sessions).
 *
 * Locking: one mutex `mu` guards every map, key, entry field except `refs`, and the stats.
 * Backend calls, index builds, file I/O and scans run without it. A cache entry is an immutable
 * (frozen) index plus the bundle fields it was built from; `refs` counts its holders (the entry
 * map, searches in flight, sessions), so an evicted entry lives until its last search ends.
 */
#ifndef RV_LAKE_CACHE_H
#define RV_LAKE_CACHE_H

#include <pthread.h>
#include <stdatomic.h>

#include "lake/lake_internal.h"

typedef struct rv_entry {
    atomic_uint refs;
    rv_index *index;
    rv_bundle ident; /* data_ref, dim, seed, rerank, generation and witness it was built from */
    size_t bytes;
    uint64_t last_used;
    unsigned pointers; /* keys pointing at it */
    /* incremental updates (lake.c): an entry is changed in place only while pins == 0 and one
     * key points at it; `updating` is set while a change set is applied (the entry is then out
     * of the entry map, so no other key can share it meanwhile) */
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

void rv_entry_retain(rv_entry *e);
void rv_entry_release(rv_entry *e);
/* Creates an entry (refs 1) around a frozen index and its bundle fields (moved in). */
rv_status rv_entry_new(rv_index *idx, rv_bundle *ident, rv_entry **out);
/* Under mu: the key record, created on first use (NULL on NO_MEMORY, message set). */
rv_key *rv_lake_key_locked(rv_lake *L, const char *backend, const char *collection);
/* Under mu: the existing key record or NULL. */
rv_key *rv_lake_find_key_locked(rv_lake *L, const char *backend, const char *collection);
/* Under mu: makes key point at e (inserting e in the entry map if new, taking one ref for the
 * map); drops the old pointer. Evicts over the caps. */
rv_status rv_lake_install_locked(rv_lake *L, rv_key *key, rv_entry *e);
/* Under mu: drops key's pointer (entry freed when no key points at it). */
/* Under mu: waits until e is not being updated in place, then pins it (a snapshot: no in-place
 * update while pinned); rv_entry_unpin_locked undoes it. */
void rv_entry_pin_locked(rv_lake *L, rv_entry *e);
void rv_entry_unpin_locked(rv_entry *e);
void rv_lake_unpoint_locked(rv_lake *L, rv_key *key);
/* Under mu: adds 1 to a stats field in the global, backend and key rows. */
void rv_lake_count_locked(rv_lake *L, rv_key *key, size_t field_offset);
#define RV_COUNT(L, key, field) rv_lake_count_locked((L), (key), offsetof(rv_lake_stats, field))
uint64_t rv_now_ms(void);
/* Loads a saved entry from dir (bundle + index.rvx), checking it against the lake's seed and
 * rerank factor and, when expect is not NULL, that its witness equals expect. */
rv_status rv_lake_load_entry(rv_lake *L, const char *dir, const char *expect, rv_entry **out);
/* The retained backend named `name`, or the one holding `collection` when name is NULL. */
rv_status rv_lake_resolve(rv_lake *L, const char *name, const char *collection, rv_backend **out);
/* The witness for an ident with dim (when ident->dim is 0 the caller supplies it). */
rv_status rv_lake_witness_of_ident(const rv_lake *L, const rv_ident *id, uint32_t dim, char out[RV_WITNESS_HEX + 1]);

#endif
