/*
 * gemm.c — the blocked single-precision GEMM (C = A B^T) behind batch search, rotation and
 * k-means. Loop order after BLIS (Van Zee & van de Geijn, 2015):
 *
 *   task = up to RV_GEMM_MB rows of A, read in place by the micro-kernel 6 rows at a time (six
 *          sequential streams; only a last partial group of rows is copied, zero-padded)
 *   for each block of RV_GEMM_NB rows of B                                     (jb)
 *     for each chunk of RV_GEMM_KC columns                                        (kb)
 *       pack the block's chunk into 16-wide micro-panels (8x8 register transposes)
 *       for each 16-row micro-panel (L1)   for each 6-row A micro-panel (L2):
 *         6x16 FMA micro-kernel accumulates into the C tile
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
    atomic_int failed;
} rv_gemm_job;

void rv_gemm_plan(size_t m, size_t *rows_per_task, size_t *tasks)
{
    size_t threads = rv_pool_size();
    size_t rounds = (m + threads * RV_GEMM_MB - 1) / (threads * RV_GEMM_MB);
    size_t t = rounds * threads;
    size_t mb = rv_min(RV_GEMM_MB, rv_round_up((m + t - 1) / t, RV_GEMM_MR));
    if (mb == 0)
        mb = RV_GEMM_MR;
    *rows_per_task = mb;
    *tasks = (m + mb - 1) / mb;
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
        cons->begin(cons->ctx, task, i0, rows) != 0) {
        job->failed = 1;
        goto done;
    }
    if (atail)
        memcpy(atail, job->a + (i0 + full * RV_GEMM_MR) * k, (rows % RV_GEMM_MR) * k * sizeof(float));
    for (size_t jb = 0; jb < job->n; jb += RV_GEMM_NB) {
        const size_t nb = rv_min(RV_GEMM_NB, job->n - jb), nbp = rv_round_up(nb, RV_GEMM_NR);
        if (k == 0)
            memset(ctile, 0, mbp * RV_GEMM_NB * sizeof(float));
        for (size_t kb = 0; kb < k; kb += RV_GEMM_KC) { /* the first chunk overwrites the tile */
            const size_t kc = rv_min(RV_GEMM_KC, k - kb);
            const float *bp = bpack;
            if (job->bpacked) /* block jb starts at jb * k; its chunk kb at kb * nbp within */
                bp = job->bpacked + jb * k + kb * nbp;
            else
                rv_pack_b(K, job->b + jb * k, nb, k, kb, kc, bpack, nbp);
            for (size_t p = 0; p < nbp / RV_GEMM_NR; p++)
                for (size_t ip = 0; ip < mbp / RV_GEMM_MR; ip++)
                    K->gemm_micro(kc, (ip < full ? job->a + (i0 + ip * RV_GEMM_MR) * k : atail) + kb, k,
                                  bp + p * RV_GEMM_NR * kc,
                                  ctile + ip * RV_GEMM_MR * RV_GEMM_NB + p * RV_GEMM_NR, RV_GEMM_NB, kb > 0);
        }
        cons->block(cons->ctx, task, i0, rows, jb, nb, ctile, RV_GEMM_NB);
    }
    if (cons->end)
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
    rv_gemm_job job = {a, b, NULL, m, n, k, mb, consumer, 0};
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

rv_status rv_gemm_nt_packed(const float *a, size_t m, const rv_gemm_packed *b, const rv_gemm_consumer *consumer)
{
    size_t mb, tasks;
    rv_gemm_plan(m, &mb, &tasks);
    rv_gemm_job job = {a, NULL, b->data, m, b->n, b->k, mb, consumer, 0};
    rv_parallel_for(m ? tasks : 0, rv_gemm_task, &job);
    return job.failed ? rv_fail(RV_ERR_NO_MEMORY, "out of memory in a %zu x %zu x %zu product", m, b->n, b->k)
                      : RV_OK;
}
