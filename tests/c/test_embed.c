/* tests/c/test_embed.c — the embedder's numeric pieces: the GELU kernel against libm's erf, the
 * softmax and LayerNorm kernels against double-precision versions (each twin), and products with
 * a prepacked B equal to rv_gemm_nt's bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/gemm.h"
#include "base/internal.h"
#include "base/kernels.h"
#include "embed/nn_kernels.h"
#include "check.h"

/* Both twins within 5e-7 of libm's erf form over [-12, 12] and at +-100 (the AVX2 twin fuses its
 * multiply-adds, so they need not agree bit for bit). */
static void test_gelu(void)
{
    const rv_nn_kernels *tables[2] = {rv_nn_kernels_scalar(), rv_nn_kernels_avx2()};
    size_t n = 240001;
    float *x = rv_alloc(n * sizeof(float)), *a = rv_alloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = -12.0f + 24.0f * (float)i / (float)(n - 1);
    x[0] = -100.0f; /* far tails: e^{-x^2} underflows, gelu -> 0 or x */
    x[n - 1] = 100.0f;
    for (int t = 0; t < 2 && tables[t]; t++) {
        memcpy(a, x, n * sizeof(float));
        tables[t]->gelu(a, n);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double ref = 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)));
            worst = fmax(worst, fabs(a[i] - ref));
        }
        CHECK_MSG(worst <= 5e-7, "gelu (%s) max abs error %g", tables[t]->name, worst);
    }
    rv_free(a);
    rv_free(x);
}

/* Rows of every length 1..70 (tails of each lane count), scores spread over [-40, 40] with a
 * scale of 1/sqrt(32), one row of equal values, one with a gap past e^-87 (the clamp): for both
 * twins each probability within (4 + |a|) 2^-23 relative (+2e-38, the clamp) of the double
 * softmax, where a is its exponent (rounding a in float alone costs |a| 2^-24), and the entries
 * past n (up to a multiple of 8) zero. */
static void test_softmax(void)
{
    const rv_nn_kernels *tables[2] = {rv_nn_kernels_scalar(), rv_nn_kernels_avx2()};
    const float scale = 1.0f / sqrtf(32.0f);
    float row[80], orig[72];
    for (int k = 0; k < 2 && tables[k]; k++) {
        double worst = 0;
        uint64_t st = 12345;
        for (size_t n = 1; n <= 72; n++) {
            for (size_t i = 0; i < n; i++) {
                st = st * 6364136223846793005ull + 1442695040888963407ull;
                orig[i] = n == 71 ? 3.0f : n == 72 ? (i == 5 ? 900.0f : -900.0f)
                                                  : -40.0f + 80.0f * (float)(st >> 40) / (float)(1u << 24);
            }
            memcpy(row, orig, n * sizeof(float));
            for (size_t i = n; i < 80; i++)
                row[i] = 1e30f; /* whatever sits past n must not leak in */
            tables[k]->softmax(row, n, scale);
            double mx = -INFINITY, sum = 0;
            for (size_t i = 0; i < n; i++)
                mx = fmax(mx, (double)orig[i]);
            for (size_t i = 0; i < n; i++)
                sum += exp(((double)orig[i] - mx) * scale);
            for (size_t i = 0; i < n; i++) {
                double arg = ((double)orig[i] - mx) * scale, ref = exp(arg) / sum;
                worst = fmax(worst, (fabs(row[i] - ref) - 2e-38) / (ref * (4 + fabs(arg)) * 0x1p-23));
            }
            for (size_t i = n; i < (n + 7) / 8 * 8; i++)
                CHECK_MSG(row[i] == 0.0f, "softmax (%s) left %g past n = %zu", tables[k]->name, row[i], n);
        }
        CHECK_MSG(worst <= 1.0, "softmax (%s) error %g of the bound", tables[k]->name, worst);
    }
}

/* Rows of every length 1..70 and 384, values of mixed scale around an offset (x + r, and x
 * alone), random g and b: each output within 1e-6 (|g| (1 + |x^|) + |b|) of the double-precision
 * LayerNorm, where x^ is the normalised input; the twins bit for bit. */
static void test_layernorm(void)
{
    const rv_nn_kernels *s = rv_nn_kernels_scalar(), *v = rv_nn_kernels_avx2();
    float x[384], y[384], r[384], g[384], b[384];
    double worst = 0;
    uint64_t st = 777;
    for (size_t n = 1; n <= 71; n++) {
        const size_t len = n == 71 ? 384 : n;
        for (size_t i = 0; i < len; i++) {
            float u[4];
            for (int k = 0; k < 4; k++) {
                st = st * 6364136223846793005ull + 1442695040888963407ull;
                u[k] = (float)(st >> 40) / (float)(1u << 24) - 0.5f;
            }
            x[i] = 3.0f + u[0] * (i % 5 == 0 ? 40.0f : 2.0f);
            r[i] = u[1];
            g[i] = 1.0f + u[2];
            b[i] = u[3];
        }
        for (int with_r = 0; with_r < 2; with_r++) {
            const float *rr = with_r ? r : NULL;
            double mean = 0, var = 0;
            for (size_t i = 0; i < len; i++)
                mean += (double)(rr ? x[i] + rr[i] : x[i]);
            mean /= (double)len;
            for (size_t i = 0; i < len; i++) {
                double d = (double)(rr ? x[i] + rr[i] : x[i]) - mean;
                var += d * d;
            }
            var /= (double)len;
            memcpy(y, x, len * sizeof(float));
            s->layernorm(y, rr, len, g, b, 1e-12f);
            for (size_t i = 0; i < len; i++) {
                double xh = ((double)(rr ? x[i] + rr[i] : x[i]) - mean) / sqrt(var + 1e-12);
                double ref = xh * g[i] + b[i];
                worst = fmax(worst, fabs(y[i] - ref) / (fabs(g[i]) * (1 + fabs(xh)) + fabs(b[i])));
            }
            if (v) {
                float y2[384];
                memcpy(y2, x, len * sizeof(float));
                v->layernorm(y2, rr, len, g, b, 1e-12f);
                CHECK_MSG(memcmp(y, y2, len * sizeof(float)) == 0, "layernorm twins differ at n = %zu", len);
            }
        }
    }
    CHECK_MSG(worst <= 1e-6, "layernorm error %g", worst);
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
    test_softmax();
    test_layernorm();
    test_packed_gemm();
}
