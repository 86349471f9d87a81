/*
 * flat_batch.c — exact k-NN for many queries at once, as a blocked GEMM.
 *
 * For m queries the scan is no longer memory-bound if each data block is reused by many
 * queries: dist(q, x) = ||x||^2 - 2 q.x + ||q||^2, and the q.x for a block of queries times a
 * block of rows is a small GEMM. The loops follow BLIS (Van Zee & van de Geijn, 2015):
 *
 *   task = up to RV_BATCH_MB queries (packed once into 6-wide micro-panels, all of d)
 *   for each block of RV_BATCH_NB rows               (jb)
 *     for each chunk of RV_BATCH_KC dimensions       (kb)  B block = NB x KC floats, L2-resident
 *       pack the rows' chunk into 16-wide micro-panels
 *       for each 16-row micro-panel (L1-resident)  for each 6-query micro-panel:
 *         6x16 FMA micro-kernel accumulates into the C tile (MB x NB)
 *     screen: per query, keep the k' best by ||x||^2 - 2 q.x (vector compare, rare heap push)
 *   re-score the k' survivors exactly with l2sq and keep k.
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

#include "base/internal.h"
#include "base/kernels.h"
#include "base/pool.h"
#include "index/flat.h"
#include "index/topk.h"

#define RV_BATCH_MB 192u  /* max queries per task: 32 micro-panels of 6; A block 192 KiB at KC */
#define RV_BATCH_NB 256u  /* rows per block: multiple of 16 */
#define RV_BATCH_KC 256u
#define RV_FLAT_GEMM_MAX_K 1024u  /* dims per chunk: B block = 256 KiB (L2), micro-panel 16 KiB (L1) */

typedef struct rv_batch_job {
    const rv_store *s;
    const float *q;
    size_t m, kk, kprime, mb;
    double max_norm2; /* max ||x||^2 over the rows, for the screen's error bound */
    int64_t *ids;
    float *scores;
    atomic_int failed; /* a task could not allocate */
} rv_batch_job;

static void rv_pack_queries(const float *q, size_t rows, uint32_t d, float *apack, size_t mbp)
{
    /* apack[p][t][i] = q[p*6 + i][t]; rows beyond `rows` are zero. */
    for (size_t p = 0; p < mbp / RV_GEMM_MR; p++) {
        float *dst = apack + p * RV_GEMM_MR * d;
        for (size_t i = 0; i < RV_GEMM_MR; i++) {
            size_t r = p * RV_GEMM_MR + i;
            for (size_t t = 0; t < d; t++)
                dst[t * RV_GEMM_MR + i] = r < rows ? q[r * d + t] : 0.0f;
        }
    }
}

static void rv_pack_rows(const rv_kernels *K, const float *x, size_t rows, uint32_t d, size_t kb,
                         size_t kc, float *bpack, size_t nbp)
{
    /* bpack[p][t][j] = x[p*16 + j][kb + t]; rows beyond `rows` are zero. */
    for (size_t p = 0; p < nbp / RV_GEMM_NR; p++) {
        size_t first = p * RV_GEMM_NR;
        size_t count = rows > first ? rv_min(RV_GEMM_NR, rows - first) : 0;
        K->pack_rows16(x + first * d + kb, d, count, kc, bpack + p * RV_GEMM_NR * kc);
    }
}

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

static void rv_batch_task(void *ctx, size_t task)
{
    rv_batch_job *job = ctx;
    const rv_store *s = job->s;
    const rv_kernels *K = rv_kernels_get();
    const uint32_t d = s->dim;
    const size_t q0 = task * job->mb, mq = rv_min(job->mb, job->m - q0);
    const size_t mbp = rv_round_up(mq, RV_GEMM_MR);
    const size_t kprime = job->kprime;

    float *apack = rv_alloc(mbp * d * sizeof(float));
    float *bpack = rv_alloc((size_t)RV_BATCH_NB * RV_BATCH_KC * sizeof(float));
    float *ctile = rv_alloc(mbp * RV_BATCH_NB * sizeof(float));
    uint32_t *sel = rv_alloc(RV_BATCH_NB * sizeof(uint32_t));
    rv_hit *items = rv_alloc(mq * kprime * sizeof(rv_hit));
    rv_topk *heaps = rv_alloc(mq * sizeof(rv_topk));
    if (!apack || !bpack || !ctile || !sel || !items || !heaps) {
        job->failed = 1;
        goto done;
    }
    rv_pack_queries(job->q + q0 * d, mq, d, apack, mbp);
    for (size_t i = 0; i < mq; i++)
        rv_topk_init(&heaps[i], items + i * kprime, kprime);

    for (size_t jb = 0; jb < s->n; jb += RV_BATCH_NB) {
        const size_t nb = rv_min(RV_BATCH_NB, s->n - jb), nbp = rv_round_up(nb, RV_GEMM_NR);
        memset(ctile, 0, mbp * RV_BATCH_NB * sizeof(float));
        for (size_t kb = 0; kb < d; kb += RV_BATCH_KC) {
            const size_t kc = rv_min(RV_BATCH_KC, d - kb);
            rv_pack_rows(K, s->vectors + jb * d, nb, d, kb, kc, bpack, nbp);
            for (size_t p = 0; p < nbp / RV_GEMM_NR; p++)
                for (size_t ip = 0; ip < mbp / RV_GEMM_MR; ip++)
                    K->gemm_micro(kc, apack + ip * RV_GEMM_MR * d + kb * RV_GEMM_MR,
                                  bpack + p * RV_GEMM_NR * kc,
                                  ctile + ip * RV_GEMM_MR * RV_BATCH_NB + p * RV_GEMM_NR, RV_BATCH_NB);
        }
        const float *norms = s->norms + jb;
        for (size_t i = 0; i < mq; i++) {
            const float *dots = ctile + i * RV_BATCH_NB;
            float bound = rv_topk_bound(&heaps[i]);
            /* <= bound: ties with the current worst may still win on id. */
            size_t cnt = K->select_below(dots, norms, nb, nextafterf(bound, INFINITY), sel);
            for (size_t c = 0; c < cnt; c++) {
                size_t j = sel[c];
                rv_topk_push(&heaps[i], norms[j] - 2.0f * dots[j], s->ids[jb + j], jb + j);
            }
        }
    }
    /* Exact re-scoring of the k' survivors; reuse the tail of each heap's storage. */
    for (size_t i = 0; i < mq; i++) {
        const float *q = job->q + (q0 + i) * d;
        rv_topk *h = &heaps[i];
        size_t cnt = h->size;
        rv_hit *cand = h->items;
        /* Screen value of the worst kept candidate; +inf when every row was kept. */
        double worst_kept = cnt == kprime && kprime < s->n ? (double)cand[0].score : INFINITY;
        for (size_t c = 0; c < cnt; c++)
            cand[c].score = K->l2sq(q, s->vectors + cand[c].row * d, d);
        /* Select the kk best of the re-scored candidates with a fresh heap over a copy. */
        rv_hit best_items[64];
        rv_hit *best = job->kk <= RV_ARRAY_LEN(best_items) ? best_items : rv_alloc(job->kk * sizeof(rv_hit));
        if (!best) {
            job->failed = 1;
            goto done;
        }
        rv_topk out;
        rv_topk_init(&out, best, job->kk);
        for (size_t c = 0; c < cnt; c++)
            rv_topk_push(&out, cand[c].score, cand[c].id, cand[c].row);
        int64_t *row_ids = job->ids + (q0 + i) * job->kk;
        float *row_scores = job->scores + (q0 + i) * job->kk;
        size_t got = rv_topk_drain_sorted(&out, row_ids, row_scores, NULL);
        if (best != best_items)
            rv_free(best);
        if (worst_kept < INFINITY && !rv_screen_proves_exact(job, K, q, worst_kept, got ? row_scores[got - 1] : INFINITY))
            if (rv_flat_search_one(s, q, job->kk, row_ids, row_scores) != RV_OK)
                job->failed = 1;
    }
done:
    rv_free(apack);
    rv_free(bpack);
    rv_free(ctile);
    rv_free(sel);
    rv_free(items);
    rv_free(heaps);
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
    /* Tasks as large as possible (packing a row block is amortized over the task's queries) up
     * to RV_BATCH_MB, and a multiple of the thread count so the last round is not half idle. */
    size_t threads = rv_pool_size();
    size_t rounds = (m + threads * RV_BATCH_MB - 1) / (threads * RV_BATCH_MB);
    size_t tasks = rounds * threads;
    size_t mb = rv_min(RV_BATCH_MB, rv_round_up((m + tasks - 1) / tasks, RV_GEMM_MR));
    double max_norm2 = 0;
    for (size_t r = 0; r < s->n; r++)
        max_norm2 = s->norms[r] > max_norm2 ? s->norms[r] : max_norm2;
    rv_batch_job job = {s, q, m, kk, kprime, mb, max_norm2, ids, scores, 0};
    rv_parallel_for((m + mb - 1) / mb, rv_batch_task, &job);
    return job.failed ? rv_fail(RV_ERR_NO_MEMORY, "out of memory in batch search") : RV_OK;
}
