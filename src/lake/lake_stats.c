/*
 * lake_stats.c — the lake's counters: one rv_lake_stats row for the whole lake, one per
 * backend name and one per key, bumped together under mu (RV_COUNT), and the calls that read
 * them (stats_get, stats_for, stat_keys, entry_count, cached_bytes).
 *
 * A counter is addressed by its offset in rv_lake_stats, so one function serves every field
 * and the three rows can never disagree about which field a call site meant. Backend rows are
 * created on first use and kept for the lake's life (a failed allocation only loses that
 * row's counts, never the global or key rows). Readers copy rows under mu: a reader sees every
 * counter of one moment, never half an update.
 */
#include <string.h>

#include "lake/lake_internal.h"

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

void rv_lake_prime_ms_locked(rv_lake *L, rv_key *key, double ms)
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
