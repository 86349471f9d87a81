/*
 * flat_batch.c — exact k-NN for many queries at once, as a blocked GEMM.
 *
 * For m queries the scan is no longer memory-bound if each data block is reused by many
 * queries: dist(q, x) = ||x||^2 - 2 q.x + ||q||^2, and q.x for all pairs is a GEMM (base/gemm.c).
 * As each (queries x rows) tile leaves the GEMM, every query keeps its k' best rows by
 * ||x||^2 - 2 q.x (vector compare, rare heap push); at the end of its task each query re-scores
 * its k' survivors exactly with l2sq and keeps k.
 *
 * The screen uses the expanded form, whose rounding error is bounded by
 *   eps = (d + 4) * 2^-24 * (max||x||^2 + 2 ||q|| max||x||)        (Higham, Accuracy and
 * Stability of Numerical Algorithms, §3.1), so it may misorder near-ties, never far-apart
 * distances. We keep k' = k + max(8, k/4) candidates, re-score them with the direct form, and
 * then *prove* nothing outside could have entered: every excluded row has screen value >= W (the
 * k'-th kept), so its true distance is >= W - eps + ||q||^2. If the exact k-th score is below
 * that (with a factor 2 of slack), the result is exact; otherwise (massive ties at the boundary,
 * or data far from the query) that one query is answered by the exact scan. So batch results are
 * always exact, and identical — ids and bit-for-bit scores — to the single-query path.
 *
 * Parallelism: tasks split the queries; each task streams all rows, so results are independent
 * of the thread count. Scratch is allocated per task (tens of queries), never per query.
 */
#include <math.h>
#include <stdatomic.h>

#include "base/gemm.h"
#include "base/internal.h"
#include "base/kernels.h"
#include "base/pool.h"
#include "index/flat.h"
#include "index/topk.h"

#define RV_FLAT_GEMM_MAX_K 1024u

typedef struct rv_batch_task_state {
    rv_hit *items;  /* rows x kprime */
    rv_topk *heaps; /* rows */
    uint32_t *sel;  /* RV_GEMM_NB */
} rv_batch_task_state;

typedef struct rv_batch_job {
    const rv_store *s;
    const float *q;
    size_t m, kk, kprime;
    double max_norm2; /* max ||x||^2 over the rows, for the screen's error bound */
    int64_t *ids;
    float *scores;
    rv_batch_task_state *tasks;
    atomic_int failed;
} rv_batch_job;

/* True when no row outside the kept candidates can score <= kth (see the file comment). */
static bool rv_screen_proves_exact(const rv_batch_job *job, const rv_kernels *K, const float *q,
                                   double worst_kept, float kth)
{
    const double u = 0x1p-24, d = job->s->dim;
    double qn2 = K->dot(q, q, job->s->dim);
    double eps = (d + 4) * u * (job->max_norm2 + 2 * sqrt(qn2 * job->max_norm2));
    double lower = (worst_kept - 2 * eps + qn2 * (1 - (d + 2) * u)) * (1 - 2 * (d + 2) * u);
    return (double)kth < lower;
}

static int rv_batch_begin(void *ctx, size_t task, size_t i0, size_t rows)
{
    (void)i0;
    rv_batch_job *job = ctx;
    rv_batch_task_state *t = &job->tasks[task];
    t->items = rv_alloc(rows * job->kprime * sizeof(rv_hit));
    t->heaps = rv_alloc(rows * sizeof(rv_topk));
    t->sel = rv_alloc(RV_GEMM_NB * sizeof(uint32_t));
    if (!t->items || !t->heaps || !t->sel)
        return -1;
    for (size_t i = 0; i < rows; i++)
        rv_topk_init(&t->heaps[i], t->items + i * job->kprime, job->kprime);
    return 0;
}

static void rv_batch_block(void *ctx, size_t task, size_t i0, size_t rows, size_t j0, size_t cols,
                           const float *c, size_t ldc)
{
    (void)i0;
    rv_batch_job *job = ctx;
    rv_batch_task_state *t = &job->tasks[task];
    const rv_kernels *K = rv_kernels_get();
    const float *norms = job->s->norms + j0;
    const int64_t *row_ids = job->s->ids + j0;
    for (size_t i = 0; i < rows; i++) {
        const float *dots = c + i * ldc;
        rv_topk *h = &t->heaps[i];
        /* <= bound: ties with the current worst may still win on id. */
        size_t cnt = K->select_below(dots, norms, cols, nextafterf(rv_topk_bound(h), INFINITY), t->sel);
        for (size_t e = 0; e < cnt; e++) {
            size_t j = t->sel[e];
            rv_topk_push(h, norms[j] - 2.0f * dots[j], row_ids[j], j0 + j);
        }
    }
}

static void rv_batch_end(void *ctx, size_t task, size_t i0, size_t rows)
{
    rv_batch_job *job = ctx;
    rv_batch_task_state *t = &job->tasks[task];
    const rv_store *s = job->s;
    const rv_kernels *K = rv_kernels_get();
    const uint32_t d = s->dim;
    for (size_t i = 0; i < rows; i++) {
        const float *q = job->q + (i0 + i) * d;
        rv_topk *h = &t->heaps[i];
        size_t cnt = h->size;
        rv_hit *cand = h->items;
        /* Screen value of the worst kept candidate; +inf when every row was kept. */
        double worst_kept = cnt == job->kprime && job->kprime < s->n ? (double)cand[0].score : INFINITY;
        for (size_t e = 0; e < cnt; e++)
            cand[e].score = K->l2sq(q, s->vectors + cand[e].row * d, d);
        rv_hit best_items[64];
        rv_hit *best = job->kk <= RV_ARRAY_LEN(best_items) ? best_items : rv_alloc(job->kk * sizeof(rv_hit));
        if (!best) {
            job->failed = 1;
            return;
        }
        rv_topk out;
        rv_topk_init(&out, best, job->kk);
        for (size_t e = 0; e < cnt; e++)
            rv_topk_push(&out, cand[e].score, cand[e].id, cand[e].row);
        int64_t *out_ids = job->ids + (i0 + i) * job->kk;
        float *out_scores = job->scores + (i0 + i) * job->kk;
        size_t got = rv_topk_drain_sorted(&out, out_ids, out_scores, NULL);
        rv_topk_pad(out_ids, out_scores, got, job->kk);
        if (best != best_items)
            rv_free(best);
        if (worst_kept < INFINITY && !rv_screen_proves_exact(job, K, q, worst_kept, got ? out_scores[got - 1] : INFINITY))
            if (rv_flat_search_one(s, q, job->kk, out_ids, out_scores) != RV_OK)
                job->failed = 1;
    }
}

typedef struct rv_single_job {
    const rv_store *s;
    const float *q;
    size_t kk;
    int64_t *ids;
    float *scores;
    atomic_int failed;
} rv_single_job;

static void rv_single_task(void *ctx, size_t i)
{
    rv_single_job *job = ctx;
    if (rv_flat_search_one(job->s, job->q + i * job->s->dim, job->kk, job->ids + i * job->kk,
                           job->scores + i * job->kk) != RV_OK)
        job->failed = 1;
}

rv_status rv_flat_search_batch(const rv_store *s, const float *q, size_t m, size_t kk,
                               int64_t *ids, float *scores)
{
    /* Few queries: nothing to reuse. Huge k: the screen's k' heaps per query would dominate. */
    if (m < RV_FLAT_GEMM_MIN_M || s->n < RV_GEMM_NR || kk > RV_FLAT_GEMM_MAX_K) {
        rv_single_job job = {s, q, kk, ids, scores, 0};
        rv_parallel_for(m, rv_single_task, &job);
        return job.failed ? rv_fail(RV_ERR_NO_MEMORY, "out of memory in batch search") : RV_OK;
    }
    size_t kprime = kk + (kk / 4 > 8 ? kk / 4 : 8);
    if (kprime > s->n)
        kprime = s->n;
    double max_norm2 = 0;
    for (size_t r = 0; r < s->n; r++)
        max_norm2 = s->norms[r] > max_norm2 ? s->norms[r] : max_norm2;
    size_t mb, ntasks;
    rv_gemm_plan(m, &mb, &ntasks);
    rv_batch_task_state *tasks = rv_calloc(ntasks, sizeof *tasks);
    if (!tasks)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory in batch search");
    rv_batch_job job = {s, q, m, kk, kprime, max_norm2, ids, scores, tasks, 0};
    rv_gemm_consumer consumer = {&job, rv_batch_begin, rv_batch_block, rv_batch_end};
    rv_status st = rv_gemm_nt(q, m, s->vectors, s->n, s->dim, &consumer);
    for (size_t t = 0; t < ntasks; t++) {
        rv_free(tasks[t].items);
        rv_free(tasks[t].heaps);
        rv_free(tasks[t].sel);
    }
    rv_free(tasks);
    if (st == RV_OK && job.failed)
        st = rv_fail(RV_ERR_NO_MEMORY, "out of memory in batch search");
    return st;
}
