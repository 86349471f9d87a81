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

void test_kernels(void)
{
    const rv_kernels *s = rv_kernels_scalar(), *v = rv_kernels_avx2();
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
