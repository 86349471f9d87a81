/*
 * base/kernels.h — the generic SIMD-dispatched kernels, their contract, and the one CPU decision
 * that every kernel domain follows.
 *
 * Kernels live by domain, one table each, every table with a scalar twin (the reference the
 * tests check the others against): this file's generic table (distances, GEMM micro-kernel,
 * packing), index/rabitq_kernels.h (FastScan, levels, the RaBitQ screen) and
 * embed/nn_kernels.h (GELU, softmax, LayerNorm; convolutions later). rv_simd() makes the one
 * decision (CPUID + XGETBV, then RUVECTOR_SIMD=scalar|avx2|auto) once per process; each domain's
 * rv_*_kernels_get() returns its table for that decision, so all domains always run the same
 * instruction set. A new instruction set is one new file per domain plus a case in dispatch.c
 * (docs/design/kernels.md).
 *
 * Generic contracts:
 *   l2sq, dot,       bit-identical across tables (l2sq_rows = l2sq per row).
 *   l2sq_rows Both accumulate in 32 lanes (lane = element
 *                    index mod 32, a tail is zero-padded), with separate multiply and add (no
 *                    FMA), then reduce in one fixed tree: lane j gets (j + j+8) + (j+16 + j+24),
 *                    then 8 -> 4 -> 2 -> 1 by halves. Results do not depend on the CPU.
 *   gemm_micro       within 2 * kc * 2^-24 * sum|a||b| (the AVX2 twin fuses multiply-add).
 *   select_below     bit-identical (2*x is exact, then one subtraction).
 *   pack_rows16      bit-identical (a copy).
 *   axpy             within 2^-23 (|a x[i]| + |y[i]|) per element (the AVX2 twin fuses).
 */
#ifndef RV_BASE_KERNELS_H
#define RV_BASE_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RV_GEMM_MR 6  /* query rows per micro-tile */
#define RV_GEMM_NR 16 /* data rows per micro-tile (two 8-float vectors) */

/* NR zeros: gemm_micro's init for a product that starts from nothing (defined in gemm.c). */
extern const float rv_gemm_zero_init[RV_GEMM_NR];

typedef struct rv_kernels {
    const char *name;
    /* sum_t (a[t] - b[t])^2 */
    float (*l2sq)(const float *a, const float *b, size_t d);
    /* out[r] = l2sq(q, x + r*d, d) for r < count: the scan's inner loop, one call per block. */
    void (*l2sq_rows)(const float *q, const float *x, size_t d, size_t count, float *out);
    /* sum_t a[t] * b[t] */
    float (*dot)(const float *a, const float *b, size_t d);
    /* c[i*ldc + j] = s + sum_{t<kc} a[i*lda + t] * b[t*NR + j] for i < MR, j < NR, t ascending,
     * where s = init[j] (NR floats, e.g. a bias or zeros; c is then not read) or, when init is
     * NULL, s = c[i*ldc + j] (accumulate). a is MR plain rows; b is a packed panel, 64-byte
     * aligned. */
    void (*gemm_micro)(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                       const float *init);
    /* Writes to idx_out every j < n with norms[j] - 2*dots[j] < thresh, ascending; returns the
     * count. idx_out holds n entries. */
    size_t (*select_below)(const float *dots, const float *norms, size_t n, float thresh,
                           uint32_t *idx_out);
    /* Packs `rows` (<= 16) rows of x (row stride ld floats), columns [0, kc), into a GEMM panel:
     * dst[t*16 + j] = x[j*ld + t], zero for j >= rows. dst is 64-byte aligned. */
    void (*pack_rows16)(const float *x, size_t ld, size_t rows, size_t kc, float *dst);
    /* y[i] += a * x[i] for i < n */
    void (*axpy)(size_t n, float a, const float *x, float *y);
} rv_kernels;

/* The instruction sets a table can be written for, best last. */
typedef enum rv_simd_level {
    RV_SIMD_SCALAR = 0,
    RV_SIMD_AVX2 = 1, /* AVX2 + FMA + POPCNT + BMI2, and the OS saves the YMM state */
} rv_simd_level;

/* The process's one decision (made once, thread-safe): the best level this CPU and build run,
 * or the one RUVECTOR_SIMD asks for if it can run (else the best, and rv_kernel_note says so). */
rv_simd_level rv_simd(void);
/* Whether this CPU and build can run the level. */
bool rv_simd_supported(rv_simd_level level);

/* The generic table for rv_simd() (see rv_kernel_name). */
const rv_kernels *rv_kernels_get(void);

/* The individual tables, for tests and benchmarks. rv_kernels_avx2() is NULL when the CPU or the
 * build lacks AVX2+FMA. */
const rv_kernels *rv_kernels_scalar(void);
const rv_kernels *rv_kernels_avx2(void);

#endif
