/*
 * base/kernels.h — the SIMD-dispatched compute kernels and their contract.
 *
 * One table per instruction set; rv_kernels_get() returns the one chosen once per process.
 * Every kernel has a scalar twin in kernels_scalar.c, the reference the tests check against:
 *
 *   l2sq, dot,       bit-identical across tables (l2sq_rows = l2sq per row).
 *   l2sq_rows Both accumulate in 32 lanes (lane = element
 *                    index mod 32, a tail is zero-padded), with separate multiply and add (no
 *                    FMA), then reduce in one fixed tree: lane j gets (j + j+8) + (j+16 + j+24),
 *                    then 8 -> 4 -> 2 -> 1 by halves. Results do not depend on the CPU.
 *   gemm_micro       within 2 * kc * 2^-24 * sum|a||b| (the AVX2 twin fuses multiply-add).
 *   select_below     bit-identical (2*x is exact, then one subtraction).
 *   pack_rows16      bit-identical (a copy).
 *   bitplane_dot     bit-identical (integers).
 *   gelu             bit-identical (the same branch-free float code, gelu_impl.h).
 *   axpy             within 2^-23 (|a x[i]| + |y[i]|) per element (the AVX2 twin fuses).
 */
#ifndef RV_BASE_KERNELS_H
#define RV_BASE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define RV_GEMM_MR 6  /* query rows per micro-tile */
#define RV_GEMM_NR 16 /* data rows per micro-tile (two 8-float vectors) */

typedef struct rv_kernels {
    const char *name;
    /* sum_t (a[t] - b[t])^2 */
    float (*l2sq)(const float *a, const float *b, size_t d);
    /* out[r] = l2sq(q, x + r*d, d) for r < count: the scan's inner loop, one call per block. */
    void (*l2sq_rows)(const float *q, const float *x, size_t d, size_t count, float *out);
    /* sum_t a[t] * b[t] */
    float (*dot)(const float *a, const float *b, size_t d);
    /* c[i*ldc + j] += sum_{t<kc} a[t*MR + i] * b[t*NR + j] for i < MR, j < NR.
     * a and b are packed panels; b is 64-byte aligned. */
    void (*gemm_micro)(size_t kc, const float *a, const float *b, float *c, size_t ldc);
    /* Writes to idx_out every j < n with norms[j] - 2*dots[j] < thresh, ascending; returns the
     * count. idx_out holds n entries. */
    size_t (*select_below)(const float *dots, const float *norms, size_t n, float thresh,
                           uint32_t *idx_out);
    /* Packs `rows` (<= 16) rows of x (row stride ld floats), columns [0, kc), into a GEMM panel:
     * dst[t*16 + j] = x[j*ld + t], zero for j >= rows. dst is 64-byte aligned. */
    void (*pack_rows16)(const float *x, size_t ld, size_t rows, size_t kc, float *dst);
    /* x[i] = 0.5 x (1 + erf(x / sqrt 2)) in place, within 5e-7 of the exact value. */
    void (*gelu)(float *x, size_t n);
    /* y[i] += a * x[i] for i < n */
    void (*axpy)(size_t n, float a, const float *x, float *y);
    /* The RaBitQ code scan. Each of `count` codes has `code_bits` planes of `words` u64 (plane-major;
     * bit i of a plane in word i/64 at bit i%64); the query has `query_bits` planes of `words`:
     *   out[2r]   = sum_b sum_j 2^(b+j) popcount(code_b & query_j)   (= <u, q> for integer vectors)
     *   out[2r+1] = sum_b 2^b popcount(code_b)                        (= sum of the code's levels) */
    void (*bitplane_dot)(const uint64_t *codes, size_t words, unsigned code_bits, size_t count,
                         const uint64_t *planes, unsigned query_bits, uint32_t *out);
} rv_kernels;

/* The table every computation uses (chosen once; see rv_kernel_name). */
const rv_kernels *rv_kernels_get(void);

/* The individual tables, for tests and benchmarks. rv_kernels_avx2() is NULL when the CPU or the
 * build lacks AVX2+FMA. */
const rv_kernels *rv_kernels_scalar(void);
const rv_kernels *rv_kernels_avx2(void);

/* Defined in kernels_avx2.c (x86-64 builds only); callers check the CPU first. */
extern const rv_kernels rv_kernels_avx2_table;

#endif
