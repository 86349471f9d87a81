/*
 * kernels_scalar.c — the portable reference kernels.
 *
 * These define the results: the SIMD twins reproduce l2sq, dot and select_below bit for bit by
 * following the same lane layout and reduction tree (see kernels.h). Compiled for the baseline
 * ISA with -ffp-contract=off so the compiler cannot fuse or reorder anything.
 */
#include "base/internal.h"
#include "base/vmath_impl.h"
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

static void rv_fastscan_dot_scalar(const uint8_t *blocks, size_t words, size_t nblocks, const uint8_t *lut,
                                   unsigned nluts, uint32_t *out)
{
    const size_t block_bytes = words * 256;
    for (size_t blk = 0; blk < nblocks; blk++) {
        const uint8_t *B = blocks + blk * block_bytes;
        for (size_t j = 0; j < 32; j++) {
            uint32_t sum = 0;
            for (size_t g = 0; g < words * 16; g++) {
                size_t at = (g / 2) * 32 + (g % 2) * 16;
                unsigned nib = j < 16 ? B[at + j] & 15u : B[at + j - 16] >> 4;
                for (unsigned t = 0; t < nluts; t++)
                    sum += (uint32_t)lut[t * block_bytes + at + nib] << (8 * t);
            }
            out[blk * 32 + j] = sum;
        }
    }
}

static uint32_t rv_levels_dot_scalar(const uint8_t *ex, size_t words, unsigned bits, const uint8_t *uq)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < words * 64; i++)
        sum += rv_ex_level(ex, bits, i) * uq[i];
    return sum;
}

static uint32_t rv_screen32_scalar(const float *f, const float *f2, const uint32_t *scan, const rv_screen *c,
                                   float *est, float *err)
{
    uint32_t keep = 0;
    for (unsigned j = 0; j < 32; j++) {
        float t = c->lo * f[96 + j] - c->lo_cd + c->delta * (float)scan[j] - c->delta_cu;
        float e = f[j] + c->dc - f[32 + j] * t;
        float r = f[64 + j] * c->sqrt_dc + f[32 + j] * c->qerr;
        est[j] = e;
        err[j] = r;
        float r2 = f2 ? f2[j] * c->sqrt_dc + f2[32 + j] * c->qerr2 : 0.0f;
        if (!(e - c->a * r - r2 > c->cand && e + c->b * r > c->ub))
            keep |= 1u << j;
    }
    return keep;
}

static void rv_gelu_scalar(float *x, size_t n) { rv_gelu_rows_impl(x, n); }

static void rv_softmax_scalar(float *row, size_t n, float s) { rv_softmax_impl(row, n, s); }

static void rv_layernorm_scalar(float *x, const float *r, size_t n, const float *g, const float *b, float eps)
{
    rv_layernorm_impl(x, r, n, g, b, eps);
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
    .gelu = rv_gelu_scalar,
    .softmax = rv_softmax_scalar,
    .layernorm = rv_layernorm_scalar,
    .axpy = rv_axpy_scalar,
    .fastscan_dot = rv_fastscan_dot_scalar,
    .levels_dot = rv_levels_dot_scalar,
    .screen32 = rv_screen32_scalar,
};

const rv_kernels *rv_kernels_scalar(void) { return &rv_kernels_scalar_table; }
