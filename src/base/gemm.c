/*
 * gemm.c — the blocked single-precision GEMM (C = A B^T) behind batch search, rotation and
 * k-means. Loop order after BLIS (Van Zee & van de Geijn, 2015):
 *
 *   task = up to RV_GEMM_MB rows of A (RV_GEMM_MB_PACKED with a prepacked B), read in place by
 *          the micro-kernel 6 rows at a time (only a last partial group is copied, zero-padded)
 *   for each block of RV_GEMM_NB rows of B                                     (jb)
 *     for each chunk of RV_GEMM_KC columns                                        (kb)
 *       pack the block's chunk into 16-wide micro-panels (8x8 register transposes)
 *       for each 6-row A micro-panel (L1)   for each 16-row B micro-panel (L2, one stream):
 *         6x16 FMA micro-kernel accumulates into the C tile
 *       (A in L1 and B from L2 measured 1-3% faster on Zen 3 than the other way round, whose B
 *       micro-panel of 24 KiB and six A streams overflow the 32 KiB L1 at KC = 384)
 *     hand the finished tile to the consumer
 *
 * Tasks split A; each streams all of B, so every C element is computed by one fixed sequence of
 * operations whatever the thread count (results are thread-count independent).
 */
#include <stdatomic.h>

#include "base/gemm.h"
#include "base/internal.h"
#include "base/kernels.h"
#include "base/pool.h"

typedef struct rv_gemm_job {
    const float *a, *b;
    const float *bpacked; /* rv_gemm_packed data, or NULL to pack per task */
    size_t m, n, k, mb;
    const rv_gemm_consumer *consumer;
    const float *bias; /* direct mode: n rounded up to 16 floats (zero-padded) */
    float *y;          /* direct mode: the output, row stride ldy; NULL for tiles */
    size_t ldy;
    atomic_int failed;
} rv_gemm_job;

const float rv_gemm_zero_init[RV_GEMM_NR];

static void rv_gemm_plan_max(size_t m, size_t max_rows, size_t *rows_per_task, size_t *tasks)
{
    size_t threads = rv_pool_size();
    size_t rounds = (m + threads * max_rows - 1) / (threads * max_rows);
    size_t t = rounds * threads;
    size_t mb = rv_min(max_rows, rv_round_up((m + t - 1) / t, RV_GEMM_MR));
    if (mb == 0)
        mb = RV_GEMM_MR;
    *rows_per_task = mb;
    *tasks = (m + mb - 1) / mb;
}

void rv_gemm_plan(size_t m, size_t *rows_per_task, size_t *tasks)
{
    rv_gemm_plan_max(m, RV_GEMM_MB, rows_per_task, tasks);
}

static void rv_pack_b(const rv_kernels *K, const float *b, size_t rows, size_t k, size_t kb,
                      size_t kc, float *bpack, size_t nbp)
{
    /* bpack[p][t][j] = b[p*16 + j][kb + t]; rows beyond `rows` are zero. */
    for (size_t p = 0; p < nbp / RV_GEMM_NR; p++) {
        size_t first = p * RV_GEMM_NR;
        size_t count = rows > first ? rv_min(RV_GEMM_NR, rows - first) : 0;
        K->pack_rows16(b + first * k + kb, k, count, kc, bpack + p * RV_GEMM_NR * kc);
    }
}

/* One task: A rows [i0, i0 + rows) times all of B. Tile mode hands each finished block, in a
 * task-local tile, to the consumer. Direct mode (job->y) starts every micro-tile from the bias
 * and writes it straight into y; only tiles cut by the last row group or the last column panel
 * go through the task tile and are copied. */
static void rv_gemm_task(void *ctx, size_t task)
{
    rv_gemm_job *job = ctx;
    const rv_gemm_consumer *cons = job->consumer;
    const rv_kernels *K = rv_kernels_get();
    const size_t k = job->k, i0 = task * job->mb, rows = rv_min(job->mb, job->m - i0);
    const size_t mbp = rv_round_up(rows, RV_GEMM_MR), full = rows / RV_GEMM_MR;
    float *atail = rows % RV_GEMM_MR ? rv_calloc(RV_GEMM_MR * k, sizeof(float)) : NULL;
    float *bpack = job->bpacked ? NULL : rv_alloc((size_t)RV_GEMM_NB * RV_GEMM_KC * sizeof(float));
    float *ctile = rv_alloc(mbp * RV_GEMM_NB * sizeof(float));
    if ((rows % RV_GEMM_MR && !atail) || (!bpack && !job->bpacked) || !ctile ||
        (cons && cons->begin && cons->begin(cons->ctx, task, i0, rows) != 0)) {
        job->failed = 1;
        goto done;
    }
    if (atail)
        memcpy(atail, job->a + (i0 + full * RV_GEMM_MR) * k, (rows % RV_GEMM_MR) * k * sizeof(float));
    for (size_t jb = 0; jb < job->n; jb += RV_GEMM_NB) {
        const size_t nb = rv_min(RV_GEMM_NB, job->n - jb), nbp = rv_round_up(nb, RV_GEMM_NR);
        for (size_t kb = 0; kb < k || (k == 0 && kb == 0); kb += RV_GEMM_KC) { /* chunk 0 starts from the init */
            const size_t kc = rv_min(RV_GEMM_KC, k - kb);
            const float *bp = bpack;
            if (job->bpacked) /* block jb starts at jb * k; its chunk kb at kb * nbp within */
                bp = job->bpacked + jb * k + kb * nbp;
            else if (kc)
                rv_pack_b(K, job->b + jb * k, nb, k, kb, kc, bpack, nbp);
            for (size_t ip = 0; ip < mbp / RV_GEMM_MR; ip++) {
                const float *a = (ip < full ? job->a + (i0 + ip * RV_GEMM_MR) * k : atail) + kb;
                for (size_t p = 0; p < nbp / RV_GEMM_NR; p++) {
                    const bool whole_cols = (p + 1) * RV_GEMM_NR <= nb;
                    const float *init = kb > 0 ? NULL : job->bias ? job->bias + jb + p * RV_GEMM_NR : rv_gemm_zero_init;
                    float *c = ctile + ip * RV_GEMM_MR * RV_GEMM_NB + p * RV_GEMM_NR;
                    size_t ldc = RV_GEMM_NB;
                    if (job->y && whole_cols && ip < full) {
                        c = job->y + (i0 + ip * RV_GEMM_MR) * job->ldy + jb + p * RV_GEMM_NR;
                        ldc = job->ldy;
                    }
                    K->gemm_micro(kc, a, k, bp + p * RV_GEMM_NR * kc, c, ldc, init);
                }
            }
        }
        if (job->y) {
            for (size_t i = 0; i < rows; i++) { /* the cut tiles: last row group, last column panel */
                size_t from = i < full * RV_GEMM_MR ? nb / RV_GEMM_NR * RV_GEMM_NR : 0;
                if (from < nb)
                    memcpy(job->y + (i0 + i) * job->ldy + jb + from, ctile + i * RV_GEMM_NB + from,
                           (nb - from) * sizeof(float));
            }
            if (cons && cons->block)
                cons->block(cons->ctx, task, i0, rows, jb, nb, job->y + i0 * job->ldy + jb, job->ldy);
        } else {
            cons->block(cons->ctx, task, i0, rows, jb, nb, ctile, RV_GEMM_NB);
        }
    }
    if (cons && cons->end)
        cons->end(cons->ctx, task, i0, rows);
done:
    rv_free(atail);
    rv_free(bpack);
    rv_free(ctile);
}

rv_status rv_gemm_nt(const float *a, size_t m, const float *b, size_t n, size_t k,
                     const rv_gemm_consumer *consumer)
{
    size_t mb, tasks;
    rv_gemm_plan(m, &mb, &tasks);
    rv_gemm_job job = {a, b, NULL, m, n, k, mb, consumer, NULL, NULL, 0, 0};
    rv_parallel_for(m ? tasks : 0, rv_gemm_task, &job);
    return job.failed ? rv_fail(RV_ERR_NO_MEMORY, "out of memory in a %zu x %zu x %zu product", m, n, k)
                      : RV_OK;
}

rv_status rv_gemm_pack(const float *b, size_t n, size_t k, rv_gemm_packed *out)
{
    const rv_kernels *K = rv_kernels_get();
    size_t total;
    out->data = rv_mul(rv_round_up(n, RV_GEMM_NR), k, &total) ? rv_alloc(total * sizeof(float)) : NULL;
    if (!out->data)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory packing a %zu x %zu matrix", n, k);
    out->n = n;
    out->k = k;
    for (size_t jb = 0; jb < n; jb += RV_GEMM_NB) {
        const size_t nb = rv_min(RV_GEMM_NB, n - jb), nbp = rv_round_up(nb, RV_GEMM_NR);
        for (size_t kb = 0; kb < k; kb += RV_GEMM_KC)
            rv_pack_b(K, b + jb * k, nb, k, kb, rv_min(RV_GEMM_KC, k - kb), out->data + jb * k + kb * nbp, nbp);
    }
    return RV_OK;
}

void rv_gemm_packed_free(rv_gemm_packed *p)
{
    rv_free(p->data);
    p->data = NULL;
}

rv_status rv_gemm_nt_packed_into(const float *a, size_t m, const rv_gemm_packed *b, const float *bias, float *y,
                                 size_t ldy, const rv_gemm_consumer *after)
{
    float *bpad = rv_calloc(rv_round_up(b->n, RV_GEMM_NR) + 1, sizeof(float));
    if (!bpad)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory in a %zu x %zu x %zu product", m, b->n, b->k);
    if (bias)
        memcpy(bpad, bias, b->n * sizeof(float));
    size_t mb, tasks;
    rv_gemm_plan_max(m, RV_GEMM_MB_PACKED, &mb, &tasks);
    rv_gemm_job job = {a, NULL, b->data, m, b->n, b->k, mb, after, bpad, y, ldy, 0};
    rv_parallel_for(m ? tasks : 0, rv_gemm_task, &job);
    rv_free(bpad);
    return job.failed ? rv_fail(RV_ERR_NO_MEMORY, "out of memory in a %zu x %zu x %zu product", m, b->n, b->k)
                      : RV_OK;
}
