/*
 * kernels_scalar.c — the portable reference kernels.
 *
 * These define the results: the SIMD twins reproduce l2sq, dot and select_below bit for bit by
 * following the same lane layout and reduction tree (see kernels.h). Compiled for the baseline
 * ISA with -ffp-contract=off so the compiler cannot fuse or reorder anything.
 */
#include "base/internal.h"
#include "base/kernels.h"

static float rv_reduce32(const float acc[32])
{
    float s8[8], s4[4], s2[2];
    for (int j = 0; j < 8; j++)
        s8[j] = (acc[j] + acc[j + 8]) + (acc[j + 16] + acc[j + 24]);
    for (int j = 0; j < 4; j++)
        s4[j] = s8[j] + s8[j + 4];
    for (int j = 0; j < 2; j++)
        s2[j] = s4[j] + s4[j + 2];
    return s2[0] + s2[1];
}

static float rv_l2sq_scalar(const float *a, const float *b, size_t d)
{
    float acc[32] = {0};
    for (size_t i = 0; i < d; i++) {
        float t = a[i] - b[i];
        acc[i & 31] += t * t;
    }
    return rv_reduce32(acc);
}

static void rv_l2sq_rows_scalar(const float *q, const float *x, size_t d, size_t count, float *out)
{
    for (size_t r = 0; r < count; r++)
        out[r] = rv_l2sq_scalar(q, x + r * d, d);
}

static float rv_dot_scalar(const float *a, const float *b, size_t d)
{
    float acc[32] = {0};
    for (size_t i = 0; i < d; i++)
        acc[i & 31] += a[i] * b[i];
    return rv_reduce32(acc);
}

static void rv_gemm_micro_scalar(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                                 const float *init)
{
    if (init)
        for (size_t i = 0; i < RV_GEMM_MR; i++)
            for (size_t j = 0; j < RV_GEMM_NR; j++)
                c[i * ldc + j] = init[j];
    for (size_t t = 0; t < kc; t++)
        for (size_t i = 0; i < RV_GEMM_MR; i++) {
            float ai = a[i * lda + t];
            for (size_t j = 0; j < RV_GEMM_NR; j++)
                c[i * ldc + j] += ai * b[t * RV_GEMM_NR + j];
        }
}

static size_t rv_select_below_scalar(const float *dots, const float *norms, size_t n, float thresh,
                                     uint32_t *idx_out)
{
    size_t count = 0;
    for (size_t j = 0; j < n; j++)
        if (norms[j] - 2.0f * dots[j] < thresh)
            idx_out[count++] = (uint32_t)j;
    return count;
}

static void rv_pack_rows16_scalar(const float *x, size_t ld, size_t rows, size_t kc, float *dst)
{
    for (size_t t = 0; t < kc; t++)
        for (size_t j = 0; j < RV_GEMM_NR; j++)
            dst[t * RV_GEMM_NR + j] = j < rows ? x[j * ld + t] : 0.0f;
}

static void rv_axpy_scalar(size_t n, float a, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

static const rv_kernels rv_kernels_scalar_table = {
    .name = "scalar",
    .l2sq = rv_l2sq_scalar,
    .l2sq_rows = rv_l2sq_rows_scalar,
    .dot = rv_dot_scalar,
    .gemm_micro = rv_gemm_micro_scalar,
    .select_below = rv_select_below_scalar,
    .pack_rows16 = rv_pack_rows16_scalar,
    .axpy = rv_axpy_scalar,
};

const rv_kernels *rv_kernels_scalar(void) { return &rv_kernels_scalar_table; }
