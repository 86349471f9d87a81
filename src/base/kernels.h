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
 *   fastscan_dot     bit-identical (integers).
 *   levels_dot       bit-identical (integers).
 *   screen32         bit-identical (the same float operations in the same order, no FMA).
 *   gelu, softmax    each twin within the error stated below (the same branch-free float code,
 *                    vmath_impl.h; the AVX2 twin fuses its multiply-adds).
 *   layernorm        bit-identical (the same branch-free float code, vmath_impl.h).
 *   axpy             within 2^-23 (|a x[i]| + |y[i]|) per element (the AVX2 twin fuses).
 */
#ifndef RV_BASE_KERNELS_H
#define RV_BASE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define RV_GEMM_MR 6  /* query rows per micro-tile */
#define RV_GEMM_NR 16 /* data rows per micro-tile (two 8-float vectors) */

/* NR zeros: gemm_micro's init for a product that starts from nothing (defined in gemm.c). */
extern const float rv_gemm_zero_init[RV_GEMM_NR];

/* screen32's scalars (see there). */
typedef struct rv_screen {
    float lo, lo_cd, delta, delta_cu; /* the query's quantization terms */
    float dc, sqrt_dc;                /* ||q - c||^2 of the list, and its root */
    float qerr, qerr2;                /* query rounding error per unit of scale: sign code, B-bit code */
    float a, b;                       /* the skip rule's weights */
    float cand, ub;                   /* the candidate and upper bounds when the block starts */
} rv_screen;

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
    /* x[i] = 0.5 x (1 + erf(x / sqrt 2)) in place, within 5e-7 of the exact value. */
    void (*gelu)(float *x, size_t n);
    /* row[i] = e^{s (row[i] - max)} / sum_j e^{s (row[j] - max)} in place (s > 0, n >= 1; finite
     * inputs), each within (4 + |exponent|) 2^-23 relative, or 2e-38 absolute (e^-87 clamp).
     * row has room for n rounded up to 8 floats; the ones past n are overwritten with 0. */
    void (*softmax)(float *row, size_t n, float s);
    /* x = LayerNorm(x + r) over n floats (r may be NULL), in float with 8-lane sums: within
     * 1e-6 (|g| (1 + |x^|) + |b|) of the double-precision value (x^ = (x - mean) / sd). */
    void (*layernorm)(float *x, const float *r, size_t n, const float *g, const float *b, float eps);
    /* y[i] += a * x[i] for i < n */
    void (*axpy)(size_t n, float a, const float *x, float *y);
    /* The RaBitQ sign-code scan (FastScan: 4-bit lookups with byte shuffles). Codes of `words` x
     * 64 bits sit in blocks of 32; each code is cut into groups of 4 dimensions (g = 0 .. 16
     * words - 1) whose bits form a nibble (bit i = dim 4g + i). In a block, pair p = g / 2 is the
     * 32 bytes at p * 32, where byte (g % 2) * 16 + j holds the nibble of code j in its low half
     * and of code j + 16 in its high half. `lut` holds `nluts` (1 or 2) tables of 8 words x 32
     * bytes with the same pairing: byte p * 32 + (g % 2) * 16 + n is table t's value for group g
     * and nibble n.
     *   out[32 blk + j] = sum_t 256^t sum_g lut_t[g][nibble_g(code j)]
     * for the `nblocks` blocks (all 32 slots; unused slots are whatever their bytes say). */
    void (*fastscan_dot)(const uint8_t *blocks, size_t words, size_t nblocks, const uint8_t *lut, unsigned nluts,
                         uint32_t *out);
    /* <u, uq> for one code's packed levels (64 words dimensions): bits <= 4, byte 32 w + j holds
     * u_{64w+j} in its low nibble and u_{64w+j+32} in its high one; bits > 4, byte i holds u_i.
     * uq: 64 words levels (< 256). The caller keeps the sum below 2^32. */
    uint32_t (*levels_dot)(const uint8_t *ex, size_t words, unsigned bits, const uint8_t *uq);
    /* The RaBitQ first-stage screen of one block of 32 codes. f: add[32], scale[32], err[32],
     * lsum[32]; f2: err2[32], scale2[32], or NULL for zeros. For each j (scan[j] < 2^31):
     *   t = ((lo lsum - lo_cd) + delta (float)scan[j]) - delta_cu
     *   est[j] = (add + dc) - scale t,   err[j] = err sqrt_dc + scale qerr
     *   e2 = err2 sqrt_dc + scale2 qerr2
     * and bit j of the result is set unless (est - a err) - e2 > cand and est + b err > ub. */
    uint32_t (*screen32)(const float *f, const float *f2, const uint32_t *scan, const struct rv_screen *c,
                         float *est, float *err);
} rv_kernels;

/* Level i of a code packed for levels_dot (the layout documented there). */
static inline unsigned rv_ex_level(const uint8_t *ex, unsigned bits, size_t i)
{
    if (bits > 4)
        return ex[i];
    uint8_t byte = ex[i / 64 * 32 + i % 32];
    return i % 64 < 32 ? byte & 15u : (unsigned)byte >> 4;
}

/* The table every computation uses (chosen once; see rv_kernel_name). */
const rv_kernels *rv_kernels_get(void);

/* The individual tables, for tests and benchmarks. rv_kernels_avx2() is NULL when the CPU or the
 * build lacks AVX2+FMA. */
const rv_kernels *rv_kernels_scalar(void);
const rv_kernels *rv_kernels_avx2(void);

/* Defined in kernels_avx2.c (x86-64 builds only); callers check the CPU first. */
extern const rv_kernels rv_kernels_avx2_table;

#endif
