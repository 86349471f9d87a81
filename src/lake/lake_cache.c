/*
 * lake_cache.c — the cache proper: entries (an index with the bundle fields it was built from,
 * reference-counted), keys ((backend, collection) -> the entry it points at), the entry map
 * shared by witness, LRU eviction by entries and bytes, and the cache-management calls
 * (invalidate, witness_of, cached_index, holds_index).
 *
 * Invariants (all under mu): every entry in the entry map is there under its own witness and
 * holds one reference for the map; `pointers` counts the keys pointing at it, and the entry
 * leaves the map when the last one goes. L->bytes is the sum of the mapped entries' bytes
 * (an entry out of the map for an in-place update keeps its bytes counted: its key still
 * points at it). Two keys whose backends report the same data_ref and generation share one
 * entry, so the cache holds each version of the data once.
 *
 * Eviction runs after every install: while over max_entries or max_bytes, the least recently
 * used entry other than the one just installed is dropped and every key pointing at it is
 * unpointed (counted as an eviction per key). Finding the victim is a linear scan of the
 * entries: caches hold tens of entries, each an index of up to millions of rows, so the scan
 * is noise next to one prime; an intrusive LRU list was rejected as bookkeeping that would
 * have to stay right across sharing, in-place re-keying and background swaps. A cache of one
 * may exceed max_bytes (the entry just installed is never its own victim).
 *
 * Keys are looked up by "backend\0collection" in a strmap; the bytes are built in a stack
 * buffer, so a cache hit allocates nothing. Entries are freed by their last rv_entry_release,
 * which may come from a search that outlived the entry's eviction.
 */
#include <string.h>

#include "lake/lake_internal.h"

/* ---- entries ---------------------------------------------------------------------------- */

rv_status rv_entry_new(rv_index *idx, rv_bundle *ident, rv_entry **out)
{
    rv_entry *e = rv_calloc(1, sizeof *e);
    if (!e)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    atomic_init(&e->refs, 1);
    rv_index_freeze(idx);
    e->index = idx;
    e->ident = *ident;
    memset(ident, 0, sizeof *ident);
    e->bytes = rv_index_memory_bytes(idx);
    e->base_n = rv_index_len(idx);
    *out = e;
    return RV_OK;
}

void rv_entry_pin_locked(rv_lake *L, rv_entry *e)
{
    while (e->updating)
        pthread_cond_wait(&L->primed, &L->mu);
    e->pins++;
}

void rv_entry_unpin_locked(rv_entry *e) { e->pins--; }

void rv_entry_release(rv_entry *e)
{
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    rv_index_release(e->index);
    rv_bundle_clear(&e->ident);
    rv_free(e);
}

void rv_entry_retain(rv_entry *e) { atomic_fetch_add(&e->refs, 1); }


/* ---- keys, pointers, eviction (all under mu) -------------------------------------------- */

static size_t rv_key_bytes(const char *backend, const char *collection, char *buf, size_t cap)
{
    size_t a = strlen(backend), b = strlen(collection);
    if (a + b + 1 > cap)
        return 0;
    memcpy(buf, backend, a);
    buf[a] = '\0';
    memcpy(buf + a + 1, collection, b);
    return a + b + 1;
}

rv_key *rv_lake_find_key_locked(rv_lake *L, const char *backend, const char *collection)
{
    char buf[8192];
    size_t len = rv_key_bytes(backend, collection, buf, sizeof buf);
    return len ? rv_strmap_get(&L->keys, buf, len) : NULL;
}

rv_key *rv_lake_key_locked(rv_lake *L, const char *backend, const char *collection)
{
    char buf[8192];
    size_t len = rv_key_bytes(backend, collection, buf, sizeof buf);
    if (!len) {
        rv_fail(RV_ERR_INVALID_ARGUMENT, "backend and collection names are too long");
        return NULL;
    }
    rv_key *key = rv_strmap_get(&L->keys, buf, len);
    if (key)
        return key;
    key = rv_calloc(1, sizeof *key);
    if (key) {
        key->backend = rv_strdup(backend);
        key->collection = rv_strdup(collection);
    }
    if (!key || !key->backend || !key->collection || rv_strmap_put(&L->keys, buf, len, key) != RV_OK) {
        if (key) {
            rv_free(key->backend);
            rv_free(key->collection);
            rv_free(key);
        }
        rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        return NULL;
    }
    return key;
}

/* Under mu: the backend's stats row (created on first use; NULL on no memory). */

static void rv_lake_drop_entry_locked(rv_lake *L, rv_entry *e)
{
    /* an entry being updated is out of the map, and another may hold its old witness's slot */
    if (rv_strmap_get(&L->entries, e->ident.witness, RV_WITNESS_HEX) == e)
        rv_strmap_del(&L->entries, e->ident.witness, RV_WITNESS_HEX);
    L->bytes -= e->bytes;
    rv_entry_release(e); /* the map's reference */
}

void rv_lake_unpoint_locked(rv_lake *L, rv_key *key)
{
    rv_entry *e = key->entry;
    key->entry = NULL;
    key->checked = false;
    if (e && --e->pointers == 0)
        rv_lake_drop_entry_locked(L, e);
}

typedef struct rv_evict_ctx {
    rv_lake *L;
    rv_entry *victim, *keep;
} rv_evict_ctx;

static void rv_find_lru(void *ctx, const char *k, size_t len, void *value)
{
    (void)k, (void)len;
    rv_evict_ctx *c = ctx;
    rv_entry *e = value;
    if (e != c->keep && (!c->victim || e->last_used < c->victim->last_used))
        c->victim = e;
}

static void rv_unpoint_victim(void *ctx, const char *k, size_t len, void *value)
{
    (void)k, (void)len;
    rv_evict_ctx *c = ctx;
    rv_key *key = value;
    if (key->entry == c->victim) {
        key->entry = NULL;
        key->checked = false;
        RV_COUNT(c->L, key, evictions);
    }
}

static void rv_lake_evict_locked(rv_lake *L, rv_entry *keep)
{
    for (;;) {
        bool over = (L->params.max_entries && L->entries.count > L->params.max_entries) ||
                    (L->params.max_bytes && L->bytes > L->params.max_bytes);
        if (!over)
            return;
        rv_evict_ctx c = {L, NULL, keep};
        rv_strmap_each(&L->entries, rv_find_lru, &c);
        if (!c.victim)
            return; /* only the entry just installed is left: a cache of one may exceed max_bytes */
        rv_strmap_each(&L->keys, rv_unpoint_victim, &c);
        rv_lake_drop_entry_locked(L, c.victim);
    }
}

rv_status rv_lake_install_locked(rv_lake *L, rv_key *key, rv_entry *e)
{
    if (key->entry == e) {
        key->checked = true;
        key->last_checked_ms = rv_now_ms();
        return RV_OK;
    }
    if (!rv_strmap_get(&L->entries, e->ident.witness, RV_WITNESS_HEX)) {
        rv_status st = rv_strmap_put(&L->entries, e->ident.witness, RV_WITNESS_HEX, e);
        if (st != RV_OK)
            return st;
        rv_entry_retain(e); /* the map's reference */
        L->bytes += e->bytes;
    }
    if (key->entry) {
        RV_COUNT(L, key, invalidations); /* the key's old entry is stale */
        rv_lake_unpoint_locked(L, key);
    }
    key->entry = e;
    e->pointers++;
    e->last_used = ++L->tick;
    key->checked = true;
    key->last_checked_ms = rv_now_ms();
    key->last_dim = (uint32_t)e->ident.dim;
    rv_lake_evict_locked(L, e);
    return RV_OK;
}

rv_status rv_lake_witness_of_ident(const rv_lake *L, const rv_ident *id, uint32_t dim, char out[RV_WITNESS_HEX + 1])
{
    rv_generation g = {id->opaque, id->num, id->text};
    return rv_witness(id->data_ref, dim, L->params.rotation_seed, L->params.rerank_factor, &g, out);
}

/* ---- cache management ------------------------------------------------------------------- */

rv_status rv_lake_invalidate(rv_lake *L, const char *backend, const char *collection)
{
    pthread_mutex_lock(&L->mu);
    rv_key *key = rv_lake_find_key_locked(L, backend, collection);
    if (key && key->entry) {
        RV_COUNT(L, key, invalidations);
        rv_lake_unpoint_locked(L, key);
    }
    if (key)
        key->checked = false;
    pthread_mutex_unlock(&L->mu);
    return RV_OK;
}

bool rv_lake_witness_of(rv_lake *L, const char *backend, const char *collection, char out[RV_WITNESS_HEX + 1])
{
    pthread_mutex_lock(&L->mu);
    rv_key *key = rv_lake_find_key_locked(L, backend, collection);
    bool found = key && key->entry;
    if (found)
        memcpy(out, key->entry->ident.witness, RV_WITNESS_HEX + 1);
    pthread_mutex_unlock(&L->mu);
    return found;
}

rv_index *rv_lake_cached_index(rv_lake *L, const char *backend, const char *collection)
{
    pthread_mutex_lock(&L->mu);
    rv_key *key = rv_lake_find_key_locked(L, backend, collection);
    rv_index *idx = key && key->entry ? key->entry->index : NULL;
    if (idx)
        rv_index_retain(idx);
    pthread_mutex_unlock(&L->mu);
    return idx;
}

typedef struct rv_holds_ctx {
    const rv_index *idx;
    bool found;
} rv_holds_ctx;

static void rv_holds_visit(void *ctx, const char *k, size_t len, void *value)
{
    (void)k, (void)len;
    rv_holds_ctx *c = ctx;
    if (((rv_entry *)value)->index == c->idx)
        c->found = true;
}

bool rv_lake_holds_index(rv_lake *L, const rv_index *idx)
{
    rv_holds_ctx c = {idx, false};
    pthread_mutex_lock(&L->mu);
    rv_strmap_each(&L->entries, rv_holds_visit, &c);
    pthread_mutex_unlock(&L->mu);
    return c.found;
}
