/*
 * flat.c — the single-query exact scan.
 *
 * One pass over the rows with the dispatched l2sq kernel: at n x d floats per query this is
 * memory-bound (100k x 128 = 51 MB per query), so the kernel only has to keep up with DRAM.
 * Scores are computed directly as sum (q - x)^2 — never via ||q||^2 - 2 q.x + ||x||^2, which
 * cancels catastrophically for near neighbours — so they are exact to float rounding and
 * identical whatever the CPU (see kernels.h).
 */
#include "base/internal.h"
#include "base/kernels.h"
#include "index/flat.h"
#include "index/topk.h"

#define RV_FLAT_STACK_HITS 128u
#define RV_FLAT_SCAN_BLOCK 256u /* rows per kernel call; distances stay in L1 */

rv_status rv_flat_search_one(const rv_store *s, const float *q, size_t kk, int64_t *ids,
                             float *scores)
{
    const rv_kernels *K = rv_kernels_get();
    rv_hit stack_items[RV_FLAT_STACK_HITS];
    rv_hit *items = stack_items;
    if (kk > RV_FLAT_STACK_HITS) {
        size_t bytes;
        if (!rv_mul(kk, sizeof(rv_hit), &bytes) || !(items = rv_alloc(bytes)))
            return rv_fail(RV_ERR_NO_MEMORY, "out of memory for %zu results", kk);
    }
    rv_topk top;
    rv_topk_init(&top, items, kk);
    const uint32_t d = s->dim;
    float dist[RV_FLAT_SCAN_BLOCK];
    for (size_t r0 = 0; r0 < s->n; r0 += RV_FLAT_SCAN_BLOCK) {
        size_t count = rv_min(RV_FLAT_SCAN_BLOCK, s->n - r0);
        K->l2sq_rows(q, s->vectors + r0 * d, d, count, dist);
        float bound = rv_topk_bound(&top);
        for (size_t i = 0; i < count; i++)
            if (dist[i] <= bound) {
                rv_topk_push(&top, dist[i], s->ids[r0 + i], r0 + i);
                bound = rv_topk_bound(&top);
            }
    }
    rv_topk_pad(ids, scores, rv_topk_drain_sorted(&top, ids, scores, NULL), kk); /* kk <= n: no pad */
    if (items != stack_items)
        rv_free(items);
    return RV_OK;
}
