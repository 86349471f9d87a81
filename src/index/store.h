/*
 * index/store.h — the rows every index variant keeps: ids, an id -> row map, and (for variants
 * that retain originals) the row-major float32 vectors with their squared norms.
 *
 * Rows are dense: row r holds ids[r] and vectors[r * dim ...]. Removal swaps the last row into
 * the hole (O(1)); the map is updated for the moved id. Arrays grow by 1.5x and are 64-byte
 * aligned, so vectors can be exported to NumPy as one (n, dim) C-contiguous matrix.
 */
#ifndef RV_INDEX_STORE_H
#define RV_INDEX_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index/idmap.h"
#include "ruvector/base.h"

typedef struct rv_store {
    uint32_t dim;
    bool retain;    /* keeps vectors and norms; false for code-only indexes */
    size_t n, cap;
    int64_t *ids;
    float *vectors; /* cap * dim */
    float *norms;   /* cap: ||v||^2, for the batched (GEMM) search */
    rv_idmap map;
} rv_store;

void rv_store_init(rv_store *s, uint32_t dim, bool retain);
void rv_store_free(rv_store *s);
/* Ensures capacity for `total` rows. Errors: NO_MEMORY. */
rv_status rv_store_reserve(rv_store *s, size_t total);
/* Validates (finite values, ids unique against the store and within the batch) and appends.
 * All or nothing. Errors: INVALID_ARGUMENT, DUPLICATE_ID, NO_MEMORY, CANCELLED. */
rv_status rv_store_append(rv_store *s, const int64_t *ids, const float *vectors, size_t n,
                          const rv_progress *progress);
/* rv_store_append for vectors the caller has already checked with rv_check_rows_finite. */
rv_status rv_store_append_finite(rv_store *s, const int64_t *ids, const float *vectors, size_t n,
                                 const rv_progress *progress);
/* INVALID_ARGUMENT naming the first non-finite row and column of n rows of dim floats, or OK. */
rv_status rv_check_rows_finite(const float *v, size_t n, uint32_t dim);
/* Swap-removes id. Errors: UNKNOWN_ID. */
rv_status rv_store_remove(rv_store *s, int64_t id);
/* Recomputes norms[first .. first+count). */
void rv_store_compute_norms(rv_store *s, size_t first, size_t count);
/* First non-finite value in n rows of dim floats: returns false and sets *row, *col. */
bool rv_rows_finite(const float *v, size_t n, uint32_t dim, size_t *row, size_t *col);
size_t rv_store_bytes(const rv_store *s);

#endif
