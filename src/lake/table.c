/*
 * table.c — a backend collection's rows (see table.h).
 */
#include <math.h>
#include <string.h>

#include "lake/table.h"

void rv_table_init(rv_table *t, uint32_t dim)
{
    memset(t, 0, sizeof *t);
    t->dim = dim;
    rv_idmap_init(&t->map);
}

void rv_table_free(rv_table *t)
{
    rv_free(t->ids);
    rv_free(t->vecs);
    rv_idmap_free(&t->map);
    memset(t, 0, sizeof *t);
}

static rv_status rv_table_grow(rv_table *t, size_t need)
{
    if (need <= t->cap)
        return RV_OK;
    size_t cap = t->cap ? t->cap : 64, bytes;
    while (cap < need)
        cap *= 2;
    int64_t *ids = rv_alloc(cap * sizeof *ids);
    float *vecs = rv_mul3(cap, t->dim, sizeof(float), &bytes) ? rv_alloc(bytes) : NULL;
    if (!ids || !vecs) {
        rv_free(ids);
        rv_free(vecs);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory growing a collection to %zu rows", need);
    }
    if (t->n) {
        memcpy(ids, t->ids, t->n * sizeof *ids);
        memcpy(vecs, t->vecs, t->n * t->dim * sizeof(float));
    }
    rv_free(t->ids);
    rv_free(t->vecs);
    t->ids = ids;
    t->vecs = vecs;
    t->cap = cap;
    return RV_OK;
}

rv_status rv_table_upsert(rv_table *t, const int64_t *ids, const float *vecs, size_t n, uint32_t dim)
{
    if (dim != t->dim)
        return rv_fail(RV_ERR_DIMENSION_MISMATCH, "vectors have dim %u, the collection has dim %u", dim, t->dim);
    for (size_t i = 0; i < n * dim; i++)
        if (!isfinite(vecs[i]))
            return rv_fail(RV_ERR_INVALID_ARGUMENT, "row %zu (id %lld) has a non-finite value", i / dim,
                           (long long)ids[i / dim]);
    rv_status st = rv_table_grow(t, t->n + n);
    if (st == RV_OK)
        st = rv_idmap_reserve(&t->map, n);
    if (st != RV_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        uint64_t row;
        if (!rv_idmap_get(&t->map, ids[i], &row)) {
            row = t->n++;
            t->ids[row] = ids[i];
            rv_idmap_insert(&t->map, ids[i], row);
        }
        memcpy(t->vecs + row * dim, vecs + i * dim, dim * sizeof(float));
    }
    return RV_OK;
}

size_t rv_table_delete(rv_table *t, const int64_t *ids, size_t n)
{
    size_t removed = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t row;
        if (!rv_idmap_get(&t->map, ids[i], &row))
            continue;
        rv_idmap_erase(&t->map, ids[i]);
        size_t last = --t->n;
        if (row != last) {
            t->ids[row] = t->ids[last];
            memcpy(t->vecs + row * t->dim, t->vecs + last * t->dim, t->dim * sizeof(float));
            rv_idmap_update(&t->map, t->ids[row], row);
        }
        removed++;
    }
    return removed;
}

rv_status rv_table_copy_out(const rv_table *t, rv_pulled *out)
{
    memset(out, 0, sizeof *out);
    out->ids = rv_alloc((t->n ? t->n : 1) * sizeof(int64_t));
    out->vectors = rv_alloc((t->n ? t->n : 1) * t->dim * sizeof(float));
    if (!out->ids || !out->vectors) {
        rv_pulled_clear(out);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory copying %zu rows", t->n);
    }
    if (t->n) {
        memcpy(out->ids, t->ids, t->n * sizeof(int64_t));
        memcpy(out->vectors, t->vecs, t->n * t->dim * sizeof(float));
    }
    out->n = t->n;
    out->dim = t->dim;
    return RV_OK;
}
