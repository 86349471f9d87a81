/*
 * base/vmath_impl.h — e^-a, the exact-form GELU, a row softmax and a row LayerNorm as plain
 * branch-free float code, included by both kernel files so the compiler vectorizes the same
 * operations in the AVX2 one. The AVX2 file defines RV_VMATH_FMA: the multiply-adds of e^-a and
 * erf are then fused (one rounding each, 1.5x faster GELU on Zen 3), so GELU and softmax agree
 * with their scalar twins within their stated error, not bit for bit; LayerNorm has no
 * multiply-add to fuse and stays bit-identical. Elsewhere no contraction: -ffp-contract=off.
 *
 * e^-a: Cody-Waite reduction -a = n ln2 + r, Cephes' degree-6 polynomial for e^r, 2^n through the
 * exponent bits (n rounded with the 1.5 * 2^23 trick, no libm calls); a is clamped to 87, so the
 * smallest value built is e^-87 (a normal float).
 * erf: Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), erf(a) = 1 - t (a1 + t (a2 + ...)) e^{-a^2}
 * with t = 1 / (1 + p a).
 */
#ifndef RV_BASE_VMATH_IMPL_H
#define RV_BASE_VMATH_IMPL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef RV_VMATH_FMA
#define RV_MADD(a, b, c) fmaf((a), (b), (c))
#else
#define RV_MADD(a, b, c) ((a) * (b) + (c))
#endif

/* e^-a for a >= 0 (a above 87 gives e^-87), within 2 ulp of the exact value. */
static inline float rv_exp_neg_one(float a)
{
    /* the clamp as an unsigned compare (ordered like the floats for non-negative values) */
    uint32_t ab;
    memcpy(&ab, &a, sizeof ab);
    ab = ab < 0x42AE0000u ? ab : 0x42AE0000u;
    memcpy(&a, &ab, sizeof a);
    const float y = -a;
    const float nf = RV_MADD(y, 1.44269504088896341f, 12582912.0f) - 12582912.0f; /* round(y / ln2) */
    const float r = RV_MADD(nf, 2.12194440e-4f, RV_MADD(nf, -0.693359375f, y));
    float p = 1.9875691500e-4f;
    p = RV_MADD(p, r, 1.3981999507e-3f);
    p = RV_MADD(p, r, 8.3334519073e-3f);
    p = RV_MADD(p, r, 4.1665795894e-2f);
    p = RV_MADD(p, r, 1.6666665459e-1f);
    p = RV_MADD(p, r, 5.0000001201e-1f);
    const float er = RV_MADD(p, r * r, r) + 1.0f;
    const uint32_t bits = (uint32_t)((int32_t)nf + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return er * scale;
}

static inline float rv_gelu_one(float v)
{
    /* sign and magnitude through the bits: no branches, so the loop vectorizes */
    uint32_t vb;
    memcpy(&vb, &v, sizeof vb);
    const uint32_t sign = vb & 0x80000000u, ab = vb & 0x7fffffffu;
    float a;
    memcpy(&a, &ab, sizeof a);
    a = a * 0.70710678118654752f;
    const float t = 1.0f / RV_MADD(0.3275911f, a, 1.0f);
    float poly = RV_MADD(t, 1.061405429f, -1.453152027f);
    poly = RV_MADD(poly, t, 1.421413741f);
    poly = RV_MADD(poly, t, -0.284496736f);
    poly = RV_MADD(poly, t, 0.254829592f) * t;
    const float erf_abs = RV_MADD(-poly, rv_exp_neg_one(a * a), 1.0f);
    uint32_t eb;
    memcpy(&eb, &erf_abs, sizeof eb);
    eb ^= sign;
    float erf_v;
    memcpy(&erf_v, &eb, sizeof erf_v);
    const float half = 0.5f * v;
    return RV_MADD(half, erf_v, half);
}

static inline void rv_gelu_rows_impl(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = rv_gelu_one(x[i]);
}

/* The 8 lane sums of the loops below, reduced in one fixed tree. */
static inline float rv_sum8(const float *a)
{
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* row[i] = e^{s (row[i] - max)} / sum_j e^{s (row[j] - max)} in place, for s > 0 and n >= 1; row
 * has room for n rounded up to 8, and the entries past n become 0. Work runs in 8 lanes (lane =
 * i mod 8; the last block masked, so it vectorizes too), the sum reduced in one fixed tree. */
static inline void rv_softmax_impl(float *row, size_t n, float s)
{
    const size_t nb = (n + 7) / 8, rem = n - 8 * (nb - 1); /* lanes used in the last block: 1..8 */
    float m[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    for (size_t b = 0; b + 1 < nb; b++)
        for (size_t u = 0; u < 8; u++)
            m[u] = row[8 * b + u] > m[u] ? row[8 * b + u] : m[u];
    float *last = row + 8 * (nb - 1);
    for (size_t u = 0; u < 8; u++)
        m[u] = u < rem && last[u] > m[u] ? last[u] : m[u];
    float top = m[0]; /* a maximum is exact: any order gives the same value */
    for (size_t u = 1; u < 8; u++)
        top = m[u] > top ? m[u] : top;
    float acc[8] = {0};
    for (size_t b = 0; b < nb; b++)
        for (size_t u = 0; u < 8; u++) {
            const float e = rv_exp_neg_one((top - row[8 * b + u]) * s);
            const float ek = b + 1 < nb || u < rem ? e : 0.0f;
            row[8 * b + u] = ek;
            acc[u] += ek;
        }
    const float inv = 1.0f / rv_sum8(acc);
    for (size_t i = 0; i < 8 * nb; i++)
        row[i] *= inv;
}

/* x = LayerNorm(x + r) over n floats (r may be NULL): (v - mean) / sqrt(var + eps) * g + b with the
 * biased variance from a second pass. Sums run in 8 lanes (lane = i mod 8) reduced in one fixed
 * tree, so the loops vectorize and every run gives the same bits. */
static inline void rv_layernorm_impl(float *x, const float *r, size_t n, const float *g, const float *b, float eps)
{
    float ps[8] = {0}, pv[8] = {0};
    size_t i = 0;
    if (r)
        for (i = 0; i < n; i++)
            x[i] += r[i];
    for (i = 0; i + 8 <= n; i += 8)
        for (size_t u = 0; u < 8; u++)
            ps[u] += x[i + u];
    for (; i < n; i++)
        ps[i % 8] += x[i];
    const float mean = rv_sum8(ps) / (float)n;
    for (i = 0; i + 8 <= n; i += 8)
        for (size_t u = 0; u < 8; u++)
            pv[u] += (x[i + u] - mean) * (x[i + u] - mean);
    for (; i < n; i++)
        pv[i % 8] += (x[i] - mean) * (x[i] - mean);
    const float inv = 1.0f / sqrtf(rv_sum8(pv) / (float)n + eps);
    for (i = 0; i < n; i++)
        x[i] = (x[i] - mean) * inv * g[i] + b[i];
}

#endif
