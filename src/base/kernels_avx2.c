/*
 * kernels_avx2.c — AVX2 + FMA twins of kernels_scalar.c. Compiled alone with -mavx2 -mfma; only
 * reached through the dispatch table after CPUID and XGETBV said yes.
 *
 * l2sq/dot: four 8-lane accumulators = the scalar reference's 32 lanes, tail by masked loads
 * (zeros add exactly nothing), and the same reduction tree, so results are bit-identical.
 * gemm_micro: the classic 6x16 register tile (12 accumulators, 2 B loads and 6 broadcasts per
 * step, FMA-bound on Zen 3 / Skylake: 12 FMAs vs 8 loads per k step).
 */
#include <immintrin.h>
#include <math.h>

#include "base/internal.h"
#include "base/kernels.h"

static const int32_t rv_mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* Loads cnt (0..8) floats, zero for the rest, never touching memory beyond p + cnt. */
static inline __m256 rv_load_partial(const float *p, size_t cnt)
{
    if (cnt >= 8)
        return _mm256_loadu_ps(p);
    __m256i m = _mm256_loadu_si256((const __m256i *)(rv_mask_src + 8 - cnt));
    return _mm256_maskload_ps(p, m);
}

static inline float rv_reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
    /* lane j: (acc[j] + acc[j+8]) + (acc[j+16] + acc[j+24]) */
    __m256 s8 = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

static float rv_l2sq_avx2(const float *a, const float *b, size_t d)
{
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    size_t i = 0;
    for (; i + 32 <= d; i += 32)
        for (int g = 0; g < 4; g++) {
            __m256 t = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8 * g), _mm256_loadu_ps(b + i + 8 * g));
            acc[g] = _mm256_add_ps(acc[g], _mm256_mul_ps(t, t));
        }
    size_t rest = d - i;
    for (size_t g = 0; g < 4 && 8 * g < rest; g++) {
        size_t cnt = rest - 8 * g;
        __m256 t = _mm256_sub_ps(rv_load_partial(a + i + 8 * g, cnt), rv_load_partial(b + i + 8 * g, cnt));
        acc[g] = _mm256_add_ps(acc[g], _mm256_mul_ps(t, t));
    }
    return rv_reduce4(acc[0], acc[1], acc[2], acc[3]);
}

static void rv_l2sq_rows_avx2(const float *q, const float *x, size_t d, size_t count, float *out)
{
    /* The scan is bandwidth-bound and the hardware prefetcher alone stalls at 4 KiB page
     * boundaries. Prefetch 4 rows ahead for short rows, 1 row for long ones (measured on Zen 3:
     * d=128 13.3 -> 16.6 GB/s; d=768 12.4 with none, 13.6 with 1 row, 12.6 with 2 rows). */
    const size_t ahead = d < 256 ? 4 * d : d;
    for (size_t r = 0; r < count; r++) {
        const char *next = (const char *)(x + r * d + ahead);
        for (size_t off = 0; off < d * sizeof(float); off += 64)
            _mm_prefetch(next + off, _MM_HINT_T0);
        out[r] = rv_l2sq_avx2(q, x + r * d, d);
    }
}

static float rv_dot_avx2(const float *a, const float *b, size_t d)
{
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    size_t i = 0;
    for (; i + 32 <= d; i += 32)
        for (int g = 0; g < 4; g++)
            acc[g] = _mm256_add_ps(acc[g], _mm256_mul_ps(_mm256_loadu_ps(a + i + 8 * g),
                                                         _mm256_loadu_ps(b + i + 8 * g)));
    size_t rest = d - i;
    for (size_t g = 0; g < 4 && 8 * g < rest; g++) {
        size_t cnt = rest - 8 * g;
        acc[g] = _mm256_add_ps(acc[g], _mm256_mul_ps(rv_load_partial(a + i + 8 * g, cnt),
                                                     rv_load_partial(b + i + 8 * g, cnt)));
    }
    return rv_reduce4(acc[0], acc[1], acc[2], acc[3]);
}

static void rv_gemm_micro_avx2(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                               const float *init)
{
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (!init) {
        c00 = _mm256_loadu_ps(c + 0 * ldc), c01 = _mm256_loadu_ps(c + 0 * ldc + 8);
        c10 = _mm256_loadu_ps(c + 1 * ldc), c11 = _mm256_loadu_ps(c + 1 * ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    } else {
        c00 = c10 = c20 = c30 = c40 = c50 = _mm256_loadu_ps(init);
        c01 = c11 = c21 = c31 = c41 = c51 = _mm256_loadu_ps(init + 8);
    }
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
    for (size_t t = 0; t < kc; t++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 x;
        x = _mm256_broadcast_ss(a0 + t); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + t); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + t); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + t); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + t); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + t); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
        b += RV_GEMM_NR;
    }
    _mm256_storeu_ps(c + 0 * ldc, c00); _mm256_storeu_ps(c + 0 * ldc + 8, c01);
    _mm256_storeu_ps(c + 1 * ldc, c10); _mm256_storeu_ps(c + 1 * ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20); _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30); _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40); _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50); _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

static size_t rv_select_below_avx2(const float *dots, const float *norms, size_t n, float thresh,
                                   uint32_t *idx_out)
{
    const __m256 th = _mm256_set1_ps(thresh), two = _mm256_set1_ps(2.0f);
    size_t count = 0, j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_sub_ps(_mm256_loadu_ps(norms + j), _mm256_mul_ps(two, _mm256_loadu_ps(dots + j)));
        unsigned m = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, th, _CMP_LT_OQ));
        while (m) {
            idx_out[count++] = (uint32_t)(j + (unsigned)__builtin_ctz(m));
            m &= m - 1;
        }
    }
    for (; j < n; j++)
        if (norms[j] - 2.0f * dots[j] < thresh)
            idx_out[count++] = (uint32_t)j;
    return count;
}

/* In-register 8x8 transpose: r[i][j] -> r[j][i]. */
static inline void rv_transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

static void rv_pack_rows16_avx2(const float *x, size_t ld, size_t rows, size_t kc, float *dst)
{
    size_t t = 0;
    if (rows == RV_GEMM_NR) {
        /* 8 columns x 8 rows at a time: 8 loads, a register transpose, 8 aligned stores. */
        for (; t + 8 <= kc; t += 8)
            for (size_t g = 0; g < 2; g++) {
                __m256 r[8];
                for (size_t j = 0; j < 8; j++)
                    r[j] = _mm256_loadu_ps(x + (g * 8 + j) * ld + t);
                rv_transpose8(r);
                for (size_t i = 0; i < 8; i++)
                    _mm256_store_ps(dst + (t + i) * RV_GEMM_NR + g * 8, r[i]);
            }
    }
    for (; t < kc; t++)
        for (size_t j = 0; j < RV_GEMM_NR; j++)
            dst[t * RV_GEMM_NR + j] = j < rows ? x[j * ld + t] : 0.0f;
}

static void rv_axpy_avx2(size_t n, float a, const float *x, float *y)
{
    const __m256 va = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] = fmaf(a, x[i], y[i]);
}

const rv_kernels rv_kernels_avx2_table = {
    .name = "avx2",
    .l2sq = rv_l2sq_avx2,
    .l2sq_rows = rv_l2sq_rows_avx2,
    .dot = rv_dot_avx2,
    .gemm_micro = rv_gemm_micro_avx2,
    .select_below = rv_select_below_avx2,
    .pack_rows16 = rv_pack_rows16_avx2,
    .axpy = rv_axpy_avx2,
};
