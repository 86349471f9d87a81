/*
 * lake_search.c — the searches: one collection (rv_lake_search) and federated over several
 * backends (rv_lake_search_federated).
 *
 * A search resolves its backend (lake.c), acquires the key's entry with a reference held
 * (lake_prime.c: one freshness check for the whole batch), and scans it without the lake lock
 * with the lake's rerank factor; an entry evicted or re-primed meanwhile lives until the scan
 * releases it. The query's dim is checked against the entry's index, so the message names the
 * collection.
 *
 * Federated: the targets are the named backends (each once) or every backend holding the
 * collection; each target is acquired and searched on the worker pool (rv_parallel_for), its
 * error message copied out on the worker (rv_last_error is per thread), and the hits merged by
 * score, then backend name, then id — a total order, so equal scores across shards come out the
 * same on every run. Rejected: a k-way heap merge — there are only targets x k hits, and one
 * qsort over them is simpler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "lake/lake_internal.h"

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

/* The federated targets into targets (nt of them): the named backends, each once (unknown: LAKE
 * naming the registered ones; twice: INVALID_ARGUMENT), or with none named every backend of
 * `all` holding the collection (none: LAKE). */
static rv_status rv_fed_targets(rv_backend **all, size_t nall, const char *const *backends, size_t nbackends,
                                const char *collection, rv_backend **targets, size_t *nt)
{
    rv_status st = RV_OK;
    char names[512];
    *nt = 0;
    if (nbackends) {
        for (size_t i = 0; i < nbackends && st == RV_OK; i++) {
            rv_backend *b = NULL;
            for (size_t j = 0; j < nall && !b; j++)
                if (strcmp(rv_backend_name(all[j]), backends[i]) == 0)
                    b = all[j];
            if (!b) {
                rv_lake_names(all, nall, names, sizeof names);
                return rv_fail(RV_ERR_LAKE, "no backend named '%s' is registered (registered: %s)", backends[i], names);
            }
            for (size_t j = 0; j < *nt; j++)
                if (targets[j] == b)
                    st = rv_fail(RV_ERR_INVALID_ARGUMENT, "backend '%s' is listed twice", backends[i]);
            targets[(*nt)++] = b;
        }
        return st;
    }
    for (size_t j = 0; j < nall && st == RV_OK; j++) {
        bool h = false;
        if ((st = rv_backend_holds(all[j], collection, &h)) == RV_OK && h)
            targets[(*nt)++] = all[j];
    }
    if (st == RV_OK && *nt == 0) {
        rv_lake_names(all, nall, names, sizeof names);
        st = rv_fail(RV_ERR_LAKE, "no registered backend holds collection '%s' (registered: %s)", collection, names);
    }
    return st;
}

/* Merges the targets' hits (j->counts[t] in rows of stride k) into out: the best k by score,
 * then backend name, then id. Errors: NO_MEMORY. */
static rv_status rv_fed_merge(const rv_fed_job *j, size_t nt, rv_lake_hit *out, size_t *count)
{
    size_t total = 0, k = j->k;
    for (size_t t = 0; t < nt; t++)
        total += j->counts[t];
    rv_fed_hit *hits = rv_alloc((total ? total : 1) * sizeof *hits);
    if (!hits)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    size_t at = 0;
    for (size_t t = 0; t < nt; t++)
        for (size_t i = 0; i < j->counts[t]; i++)
            hits[at++] = (rv_fed_hit){j->scores[t * k + i], rv_backend_name(j->targets[t]), j->ids[t * k + i]};
    qsort(hits, total, sizeof *hits, rv_fed_cmp);
    *count = rv_min(k, total);
    for (size_t i = 0; i < *count; i++)
        out[i] = (rv_lake_hit){hits[i].backend, hits[i].id, hits[i].score};
    rv_free(hits);
    return RV_OK;
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
    st = rv_fed_targets(all, nall, backends, nbackends, collection, targets, &nt);
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
    if (st == RV_OK)
        st = rv_fed_merge(&j, nt, out, count);
    rv_free(j.ids);
    rv_free(j.scores);
    rv_free(j.counts);
    rv_free(j.status);
    rv_free(j.messages);
    rv_free(targets);
    rv_release_backends(all, nall);
    return st;
}
