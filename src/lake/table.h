/*
 * lake/table.h — one collection's rows held by a backend: ids, vectors and an id -> row map,
 * with insert-or-replace and delete (swap-remove). Not thread-safe (backends lock around it).
 */
#ifndef RV_LAKE_TABLE_H
#define RV_LAKE_TABLE_H

#include "index/idmap.h"
#include "lake/lake_internal.h"

typedef struct rv_table {
    uint32_t dim;
    size_t n, cap;
    int64_t *ids;
    float *vecs;
    rv_idmap map;
    uint64_t generation;
} rv_table;

void rv_table_init(rv_table *t, uint32_t dim);
void rv_table_free(rv_table *t);
/* Inserts or replaces rows by id (later duplicates in the batch win). Checks dim and finiteness
 * first, so a failed call changes nothing. Errors: DIMENSION_MISMATCH, INVALID_ARGUMENT,
 * NO_MEMORY. */
rv_status rv_table_upsert(rv_table *t, const int64_t *ids, const float *vecs, size_t n, uint32_t dim);
/* Removes the ids present; returns how many. */
size_t rv_table_delete(rv_table *t, const int64_t *ids, size_t n);
/* Copies the rows into a pulled batch. Errors: NO_MEMORY. */
rv_status rv_table_copy_out(const rv_table *t, rv_pulled *out);

#endif
