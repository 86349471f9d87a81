/* index/topk.c — see topk.h. */
#include "base/internal.h"
#include "index/topk.h"

static void rv_topk_sift_down(rv_hit *h, size_t size, size_t i)
{
    rv_hit x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= size)
            break;
        if (c + 1 < size && rv_hit_worse(&h[c + 1], h[c].score, h[c].id))
            c++;
        if (!rv_hit_worse(&h[c], x.score, x.id))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

void rv_topk_push_aux(rv_topk *t, float score, int64_t id, uint64_t row, float aux)
{
    rv_hit *h = t->items;
    if (t->size < t->cap) {
        size_t i = t->size++;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!rv_hit_worse(&(rv_hit){score, 0, id, 0}, h[p].score, h[p].id))
                break;
            h[i] = h[p];
            i = p;
        }
        h[i] = (rv_hit){score, aux, id, row};
        return;
    }
    if (t->cap == 0 || !rv_hit_worse(&h[0], score, id))
        return;
    h[0] = (rv_hit){score, aux, id, row};
    rv_topk_sift_down(h, t->size, 0);
}

rv_hit *rv_topk_sort(rv_topk *t, size_t *count)
{
    size_t n = t->size;
    /* Heap-sort in place: repeatedly move the worst to the end. */
    for (size_t end = n; end > 1; end--) {
        rv_hit top = t->items[0];
        t->items[0] = t->items[end - 1];
        t->items[end - 1] = top;
        rv_topk_sift_down(t->items, end - 1, 0);
    }
    t->size = 0;
    *count = n;
    return t->items;
}

size_t rv_topk_drain_sorted(rv_topk *t, int64_t *ids, float *scores, uint64_t *rows)
{
    size_t n;
    rv_hit *items = rv_topk_sort(t, &n);
    for (size_t i = 0; i < n; i++) {
        if (ids)
            ids[i] = items[i].id;
        if (scores)
            scores[i] = items[i].score;
        if (rows)
            rows[i] = items[i].row;
    }
    return n;
}
