/*
 * base/gelu_impl.h — the exact-form GELU, 0.5 x (1 + erf(x / sqrt 2)), as plain branch-free float
 * code: included by both kernel files, so the compiler vectorizes the same operations in the AVX2
 * one (no FMA contraction: -ffp-contract=off) and the two twins agree bit for bit.
 *
 * erf: Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), erf(a) = 1 - t (a1 + t (a2 + ...)) e^{-a^2}
 * with t = 1 / (1 + p a). e^y: Cody-Waite reduction y = n ln2 + r, Cephes' degree-6 polynomial for
 * e^r, 2^n through the exponent bits (n rounded with the 1.5 * 2^23 trick, no libm calls).
 */
#ifndef RV_BASE_GELU_IMPL_H
#define RV_BASE_GELU_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline float rv_gelu_one(float v)
{
    /* sign and magnitude through the bits, clamps as unsigned compares (ordered like the floats for
     * non-negative values): no branches, so the loop vectorizes */
    uint32_t vb;
    memcpy(&vb, &v, sizeof vb);
    const uint32_t sign = vb & 0x80000000u, ab = vb & 0x7fffffffu;
    float a;
    memcpy(&a, &ab, sizeof a);
    a = a * 0.70710678118654752f;
    const float t = 1.0f / (1.0f + 0.3275911f * a);
    const float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f +
                                                                                       t * 1.061405429f))));
    float a2 = a * a;
    uint32_t a2b;
    memcpy(&a2b, &a2, sizeof a2b);
    a2b = a2b < 0x42AE0000u ? a2b : 0x42AE0000u; /* min(a^2, 87): e^{-87} is the smallest we build */
    memcpy(&a2, &a2b, sizeof a2);
    const float y = -a2;
    const float nf = (y * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(y / ln2) */
    const float r = (y - nf * 0.693359375f) - nf * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float er = p * (r * r) + r + 1.0f;
    const uint32_t bits = (uint32_t)((int32_t)nf + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    const float erf_abs = 1.0f - poly * (er * scale);
    uint32_t eb;
    memcpy(&eb, &erf_abs, sizeof eb);
    eb ^= sign;
    float erf_v;
    memcpy(&erf_v, &eb, sizeof erf_v);
    return 0.5f * v * (1.0f + erf_v);
}

static inline void rv_gelu_rows_impl(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = rv_gelu_one(x[i]);
}

#endif
