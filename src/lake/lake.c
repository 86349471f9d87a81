/*
 * lake.c — the RuLake cache: freshness checks per consistency mode, single-flight priming,
 * entries shared by witness, LRU eviction by entries and bytes, and the searches.
 *
 * A search resolves its backend, then `rv_lake_acquire` returns the key's current entry with a
 * reference held: under STALE a primed key is served as is; under EVENTUAL it is re-checked
 * when its last check is older than the TTL; under FRESH the backend's identity is asked on
 * every call and its witness compared with the entry's. On a miss exactly one thread per key
 * primes (others wait on `primed` and then re-check), first trying an entry with the same
 * witness already in the cache (shared, no pull), then a saved entry in cache_dir whose witness
 * is current (warm, no pull), then pulling and building a RABITQ_PLUS index. The scan runs on
 * the referenced entry without the lake lock.
 *
 * Incremental updates: when the key's entry is stale but only its generation moved (same
 * data_ref and dim), the entry is pinned by nothing and pointed at by this key alone, and the
 * backend can say what changed since the entry's generation, the priming thread takes the entry
 * out of the entry map (no new sharers), applies the change set to its index under the index's
 * write lock (rv_index_apply_changes), and re-keys it under the new witness; concurrent
 * searches of the entry see it before or after. Once the rows changed since the last full prime
 * pass reprime_fraction x its rows, a pool task pulls and builds the key afresh, catches the
 * build up with the backend's changes, and swaps it in at the same witness while the updated
 * entry serves. Anything else (adapters, forgotten history, sessions or saves pinning the
 * entry, failures) primes as before.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/pool.h"
#include "lake/cache.h"

uint64_t rv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double rv_now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

rv_lake_params rv_lake_params_default(void)
{
    return (rv_lake_params){.rerank_factor = 20, .rotation_seed = 42, .max_entries = 0, .max_bytes = 0,
                            .consistency = RV_CONSISTENCY_FRESH, .eventual_ttl_ms = 1000,
                            .pull_on_miss = true, .cache_dir = NULL,
                            .reprime_fraction = RV_LAKE_REPRIME_FRACTION_DEFAULT};
}

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
    rv_index_destroy(e->index);
    rv_bundle_clear(&e->ident);
    rv_free(e);
}

void rv_entry_retain(rv_entry *e) { atomic_fetch_add(&e->refs, 1); }

/* ---- lake lifecycle --------------------------------------------------------------------- */

rv_status rv_lake_create(const rv_lake_params *params, rv_lake **out)
{
    rv_lake_params p = params ? *params : rv_lake_params_default();
    if (p.rerank_factor < 1 || p.rerank_factor > 1024)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "rerank_factor must be in 1..1024, not %u", p.rerank_factor);
    if (p.consistency > RV_CONSISTENCY_STALE)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "unknown consistency %d", (int)p.consistency);
    if (!(p.reprime_fraction >= RV_LAKE_REPRIME_FRACTION_MIN && p.reprime_fraction <= RV_LAKE_REPRIME_FRACTION_MAX))
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "reprime_fraction must be in %g..%g, not %g",
                       RV_LAKE_REPRIME_FRACTION_MIN, RV_LAKE_REPRIME_FRACTION_MAX, p.reprime_fraction);
    rv_lake *L = rv_calloc(1, sizeof *L);
    if (!L)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    L->params = p;
    if (p.cache_dir && !(L->cache_dir = rv_strdup(p.cache_dir))) {
        rv_free(L);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    }
    L->params.cache_dir = L->cache_dir;
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->primed, NULL);
    *out = L;
    return RV_OK;
}

static void rv_free_key(void *ctx, const char *k, size_t len, void *value)
{
    (void)ctx, (void)k, (void)len;
    rv_key *key = value;
    rv_free(key->backend);
    rv_free(key->collection);
    rv_ident_clear(&key->memo);
    rv_free(key);
}

static void rv_free_entry(void *ctx, const char *k, size_t len, void *value)
{
    (void)ctx, (void)k, (void)len;
    rv_entry_release(value);
}

static void rv_free_value(void *ctx, const char *k, size_t len, void *value)
{
    (void)ctx, (void)k, (void)len;
    rv_free(value);
}

void rv_lake_destroy(rv_lake *L)
{
    if (!L)
        return;
    pthread_mutex_lock(&L->mu); /* background re-primes hold the lake */
    while (L->bg_jobs)
        pthread_cond_wait(&L->primed, &L->mu);
    pthread_mutex_unlock(&L->mu);
    rv_strmap_each(&L->keys, rv_free_key, NULL);
    rv_strmap_free(&L->keys);
    rv_strmap_each(&L->entries, rv_free_entry, NULL);
    rv_strmap_free(&L->entries);
    rv_strmap_each(&L->backend_stats, rv_free_value, NULL);
    rv_strmap_free(&L->backend_stats);
    for (size_t i = 0; i < L->nbackends; i++)
        rv_backend_release(L->backends[i]);
    rv_free(L->backends);
    pthread_mutex_destroy(&L->mu);
    pthread_cond_destroy(&L->primed);
    rv_free(L->cache_dir);
    rv_free(L);
}

rv_lake_params rv_lake_params_of(const rv_lake *L) { return L->params; }

rv_status rv_lake_register(rv_lake *L, rv_backend *b)
{
    pthread_mutex_lock(&L->mu);
    rv_status st = RV_OK;
    for (size_t i = 0; i < L->nbackends; i++)
        if (strcmp(rv_backend_name(L->backends[i]), rv_backend_name(b)) == 0)
            st = rv_fail(RV_ERR_LAKE, "a backend named '%s' is already registered", rv_backend_name(b));
    if (st == RV_OK && L->nbackends == L->backends_cap) {
        size_t cap = L->backends_cap ? L->backends_cap * 2 : 4;
        rv_backend **grown = rv_calloc(cap, sizeof *grown);
        if (!grown) {
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        } else {
            if (L->nbackends)
                memcpy(grown, L->backends, L->nbackends * sizeof *grown);
            rv_free(L->backends);
            L->backends = grown;
            L->backends_cap = cap;
        }
    }
    if (st == RV_OK) {
        rv_backend_retain(b);
        L->backends[L->nbackends++] = b;
    }
    pthread_mutex_unlock(&L->mu);
    return st;
}

rv_backend *rv_lake_backend(rv_lake *L, const char *name)
{
    rv_backend *found = NULL;
    pthread_mutex_lock(&L->mu);
    for (size_t i = 0; i < L->nbackends && !found; i++)
        if (strcmp(rv_backend_name(L->backends[i]), name) == 0) {
            found = L->backends[i];
            rv_backend_retain(found);
        }
    pthread_mutex_unlock(&L->mu);
    return found;
}

/* A retained snapshot of the registered backends. */
static rv_status rv_lake_backends(rv_lake *L, rv_backend ***out, size_t *n)
{
    pthread_mutex_lock(&L->mu);
    *n = L->nbackends;
    *out = rv_calloc(*n + 1, sizeof **out);
    if (*out)
        for (size_t i = 0; i < *n; i++) {
            (*out)[i] = L->backends[i];
            rv_backend_retain(L->backends[i]);
        }
    pthread_mutex_unlock(&L->mu);
    return *out ? RV_OK : rv_fail(RV_ERR_NO_MEMORY, "out of memory");
}

static void rv_release_backends(rv_backend **bs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rv_backend_release(bs[i]);
    rv_free(bs);
}

/* "a, b, c" of the registered names, into buf. */
static void rv_lake_names(rv_backend **bs, size_t n, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t at = 0;
    for (size_t i = 0; i < n && at + 4 < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s'%s'", i ? ", " : "", rv_backend_name(bs[i]));
    if (n == 0)
        snprintf(buf, cap, "none");
}

rv_status rv_lake_resolve(rv_lake *L, const char *name, const char *collection, rv_backend **out)
{
    *out = NULL;
    pthread_mutex_lock(&L->mu); /* the common cases, without a snapshot */
    if (!name && L->nbackends == 1)
        *out = L->backends[0];
    for (size_t i = 0; name && i < L->nbackends && !*out; i++)
        if (strcmp(rv_backend_name(L->backends[i]), name) == 0)
            *out = L->backends[i];
    if (*out)
        rv_backend_retain(*out);
    pthread_mutex_unlock(&L->mu);
    if (*out)
        return RV_OK;
    rv_backend **bs;
    size_t n;
    rv_status st = rv_lake_backends(L, &bs, &n);
    if (st != RV_OK)
        return st;
    char names[512];
    if (name) {
        for (size_t i = 0; i < n && !*out; i++)
            if (strcmp(rv_backend_name(bs[i]), name) == 0) {
                *out = bs[i];
                rv_backend_retain(*out);
            }
        if (!*out) {
            rv_lake_names(bs, n, names, sizeof names);
            st = rv_fail(RV_ERR_LAKE, "no backend named '%s' is registered (registered: %s)", name, names);
        }
    } else if (n == 1) { /* the only backend: its own ident call reports an unknown collection */
        *out = bs[0];
        rv_backend_retain(*out);
    } else {
        size_t holders = 0;
        char held[512] = "";
        size_t at = 0;
        for (size_t i = 0; i < n && st == RV_OK; i++) {
            bool h = false;
            if ((st = rv_backend_holds(bs[i], collection, &h)) != RV_OK || !h)
                continue;
            if (!*out) {
                *out = bs[i];
                rv_backend_retain(*out);
            }
            holders++;
            if (at + 4 < sizeof held)
                at += (size_t)snprintf(held + at, sizeof held - at, "%s'%s'", holders > 1 ? ", " : "",
                                       rv_backend_name(bs[i]));
        }
        if (st == RV_OK && holders == 0) {
            rv_lake_names(bs, n, names, sizeof names);
            st = rv_fail(RV_ERR_LAKE, "no registered backend holds collection '%s' (registered: %s)",
                         collection, names);
        } else if (st == RV_OK && holders > 1) {
            st = rv_fail(RV_ERR_LAKE, "collection '%s' is held by several backends (%s); pass backend= "
                         "to choose one, or use search_federated", collection, held);
        }
        if (st != RV_OK && *out) {
            rv_backend_release(*out);
            *out = NULL;
        }
    }
    rv_release_backends(bs, n);
    return st;
}

/* ---- keys, pointers, stats, eviction (all under mu) ------------------------------------- */

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
static rv_lake_stats *rv_backend_stats_locked(rv_lake *L, const char *backend)
{
    rv_lake_stats *bs = rv_strmap_get(&L->backend_stats, backend, strlen(backend));
    if (!bs && (bs = rv_calloc(1, sizeof *bs)) != NULL &&
        rv_strmap_put(&L->backend_stats, backend, strlen(backend), bs) != RV_OK) {
        rv_free(bs);
        bs = NULL;
    }
    return bs;
}

/* Under mu: adds a prime's time to the global, backend and key rows. */
static void rv_lake_prime_ms_locked(rv_lake *L, rv_key *key, double ms)
{
    rv_lake_stats *rows[3] = {&L->stats, &key->stats, rv_backend_stats_locked(L, key->backend)};
    for (int i = 0; i < 3; i++)
        if (rows[i]) {
            rows[i]->total_prime_ms += ms;
            rows[i]->last_prime_ms = ms;
        }
}

void rv_lake_count_locked(rv_lake *L, rv_key *key, size_t off)
{
    (*(uint64_t *)((char *)&L->stats + off))++;
    (*(uint64_t *)((char *)&key->stats + off))++;
    rv_lake_stats *bs = rv_backend_stats_locked(L, key->backend);
    if (bs)
        (*(uint64_t *)((char *)bs + off))++;
}

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

/* ---- priming ---------------------------------------------------------------------------- */

static rv_status rv_bundle_from_ident(const rv_lake *L, rv_ident *id, uint32_t dim, const char *witness,
                                      rv_bundle *b)
{
    memset(b, 0, sizeof *b);
    b->format_version = 2;
    b->data_ref = id->data_ref;
    id->data_ref = NULL;
    b->dim = dim;
    b->rotation_seed = L->params.rotation_seed;
    b->rerank_factor = L->params.rerank_factor;
    b->gen_opaque = id->opaque;
    b->gen_num = id->num;
    b->gen_text = id->text;
    id->text = NULL;
    memcpy(b->witness, witness, RV_WITNESS_HEX + 1);
    return RV_OK;
}

static bool rv_ident_matches(const rv_bundle *b, const rv_ident *id)
{
    if (strcmp(b->data_ref, id->data_ref) != 0 || b->gen_opaque != id->opaque)
        return false;
    return id->opaque ? strcmp(b->gen_text, id->text) == 0 : b->gen_num == id->num;
}

/* Builds an entry for the key from cache_dir (when a saved entry is current) or a pull.
 * *warm tells which. Runs without mu. */
static rv_status rv_lake_prime(rv_lake *L, rv_backend *b, const char *collection, rv_ident *id,
                               const char *witness, const rv_progress *progress, rv_entry **out,
                               bool *warm, bool *pulled)
{
    *out = NULL;
    *warm = *pulled = false;
    rv_status st;
    char name[512];
    if (L->cache_dir && rv_lake_key_dirname(rv_backend_name(b), collection, name, sizeof name) == RV_OK) {
        char *dir = rv_path_join(L->cache_dir, name);
        char hinted[RV_WITNESS_HEX + 1];
        rv_bundle saved;
        if (dir && !witness && rv_bundle_read_dir(dir, &saved) == RV_OK) {
            /* the backend did not tell its dim: a saved entry of this very version does */
            if (rv_ident_matches(&saved, id) && saved.dim && saved.dim <= RV_LAKE_MAX_DIM &&
                rv_lake_witness_of_ident(L, id, (uint32_t)saved.dim, hinted) == RV_OK)
                witness = hinted;
            rv_bundle_clear(&saved);
        }
        if (dir && witness && rv_lake_load_entry(L, dir, witness, out) == RV_OK)
            *warm = true;
        rv_free(dir);
        if (*warm)
            return RV_OK;
    }
    if (!L->params.pull_on_miss)
        return rv_fail(RV_ERR_CACHE_MISS, "collection '%s' of backend '%s' is not cached at its current "
                       "version and pull_on_miss is off", collection, rv_backend_name(b));
    rv_pulled p;
    if ((st = rv_backend_pull(b, collection, &p)) != RV_OK)
        return st;
    *pulled = true;
    char w[RV_WITNESS_HEX + 1];
    if ((st = rv_lake_witness_of_ident(L, id, p.dim, w)) != RV_OK) {
        rv_pulled_clear(&p);
        return st;
    }
    rv_index_params ip = rv_index_params_default(RV_INDEX_RABITQ_PLUS);
    ip.seed = L->params.rotation_seed;
    ip.rerank_factor = L->params.rerank_factor;
    rv_index *idx = NULL;
    if (p.n)
        st = rv_index_build(RV_INDEX_RABITQ_PLUS, p.dim, &ip, p.vectors, p.ids, p.n, progress, &idx);
    else
        st = rv_index_create(RV_INDEX_RABITQ_PLUS, p.dim, &ip, &idx);
    rv_pulled_clear(&p);
    if (st == RV_ERR_DUPLICATE_ID || st == RV_ERR_INVALID_ARGUMENT) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", rv_last_error());
        return rv_fail(RV_ERR_BACKEND, "backend '%s' collection '%s': %s", rv_backend_name(b), collection, msg);
    }
    if (st != RV_OK)
        return st;
    rv_bundle bundle;
    rv_bundle_from_ident(L, id, p.dim ? p.dim : rv_index_dim(idx), w, &bundle);
    if ((st = rv_entry_new(idx, &bundle, out)) != RV_OK) {
        rv_index_destroy(idx);
        rv_bundle_clear(&bundle);
    }
    return st;
}

typedef struct rv_dim_ctx {
    const rv_ident *id;
    uint32_t dim;
} rv_dim_ctx;

static void rv_dim_visit(void *ctx, const char *k, size_t len, void *value)
{
    (void)k, (void)len;
    rv_dim_ctx *c = ctx;
    const rv_entry *e = value;
    if (!c->dim && rv_ident_matches(&e->ident, c->id))
        c->dim = (uint32_t)e->ident.dim;
}

static bool rv_same_ident(const rv_ident *a, const rv_ident *b)
{
    if (a->opaque != b->opaque || strcmp(a->data_ref, b->data_ref) != 0)
        return false;
    return a->opaque ? strcmp(a->text, b->text) == 0 : a->num == b->num;
}

/* Under mu: the dim to compute the witness with when the backend could not tell it cheaply:
 * the key's last one, or that of a cached entry with the same data_ref and generation. */
static uint32_t rv_dim_hint_locked(rv_lake *L, const rv_key *key, const rv_ident *id)
{
    if (id->dim)
        return id->dim;
    if (key->last_dim)
        return key->last_dim;
    rv_dim_ctx c = {id, 0};
    rv_strmap_each(&L->entries, rv_dim_visit, &c);
    return c.dim;
}

static bool rv_skip_check(const rv_lake *L, const rv_key *key)
{
    switch (L->params.consistency) {
    case RV_CONSISTENCY_STALE: return true;
    case RV_CONSISTENCY_EVENTUAL:
        return key->checked && rv_now_ms() - key->last_checked_ms < L->params.eventual_ttl_ms;
    default: return false;
    }
}

static rv_entry *rv_session_find(rv_lake_session *s, rv_key *key)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (s->keys[i] == key)
            return s->entries[i];
    return NULL;
}

static rv_status rv_session_add_locked(rv_lake_session *s, rv_key *key, rv_entry *e)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        rv_key **keys = rv_calloc(cap, sizeof *keys);
        rv_entry **entries = rv_calloc(cap, sizeof *entries);
        if (!keys || !entries) {
            rv_free(keys);
            rv_free(entries);
            return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        }
        if (s->n) {
            memcpy(keys, s->keys, s->n * sizeof *keys);
            memcpy(entries, s->entries, s->n * sizeof *entries);
        }
        rv_free(s->keys);
        rv_free(s->entries);
        s->keys = keys;
        s->entries = entries;
        s->cap = cap;
    }
    rv_entry_retain(e);
    e->pins++; /* the caller waited for any update to end: the snapshot stays as it is */
    s->keys[s->n] = key;
    s->entries[s->n++] = e;
    return RV_OK;
}

/* ---- incremental updates ---------------------------------------------------------------- */

/* The since-identity of an entry (borrowing its strings). */
static rv_ident rv_entry_since(const rv_entry *e)
{
    return (rv_ident){e->ident.data_ref, (uint32_t)e->ident.dim, e->ident.gen_opaque, e->ident.gen_num,
                      e->ident.gen_text};
}

/* Under mu: whether the key's stale entry may be brought to `id` in place. */
static bool rv_lake_can_update_locked(const rv_lake *L, rv_backend *b, const rv_key *key, const rv_ident *id,
                                      uint32_t dim)
{
    const rv_entry *e = key->entry;
    return e && L->params.reprime_fraction > 0 && L->params.pull_on_miss && rv_backend_tells_changes(b) &&
           e->pointers == 1 && e->pins == 0 && !e->updating && e->ident.dim == dim &&
           e->ident.gen_opaque == id->opaque && strcmp(e->ident.data_ref, id->data_ref) == 0 &&
           rv_strmap_get(&L->entries, e->ident.witness, RV_WITNESS_HEX) == e;
}

/* Moves the identity `at` into entry e's bundle with witness w (under mu, or on a private entry). */
static void rv_entry_take_ident(rv_entry *e, rv_ident *at, const char *w)
{
    rv_free(e->ident.data_ref);
    rv_free(e->ident.gen_text);
    e->ident.data_ref = at->data_ref;
    e->ident.gen_opaque = at->opaque;
    e->ident.gen_num = at->num;
    e->ident.gen_text = at->text;
    at->data_ref = at->text = NULL;
    memcpy(e->ident.witness, w, RV_WITNESS_HEX + 1);
}

/* Asks the backend what changed since e's generation and applies it to e's index (no lake lock
 * held; e must be private to the caller or marked updating). *applied tells whether it was;
 * *damaged that the index must not be served (a failed apply after removals). The new witness
 * goes to w and the new identity to *at (owned). Backend errors count as "not applied". */
static void rv_entry_catch_up(const rv_lake *L, rv_backend *b, const char *collection, rv_entry *e, rv_ident *at,
                              char w[RV_WITNESS_HEX + 1], size_t *rows, bool *applied, bool *damaged)
{
    *applied = *damaged = false;
    *rows = 0;
    memset(at, 0, sizeof *at);
    rv_ident since = rv_entry_since(e);
    rv_changes ch;
    bool known = false;
    uint32_t dim = (uint32_t)e->ident.dim;
    if (rv_backend_changes(b, collection, &since, &ch, &known) != RV_OK || !known)
        return;
    if ((ch.n == 0 || ch.dim == dim) && (!ch.at.dim || ch.at.dim == dim) &&
        rv_lake_witness_of_ident(L, &ch.at, dim, w) == RV_OK &&
        rv_index_apply_changes(e->index, ch.removed, ch.nremoved, ch.ids, ch.vectors, ch.n, dim, damaged) ==
            RV_OK) {
        *applied = true;
        *rows = ch.n + ch.nremoved;
        *at = ch.at;
        memset(&ch.at, 0, sizeof ch.at);
    }
    rv_changes_clear(&ch);
}

static void rv_lake_schedule_reprime_locked(rv_lake *L, rv_backend *b, rv_key *key, const char *collection);

/* Under mu (dropped meanwhile): brings the key's stale entry up to date in place. *out = the
 * entry to serve (the caller retains it) when that worked; NULL when the caller should prime
 * as before. */
static rv_status rv_lake_update_locked(rv_lake *L, rv_backend *b, rv_key *key, const char *collection,
                                       rv_entry **out)
{
    *out = NULL;
    rv_entry *e = key->entry;
    key->priming = true; /* single flight: other checks of the key wait for us */
    e->updating = true;
    rv_entry_retain(e);
    rv_strmap_del(&L->entries, e->ident.witness, RV_WITNESS_HEX); /* no new sharers mid-update */
    pthread_mutex_unlock(&L->mu);
    rv_ident at;
    char w[RV_WITNESS_HEX + 1];
    size_t rows;
    bool applied, damaged;
    rv_entry_catch_up(L, b, collection, e, &at, w, &rows, &applied, &damaged);
    pthread_mutex_lock(&L->mu);
    key->priming = false;
    e->updating = false;
    pthread_cond_broadcast(&L->primed);
    rv_status st = RV_OK;
    if (key->entry == e) {
        if (applied) {
            rv_entry_take_ident(e, &at, w);
            e->changed += rows;
            size_t bytes = rv_index_memory_bytes(e->index);
            L->bytes = L->bytes - e->bytes + bytes;
            e->bytes = bytes;
        }
        rv_entry *clash = rv_strmap_get(&L->entries, e->ident.witness, RV_WITNESS_HEX);
        if (damaged || clash || rv_strmap_put(&L->entries, e->ident.witness, RV_WITNESS_HEX, e) != RV_OK) {
            rv_lake_unpoint_locked(L, key); /* not servable, or that version is cached already */
            if (clash && applied && !damaged && (st = rv_lake_install_locked(L, key, clash)) == RV_OK) {
                RV_COUNT(L, key, shared_hits);
                *out = clash;
            }
        } else if (applied) {
            key->checked = true;
            key->last_checked_ms = rv_now_ms();
            *out = e;
            if ((double)e->changed > L->params.reprime_fraction * (double)(e->base_n ? e->base_n : 1) &&
                !e->rebuilding)
                rv_lake_schedule_reprime_locked(L, b, key, collection);
        }
    }
    rv_ident_clear(&at);
    rv_entry_release(e);
    return st;
}

typedef struct rv_reprime_job {
    rv_lake *L;
    rv_backend *b;
    rv_key *key;
    rv_entry *old;
    char *collection;
} rv_reprime_job;

/* On a pool worker: pulls and builds the key afresh, catches the build up with the backend's
 * changes, and swaps it in when it is at the version the key serves (the old entry serves
 * meanwhile). Gives up quietly when the key moved on or after a few rounds of racing writers. */
static void rv_reprime_task(void *ctx, size_t t)
{
    (void)t;
    rv_reprime_job *j = ctx;
    rv_lake *L = j->L;
    rv_ident id;
    rv_entry *fresh = NULL;
    bool warm = false, pulled = false;
    double t0 = rv_now_sec();
    if (rv_backend_ident(j->b, j->collection, &id) == RV_OK) {
        if (rv_lake_prime(L, j->b, j->collection, &id, NULL, NULL, &fresh, &warm, &pulled) != RV_OK)
            fresh = NULL;
        rv_ident_clear(&id);
    }
    double ms = (rv_now_sec() - t0) * 1e3;
    pthread_mutex_lock(&L->mu);
    if (pulled)
        RV_COUNT(L, j->key, pulls);
    for (int round = 0; fresh && round < 4; round++) {
        while (j->key->entry == j->old && j->old->updating)
            pthread_cond_wait(&L->primed, &L->mu);
        if (j->key->entry != j->old || fresh->ident.dim != j->old->ident.dim)
            break;
        if (strcmp(fresh->ident.witness, j->old->ident.witness) == 0) {
            rv_lake_unpoint_locked(L, j->key);
            if (rv_lake_install_locked(L, j->key, fresh) == RV_OK) {
                RV_COUNT(L, j->key, primes);
                rv_lake_prime_ms_locked(L, j->key, ms);
            }
            break;
        }
        pthread_mutex_unlock(&L->mu); /* fresh is private: bring it to the backend's version */
        rv_ident at;
        char w[RV_WITNESS_HEX + 1];
        size_t rows;
        bool applied, damaged;
        rv_entry_catch_up(L, j->b, j->collection, fresh, &at, w, &rows, &applied, &damaged);
        if (applied)
            rv_entry_take_ident(fresh, &at, w);
        rv_ident_clear(&at);
        pthread_mutex_lock(&L->mu);
        if (!applied || damaged)
            break;
    }
    j->old->rebuilding = false;
    L->bg_jobs--;
    pthread_cond_broadcast(&L->primed);
    pthread_mutex_unlock(&L->mu);
    rv_entry_release(fresh); /* the map holds it now, or it was dropped */
    rv_entry_release(j->old);
    rv_backend_release(j->b);
    rv_free(j->collection);
    rv_free(j);
}

static void rv_lake_schedule_reprime_locked(rv_lake *L, rv_backend *b, rv_key *key, const char *collection)
{
    rv_reprime_job *j = rv_calloc(1, sizeof *j);
    char *name = rv_strdup(collection);
    if (!j || !name) {
        rv_free(j);
        rv_free(name);
        return; /* best effort: the updated entry keeps serving */
    }
    *j = (rv_reprime_job){L, b, key, key->entry, name};
    rv_backend_retain(b);
    rv_entry_retain(j->old);
    j->old->rebuilding = true;
    L->bg_jobs++;
    if (rv_pool_submit(rv_reprime_task, j) != 0) {
        j->old->rebuilding = false;
        L->bg_jobs--;
        rv_entry_release(j->old);
        rv_backend_release(b);
        rv_free(j->collection);
        rv_free(j);
    }
}

/* The key's current entry, retained. */
static rv_status rv_lake_acquire(rv_lake *L, rv_lake_session *s, rv_backend *b, const char *collection,
                                 const rv_progress *progress, rv_entry **out)
{
    *out = NULL;
    const char *bname = rv_backend_name(b);
    rv_status st = RV_OK;
    pthread_mutex_lock(&L->mu);
    rv_key *key = rv_lake_key_locked(L, bname, collection);
    if (!key) {
        pthread_mutex_unlock(&L->mu);
        return RV_ERR_NO_MEMORY;
    }
    bool tried_update = false;
    rv_entry *e = rv_session_find(s, key);
    if (e) {
        RV_COUNT(L, key, hits);
        e->last_used = ++L->tick;
        rv_entry_retain(e);
        pthread_mutex_unlock(&L->mu);
        *out = e;
        return RV_OK;
    }
    for (;;) {
        if (key->entry && rv_skip_check(L, key) && !(s && key->entry->updating)) {
            RV_COUNT(L, key, hits);
            e = key->entry;
            break;
        }
        if (key->priming) {
            pthread_cond_wait(&L->primed, &L->mu);
            continue;
        }
        pthread_mutex_unlock(&L->mu);
        rv_ident id;
        st = rv_backend_ident(b, collection, &id);
        pthread_mutex_lock(&L->mu);
        if (st != RV_OK)
            break;
        uint32_t dim = rv_dim_hint_locked(L, key, &id);
        char w[RV_WITNESS_HEX + 1] = "";
        if (dim && key->memo.data_ref && key->memo_dim == dim && rv_same_ident(&key->memo, &id)) {
            memcpy(w, key->memo_witness, sizeof w);
        } else if (dim) {
            if ((st = rv_lake_witness_of_ident(L, &id, dim, w)) != RV_OK) {
                rv_ident_clear(&id);
                break;
            }
            rv_ident_clear(&key->memo); /* remember it (best effort: on no memory, just recompute) */
            key->memo.data_ref = rv_strdup(id.data_ref);
            key->memo.text = rv_strdup(id.text);
            key->memo.opaque = id.opaque;
            key->memo.num = id.num;
            key->memo_dim = dim;
            memcpy(key->memo_witness, w, sizeof w);
            if (!key->memo.data_ref || (id.text && !key->memo.text))
                rv_ident_clear(&key->memo);
        }
        if (dim && key->entry && strcmp(key->entry->ident.witness, w) == 0) {
            RV_COUNT(L, key, hits);
            key->checked = true;
            key->last_checked_ms = rv_now_ms();
            rv_ident_clear(&id);
            e = key->entry;
            break;
        }
        if (key->priming) { /* another thread started priming while we asked the backend */
            rv_ident_clear(&id);
            continue;
        }
        if (!tried_update)
            RV_COUNT(L, key, misses);
        if (!tried_update && dim && rv_lake_can_update_locked(L, b, key, &id, dim)) {
            tried_update = true; /* once per call: on failure the key is primed as before */
            rv_ident_clear(&id);
            if ((st = rv_lake_update_locked(L, b, key, collection, &e)) != RV_OK || e)
                break;
            continue;
        }
        rv_entry *shared = dim ? rv_strmap_get(&L->entries, w, RV_WITNESS_HEX) : NULL;
        if (shared) { /* another key already caches this very data */
            rv_ident_clear(&id);
            if ((st = rv_lake_install_locked(L, key, shared)) != RV_OK)
                break;
            RV_COUNT(L, key, shared_hits);
            e = shared;
            break;
        }
        key->priming = true;
        pthread_mutex_unlock(&L->mu);
        double t0 = rv_now_sec();
        bool warm = false, pulled = false;
        rv_entry *fresh = NULL;
        st = rv_lake_prime(L, b, collection, &id, dim ? w : NULL, progress, &fresh, &warm, &pulled);
        double ms = (rv_now_sec() - t0) * 1e3;
        rv_ident_clear(&id);
        pthread_mutex_lock(&L->mu);
        key->priming = false;
        pthread_cond_broadcast(&L->primed);
        if (pulled)
            RV_COUNT(L, key, pulls);
        if (st != RV_OK)
            break;
        rv_entry *existing = rv_strmap_get(&L->entries, fresh->ident.witness, RV_WITNESS_HEX);
        if (existing) { /* primed meanwhile under another key: share it, drop ours */
            rv_entry_release(fresh);
            fresh = existing;
            RV_COUNT(L, key, shared_hits);
        } else if (warm) {
            RV_COUNT(L, key, warm_installs);
        } else {
            RV_COUNT(L, key, primes);
            rv_lake_prime_ms_locked(L, key, ms);
        }
        st = rv_lake_install_locked(L, key, fresh);
        if (!existing)
            rv_entry_release(fresh); /* the map holds it now (or it failed to go in) */
        if (st == RV_OK)
            e = fresh;
        break;
    }
    if (st == RV_OK && e) {
        e->last_used = ++L->tick;
        rv_entry_retain(e);
        if (s && (st = rv_session_add_locked(s, key, e)) != RV_OK) {
            rv_entry_release(e);
            e = NULL;
        }
    }
    pthread_mutex_unlock(&L->mu);
    *out = st == RV_OK ? e : NULL;
    return st;
}

/* ---- searches --------------------------------------------------------------------------- */

static rv_status rv_entry_search(const rv_lake *L, rv_entry *e, const char *collection, const float *q,
                                 size_t m, uint32_t dim, size_t k, size_t out_cap, int64_t *ids,
                                 float *scores, size_t *counts, size_t *k_out, const rv_progress *progress)
{
    uint32_t have = rv_index_dim(e->index);
    if (dim != have)
        return rv_fail(RV_ERR_DIMENSION_MISMATCH, "query has dim %u, collection '%s' has dim %u", dim,
                       collection, have);
    rv_search_params sp = {.rerank_factor = L->params.rerank_factor, .nprobe = 0, .progress = progress};
    return rv_index_search(e->index, q, m, dim, k, &sp, out_cap, ids, scores, counts, k_out);
}

rv_status rv_lake_search(rv_lake *L, rv_lake_session *session, const char *backend,
                         const char *collection, const float *queries, size_t m, uint32_t dim,
                         size_t k, size_t out_cap, int64_t *ids, float *scores, size_t *counts_out,
                         size_t *k_out, const char **backend_out, const rv_progress *progress)
{
    *k_out = 0;
    if (!collection || !*collection)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "a collection name is required");
    if (k == 0)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "k must be >= 1");
    rv_backend *b;
    rv_status st = rv_lake_resolve(L, backend, collection, &b);
    if (st != RV_OK)
        return st;
    rv_entry *e;
    if ((st = rv_lake_acquire(L, session, b, collection, progress, &e)) == RV_OK) {
        st = rv_entry_search(L, e, collection, queries, m, dim, k, out_cap, ids, scores, counts_out, k_out, progress);
        rv_entry_release(e);
    }
    if (backend_out)
        *backend_out = rv_backend_name(b); /* the lake keeps b registered, so the name lives */
    rv_backend_release(b);
    return st;
}

typedef struct rv_fed_job {
    rv_lake *L;
    rv_lake_session *session;
    rv_backend **targets;
    const char *collection;
    const float *query;
    uint32_t dim;
    size_t k;
    int64_t *ids;   /* ntargets x k */
    float *scores;
    size_t *counts;
    rv_status *status;
    char (*messages)[512];
} rv_fed_job;

static void rv_fed_task(void *ctx, size_t t)
{
    rv_fed_job *j = ctx;
    rv_entry *e;
    rv_status st = rv_lake_acquire(j->L, j->session, j->targets[t], j->collection, NULL, &e);
    if (st == RV_OK) {
        size_t kk;
        st = rv_entry_search(j->L, e, j->collection, j->query, 1, j->dim, j->k, j->k, j->ids + t * j->k,
                             j->scores + t * j->k, &j->counts[t], &kk, NULL);
        rv_entry_release(e);
    }
    j->status[t] = st;
    if (st != RV_OK)
        snprintf(j->messages[t], sizeof j->messages[t], "%s", rv_last_error());
}

typedef struct rv_fed_hit {
    float score;
    const char *backend;
    int64_t id;
} rv_fed_hit;

static int rv_fed_cmp(const void *pa, const void *pb)
{
    const rv_fed_hit *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score < b->score ? -1 : 1;
    int c = strcmp(a->backend, b->backend);
    if (c)
        return c;
    return (a->id > b->id) - (a->id < b->id);
}

rv_status rv_lake_search_federated(rv_lake *L, rv_lake_session *session,
                                   const char *const *backends, size_t nbackends,
                                   const char *collection, const float *query, uint32_t dim,
                                   size_t k, rv_lake_hit *out, size_t *count)
{
    *count = 0;
    if (!collection || !*collection)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "a collection name is required");
    if (k == 0)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "k must be >= 1");
    rv_backend **all;
    size_t nall, nt = 0;
    rv_status st = rv_lake_backends(L, &all, &nall);
    if (st != RV_OK)
        return st;
    rv_backend **targets = rv_calloc((nbackends ? nbackends : nall) + 1, sizeof *targets);
    if (!targets) {
        rv_release_backends(all, nall);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    }
    if (nbackends) {
        for (size_t i = 0; i < nbackends && st == RV_OK; i++) {
            rv_backend *b = NULL;
            for (size_t j = 0; j < nall && !b; j++)
                if (strcmp(rv_backend_name(all[j]), backends[i]) == 0)
                    b = all[j];
            if (!b) {
                char names[512];
                rv_lake_names(all, nall, names, sizeof names);
                st = rv_fail(RV_ERR_LAKE, "no backend named '%s' is registered (registered: %s)", backends[i], names);
                break;
            }
            for (size_t j = 0; j < nt; j++)
                if (targets[j] == b)
                    st = rv_fail(RV_ERR_INVALID_ARGUMENT, "backend '%s' is listed twice", backends[i]);
            targets[nt++] = b;
        }
    } else {
        for (size_t j = 0; j < nall && st == RV_OK; j++) {
            bool h = false;
            if ((st = rv_backend_holds(all[j], collection, &h)) == RV_OK && h)
                targets[nt++] = all[j];
        }
        if (st == RV_OK && nt == 0) {
            char names[512];
            rv_lake_names(all, nall, names, sizeof names);
            st = rv_fail(RV_ERR_LAKE, "no registered backend holds collection '%s' (registered: %s)", collection, names);
        }
    }
    rv_fed_job j = {L, session, targets, collection, query, dim, k, NULL, NULL, NULL, NULL, NULL};
    if (st == RV_OK) {
        j.ids = rv_alloc(nt * k * sizeof *j.ids);
        j.scores = rv_alloc(nt * k * sizeof *j.scores);
        j.counts = rv_calloc(nt, sizeof *j.counts);
        j.status = rv_calloc(nt, sizeof *j.status);
        j.messages = rv_calloc(nt, sizeof *j.messages);
        if (!j.ids || !j.scores || !j.counts || !j.status || !j.messages)
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    }
    if (st == RV_OK) {
        rv_parallel_for(nt, rv_fed_task, &j);
        for (size_t t = 0; t < nt && st == RV_OK; t++)
            if (j.status[t] != RV_OK)
                st = rv_fail(j.status[t], "%s", j.messages[t]);
    }
    if (st == RV_OK) {
        size_t total = 0;
        for (size_t t = 0; t < nt; t++)
            total += j.counts[t];
        rv_fed_hit *hits = rv_alloc((total ? total : 1) * sizeof *hits);
        if (!hits) {
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        } else {
            size_t at = 0;
            for (size_t t = 0; t < nt; t++)
                for (size_t i = 0; i < j.counts[t]; i++)
                    hits[at++] = (rv_fed_hit){j.scores[t * k + i], rv_backend_name(targets[t]), j.ids[t * k + i]};
            qsort(hits, total, sizeof *hits, rv_fed_cmp);
            *count = rv_min(k, total);
            for (size_t i = 0; i < *count; i++)
                out[i] = (rv_lake_hit){hits[i].backend, hits[i].id, hits[i].score};
            rv_free(hits);
        }
    }
    rv_free(j.ids);
    rv_free(j.scores);
    rv_free(j.counts);
    rv_free(j.status);
    rv_free(j.messages);
    rv_free(targets);
    rv_release_backends(all, nall);
    return st;
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

size_t rv_lake_entry_count(rv_lake *L)
{
    pthread_mutex_lock(&L->mu);
    size_t n = L->entries.count;
    pthread_mutex_unlock(&L->mu);
    return n;
}

size_t rv_lake_cached_bytes(rv_lake *L)
{
    pthread_mutex_lock(&L->mu);
    size_t n = L->bytes;
    pthread_mutex_unlock(&L->mu);
    return n;
}

rv_lake_stats rv_lake_stats_get(rv_lake *L)
{
    pthread_mutex_lock(&L->mu);
    rv_lake_stats s = L->stats;
    pthread_mutex_unlock(&L->mu);
    return s;
}

bool rv_lake_stats_for(rv_lake *L, const char *backend, const char *collection, rv_lake_stats *out)
{
    pthread_mutex_lock(&L->mu);
    bool found = false;
    if (collection) {
        rv_key *key = rv_lake_find_key_locked(L, backend, collection);
        if (key) {
            *out = key->stats;
            found = true;
        }
    } else {
        rv_lake_stats *bs = rv_strmap_get(&L->backend_stats, backend, strlen(backend));
        if (bs) {
            *out = *bs;
            found = true;
        }
    }
    pthread_mutex_unlock(&L->mu);
    return found;
}

typedef struct rv_keys_ctx {
    char **b, **c;
    size_t n;
    bool failed;
} rv_keys_ctx;

static void rv_keys_visit(void *ctx, const char *k, size_t len, void *value)
{
    (void)k, (void)len;
    rv_keys_ctx *c = ctx;
    rv_key *key = value;
    char *b = rv_strdup(key->backend), *col = rv_strdup(key->collection);
    if (!b || !col) {
        rv_free(b);
        rv_free(col);
        c->failed = true;
        return;
    }
    c->b[c->n] = b;
    c->c[c->n++] = col;
}

rv_status rv_lake_stat_keys(rv_lake *L, char ***backends, char ***collections, size_t *count)
{
    pthread_mutex_lock(&L->mu);
    rv_keys_ctx c = {rv_calloc(L->keys.count + 1, sizeof(char *)), rv_calloc(L->keys.count + 1, sizeof(char *)), 0,
                     false};
    if (c.b && c.c)
        rv_strmap_each(&L->keys, rv_keys_visit, &c);
    pthread_mutex_unlock(&L->mu);
    if (!c.b || !c.c || c.failed) {
        rv_lake_free_names(c.b, c.n);
        rv_lake_free_names(c.c, c.n);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    }
    *backends = c.b;
    *collections = c.c;
    *count = c.n;
    return RV_OK;
}

/* ---- sessions --------------------------------------------------------------------------- */

rv_status rv_lake_session_open(rv_lake *L, rv_lake_session **out)
{
    rv_lake_session *s = rv_calloc(1, sizeof *s);
    if (!s)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    s->lake = L;
    *out = s;
    return RV_OK;
}
