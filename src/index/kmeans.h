/*
 * index/kmeans.h — seeded Lloyd's k-means for the RaBitQ lists.
 */
#ifndef RV_INDEX_KMEANS_H
#define RV_INDEX_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "ruvector/base.h"

#define RV_KMEANS_ITERATIONS 6u
#define RV_KMEANS_POINTS_PER_LIST 128u

/* Trains nlist centroids (nlist x dim, row-major, caller-allocated) on n vectors. Deterministic
 * for (x, n, dim, nlist, seed) whatever the thread count. nlist <= n. progress (may be NULL) is
 * called as (0, n) after every iteration so a long training can be cancelled.
 * Errors: NO_MEMORY, CANCELLED. */
rv_status rv_kmeans_train(const float *x, size_t n, uint32_t dim, uint32_t nlist, uint64_t seed,
                          float *centroids, const rv_progress *progress);

/* assign[i] = the nearest centroid of x[i] by ||c||^2 - 2 x.c (ties: lowest index); if dist2 is
 * not NULL it receives that value + ||x||^2. Errors: NO_MEMORY. */
rv_status rv_kmeans_assign(const float *x, size_t n, uint32_t dim, const float *centroids,
                           uint32_t nlist, uint32_t *assign, float *dist2);

#endif
