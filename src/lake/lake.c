/*
 * lake.c — the RuLake's lifecycle and the backends it knows: parameters, create and destroy,
 * registering backends, and resolving which backend a search means.
 *
 * The lake's other phases have their own files (pgvector's lesson: file names are the
 * architecture): lake_cache.c (keys, entries, LRU eviction, cache management), lake_prime.c
 * (acquire: freshness checks and single-flight priming), lake_update.c (incremental updates
 * and background re-primes), lake_search.c (single and federated searches), lake_stats.c (the
 * counters), lake_persist.c (bundles, saved entries, sessions). lake_internal.h holds the
 * state they share and its locking rules.
 *
 * Backends are kept in registration order in a plain array (a lake has a handful; a map would
 * cost more than the scan). They are retained for the lake's life, so a name handed out by
 * rv_backend_name stays valid while the lake lives. Resolution takes mu only to look at the
 * array; the common cases (a name, or the only backend) need no snapshot. With several
 * backends and no name, each backend is asked whether it holds the collection on a retained
 * snapshot, without mu (holds() may call into Python or the file system): exactly one holder
 * is the answer, none or several is LAKE naming them.
 *
 * Parameters are checked against the DEFAULT/MIN/MAX triples in ruvector/lake.h; messages name
 * the field and the value. Destroy waits for background re-primes (they hold the lake) and
 * must not race other calls.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/soa.h"
#include "lake/lake_internal.h"

uint64_t rv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

double rv_now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

rv_lake_params rv_lake_params_default(void)
{
    return (rv_lake_params){.rerank_factor = RV_LAKE_RERANK_FACTOR_DEFAULT,
                            .rotation_seed = RV_LAKE_ROTATION_SEED_DEFAULT,
                            .max_entries = RV_LAKE_MAX_ENTRIES_DEFAULT,
                            .max_bytes = RV_LAKE_MAX_BYTES_DEFAULT,
                            .consistency = RV_CONSISTENCY_FRESH,
                            .eventual_ttl_ms = RV_LAKE_EVENTUAL_TTL_MS_DEFAULT,
                            .pull_on_miss = true, .cache_dir = NULL,
                            .reprime_fraction = RV_LAKE_REPRIME_FRACTION_DEFAULT};
}


/* ---- lake lifecycle --------------------------------------------------------------------- */

rv_status rv_lake_create(const rv_lake_params *params, rv_lake **out)
{
    rv_lake_params p = params ? *params : rv_lake_params_default();
    if (p.rerank_factor < RV_LAKE_RERANK_FACTOR_MIN || p.rerank_factor > RV_LAKE_RERANK_FACTOR_MAX)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "rerank_factor must be in %u..%u, not %u", RV_LAKE_RERANK_FACTOR_MIN,
                       RV_LAKE_RERANK_FACTOR_MAX, p.rerank_factor);
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
        rv_soa_col col = {L->backends, sizeof *L->backends};
        if (!rv_soa_grow(&col, 1, L->nbackends, cap)) {
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        } else {
            L->backends = col.data;
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

rv_status rv_lake_backends(rv_lake *L, rv_backend ***out, size_t *n)
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

void rv_release_backends(rv_backend **bs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rv_backend_release(bs[i]);
    rv_free(bs);
}

void rv_lake_names(rv_backend **bs, size_t n, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t at = 0;
    for (size_t i = 0; i < n && at + 4 < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s'%s'", i ? ", " : "", rv_backend_name(bs[i]));
    if (n == 0)
        snprintf(buf, cap, "none");
}

/* The one backend of bs[0..n) holding collection, retained in *out (none or several: LAKE
 * naming them; *out stays NULL on every error). holds() runs without mu. */
static rv_status rv_lake_holder(rv_backend **bs, size_t n, const char *collection, rv_backend **out)
{
    rv_status st = RV_OK;
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
        char names[512];
        rv_lake_names(bs, n, names, sizeof names);
        st = rv_fail(RV_ERR_LAKE, "no registered backend holds collection '%s' (registered: %s)", collection, names);
    } else if (st == RV_OK && holders > 1) {
        st = rv_fail(RV_ERR_LAKE, "collection '%s' is held by several backends (%s); pass backend= "
                     "to choose one, or use search_federated", collection, held);
    }
    if (st != RV_OK && *out) {
        rv_backend_release(*out);
        *out = NULL;
    }
    return st;
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
        st = rv_lake_holder(bs, n, collection, out);
    }
    rv_release_backends(bs, n);
    return st;
}
