/*
 * embed/nn_kernels_avx2.c — AVX2 + FMA twins of nn_kernels_scalar.c: the same branch-free code
 * of base/vmath_impl.h, compiled with -mavx2 -mfma and RV_VMATH_FMA (fused multiply-adds in
 * GELU and softmax), so it vectorises to 8 lanes. Reached only through rv_nn_kernels_get().
 */
#include <immintrin.h>

#include "base/internal.h"
#define RV_VMATH_FMA 1 /* fused multiply-adds in GELU and softmax (see there) */
#include "base/vmath_impl.h"
#include "embed/nn_kernels.h"

static void rv_gelu_avx2(float *x, size_t n) { rv_gelu_rows_impl(x, n); }

static void rv_softmax_avx2(float *row, size_t n, float s) { rv_softmax_impl(row, n, s); }

static void rv_layernorm_avx2(float *x, const float *r, size_t n, const float *g, const float *b, float eps)
{
    rv_layernorm_impl(x, r, n, g, b, eps);
}

const rv_nn_kernels rv_nn_kernels_avx2_table = {
    .name = "avx2",
    .gelu = rv_gelu_avx2,
    .softmax = rv_softmax_avx2,
    .layernorm = rv_layernorm_avx2,
};
