/* tests/c/test_embed.c — the embedder's numeric pieces: the GELU kernel against libm's erf (and
 * its twins bit for bit), and products with a prepacked B equal to rv_gemm_nt's bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/gemm.h"
#include "base/internal.h"
#include "base/kernels.h"
#include "check.h"

static void test_gelu(void)
{
    const rv_kernels *s = rv_kernels_scalar(), *v = rv_kernels_avx2();
    size_t n = 240001;
    float *a = rv_alloc(n * sizeof(float)), *b = rv_alloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] = -12.0f + 24.0f * (float)i / (float)(n - 1);
    a[0] = -100.0f; /* far tails: e^{-x^2} underflows, gelu -> 0 or x */
    a[n - 1] = b[n - 1] = 100.0f;
    b[0] = -100.0f;
    float *x = rv_alloc(n * sizeof(float));
    memcpy(x, a, n * sizeof(float));
    s->gelu(a, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double ref = 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)));
        worst = fmax(worst, fabs(a[i] - ref));
    }
    CHECK_MSG(worst <= 5e-7, "gelu max abs error %g", worst);
    if (v) {
        v->gelu(b, n);
        CHECK(memcmp(a, b, n * sizeof(float)) == 0);
    }
    rv_free(a);
    rv_free(b);
    rv_free(x);
}

typedef struct {
    float *c;
    size_t n;
} rv_collect;

static void collect_block(void *ctx, size_t task, size_t i0, size_t rows, size_t j0, size_t cols, const float *c,
                          size_t ldc)
{
    (void)task;
    rv_collect *k = ctx;
    for (size_t i = 0; i < rows; i++)
        memcpy(k->c + (i0 + i) * k->n + j0, c + i * ldc, cols * sizeof(float));
}

static void test_packed_gemm(void)
{
    const size_t shapes[][3] = {{1, 16, 8}, {7, 300, 384}, {50, 1152, 384}, {13, 384, 1536}, {3, 17, 5}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = rv_alloc(m * k * sizeof(float)), *b = rv_alloc(n * k * sizeof(float));
        float *c1 = rv_calloc(m * n, sizeof(float)), *c2 = rv_calloc(m * n, sizeof(float));
        float *c3 = rv_calloc(m * n, sizeof(float)), *bias = rv_alloc(n * sizeof(float));
        rv_test_fill(a, m * k, 3 + s);
        rv_test_fill(b, n * k, 30 + s);
        rv_test_fill(bias, n, 60 + s);
        rv_collect k1 = {c1, n};
        rv_gemm_consumer g1 = {&k1, NULL, collect_block, NULL};
        rv_gemm_packed p;
        CHECK(rv_gemm_nt(a, m, b, n, k, &g1) == RV_OK);
        CHECK(rv_gemm_pack(b, n, k, &p) == RV_OK);
        CHECK(rv_gemm_nt_packed_into(a, m, &p, NULL, c2, n, NULL) == RV_OK);
        CHECK_MSG(memcmp(c1, c2, m * n * sizeof(float)) == 0, "packed product differs for %zux%zux%zu", m, n, k);
        CHECK(rv_gemm_nt_packed_into(a, m, &p, bias, c3, n, NULL) == RV_OK); /* sums started from the bias */
        double worst = 0; /* and both are the product */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                double ref = 0, mag = 0;
                for (size_t t = 0; t < k; t++) {
                    ref += (double)a[i * k + t] * b[j * k + t];
                    mag += fabs((double)a[i * k + t] * b[j * k + t]);
                }
                worst = fmax(worst, fabs(c1[i * n + j] - ref) / (mag + 1e-30));
                worst = fmax(worst, fabs(c3[i * n + j] - (ref + bias[j])) / (mag + fabs(bias[j]) + 1e-30));
            }
        CHECK_MSG(worst <= 2.0 * (double)k * 0x1p-24, "relative error %g", worst);
        rv_gemm_packed_free(&p);
        rv_free(a);
        rv_free(b);
        rv_free(c1);
        rv_free(c2);
        rv_free(c3);
        rv_free(bias);
    }
}

static void test_axpy(void)
{
    const rv_kernels *s = rv_kernels_scalar(), *v = rv_kernels_avx2();
    for (size_t n = 0; n <= 70; n++) {
        float x[70], y1[70], y2[70];
        rv_test_fill(x, 70, n + 1);
        rv_test_fill(y1, 70, n + 100);
        memcpy(y2, y1, sizeof y1);
        float a = 0.37f * (float)n - 3.0f;
        s->axpy(n, a, x, y1);
        for (size_t i = 0; i < n; i++) /* the scalar reference is the plain expression */
            CHECK(y1[i] == y2[i] + a * x[i]);
        if (v) {
            v->axpy(n, a, x, y2);
            for (size_t i = 0; i < n; i++)
                CHECK(fabsf(y1[i] - y2[i]) <= 0x1p-23f * (fabsf(a * x[i]) + fabsf(y1[i])) + 1e-30f);
        }
    }
}

void test_embed(void)
{
    test_axpy();
    test_gelu();
    test_packed_gemm();
}
