/*
 * embed/nn_kernels_scalar.c — the scalar reference of the network kernels (nn_kernels.h). The
 * math lives in base/vmath_impl.h, shared with the AVX2 twin, which compiles the same code with
 * fused multiply-adds (so the twins agree within the stated bounds, not bit for bit).
 */
#include "base/internal.h"
#include "base/vmath_impl.h"
#include "embed/nn_kernels.h"

static void rv_gelu_scalar(float *x, size_t n) { rv_gelu_rows_impl(x, n); }

static void rv_softmax_scalar(float *row, size_t n, float s) { rv_softmax_impl(row, n, s); }

static void rv_layernorm_scalar(float *x, const float *r, size_t n, const float *g, const float *b, float eps)
{
    rv_layernorm_impl(x, r, n, g, b, eps);
}

static const rv_nn_kernels rv_nn_kernels_scalar_table = {
    .name = "scalar",
    .gelu = rv_gelu_scalar,
    .softmax = rv_softmax_scalar,
    .layernorm = rv_layernorm_scalar,
};

const rv_nn_kernels *rv_nn_kernels_scalar(void) { return &rv_nn_kernels_scalar_table; }
