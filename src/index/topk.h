/*
 * index/topk.h — bounded max-heap of the k best (score, id) so far.
 *
 * "Best" is smallest score, ties by smallest id, so results are deterministic. The worst kept
 * item sits at the root, so the common case — a candidate worse than all k — is one compare.
 * `row` rides along for callers that re-score candidates.
 */
#ifndef RV_INDEX_TOPK_H
#define RV_INDEX_TOPK_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rv_hit {
    float score;
    float aux; /* rides along: e.g. a RaBitQ candidate's error bound */
    int64_t id;
    uint64_t row;
} rv_hit;

typedef struct rv_topk {
    rv_hit *items;  /* caller-provided, cap entries */
    size_t size, cap;
} rv_topk;

static inline bool rv_hit_worse(const rv_hit *a, float score, int64_t id)
{
    return a->score > score || (a->score == score && a->id > id);
}

static inline void rv_topk_init(rv_topk *t, rv_hit *items, size_t cap)
{
    t->items = items;
    t->size = 0;
    t->cap = cap;
}

/* Score a candidate must not exceed to enter (ties decided by id in rv_topk_push). */
static inline float rv_topk_bound(const rv_topk *t)
{
    return t->size < t->cap ? INFINITY : t->items[0].score;
}

void rv_topk_push_aux(rv_topk *t, float score, int64_t id, uint64_t row, float aux);
static inline void rv_topk_push(rv_topk *t, float score, int64_t id, uint64_t row)
{
    rv_topk_push_aux(t, score, id, row, 0.0f);
}

/* Sorts the kept items ascending by (score, id) in place and returns them; the heap is empty
 * afterwards (the items stay valid until the next push). */
rv_hit *rv_topk_sort(rv_topk *t, size_t *count);

/* Empties the heap into ascending (score, id) order, written to ids/scores/rows (each may be
 * NULL); returns the count. */
size_t rv_topk_drain_sorted(rv_topk *t, int64_t *ids, float *scores, uint64_t *rows);

/* Fills a result row's unused tail [from, kk) with RV_PAD_ID / +inf, so no caller ever reads
 * memory the search did not write. */
static inline void rv_topk_pad(int64_t *ids, float *scores, size_t from, size_t kk)
{
    for (size_t i = from; i < kk; i++) {
        ids[i] = -1; /* RV_PAD_ID */
        scores[i] = INFINITY;
    }
}

#endif
