/*
 * index/flat.h — exact brute-force k-NN over a store's float32 rows.
 */
#ifndef RV_INDEX_FLAT_H
#define RV_INDEX_FLAT_H

#include "index/store.h"
#include "ruvector/status.h"

/* One query: exact squared L2 against every row (the memory-bound scan), kk results sorted by
 * (score, id) into ids/scores. Errors: NO_MEMORY. */
rv_status rv_flat_search_one(const rv_store *s, const float *q, size_t kk, int64_t *ids,
                             float *scores);

/* m queries, kk results each (row stride kk), on the worker pool. For m >= RV_FLAT_GEMM_MIN_M
 * it screens with a blocked GEMM (||x||^2 - 2 q.x, FMA-bound) and re-scores the survivors
 * exactly, so scores are bit-identical to rv_flat_search_one. Errors: NO_MEMORY. */
rv_status rv_flat_search_batch(const rv_store *s, const float *q, size_t m, size_t kk,
                               int64_t *ids, float *scores);

#define RV_FLAT_GEMM_MIN_M 4u

#endif
