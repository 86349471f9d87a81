/* index/store.c — see store.h. */
#include "base/internal.h"
#include "base/kernels.h"
#include "base/soa.h"
#include "index/store.h"

/* Rows per progress report / cancellation check. */
#define RV_STORE_CHUNK_ROWS 16384u

void rv_store_init(rv_store *s, uint32_t dim, bool retain)
{
    memset(s, 0, sizeof *s);
    s->dim = dim;
    s->retain = retain;
    rv_idmap_init(&s->map);
}

void rv_store_free(rv_store *s)
{
    rv_free(s->ids);
    rv_free(s->vectors);
    rv_free(s->norms);
    rv_idmap_free(&s->map);
    memset(s, 0, sizeof *s);
}

rv_status rv_store_reserve(rv_store *s, size_t total)
{
    if (total <= s->cap)
        return RV_OK;
    size_t cap = s->cap + s->cap / 2;
    if (cap < total)
        cap = total;
    if (cap < 16)
        cap = 16;
    size_t vec_bytes, id_bytes, norm_bytes;
    if (!rv_mul3(cap, s->dim, sizeof(float), &vec_bytes) || !rv_mul(cap, sizeof(int64_t), &id_bytes) ||
        !rv_mul(cap, sizeof(float), &norm_bytes))
        return rv_fail(RV_ERR_NO_MEMORY, "%zu rows of dim %u overflow the address space", cap, s->dim);
    if (!s->retain)
        vec_bytes = norm_bytes = 0;
    rv_soa_col cols[3] = {{s->ids, sizeof(int64_t)}, {s->vectors, (size_t)s->dim * sizeof(float)},
                          {s->norms, sizeof(float)}};
    if (!rv_soa_grow(cols, s->retain ? 3 : 1, s->n, cap))
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory growing to %zu rows of dim %u (%zu bytes)",
                       cap, s->dim, vec_bytes + id_bytes + norm_bytes);
    s->ids = cols[0].data;
    s->vectors = s->retain ? cols[1].data : NULL;
    s->norms = s->retain ? cols[2].data : NULL;
    s->cap = cap;
    return RV_OK;
}

bool rv_rows_finite(const float *v, size_t n, uint32_t dim, size_t *row, size_t *col)
{
    size_t total = n * dim;
    uint32_t bad = 0;
    /* Branch-free scan (vectorizes); locate the culprit only when there is one. */
    for (size_t i = 0; i < total; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        bad |= (uint32_t)((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (!bad)
        return true;
    for (size_t i = 0; i < total; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        if ((bits & 0x7f800000u) == 0x7f800000u) {
            *row = i / dim;
            *col = i % dim;
            return false;
        }
    }
    return true;
}

void rv_store_compute_norms(rv_store *s, size_t first, size_t count)
{
    const rv_kernels *k = rv_kernels_get();
    for (size_t r = first; r < first + count; r++) {
        const float *v = s->vectors + r * s->dim;
        s->norms[r] = k->dot(v, v, s->dim);
    }
}

static void rv_store_unmap_batch(rv_store *s, const int64_t *ids, size_t count)
{
    for (size_t i = 0; i < count; i++)
        rv_idmap_erase(&s->map, ids[i]);
}

rv_status rv_check_rows_finite(const float *v, size_t n, uint32_t dim)
{
    size_t row, col;
    if (!rv_rows_finite(v, n, dim, &row, &col))
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "vector at row %zu has a non-finite value (%g) at column %zu",
                       row, (double)v[row * dim + col], col);
    return RV_OK;
}

rv_status rv_store_append(rv_store *s, const int64_t *ids, const float *vectors, size_t n,
                          const rv_progress *progress)
{
    rv_status st = rv_check_rows_finite(vectors, n, s->dim);
    return st != RV_OK ? st : rv_store_append_finite(s, ids, vectors, n, progress);
}

rv_status rv_store_append_finite(rv_store *s, const int64_t *ids, const float *vectors, size_t n,
                                 const rv_progress *progress)
{
    if (n == 0)
        return RV_OK;
    size_t total;
    if (__builtin_add_overflow(s->n, n, &total))
        return rv_fail(RV_ERR_NO_MEMORY, "too many rows");
    rv_status st = rv_store_reserve(s, total);
    if (st == RV_OK)
        st = rv_idmap_reserve(&s->map, n);
    if (st != RV_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        if (!rv_idmap_insert(&s->map, ids[i], s->n + i)) {
            uint64_t where = 0;
            rv_idmap_get(&s->map, ids[i], &where);
            rv_store_unmap_batch(s, ids, i);
            if (where >= s->n)
                return rv_fail(RV_ERR_DUPLICATE_ID, "id %lld appears twice in the batch (rows %llu and %zu)",
                               (long long)ids[i], (unsigned long long)(where - s->n), i);
            return rv_fail(RV_ERR_DUPLICATE_ID, "id %lld is already in the index", (long long)ids[i]);
        }
    }
    for (size_t done = 0; done < n;) {
        size_t chunk = rv_min(RV_STORE_CHUNK_ROWS, n - done);
        size_t at = s->n + done;
        memcpy(s->ids + at, ids + done, chunk * sizeof(int64_t));
        if (s->retain) {
            memcpy(s->vectors + at * s->dim, vectors + done * s->dim, chunk * s->dim * sizeof(float));
            rv_store_compute_norms(s, at, chunk);
        }
        done += chunk;
        if (progress && progress->fn && progress->fn(progress->ctx, NULL, done, n) != 0) {
            rv_store_unmap_batch(s, ids, n);
            return rv_fail(RV_ERR_CANCELLED, "cancelled after %zu of %zu rows", done, n);
        }
    }
    s->n = total;
    return RV_OK;
}

rv_status rv_store_remove(rv_store *s, int64_t id)
{
    uint64_t row;
    if (!rv_idmap_get(&s->map, id, &row))
        return rv_fail(RV_ERR_UNKNOWN_ID, "id %lld is not in the index", (long long)id);
    size_t last = s->n - 1;
    if (row != last) {
        s->ids[row] = s->ids[last];
        if (s->retain) {
            memcpy(s->vectors + row * s->dim, s->vectors + last * s->dim, s->dim * sizeof(float));
            s->norms[row] = s->norms[last];
        }
        rv_idmap_update(&s->map, s->ids[row], row);
    }
    rv_idmap_erase(&s->map, id);
    s->n = last;
    return RV_OK;
}

size_t rv_store_bytes(const rv_store *s)
{
    size_t rounded = 0;
    if (s->cap) {
        rounded += rv_round_up(s->cap * sizeof(int64_t), RV_ALIGN);
        if (s->retain) {
            rounded += rv_round_up(s->cap * s->dim * sizeof(float), RV_ALIGN);
            rounded += rv_round_up(s->cap * sizeof(float), RV_ALIGN);
        }
    }
    return rounded + rv_idmap_bytes(&s->map);
}
