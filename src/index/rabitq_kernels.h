/*
 * index/rabitq_kernels.h — RaBitQ's kernel domain: the FastScan sign-code scan, the multi-bit
 * levels dot product and the first-stage screen, one table per instruction set.
 *
 * The table follows the process's one SIMD decision (rv_simd() in base/kernels.h); the scalar
 * twin (rabitq_kernels_scalar.c) is the reference. Contracts across twins:
 *   fastscan_dot     bit-identical (integers).
 *   levels_dot       bit-identical (integers).
 *   screen32         bit-identical (the same float operations in the same order, no FMA).
 * tests/c/test_kernels.c holds every twin to them, up to 65 words (D = 4160).
 */
#ifndef RV_INDEX_RABITQ_KERNELS_H
#define RV_INDEX_RABITQ_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* screen32's scalars (see there). */
typedef struct rv_screen {
    float lo, lo_cd, delta, delta_cu; /* the query's quantization terms */
    float dc, sqrt_dc;                /* ||q - c||^2 of the list, and its root */
    float qerr, qerr2;                /* query rounding error per unit of scale: sign code, B-bit code */
    float a, b;                       /* the skip rule's weights */
    float cand, ub;                   /* the candidate and upper bounds when the block starts */
} rv_screen;


typedef struct rv_rabitq_kernels {
    const char *name;
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
} rv_rabitq_kernels;

/* Level i of a code packed for levels_dot (the layout documented there). */
static inline unsigned rv_ex_level(const uint8_t *ex, unsigned bits, size_t i)
{
    if (bits > 4)
        return ex[i];
    uint8_t byte = ex[i / 64 * 32 + i % 32];
    return i % 64 < 32 ? byte & 15u : (unsigned)byte >> 4;
}

/* The table for the process's SIMD decision. */
const rv_rabitq_kernels *rv_rabitq_kernels_get(void);

/* The individual tables, for tests and benchmarks; rv_rabitq_kernels_avx2() is NULL when the
 * CPU or the build cannot run it. */
const rv_rabitq_kernels *rv_rabitq_kernels_scalar(void);
const rv_rabitq_kernels *rv_rabitq_kernels_avx2(void);

#endif
