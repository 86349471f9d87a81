/*
 * rotation.c — random orthogonal rotations for RaBitQ (Gao & Long, SIGMOD 2024, §3.1).
 *
 * Dense Haar: Gram-Schmidt on an i.i.d. Gaussian matrix is QR with a positive-diagonal R, so the
 * rows are Haar-distributed on O(D). We orthonormalise in double (modified GS; orthogonality
 * ~1e-15 before rounding to float, vs ~1e-4 for upstream's float GS at D = 512), which costs
 * ~2 D^3 flops once per index (D = 768: ~0.9 GFLOP). Applying it costs D^2 per vector: as a
 * GEMM for data (build/add) and a dot product per row for queries.
 *
 * Considered: a randomized Hadamard transform (O(D log D) apply) — orthogonal only when D is a
 * power of two or when padded, and padding would cost code bits (D = 768 -> 1024). Kept as the
 * next lever for large D, to be chosen per D by measurement.
 */
#include <math.h>

#include "base/gemm.h"
#include "base/internal.h"
#include "base/kernels.h"
#include "base/rng.h"
#include "index/rotation.h"

static double rv_ddot(const double *a, const double *b, size_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

rv_status rv_rotation_haar(rv_rotation *r, uint32_t dim, uint64_t seed)
{
    size_t d = dim, cells;
    r->dim = dim;
    r->m = NULL;
    if (!rv_mul(d, d, &cells))
        return rv_fail(RV_ERR_NO_MEMORY, "rotation of dim %u too large", dim);
    double *g = rv_alloc(cells * sizeof(double));
    float *m = rv_alloc(cells * sizeof(float));
    if (!g || !m) {
        rv_free(g);
        rv_free(m);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory for a %u x %u rotation", dim, dim);
    }
    rv_rng rng;
    rv_rng_seed(&rng, seed);
    for (size_t i = 0; i < cells; i++)
        g[i] = rv_rng_gauss(&rng);
    for (size_t i = 0; i < d; i++) {
        double *row = g + i * d;
        for (size_t j = 0; j < i; j++) {
            const double *prev = g + j * d;
            double proj = rv_ddot(row, prev, d);
            for (size_t t = 0; t < d; t++)
                row[t] -= proj * prev[t];
        }
        double norm = sqrt(rv_ddot(row, row, d));
        /* A Gaussian row is in the span of the previous ones with probability 0. */
        for (size_t t = 0; t < d; t++)
            row[t] = norm > 0 ? row[t] / norm : (t == i ? 1.0 : 0.0);
    }
    for (size_t i = 0; i < cells; i++)
        m[i] = (float)g[i];
    rv_free(g);
    r->m = m;
    return RV_OK;
}

void rv_rotation_free(rv_rotation *r)
{
    rv_free(r->m);
    r->m = NULL;
}

void rv_rotation_apply(const rv_rotation *r, const float *x, float *out)
{
    const rv_kernels *K = rv_kernels_get();
    for (size_t i = 0; i < r->dim; i++)
        out[i] = K->dot(r->m + i * r->dim, x, r->dim);
}

typedef struct rv_rot_job {
    float *out;
    size_t dim;
} rv_rot_job;

static int rv_rot_begin(void *ctx, size_t task, size_t i0, size_t rows)
{
    (void)ctx, (void)task, (void)i0, (void)rows;
    return 0;
}

static void rv_rot_block(void *ctx, size_t task, size_t i0, size_t rows, size_t j0, size_t cols,
                         const float *c, size_t ldc)
{
    (void)task;
    rv_rot_job *job = ctx;
    for (size_t i = 0; i < rows; i++)
        memcpy(job->out + (i0 + i) * job->dim + j0, c + i * ldc, cols * sizeof(float));
}

rv_status rv_rotation_apply_batch(const rv_rotation *r, const float *x, size_t n, float *out)
{
    rv_rot_job job = {out, r->dim};
    rv_gemm_consumer consumer = {&job, rv_rot_begin, rv_rot_block, NULL};
    return rv_gemm_nt(x, n, r->m, r->dim, r->dim, &consumer);
}
