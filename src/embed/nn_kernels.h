/*
 * embed/nn_kernels.h — the neural-network kernel domain the embedders share: GELU, softmax and
 * LayerNorm now (the text encoder), convolutions next (the image models), one table per
 * instruction set following the process's one SIMD decision (rv_simd() in base/kernels.h).
 * Products run on base's GEMM (base/gemm.h). Contracts across twins:
 *   gelu, softmax    each twin within the error stated below (the same branch-free float code,
 *                    base/vmath_impl.h; the AVX2 twin fuses its multiply-adds).
 *   layernorm        bit-identical (the same branch-free float code).
 */
#ifndef RV_EMBED_NN_KERNELS_H
#define RV_EMBED_NN_KERNELS_H

#include <stddef.h>

typedef struct rv_nn_kernels {
    const char *name;
    /* x[i] = 0.5 x (1 + erf(x / sqrt 2)) in place, within 5e-7 of the exact value. */
    void (*gelu)(float *x, size_t n);
    /* row[i] = e^{s (row[i] - max)} / sum_j e^{s (row[j] - max)} in place (s > 0, n >= 1; finite
     * inputs), each within (4 + |exponent|) 2^-23 relative, or 2e-38 absolute (e^-87 clamp).
     * row has room for n rounded up to 8 floats; the ones past n are overwritten with 0. */
    void (*softmax)(float *row, size_t n, float s);
    /* x = LayerNorm(x + r) over n floats (r may be NULL), in float with 8-lane sums: within
     * 1e-6 (|g| (1 + |x^|) + |b|) of the double-precision value (x^ = (x - mean) / sd). */
    void (*layernorm)(float *x, const float *r, size_t n, const float *g, const float *b, float eps);
} rv_nn_kernels;

/* The table for the process's SIMD decision. */
const rv_nn_kernels *rv_nn_kernels_get(void);

/* The individual tables, for tests; rv_nn_kernels_avx2() is NULL when the CPU or the build
 * cannot run it. */
const rv_nn_kernels *rv_nn_kernels_scalar(void);
const rv_nn_kernels *rv_nn_kernels_avx2(void);

#endif
