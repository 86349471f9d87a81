/*
 * index.c — the generic handle: argument checks at the API boundary, locking, and dispatch to
 * the variant. Variants own only their search and their extra state; ids, the id map and the
 * retained vectors live in the shared store.
 */
#include <math.h>

#include "base/container.h"
#include "base/internal.h"
#include "base/kernels.h"
#include "index/flat.h"
#include "index/internal.h"

static bool rv_kind_valid(rv_index_kind kind)
{
    return kind >= RV_INDEX_FLAT_F32 && kind <= RV_INDEX_RABITQ_ASYM;
}

rv_index_params rv_index_params_default(rv_index_kind kind)
{
    rv_index_params p = {.seed = 0, .rerank_factor = RV_RERANK_FACTOR_DEFAULT, .query_bits = RV_QUERY_BITS_DEFAULT,
                         .nlist = RV_NLIST_DEFAULT, .bits = RV_CODE_BITS_DEFAULT_RABITQ};
    if (kind == RV_INDEX_RABITQ_PLUS)
        p.rerank_factor = RV_RERANK_FACTOR_DEFAULT_PLUS;
    /* Extended RaBitQ 4-bit codes where they pay (measured at n = 100k, d = 128: recall@10 with 200
     * candidates 0.989 -> 1.000; codes-only 0.40 -> 0.90). RabitqIndex stays the 1-bit minimum. */
    if (kind == RV_INDEX_RABITQ_PLUS || kind == RV_INDEX_RABITQ_ASYM)
        p.bits = RV_CODE_BITS_DEFAULT;
    return p;
}

rv_status rv_index_create_ex(rv_index_kind kind, uint32_t dim, const rv_index_params *params,
                             const float *rotation, rv_index **out)
{
    if (!rv_kind_valid(kind))
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "unknown index kind %d", (int)kind);
    if (dim < RV_INDEX_MIN_DIM || dim > RV_INDEX_MAX_DIM)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "dim must be in %u..%u, not %u", RV_INDEX_MIN_DIM,
                       RV_INDEX_MAX_DIM, dim);
    rv_index_params p = params ? *params : rv_index_params_default(kind);
    if (kind == RV_INDEX_FLAT_F32)
        p = rv_index_params_default(kind);
    rv_status st = kind == RV_INDEX_FLAT_F32 ? RV_OK : rv_rabitq_check_params(kind, &p);
    if (st != RV_OK)
        return st;
    rv_index *idx = rv_calloc(1, sizeof *idx);
    if (!idx)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory creating an index");
    if (pthread_rwlock_init(&idx->lock, NULL) != 0) {
        rv_free(idx);
        return rv_fail(RV_ERR_NO_MEMORY, "cannot create the index lock");
    }
    if (kind != RV_INDEX_FLAT_F32 && (st = rv_rabitq_new(kind, dim, &p, rotation, &idx->rq)) != RV_OK) {
        pthread_rwlock_destroy(&idx->lock);
        rv_free(idx);
        return st;
    }
    idx->kind = kind;
    idx->dim = dim;
    idx->params = p;
    atomic_init(&idx->len, 0);
    atomic_init(&idx->generation, 0);
    atomic_init(&idx->pins, 0);
    atomic_init(&idx->refs, 1);
    atomic_init(&idx->frozen, false);
    rv_store_init(&idx->store, dim, kind == RV_INDEX_FLAT_F32 || rv_rabitq_retains(kind, &p));
    *out = idx;
    return RV_OK;
}

rv_status rv_index_create(rv_index_kind kind, uint32_t dim, const rv_index_params *params,
                          rv_index **out)
{
    return rv_index_create_ex(kind, dim, params, NULL, out);
}

rv_index_params rv_index_params_of(const rv_index *idx) { return idx->params; }

void rv_index_retain(rv_index *idx) { atomic_fetch_add(&idx->refs, 1); }

void rv_index_freeze(rv_index *idx) { atomic_store(&idx->frozen, true); }

bool rv_index_frozen(const rv_index *idx) { return atomic_load(&idx->frozen); }

void rv_index_release(rv_index *idx)
{
    if (!idx || atomic_fetch_sub(&idx->refs, 1) != 1)
        return;
    rv_rabitq_free(idx->rq);
    rv_store_free(&idx->store);
    pthread_rwlock_destroy(&idx->lock);
    rv_free(idx);
}

/* Appends to the store (flat) or encodes into the lists (RaBitQ). Caller holds the write lock. */
static rv_status rv_index_append(rv_index *idx, const int64_t *ids, const float *vectors, size_t n,
                                 const rv_progress *progress)
{
    if (idx->rq)
        return rv_rabitq_add(idx->rq, &idx->store, ids, vectors, n, progress);
    return rv_store_append(&idx->store, ids, vectors, n, progress);
}

static rv_status rv_check_dim(const rv_index *idx, uint32_t dim, const char *what)
{
    if (dim != idx->dim)
        return rv_fail(RV_ERR_DIMENSION_MISMATCH, "%s has dim %u, index has dim %u", what, dim, idx->dim);
    return RV_OK;
}

void rv_index_mutated(rv_index *idx)
{
    atomic_store(&idx->len, idx->store.n);
    atomic_fetch_add(&idx->generation, 1);
}

rv_status rv_index_build(rv_index_kind kind, uint32_t dim, const rv_index_params *params,
                         const float *vectors, const int64_t *ids, size_t n,
                         const rv_progress *progress, rv_index **out)
{
    rv_index *idx;
    rv_status st = rv_index_create(kind, dim, params, &idx);
    if (st != RV_OK)
        return st;
    int64_t *own_ids = NULL;
    if (!ids && n) {
        if (!(own_ids = rv_alloc(n * sizeof(int64_t)))) {
            rv_index_release(idx);
            return rv_fail(RV_ERR_NO_MEMORY, "out of memory for %zu ids", n);
        }
        for (size_t i = 0; i < n; i++)
            own_ids[i] = (int64_t)i;
        ids = own_ids;
    }
    st = rv_index_append(idx, ids, vectors, n, progress);
    rv_free(own_ids);
    if (st != RV_OK) {
        rv_index_release(idx);
        return st;
    }
    rv_index_mutated(idx);
    *out = idx;
    return RV_OK;
}

static rv_status rv_check_unpinned(const rv_index *idx)
{
    if (atomic_load(&idx->frozen))
        return rv_fail(RV_ERR_BUSY, "the index is read-only (it is a RuLake cache entry shared with "
                       "the lake's searches); build your own index to modify it");
    size_t pins = atomic_load(&idx->pins);
    if (pins)
        return rv_fail(RV_ERR_BUSY, "the index's vectors are exported (%zu live views, e.g. from "
                       "np.asarray); release them before modifying the index", pins);
    return RV_OK;
}

rv_status rv_index_add(rv_index *idx, const int64_t *ids, const float *vectors, size_t n,
                       uint32_t dim, const rv_progress *progress)
{
    rv_status st = rv_check_dim(idx, dim, "vector");
    if (st != RV_OK)
        return st;
    pthread_rwlock_wrlock(&idx->lock);
    st = rv_check_unpinned(idx);
    if (st == RV_OK)
        st = rv_index_append(idx, ids, vectors, n, progress);
    if (st == RV_OK && n)
        rv_index_mutated(idx);
    pthread_rwlock_unlock(&idx->lock);
    return st;
}

rv_status rv_index_remove(rv_index *idx, int64_t id)
{
    pthread_rwlock_wrlock(&idx->lock);
    rv_status st = rv_check_unpinned(idx);
    if (st == RV_OK)
        st = idx->rq ? rv_rabitq_remove(idx->rq, &idx->store, id) : rv_store_remove(&idx->store, id);
    if (st == RV_OK)
        rv_index_mutated(idx);
    pthread_rwlock_unlock(&idx->lock);
    return st;
}

/* One chunk of queries on the variant's search; counts may be NULL. */
static rv_status rv_index_search_chunk(const rv_index *idx, const float *q, size_t m, size_t kk,
                                       const rv_search_params *params, int64_t *ids, float *scores,
                                       size_t *counts)
{
    const rv_store *s = &idx->store;
    if (idx->rq)
        return rv_rabitq_search(idx->rq, s, q, m, kk, params, ids, scores, counts);
    rv_status st = m == 1 ? rv_flat_search_one(s, q, kk, ids, scores) : rv_flat_search_batch(s, q, m, kk, ids, scores);
    for (size_t i = 0; counts && st == RV_OK && i < m; i++)
        counts[i] = kk; /* an exact scan of n >= kk rows always fills the row */
    return st;
}

rv_status rv_index_search(const rv_index *idx, const float *queries, size_t m, uint32_t dim,
                          size_t k, const rv_search_params *params, size_t out_cap_per_query,
                          int64_t *ids_out, float *scores_out, size_t *counts_out, size_t *k_out)
{
    if (k == 0)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "k must be at least 1, not 0");
    rv_status st = rv_check_dim(idx, dim, m == 1 ? "query" : "queries");
    if (st != RV_OK)
        return st;
    size_t row, col;
    if (!rv_rows_finite(queries, m, dim, &row, &col))
        return m == 1 ? rv_fail(RV_ERR_INVALID_ARGUMENT, "query has a non-finite value at column %zu", col)
                      : rv_fail(RV_ERR_INVALID_ARGUMENT, "query at row %zu has a non-finite value at column %zu", row, col);
    pthread_rwlock_rdlock((pthread_rwlock_t *)&idx->lock);
    const rv_store *s = &idx->store;
    if (s->n == 0) {
        pthread_rwlock_unlock((pthread_rwlock_t *)&idx->lock);
        return rv_fail(RV_ERR_EMPTY_INDEX, "search on an empty index (n = 0)");
    }
    size_t kk = rv_min(rv_min(k, s->n), out_cap_per_query);
    const rv_progress *progress = params ? params->progress : NULL;
    size_t chunk = m;
    if (progress && progress->fn) {
        unsigned long long per_query = (unsigned long long)s->n * dim, scale = idx->rq ? 1 : RV_SEARCH_CHUNK_FLAT_SCALE;
        chunk = rv_max((size_t)(scale * RV_SEARCH_CHUNK_OPS / per_query), (size_t)(scale * RV_SEARCH_CHUNK_MIN));
    }
    for (size_t i0 = 0; st == RV_OK && i0 < m; i0 += chunk) {
        size_t c = rv_min(chunk, m - i0);
        st = rv_index_search_chunk(idx, queries + i0 * dim, c, kk, params, ids_out + i0 * kk, scores_out + i0 * kk,
                                   counts_out ? counts_out + i0 : NULL);
        if (st == RV_OK && i0 + c < m && progress && progress->fn && progress->fn(progress->ctx, "search", i0 + c, m) != 0)
            st = rv_fail(RV_ERR_CANCELLED, "search cancelled after %zu of %zu queries", i0 + c, m);
    }
    pthread_rwlock_unlock((pthread_rwlock_t *)&idx->lock);
    if (st == RV_OK)
        *k_out = kk;
    return st;
}

static rv_status rv_not_retained(const rv_index *idx)
{
    return rv_fail(RV_ERR_NOT_RETAINED, "this %s keeps only codes, not the original vectors",
                   idx->kind == RV_INDEX_RABITQ ? "RabitqIndex" : "RabitqAsymIndex (rerank_factor 1)");
}

rv_status rv_index_get(const rv_index *idx, int64_t id, float *out)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&idx->lock);
    uint64_t row;
    rv_status st = RV_OK;
    if (!idx->store.retain)
        st = rv_not_retained(idx);
    else if (!rv_idmap_get(&idx->store.map, id, &row))
        st = rv_fail(RV_ERR_UNKNOWN_ID, "id %lld is not in the index", (long long)id);
    else
        memcpy(out, idx->store.vectors + row * idx->dim, idx->dim * sizeof(float));
    pthread_rwlock_unlock((pthread_rwlock_t *)&idx->lock);
    return st;
}

bool rv_index_contains(const rv_index *idx, int64_t id)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&idx->lock);
    bool found = rv_idmap_get(&idx->store.map, id, NULL);
    pthread_rwlock_unlock((pthread_rwlock_t *)&idx->lock);
    return found;
}

rv_status rv_index_row(const rv_index *idx, uint64_t generation, size_t row, int64_t *id_out,
                       float *vec_out)
{
    rv_status st = RV_OK;
    pthread_rwlock_rdlock((pthread_rwlock_t *)&idx->lock);
    if (atomic_load(&idx->generation) != generation)
        st = rv_fail(RV_ERR_CHANGED, "the index changed during iteration");
    else if (row >= idx->store.n)
        st = rv_fail(RV_ERR_INVALID_ARGUMENT, "row %zu out of range (len %zu)", row, idx->store.n);
    else if (vec_out && !idx->store.retain)
        st = rv_not_retained(idx);
    else {
        *id_out = idx->store.ids[row];
        if (vec_out)
            memcpy(vec_out, idx->store.vectors + row * idx->dim, idx->dim * sizeof(float));
    }
    pthread_rwlock_unlock((pthread_rwlock_t *)&idx->lock);
    return st;
}

rv_status rv_index_pin(rv_index *idx, const float **vectors, size_t *rows)
{
    if (!idx->store.retain)
        return rv_not_retained(idx);
    pthread_rwlock_rdlock(&idx->lock);
    atomic_fetch_add(&idx->pins, 1);
    *vectors = idx->store.vectors;
    *rows = idx->store.n;
    pthread_rwlock_unlock(&idx->lock);
    return RV_OK;
}

void rv_index_unpin(rv_index *idx) { atomic_fetch_sub(&idx->pins, 1); }

rv_index_kind rv_index_kind_of(const rv_index *idx) { return idx->kind; }
uint32_t rv_index_dim(const rv_index *idx) { return idx->dim; }

uint32_t rv_index_nlist(const rv_index *idx)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&idx->lock);
    uint32_t nlist = idx->rq ? idx->rq->nlist : 0;
    pthread_rwlock_unlock((pthread_rwlock_t *)&idx->lock);
    return nlist;
}
size_t rv_index_len(const rv_index *idx) { return atomic_load(&idx->len); }
uint64_t rv_index_generation(const rv_index *idx) { return atomic_load(&idx->generation); }

size_t rv_index_memory_bytes(const rv_index *idx)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&idx->lock);
    size_t bytes = rv_round_up(sizeof *idx, RV_ALIGN) + rv_store_bytes(&idx->store) +
                   (idx->rq ? rv_rabitq_bytes(idx->rq) : 0);
    pthread_rwlock_unlock((pthread_rwlock_t *)&idx->lock);
    return bytes;
}

static bool rv_index_equal_locked(const rv_index *a, const rv_index *b)
{
    const rv_store *sa = &a->store, *sb = &b->store;
    if (a->kind != b->kind || a->dim != b->dim || sa->n != sb->n)
        return false;
    if (a->rq)
        return rv_rabitq_equal(a->rq, sa, b->rq, sb);
    for (size_t r = 0; r < sa->n; r++) {
        uint64_t rb;
        if (!rv_idmap_get(&sb->map, sa->ids[r], &rb))
            return false;
        if (memcmp(sa->vectors + r * a->dim, sb->vectors + rb * b->dim, a->dim * sizeof(float)) != 0)
            return false;
    }
    return true;
}

bool rv_index_equal(const rv_index *a, const rv_index *b)
{
    if (a == b)
        return true;
    /* Lock in address order so a == b racing b == a cannot deadlock behind a writer. */
    const rv_index *first = a < b ? a : b, *second = a < b ? b : a;
    pthread_rwlock_rdlock((pthread_rwlock_t *)&first->lock);
    pthread_rwlock_rdlock((pthread_rwlock_t *)&second->lock);
    bool eq = rv_index_equal_locked(a, b);
    pthread_rwlock_unlock((pthread_rwlock_t *)&second->lock);
    pthread_rwlock_unlock((pthread_rwlock_t *)&first->lock);
    return eq;
}

/* ---- validation -------------------------------------------------------------------------- */

/* The store's invariants: the id map and the ids agree row for row, retained vectors are finite
 * and their cached squared norms match them. */
static rv_status rv_store_check(const rv_store *s)
{
    if (s->n > s->cap || s->map.count != s->n)
        return rv_fail(RV_ERR_INTERNAL, "%zu rows, capacity %zu, %zu ids mapped", s->n, s->cap, s->map.count);
    for (size_t r = 0; r < s->n; r++) {
        uint64_t at;
        if (!rv_idmap_get(&s->map, s->ids[r], &at) || at != r)
            return rv_fail(RV_ERR_INTERNAL, "id %lld of row %zu is not mapped to that row", (long long)s->ids[r], r);
    }
    if (!s->retain)
        return RV_OK;
    size_t row, col;
    if (!rv_rows_finite(s->vectors, s->n, s->dim, &row, &col))
        return rv_fail(RV_ERR_INTERNAL, "stored vector %zu has a non-finite value at column %zu", row, col);
    const rv_kernels *K = rv_kernels_get(); /* the kernel that computed them */
    for (size_t r = 0; r < s->n; r++) {
        const float *v = s->vectors + r * s->dim;
        float sum = K->dot(v, v, s->dim);
        if (fabsf(s->norms[r] - sum) > 1e-6f * sum)
            return rv_fail(RV_ERR_INTERNAL, "row %zu's cached norm %g is not its squared length %g", r,
                           (double)s->norms[r], (double)sum);
    }
    return RV_OK;
}

rv_status rv_index_check(const rv_index *idx)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&idx->lock);
    rv_status st = rv_store_check(&idx->store);
    if (st == RV_OK && idx->rq)
        st = rv_rabitq_check(idx->rq, &idx->store);
    pthread_rwlock_unlock((pthread_rwlock_t *)&idx->lock);
    return st;
}

/* ---- cache updates (RuLake) ------------------------------------------------------------------
 * The lake keeps its cached indexes frozen against users and brings them up to date itself with
 * the changes a backend reports. Separate from add/remove above: it bypasses the freeze (never
 * the pins), and applies a whole change set under one hold of the write lock, so a concurrent
 * search sees either none of it or all of it. */

rv_status rv_index_apply_changes(rv_index *idx, const int64_t *removed, size_t nremoved, const int64_t *ids,
                                 const float *vectors, size_t n, uint32_t dim, bool *damaged)
{
    *damaged = false;
    rv_status st = n ? rv_check_dim(idx, dim, "vector") : RV_OK;
    if (st == RV_OK && n)
        st = rv_check_rows_finite(vectors, n, dim);
    if (st != RV_OK)
        return st;
    rv_idmap seen; /* ids twice in the upserts would leave one behind */
    rv_idmap_init(&seen);
    if (n && (st = rv_idmap_reserve(&seen, n)) != RV_OK)
        return st;
    for (size_t i = 0; i < n && st == RV_OK; i++)
        if (!rv_idmap_insert(&seen, ids[i], i))
            st = rv_fail(RV_ERR_DUPLICATE_ID, "id %lld is twice in one change set", (long long)ids[i]);
    rv_idmap_free(&seen);
    if (st != RV_OK)
        return st;
    pthread_rwlock_wrlock(&idx->lock);
    size_t pins = atomic_load(&idx->pins);
    if (pins)
        st = rv_fail(RV_ERR_BUSY, "the index's vectors are exported (%zu live views)", pins);
    size_t gone = 0;
    /* removals cannot fail (the ids are present); an upserted id that is present is replaced */
    for (size_t i = 0; st == RV_OK && i < nremoved + n; i++) {
        int64_t id = i < nremoved ? removed[i] : ids[i - nremoved];
        if (rv_idmap_get(&idx->store.map, id, NULL)) {
            st = idx->rq ? rv_rabitq_remove(idx->rq, &idx->store, id) : rv_store_remove(&idx->store, id);
            gone++;
        }
    }
    if (st == RV_OK && n && (st = rv_index_append(idx, ids, vectors, n, NULL)) != RV_OK)
        *damaged = gone > 0; /* rows went before the append failed */
    if (st == RV_OK || *damaged)
        rv_index_mutated(idx);
    pthread_rwlock_unlock(&idx->lock);
    return st;
}
