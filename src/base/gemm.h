/*
 * base/gemm.h — C = A * B^T for row-major A (m x k) and B (n x k), delivered block by block.
 *
 * Nobody needs the whole m x n product in memory: flat search screens each block for its best
 * rows, k-means keeps an argmin, rotation copies blocks out. So the driver hands each finished
 * (task rows) x (RV_GEMM_NB columns) tile to a consumer while it is still in cache.
 */
#ifndef RV_BASE_GEMM_H
#define RV_BASE_GEMM_H

#include <stddef.h>

#include "ruvector/status.h"

#define RV_GEMM_NB 256u  /* B rows per block (multiple of 16) */
#define RV_GEMM_KC 384u  /* k per chunk: a packed B block is 384 KiB (L2), a micro-panel 24 KiB (L1);
                          * one chunk for k = 384 (MiniLM): 4-6% faster than 256 on Zen 3 */
#define RV_GEMM_MB 192u  /* max A rows per task when B is packed per task: 32 micro-panels of 6 */
#define RV_GEMM_MB_PACKED 48u /* ... and with a prepacked B (no packing to amortise): small tasks keep
                               * two threads busy even when one core runs slower (a shared host):
                               * the MiniLM forward pass waited 4% of its time at barriers with 192,
                               * 1.5% with 48; a lone product is as fast (B streams from L2 either way) */

typedef struct rv_gemm_consumer {
    void *ctx;
    /* Once per task, before its blocks; return non-zero on failure (e.g. allocation). */
    int (*begin)(void *ctx, size_t task, size_t i0, size_t rows);
    /* c[i * ldc + j] = A[i0 + i] . B[j0 + j] for i < rows, j < cols. */
    void (*block)(void *ctx, size_t task, size_t i0, size_t rows, size_t j0, size_t cols,
                  const float *c, size_t ldc);
    /* Once per task after its last block (may be NULL). */
    void (*end)(void *ctx, size_t task, size_t i0, size_t rows);
} rv_gemm_consumer;

/* How the driver will split m rows: tasks of `*rows_per_task` A rows (a multiple of 6, at most
 * RV_GEMM_MB), a multiple of the pool size so no thread idles in the last round. */
void rv_gemm_plan(size_t m, size_t *rows_per_task, size_t *tasks);

/* Runs the product on the worker pool, one task per A row block (each streams all of B).
 * Tasks run concurrently; a consumer's per-task state must be indexed by `task`.
 * Errors: NO_MEMORY (scratch, or a begin callback failed). */
rv_status rv_gemm_nt(const float *a, size_t m, const float *b, size_t n, size_t k,
                     const rv_gemm_consumer *consumer);

/* B packed once for many products (model weights): the micro-panel layout rv_gemm_nt builds per
 * task and per block, so products with it skip the packing. */
typedef struct rv_gemm_packed {
    float *data;
    size_t n, k;
} rv_gemm_packed;

/* Packs b (n x k). Errors: NO_MEMORY. Free with rv_gemm_packed_free. */
rv_status rv_gemm_pack(const float *b, size_t n, size_t k, rv_gemm_packed *out);
void rv_gemm_packed_free(rv_gemm_packed *p);
/* y[i * ldy + j] = bias[j] + A[i] . B[j] for a packed B (bias may be NULL: zeros, and then y
 * equals rv_gemm_nt's product bit for bit), written straight into y (no tile copy): each sum
 * starts from the bias. `after` (may be NULL; begin/block/end each optional)
 * sees every finished block in y (c = y + i0 * ldy + j0, ldc = ldy), and `end` the task's
 * finished rows. Errors: NO_MEMORY. */
rv_status rv_gemm_nt_packed_into(const float *a, size_t m, const rv_gemm_packed *b, const float *bias, float *y,
                                 size_t ldy, const rv_gemm_consumer *after);

#endif
