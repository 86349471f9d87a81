/*
 * index/rabitq_kernels_avx2.c — AVX2 twins of rabitq_kernels_scalar.c. Compiled alone with
 * -mavx2 -mfma; reached only through rv_rabitq_kernels_get() after the one CPU decision in
 * base/dispatch.c said AVX2. Integer results (fastscan_dot, levels_dot) are exact, so they equal
 * the scalar twin bit for bit; screen32 uses no fused multiply-adds, so it does too.
 */
#include <immintrin.h>

#include "base/internal.h"
#include "index/rabitq_kernels.h"

/* One table's pass over pairs [p0, p1) of a block (at most 256 pairs, so every 16-bit lane sum
 * stays below 256 x 255): two shuffles per 32 bytes of codes, 16-bit accumulators split into
 * even and odd bytes (FAISS's trick: acc_even collects whole words, acc_odd the high bytes, and
 * even = acc_even - (acc_odd << 8) at the end). Adds the 32 sums, shifted, into tot. */
static inline void rv_fastscan_pass(const uint8_t *codes, const uint8_t *lut, size_t p0, size_t p1,
                                    unsigned shift, __m256i tot[4])
{
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t p = p0; p < p1; p++) {
        __m256i c = _mm256_load_si256((const __m256i *)(codes + p * 32));
        __m256i t = _mm256_load_si256((const __m256i *)(lut + p * 32));
        __m256i r0 = _mm256_shuffle_epi8(t, _mm256_and_si256(c, low4));
        __m256i r1 = _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(c, 4), low4));
        a0 = _mm256_add_epi16(a0, r0);
        a1 = _mm256_add_epi16(a1, _mm256_srli_epi16(r0, 8));
        a2 = _mm256_add_epi16(a2, r1);
        a3 = _mm256_add_epi16(a3, _mm256_srli_epi16(r1, 8));
    }
    const __m128i sh = _mm_cvtsi32_si128((int)shift);
    __m256i halves[2][2] = {{_mm256_sub_epi16(a0, _mm256_slli_epi16(a1, 8)), a1},
                            {_mm256_sub_epi16(a2, _mm256_slli_epi16(a3, 8)), a3}};
    for (int h = 0; h < 2; h++) { /* h = 0: codes 0..15, h = 1: codes 16..31 */
        __m256i even = _mm256_add_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(halves[h][0])),
                                        _mm256_cvtepu16_epi32(_mm256_extracti128_si256(halves[h][0], 1)));
        __m256i odd = _mm256_add_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(halves[h][1])),
                                       _mm256_cvtepu16_epi32(_mm256_extracti128_si256(halves[h][1], 1)));
        __m256i lo = _mm256_unpacklo_epi32(even, odd), hi = _mm256_unpackhi_epi32(even, odd);
        __m256i first = _mm256_permute2x128_si256(lo, hi, 0x20), second = _mm256_permute2x128_si256(lo, hi, 0x31);
        tot[2 * h] = _mm256_add_epi32(tot[2 * h], _mm256_sll_epi32(first, sh));
        tot[2 * h + 1] = _mm256_add_epi32(tot[2 * h + 1], _mm256_sll_epi32(second, sh));
    }
}

static void rv_fastscan_dot_avx2(const uint8_t *blocks, size_t words, size_t nblocks, const uint8_t *lut,
                                 unsigned nluts, uint32_t *out)
{
    const size_t pairs = words * 8, block_bytes = pairs * 32;
    for (size_t blk = 0; blk < nblocks; blk++) {
        const uint8_t *B = blocks + blk * block_bytes;
        __m256i tot[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                          _mm256_setzero_si256()};
        for (unsigned t = 0; t < nluts; t++)
            for (size_t p0 = 0; p0 < pairs; p0 += 256)
                rv_fastscan_pass(B, lut + t * block_bytes, p0, p0 + 256 < pairs ? p0 + 256 : pairs, 8 * t, tot);
        for (int i = 0; i < 4; i++)
            _mm256_storeu_si256((__m256i *)(out + blk * 32 + i * 8), tot[i]);
    }
}

/* Nibbles: maddubs (query bytes unsigned x levels <= 15) gives pairs <= 7650, two of them summed
 * stay below 2^15, then madd with ones widens to 32 bits. Bytes: widen both to 16 bits. */
static uint32_t rv_levels_dot_avx2(const uint8_t *ex, size_t words, unsigned bits, const uint8_t *uq)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    if (bits <= 4) {
        const __m256i low4 = _mm256_set1_epi8(0x0f);
        for (size_t w = 0; w < words; w++) {
            __m256i c = _mm256_loadu_si256((const __m256i *)(ex + w * 32));
            __m256i lo = _mm256_and_si256(c, low4), hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), low4);
            __m256i q0 = _mm256_loadu_si256((const __m256i *)(uq + w * 64));
            __m256i q1 = _mm256_loadu_si256((const __m256i *)(uq + w * 64 + 32));
            __m256i pr = _mm256_add_epi16(_mm256_maddubs_epi16(q0, lo), _mm256_maddubs_epi16(q1, hi));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pr, ones));
        }
    } else {
        for (size_t i = 0; i < words * 64; i += 16) {
            __m256i u = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(ex + i)));
            __m256i q = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(uq + i)));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(u, q));
        }
    }
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
    return (uint32_t)_mm_cvtsi128_si32(s4);
}

static uint32_t rv_screen32_avx2(const float *f, const float *f2, const uint32_t *scan, const rv_screen *c,
                                 float *est, float *err)
{
    const __m256 lo = _mm256_set1_ps(c->lo), lo_cd = _mm256_set1_ps(c->lo_cd), delta = _mm256_set1_ps(c->delta);
    const __m256 delta_cu = _mm256_set1_ps(c->delta_cu), dc = _mm256_set1_ps(c->dc), sqrt_dc = _mm256_set1_ps(c->sqrt_dc);
    const __m256 qerr = _mm256_set1_ps(c->qerr), a = _mm256_set1_ps(c->a), b = _mm256_set1_ps(c->b);
    const __m256 cand = _mm256_set1_ps(c->cand), ub = _mm256_set1_ps(c->ub), qerr2 = _mm256_set1_ps(c->qerr2);
    uint32_t keep = 0;
    for (unsigned j = 0; j < 32; j += 8) {
        __m256 add = _mm256_loadu_ps(f + j), scale = _mm256_loadu_ps(f + 32 + j);
        __m256 ef = _mm256_loadu_ps(f + 64 + j), lsum = _mm256_loadu_ps(f + 96 + j);
        __m256 sc = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(scan + j)));
        __m256 t = _mm256_sub_ps(_mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(lo, lsum), lo_cd), _mm256_mul_ps(delta, sc)),
                                 delta_cu);
        __m256 e = _mm256_sub_ps(_mm256_add_ps(add, dc), _mm256_mul_ps(scale, t));
        __m256 r = _mm256_add_ps(_mm256_mul_ps(ef, sqrt_dc), _mm256_mul_ps(scale, qerr));
        _mm256_storeu_ps(est + j, e);
        _mm256_storeu_ps(err + j, r);
        __m256 r2 = f2 ? _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(f2 + j), sqrt_dc),
                                       _mm256_mul_ps(_mm256_loadu_ps(f2 + 32 + j), qerr2))
                       : _mm256_setzero_ps();
        __m256 low = _mm256_sub_ps(_mm256_sub_ps(e, _mm256_mul_ps(a, r)), r2);
        __m256 skip = _mm256_and_ps(_mm256_cmp_ps(low, cand, _CMP_GT_OQ),
                                    _mm256_cmp_ps(_mm256_add_ps(e, _mm256_mul_ps(b, r)), ub, _CMP_GT_OQ));
        keep |= (uint32_t)(~_mm256_movemask_ps(skip) & 0xff) << j;
    }
    return keep;
}

const rv_rabitq_kernels rv_rabitq_kernels_avx2_table = {
    .name = "avx2",
    .fastscan_dot = rv_fastscan_dot_avx2,
    .levels_dot = rv_levels_dot_avx2,
    .screen32 = rv_screen32_avx2,
};
