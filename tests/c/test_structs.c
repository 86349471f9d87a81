/* top-k heap against sorting; id map against a brute-force list under random insert/erase. */
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "check.h"
#include "index/idmap.h"
#include "index/topk.h"

static int cmp_hit(const void *a, const void *b)
{
    const rv_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static void test_topk(void)
{
    uint64_t s = 42;
    for (int trial = 0; trial < 200; trial++) {
        size_t n = rv_test_rand(&s) % 300, k = 1 + rv_test_rand(&s) % 40;
        rv_hit *all = rv_alloc((n + 1) * sizeof(rv_hit)), *items = rv_alloc(k * sizeof(rv_hit));
        rv_topk t;
        rv_topk_init(&t, items, k);
        for (size_t i = 0; i < n; i++) {
            /* few distinct scores, so ties are common and decided by id */
            all[i] = (rv_hit){(float)(rv_test_rand(&s) % 17), 0, (int64_t)(rv_test_rand(&s) % 1000) - 500, i};
            rv_topk_push(&t, all[i].score, all[i].id, i);
        }
        qsort(all, n, sizeof(rv_hit), cmp_hit);
        int64_t ids[40];
        float scores[40];
        size_t got = rv_topk_drain_sorted(&t, ids, scores, NULL);
        CHECK(got == (n < k ? n : k));
        for (size_t i = 0; i < got; i++)
            CHECK_MSG(ids[i] == all[i].id && scores[i] == all[i].score, "trial %d rank %zu", trial, i);
        rv_free(all);
        rv_free(items);
    }
}

static void test_idmap(void)
{
    enum { N = 5000 };
    int64_t *keys = rv_alloc(N * sizeof(int64_t));
    uint64_t *rows = rv_alloc(N * sizeof(uint64_t));
    bool *live = rv_calloc(N, sizeof(bool));
    uint64_t s = 7;
    for (size_t i = 0; i < N; i++) /* clustered, negative and extreme keys */
        keys[i] = i % 3 == 0 ? (int64_t)(i * 1024) : i % 3 == 1 ? -(int64_t)i : (int64_t)(rv_test_rand(&s) | 1) ^ INT64_MIN;
    rv_idmap m;
    rv_idmap_init(&m);
    size_t live_count = 0;
    for (int step = 0; step < 60000; step++) {
        size_t i = rv_test_rand(&s) % N;
        if (!live[i]) {
            CHECK(rv_idmap_reserve(&m, 1) == RV_OK);
            CHECK(rv_idmap_insert(&m, keys[i], (uint64_t)step));
            rows[i] = (uint64_t)step;
            live[i] = true;
            live_count++;
        } else if (rv_test_rand(&s) % 2) {
            CHECK(rv_idmap_erase(&m, keys[i]));
            live[i] = false;
            live_count--;
        } else {
            CHECK(!rv_idmap_insert(&m, keys[i], 0)); /* duplicate refused, unchanged */
        }
        if (step % 5000 == 0)
            for (size_t j = 0; j < N; j++) {
                uint64_t r = 0;
                bool found = rv_idmap_get(&m, keys[j], &r);
                CHECK(found == live[j]);
                CHECK(!found || r == rows[j]);
            }
    }
    CHECK(m.count == live_count);
    rv_idmap_free(&m);
    rv_free(keys);
    rv_free(rows);
    rv_free(live);
}

void test_structs(void)
{
    test_topk();
    test_idmap();
}
