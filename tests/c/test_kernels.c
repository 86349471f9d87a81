/* SIMD kernels against the scalar reference: l2sq/dot/select_below bit for bit, gemm within the
 * bound stated in kernels.h; plus the scalar reference against a double-precision oracle. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "base/kernels.h"
#include "index/rabitq_kernels.h"
#include "index/fastscan.h"
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
        /* alternately onto c, and from an init row (c2's tile poisoned: must not be read) */
        float init[RV_GEMM_NR];
        rv_test_fill(init, RV_GEMM_NR, kc + 3);
        const float *from = kc % 2 ? NULL : init;
        if (from)
            for (size_t i = 0; i < RV_GEMM_MR; i++)
                for (size_t j = 0; j < RV_GEMM_NR; j++) {
                    c1[i * 20 + j] = init[j];
                    c2[i * 20 + j] = NAN;
                }
        s->gemm_micro(kc, ap, kc, bp, c1, 20, from);
        v->gemm_micro(kc, ap, kc, bp, c2, 20, from);
        for (size_t i = 0; i < RV_GEMM_MR; i++)
            for (size_t j = 0; j < 20; j++) {
                if (j >= RV_GEMM_NR) {
                    CHECK(c1[i * 20 + j] == c2[i * 20 + j]); /* outside the tile: untouched */
                    continue;
                }
                double mag = fabs(c1[i * 20 + j]);
                for (size_t t = 0; t < kc; t++)
                    mag += fabs((double)ap[i * kc + t] * bp[t * RV_GEMM_NR + j]);
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

/* fastscan_dot against <b, uq> computed bit by bit from plain codes (put into blocks with
 * rv_fs_put, tables from rv_fs_lut), and the AVX2 twin bit for bit. Up to 65 words (D = 4160):
 * the AVX2 kernel sums at most 256 pairs (32 words) per pass in 16-bit lanes, so 33, 64 and 65
 * words take two and three passes; all-ones codes against 255 levels fill each lane to the top. */
static void test_fastscan_kernels(void)
{
    const rv_rabitq_kernels *s = rv_rabitq_kernels_scalar(), *v = rv_rabitq_kernels_avx2();
    enum { N = 70, MAXW = 65 }; /* 3 blocks, the last one partly filled */
    uint64_t seed = 99, codes[N * MAXW], back[MAXW];
    uint8_t *blocks = rv_alloc(3 * MAXW * 256), *lut = rv_alloc(2 * MAXW * 256), uq[MAXW * 64];
    uint32_t a[3 * 32], b[3 * 32];
    for (size_t i = 0; i < RV_ARRAY_LEN(codes); i++)
        codes[i] = rv_test_rand(&seed);
    size_t word_list[] = {1, 2, 3, 6, 12, 31, 32, 33, 48, 64, 65};
    for (size_t wi = 0; wi < RV_ARRAY_LEN(word_list); wi++)
        for (unsigned qb = 1; qb <= 8; qb++) {
            size_t words = word_list[wi];
            memset(blocks, 0, 3 * MAXW * 256);
            for (size_t r = 0; r < N; r++) {
                rv_fs_put(blocks, words, r, codes + r * MAXW);
                rv_fs_get(blocks, words, r, back);
                CHECK(memcmp(back, codes + r * MAXW, words * 8) == 0);
            }
            for (size_t i = 0; i < words * 64; i++)
                uq[i] = (uint8_t)(rv_test_rand(&seed) & ((1u << qb) - 1));
            if (qb == 8)
                memset(uq, 255, 8); /* the largest table values */
            unsigned nluts = rv_fs_lut(uq, words, qb, lut);
            CHECK(nluts == (qb >= 7 ? 2u : 1u));
            s->fastscan_dot(blocks, words, 3, lut, nluts, a);
            for (size_t r = 0; r < N; r++) {
                uint32_t want = 0;
                for (size_t i = 0; i < words * 64; i++)
                    want += (uint32_t)(codes[r * MAXW + i / 64] >> (i % 64) & 1) * uq[i];
                CHECK(a[r] == want);
            }
            for (size_t r = N; r < 96; r++)
                CHECK(a[r] == 0); /* empty slots hold zero nibbles */
            if (v) {
                v->fastscan_dot(blocks, words, 3, lut, nluts, b);
                CHECK_MSG(memcmp(a, b, sizeof a) == 0, "words=%zu qb=%u", words, qb);
            }
        }
    /* The largest sums: every bit set, every level 255 (two tables), past one pass. */
    size_t full_list[] = {32, 33, 64, 65};
    for (size_t wi = 0; wi < RV_ARRAY_LEN(full_list); wi++) {
        size_t words = full_list[wi];
        uint64_t ones[MAXW];
        memset(ones, 0xff, sizeof ones);
        memset(blocks, 0, 3 * MAXW * 256);
        for (size_t r = 0; r < N; r++)
            rv_fs_put(blocks, words, r, ones);
        memset(uq, 255, words * 64);
        unsigned nluts = rv_fs_lut(uq, words, 8, lut);
        s->fastscan_dot(blocks, words, 3, lut, nluts, a);
        for (size_t r = 0; r < N; r++)
            CHECK_MSG(a[r] == (uint32_t)(words * 64 * 255), "full words=%zu row %zu: %u", words, r, a[r]);
        if (v) {
            v->fastscan_dot(blocks, words, 3, lut, nluts, b);
            CHECK_MSG(memcmp(a, b, sizeof a) == 0, "full words=%zu: avx2 %u vs scalar %u", words, b[0], a[0]);
        }
    }
    /* move / clear / same keep the other slots intact */
    size_t words = 3;
    memset(blocks, 0, 3 * MAXW * 256);
    for (size_t r = 0; r < N; r++)
        rv_fs_put(blocks, words, r, codes + r * MAXW);
    rv_fs_move(blocks, words, 69, 17);
    rv_fs_clear(blocks, words, 69);
    rv_fs_get(blocks, words, 17, back);
    CHECK(memcmp(back, codes + 69 * MAXW, words * 8) == 0);
    rv_fs_get(blocks, words, 69, back);
    for (size_t i = 0; i < words; i++)
        CHECK(back[i] == 0);
    for (size_t r = 0; r < N - 1; r++)
        if (r != 17) {
            rv_fs_get(blocks, words, r, back);
            CHECK(memcmp(back, codes + r * MAXW, words * 8) == 0);
            CHECK(rv_fs_same(blocks, r, blocks, r, words) && !rv_fs_same(blocks, r, blocks, 17, words));
        }
    rv_free(blocks);
    rv_free(lut);
}

/* levels_dot against the level-by-level sum, for nibble and byte packing, up to 65 words
 * (D = 4160); screen32 (no word count: one block of 32 codes) bit for bit, with scan sums up to
 * 2^31 - 1 as well as small ones. */
static void test_levels_and_screen(void)
{
    const rv_rabitq_kernels *s = rv_rabitq_kernels_scalar(), *v = rv_rabitq_kernels_avx2();
    uint64_t seed = 7;
    enum { MAXW = 65 };
    uint8_t ex[MAXW * 64], uq[MAXW * 64], u[MAXW * 64];
    const size_t word_list[] = {1, 4, 7, 31, 32, 33, 64, 65};
    for (size_t wi = 0; wi < RV_ARRAY_LEN(word_list); wi++)
        for (unsigned bits = 2; bits <= 8; bits++) {
            size_t words = word_list[wi];
            for (size_t i = 0; i < words * 64; i++) {
                u[i] = (uint8_t)(rv_test_rand(&seed) & ((1u << bits) - 1));
                uq[i] = (uint8_t)rv_test_rand(&seed);
            }
            memset(u, (1 << bits) - 1, 5); /* the largest products */
            memset(uq, 255, 5);
            uint32_t want = 0;
            memset(ex, 0, sizeof ex);
            for (size_t i = 0; i < words * 64; i++) {
                want += (uint32_t)u[i] * uq[i];
                if (bits > 4)
                    ex[i] = u[i];
                else
                    ex[i / 64 * 32 + i % 32] |= (uint8_t)(i % 64 < 32 ? u[i] : u[i] << 4);
            }
            CHECK_MSG(s->levels_dot(ex, words, bits, uq) == want, "words=%zu bits=%u", words, bits);
            if (v)
                CHECK_MSG(v->levels_dot(ex, words, bits, uq) == want, "avx2 words=%zu bits=%u", words, bits);
        }
    float f[6 * 32], e1[32], r1[32], e2[32], r2[32];
    uint32_t scan[32];
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 6 * 32; i++)
            f[i] = (float)(rv_test_rand(&seed) % 20001) / 10000.0f - (i >= 96 && i < 128 ? -1.0f : 0.5f);
        for (int j = 0; j < 32; j++)
            scan[j] = (uint32_t)(rv_test_rand(&seed) % (round < 100 ? 4000000u : 0x80000000u));
        float rnd[12];
        for (int i = 0; i < 12; i++)
            rnd[i] = (float)(rv_test_rand(&seed) % 20001) / 10000.0f;
        const rv_screen c = {.lo = rnd[0], .lo_cd = rnd[1], .delta = rnd[2] * 1e-6f, .delta_cu = rnd[3], .dc = rnd[4],
                             .sqrt_dc = rnd[5], .qerr = rnd[6], .a = rnd[7], .b = rnd[8], .cand = rnd[9], .ub = rnd[10],
                             .qerr2 = rnd[11]};
        const float *f2 = round % 2 ? f + 128 : NULL;
        uint32_t a = s->screen32(f, f2, scan, &c, e1, r1);
        for (int j = 0; j < 32; j++) { /* the documented formula, one operation at a time */
            float t = c.lo * f[96 + j];
            t = t - c.lo_cd;
            t = t + c.delta * (float)scan[j];
            t = t - c.delta_cu;
            float e = (f[j] + c.dc) - f[32 + j] * t, r = f[64 + j] * c.sqrt_dc + f[32 + j] * c.qerr;
            float low = (e - c.a * r) - (f2 ? f[128 + j] * c.sqrt_dc + f[160 + j] * c.qerr2 : 0.0f);
            CHECK(e == e1[j] && r == r1[j]);
            CHECK(((a >> j) & 1) == !(low > c.cand && e + c.b * r > c.ub));
        }
        if (v) {
            CHECK(v->screen32(f, f2, scan, &c, e2, r2) == a);
            CHECK(memcmp(e1, e2, sizeof e1) == 0 && memcmp(r1, r2, sizeof r1) == 0);
        }
    }
}

void test_pack_kernels(void)
{
    test_fastscan_kernels();
    test_levels_and_screen();
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
