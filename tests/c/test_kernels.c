/* SIMD kernels against the scalar reference: l2sq/dot/select_below bit for bit, gemm within the
 * bound stated in kernels.h; plus the scalar reference against a double-precision oracle. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "base/kernels.h"
#include "check.h"

static void check_against_double(const rv_kernels *k)
{
    float a[300], b[300];
    for (size_t d = 1; d <= 300; d += 7) {
        rv_test_fill(a, d, d);
        rv_test_fill(b, d, d + 1000);
        double l2 = 0, dot = 0, mag = 0;
        for (size_t i = 0; i < d; i++) {
            l2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
            dot += (double)a[i] * b[i];
            mag += fabs((double)a[i] * b[i]);
        }
        CHECK_MSG(fabs(k->l2sq(a, b, d) - l2) <= 1e-5 * l2 + 1e-6, "%s l2sq d=%zu", k->name, d);
        CHECK_MSG(fabs(k->dot(a, b, d) - dot) <= 1e-5 * mag + 1e-6, "%s dot d=%zu", k->name, d);
    }
}

void test_pack_kernels(void);

void test_kernels(void)
{
    const rv_kernels *s = rv_kernels_scalar(), *v = rv_kernels_avx2();
    test_pack_kernels();
    check_against_double(s);
    if (!v) {
        printf("  (no AVX2 on this CPU: only the scalar reference was checked)\n");
        return;
    }
    check_against_double(v);
    /* Bit-exactness over every length 0..300 and odd alignments. */
    float *a = rv_alloc(400 * sizeof(float)), *b = rv_alloc(400 * sizeof(float));
    rv_test_fill(a, 400, 1);
    rv_test_fill(b, 400, 2);
    for (size_t off = 0; off < 4; off++)
        for (size_t d = 0; d <= 300; d++) {
            float x = s->l2sq(a + off, b + 3 * off, d), y = v->l2sq(a + off, b + 3 * off, d);
            CHECK_MSG(memcmp(&x, &y, 4) == 0, "l2sq d=%zu off=%zu: %.9g vs %.9g", d, off, x, y);
            float rows_s[3], rows_v[3];
            if (d && d * 3 <= 400) {
                s->l2sq_rows(a + off, b, d, 3, rows_s);
                v->l2sq_rows(a + off, b, d, 3, rows_v);
                CHECK(memcmp(rows_s, rows_v, sizeof rows_s) == 0);
                CHECK(rows_s[1] == s->l2sq(a + off, b + d, d));
            }
            x = s->dot(a + off, b, d);
            y = v->dot(a + off, b, d);
            CHECK_MSG(memcmp(&x, &y, 4) == 0, "dot d=%zu off=%zu: %.9g vs %.9g", d, off, x, y);
        }
    /* gemm micro-kernel: |avx2 - scalar| <= 2 kc 2^-24 sum|a||b| per element. */
    for (size_t kc = 1; kc <= 70; kc += 3) {
        float *ap = rv_alloc(kc * RV_GEMM_MR * sizeof(float)), *bp = rv_alloc(kc * RV_GEMM_NR * sizeof(float));
        float c1[RV_GEMM_MR * 20], c2[RV_GEMM_MR * 20];
        rv_test_fill(ap, kc * RV_GEMM_MR, kc);
        rv_test_fill(bp, kc * RV_GEMM_NR, kc + 7);
        rv_test_fill(c1, RV_GEMM_MR * 20, 3);
        memcpy(c2, c1, sizeof c1);
        s->gemm_micro(kc, ap, bp, c1, 20);
        v->gemm_micro(kc, ap, bp, c2, 20);
        for (size_t i = 0; i < RV_GEMM_MR; i++)
            for (size_t j = 0; j < 20; j++) {
                if (j >= RV_GEMM_NR) {
                    CHECK(c1[i * 20 + j] == c2[i * 20 + j]); /* outside the tile: untouched */
                    continue;
                }
                double mag = fabs(c1[i * 20 + j]);
                for (size_t t = 0; t < kc; t++)
                    mag += fabs((double)ap[t * RV_GEMM_MR + i] * bp[t * RV_GEMM_NR + j]);
                CHECK_MSG(fabs((double)c1[i * 20 + j] - c2[i * 20 + j]) <= 2.0 * (kc + 1) * ldexp(mag, -24),
                          "gemm kc=%zu (%zu,%zu)", kc, i, j);
            }
        rv_free(ap);
        rv_free(bp);
    }
    /* select_below: identical index lists, including values exactly at the threshold. */
    float dots[301], norms[301];
    uint32_t i1[301], i2[301];
    rv_test_fill(dots, 301, 5);
    rv_test_fill(norms, 301, 6);
    for (size_t n = 0; n <= 301; n += 11)
        for (int t = -2; t <= 2; t++) {
            float th = (float)t;
            if (n > 3)
                th = norms[3] - 2.0f * dots[3]; /* exactly one value at the threshold: excluded */
            size_t c1 = s->select_below(dots, norms, n, th, i1), c2 = v->select_below(dots, norms, n, th, i2);
            CHECK(c1 == c2);
            CHECK(memcmp(i1, i2, c1 * sizeof(uint32_t)) == 0);
            for (size_t c = 0; c < c1; c++)
                CHECK(i1[c] != 3 || n <= 3);
        }
    rv_free(a);
    rv_free(b);
}

static void test_bitplane_kernels(void)
{
    const rv_kernels *s = rv_kernels_scalar(), *v = rv_kernels_avx2();
    uint64_t seed = 99, codes[37 * 12 * 3], planes[8 * 12];
    for (size_t i = 0; i < RV_ARRAY_LEN(codes); i++)
        codes[i] = rv_test_rand(&seed);
    for (size_t i = 0; i < RV_ARRAY_LEN(planes); i++)
        planes[i] = rv_test_rand(&seed);
    uint32_t a[2 * 37], b[2 * 37];
    for (size_t words = 1; words <= 12; words++)
        for (unsigned cb = 1; cb <= 3; cb++)
            for (unsigned bits = 1; bits <= 8; bits++) {
                s->bitplane_dot(codes, words, cb, 37, planes, bits, a);
                for (size_t r = 0; r < 37; r += 9) { /* against <u, q> computed level by level */
                    uint32_t want = 0, levels = 0;
                    for (size_t w = 0; w < words; w++)
                        for (int bit = 0; bit < 64; bit++) {
                            uint32_t u = 0, q = 0;
                            for (unsigned p = 0; p < cb; p++)
                                u |= (uint32_t)(codes[(r * cb + p) * words + w] >> bit & 1) << p;
                            for (unsigned j = 0; j < bits; j++)
                                q |= (uint32_t)(planes[j * words + w] >> bit & 1) << j;
                            want += u * q;
                            levels += u;
                        }
                    CHECK(a[2 * r] == want && a[2 * r + 1] == levels);
                }
                if (v) {
                    v->bitplane_dot(codes, words, cb, 37, planes, bits, b);
                    CHECK(memcmp(a, b, sizeof a) == 0);
                }
            }
}

void test_pack_kernels(void)
{
    test_bitplane_kernels();
    const rv_kernels *s = rv_kernels_scalar(), *v = rv_kernels_avx2();
    size_t ld = 37;
    float *x = rv_alloc(16 * ld * sizeof(float));
    rv_test_fill(x, 16 * ld, 77);
    for (size_t rows = 0; rows <= 16; rows++)
        for (size_t kc = 0; kc <= ld; kc += 3) {
            float *a = rv_alloc((kc + 1) * 16 * sizeof(float)), *b = rv_alloc((kc + 1) * 16 * sizeof(float));
            s->pack_rows16(x, ld, rows, kc, a);
            for (size_t t = 0; t < kc; t++)
                for (size_t j = 0; j < 16; j++)
                    CHECK(a[t * 16 + j] == (j < rows ? x[j * ld + t] : 0.0f));
            if (v) {
                v->pack_rows16(x, ld, rows, kc, b);
                CHECK(memcmp(a, b, kc * 16 * sizeof(float)) == 0);
            }
            rv_free(a);
            rv_free(b);
        }
    rv_free(x);
}
