/* The flat index against a double-precision brute force, and every error path of the API. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "check.h"
#include "index/fastscan.h"
#include "index/internal.h"
#include "ruvector/index.h"

/* Checks that (ids, scores) is a correct exact top-kk: scores match each id's true distance,
 * are sorted, and nothing outside is closer than the last one (beyond float rounding). */
static void check_exact(const float *x, const int64_t *row_ids, size_t n, uint32_t d, const float *q,
                        const int64_t *ids, const float *scores, size_t kk)
{
    double *truth = rv_alloc(n * sizeof(double));
    double worst = 0;
    for (size_t r = 0; r < n; r++) {
        double acc = 0;
        for (size_t t = 0; t < d; t++)
            acc += ((double)q[t] - x[r * d + t]) * ((double)q[t] - x[r * d + t]);
        truth[r] = acc;
    }
    for (size_t i = 0; i < kk; i++) {
        size_t r = 0;
        while (r < n && row_ids[r] != ids[i])
            r++;
        CHECK_MSG(r < n, "result id %lld not in the data", (long long)ids[i]);
        if (r == n)
            continue;
        CHECK_MSG(fabs(scores[i] - truth[r]) <= 1e-5 * truth[r] + 1e-5, "score %g vs %g", scores[i], truth[r]);
        if (i)
            CHECK(scores[i] > scores[i - 1] || (scores[i] == scores[i - 1] && ids[i] > ids[i - 1]));
        if (truth[r] > worst)
            worst = truth[r];
    }
    size_t closer = 0;
    for (size_t r = 0; r < n; r++)
        if (truth[r] < worst * (1 - 1e-5) - 1e-6)
            closer++;
    CHECK_MSG(closer <= kk, "%zu rows beat the reported k-th", closer);
    rv_free(truth);
}

static void test_search_vs_oracle(void)
{
    const uint32_t dims[] = {1, 3, 16, 100, 128, 385};
    for (size_t di = 0; di < RV_ARRAY_LEN(dims); di++) {
        uint32_t d = dims[di];
        size_t n = 1000, m = 37, k = 10;
        float *x = rv_alloc(n * d * sizeof(float)), *q = rv_alloc(m * d * sizeof(float));
        int64_t *ids = rv_alloc(n * sizeof(int64_t));
        rv_test_fill(x, n * d, d);
        rv_test_fill(q, m * d, d + 99);
        for (size_t i = 0; i < n; i++)
            ids[i] = (int64_t)(i * 7919) - 3000000;
        rv_index *idx;
        CHECK(rv_index_build(RV_INDEX_FLAT_F32, d, NULL, x, ids, n, NULL, &idx) == RV_OK);
        CHECK(rv_index_len(idx) == n);
        int64_t oi[37 * 10], bi[37 * 10];
        float os[37 * 10], bs[37 * 10];
        size_t kk = 0;
        for (size_t i = 0; i < m; i++) {
            CHECK(rv_index_search(idx, q + i * d, 1, d, k, NULL, k, oi + i * k, os + i * k, NULL, &kk) == RV_OK);
            CHECK(kk == k);
            check_exact(x, ids, n, d, q + i * d, oi + i * k, os + i * k, kk);
        }
        /* The batch (GEMM) path returns the same ids and bit-identical scores. */
        CHECK(rv_index_search(idx, q, m, d, k, NULL, k, bi, bs, NULL, &kk) == RV_OK);
        CHECK(memcmp(oi, bi, sizeof oi) == 0);
        CHECK(memcmp(os, bs, sizeof os) == 0);
        rv_index_release(idx);
        rv_free(x);
        rv_free(q);
        rv_free(ids);
    }
}

static void test_mutation_and_errors(void)
{
    uint32_t d = 8;
    float x[20 * 8];
    rv_test_fill(x, 20 * 8, 11);
    rv_index *idx;
    CHECK(rv_index_create(RV_INDEX_FLAT_F32, 0, NULL, &idx) == RV_ERR_INVALID_ARGUMENT);
    CHECK(strstr(rv_last_error(), "not 0") != NULL);
    CHECK(rv_index_create(RV_INDEX_FLAT_F32, RV_INDEX_MAX_DIM + 1, NULL, &idx) == RV_ERR_INVALID_ARGUMENT);
    CHECK(rv_index_create(RV_INDEX_FLAT_F32, d, NULL, &idx) == RV_OK);
    int64_t oi[5];
    float os[5];
    size_t kk;
    CHECK(rv_index_search(idx, x, 1, d, 5, NULL, 5, oi, os, NULL, &kk) == RV_ERR_EMPTY_INDEX);
    int64_t ids[20];
    for (int i = 0; i < 20; i++)
        ids[i] = 100 + i;
    CHECK(rv_index_add(idx, ids, x, 20, 7, NULL) == RV_ERR_DIMENSION_MISMATCH);
    CHECK(strstr(rv_last_error(), "dim 7, index has dim 8") != NULL);
    ids[5] = ids[3];
    CHECK(rv_index_add(idx, ids, x, 20, d, NULL) == RV_ERR_DUPLICATE_ID);
    CHECK(rv_index_len(idx) == 0);
    ids[5] = 105;
    float bad = x[17];
    x[17] = NAN;
    CHECK(rv_index_add(idx, ids, x, 20, d, NULL) == RV_ERR_INVALID_ARGUMENT);
    CHECK(strstr(rv_last_error(), "row 2") != NULL);
    x[17] = bad;
    CHECK(rv_index_add(idx, ids, x, 20, d, NULL) == RV_OK);
    CHECK(rv_index_add(idx, ids + 4, x, 1, d, NULL) == RV_ERR_DUPLICATE_ID);
    CHECK(rv_index_len(idx) == 20);
    CHECK(rv_index_search(idx, x, 1, d, 0, NULL, 5, oi, os, NULL, &kk) == RV_ERR_INVALID_ARGUMENT);
    /* k > n returns n; exact self match first. */
    int64_t all_ids[25];
    float all_scores[25];
    CHECK(rv_index_search(idx, x + 3 * d, 1, d, 25, NULL, 25, all_ids, all_scores, NULL, &kk) == RV_OK);
    CHECK(kk == 20 && all_ids[0] == 103 && all_scores[0] == 0.0f);
    /* remove: O(1) swap, exact len, gone from results, re-add works. */
    uint64_t gen = rv_index_generation(idx);
    CHECK(rv_index_remove(idx, 103) == RV_OK);
    CHECK(rv_index_generation(idx) != gen);
    CHECK(rv_index_remove(idx, 103) == RV_ERR_UNKNOWN_ID);
    CHECK(rv_index_len(idx) == 19 && !rv_index_contains(idx, 103) && rv_index_contains(idx, 119));
    CHECK(rv_index_search(idx, x + 3 * d, 1, d, 25, NULL, 25, all_ids, all_scores, NULL, &kk) == RV_OK);
    CHECK(kk == 19 && all_ids[0] != 103);
    float got[8];
    CHECK(rv_index_get(idx, 119, got) == RV_OK && memcmp(got, x + 19 * d, sizeof got) == 0);
    CHECK(rv_index_get(idx, 103, got) == RV_ERR_UNKNOWN_ID);
    CHECK(rv_index_add(idx, ids + 3, x + 3 * d, 1, d, NULL) == RV_OK);
    CHECK(rv_index_len(idx) == 20);
    /* pinned storage refuses mutation */
    const float *view;
    size_t rows;
    CHECK(rv_index_pin(idx, &view, &rows) == RV_OK && rows == 20);
    CHECK(rv_index_remove(idx, 100) == RV_ERR_BUSY);
    CHECK(rv_index_add(idx, all_ids, x, 0, d, NULL) == RV_ERR_BUSY);
    rv_index_unpin(idx);
    CHECK(rv_index_remove(idx, 100) == RV_OK);
    /* iterator sees CHANGED after a mutation */
    gen = rv_index_generation(idx);
    int64_t rid;
    CHECK(rv_index_row(idx, gen, 0, &rid, NULL) == RV_OK);
    CHECK(rv_index_remove(idx, rid) == RV_OK);
    CHECK(rv_index_row(idx, gen, 0, &rid, NULL) == RV_ERR_CHANGED);
    /* equality is order-insensitive */
    rv_index *a, *b;
    int64_t fwd[20], rev[20];
    float xr[20 * 8];
    for (int i = 0; i < 20; i++) {
        fwd[i] = i;
        rev[i] = 19 - i;
        memcpy(xr + i * d, x + (19 - i) * d, d * sizeof(float));
    }
    CHECK(rv_index_build(RV_INDEX_FLAT_F32, d, NULL, x, fwd, 20, NULL, &a) == RV_OK);
    CHECK(rv_index_build(RV_INDEX_FLAT_F32, d, NULL, xr, rev, 20, NULL, &b) == RV_OK);
    CHECK(rv_index_equal(a, b));
    CHECK(rv_index_remove(b, 0) == RV_OK);
    CHECK(!rv_index_equal(a, b));
    rv_index_release(a);
    rv_index_release(b);
    rv_index_release(idx);
}

static int cancel_at_second(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    (void)phase;
    (void)done;
    (void)total;
    return ++*(int *)ctx >= 2;
}

static void test_cancel(void)
{
    size_t n = 40000;
    uint32_t d = 4;
    float *x = rv_alloc(n * d * sizeof(float));
    rv_test_fill(x, n * d, 3);
    int calls = 0;
    rv_progress p = {cancel_at_second, &calls};
    rv_index *idx = NULL;
    CHECK(rv_index_build(RV_INDEX_FLAT_F32, d, NULL, x, NULL, n, &p, &idx) == RV_ERR_CANCELLED);
    CHECK(idx == NULL && calls == 2);
    CHECK(rv_index_create(RV_INDEX_FLAT_F32, d, NULL, &idx) == RV_OK);
    calls = 0;
    int64_t *ids = rv_alloc(n * sizeof(int64_t));
    for (size_t i = 0; i < n; i++)
        ids[i] = (int64_t)i;
    CHECK(rv_index_add(idx, ids, x, n, d, &p) == RV_ERR_CANCELLED);
    CHECK(rv_index_len(idx) == 0 && !rv_index_contains(idx, 0));
    CHECK(rv_index_add(idx, ids, x, n, d, NULL) == RV_OK); /* nothing half-added remains */
    rv_index_release(idx);
    rv_free(ids);
    rv_free(x);
}

/* rv_index_check holds on healthy indexes through build, add, remove and every kind, and names
 * each broken invariant planted in a copy's internals. */
static void test_check(void)
{
    const uint32_t d = 70; /* not a multiple of 64: codes have padding bits */
    const size_t n = 300;
    float *x = rv_alloc(n * d * sizeof(float));
    rv_test_fill(x, n * d, 21);
    for (int kind = RV_INDEX_FLAT_F32; kind <= RV_INDEX_RABITQ_ASYM; kind++) {
        rv_index *idx;
        CHECK(rv_index_build((rv_index_kind)kind, d, NULL, x, NULL, n - 3, NULL, &idx) == RV_OK);
        CHECK(rv_index_check(idx) == RV_OK);
        int64_t extra[3] = {1000, 1001, 1002};
        CHECK(rv_index_add(idx, extra, x + (n - 3) * d, 3, d, NULL) == RV_OK);
        for (int64_t id = 0; id < 40; id += 3)
            CHECK(rv_index_remove(idx, id) == RV_OK);
        CHECK(rv_index_check(idx) == RV_OK);
        rv_index_release(idx);
    }
    /* Planted faults, one at a time, each on a fresh RaBitQ Plus index. */
    for (int fault = 0; fault < 7; fault++) {
        rv_index *idx;
        CHECK(rv_index_build(RV_INDEX_RABITQ_PLUS, d, NULL, x, NULL, n, NULL, &idx) == RV_OK);
        rv_rabitq *rq = idx->rq;
        rv_ivf_list *L = &rq->lists[0];
        for (uint32_t l = 0; L->n == 0 || L->n % RV_FS_BLOCK == 0; l++) /* a list with padding slots */
            L = &rq->lists[l];
        const char *want = NULL;
        uint64_t code[2] = {0};
        switch (fault) {
        case 0: idx->store.norms[5] *= 1.01f; want = "cached norm"; break;
        case 1: idx->store.ids[7] = 123456789; want = "not mapped"; break;
        case 2: L->radius *= 0.5f; want = "past its radius"; break;
        case 3: rq->row_pos[L->rows[0]] += 1; want = "maps elsewhere"; break;
        case 4:
            code[1] = 1ull << 63; /* bit 127, past dim 70 */
            rv_fs_put(L->sign, rq->words, 0, code);
            want = "past dim";
            break;
        case 5:
            code[0] = 1; /* a padding slot of the last block */
            rv_fs_put(L->sign, rq->words, L->n, code);
            want = "padding slot";
            break;
        case 6: rq->centroids[3] = NAN; want = "non-finite"; break;
        }
        CHECK(rv_index_check(idx) == RV_ERR_INTERNAL);
        CHECK(strstr(rv_last_error(), want) != NULL);
        rv_index_release(idx);
    }
    rv_free(x);
}

void test_index(void)
{
    test_search_vs_oracle();
    test_mutation_and_errors();
    test_cancel();
    test_check();
}
