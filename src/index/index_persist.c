/*
 * index_persist.c — save/load of every index variant in the checksummed container.
 *
 * Payload "IDX1" version 1, sections:
 *   META  32 bytes: u32 kind, u32 dim, u64 n, 16 bytes reserved (zero)
 *   IDS   n x i64
 *   VECS  n x dim x f32 (row-major), for variants that retain originals
 * Norms are derived data and recomputed on load (one pass, at memory speed).
 *
 * Load checks every section length against META (overflow-checked) before allocating, so the
 * largest allocation is bounded by the file's real size; then the content: ids unique, vectors
 * finite. Anything off is RV_ERR_FORMAT with what was wrong.
 */
#include "base/container.h"
#include "base/internal.h"
#include "index/internal.h"

#define RV_SEC_META RV_FOURCC('M', 'E', 'T', 'A')
#define RV_SEC_IDS RV_FOURCC('I', 'D', 'S', '0')
#define RV_SEC_VECS RV_FOURCC('V', 'E', 'C', 'S')
#define RV_META_SIZE 32u

rv_status rv_index_save(const rv_index *idx, const char *path)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&idx->lock);
    const rv_store *s = &idx->store;
    unsigned char meta[RV_META_SIZE] = {0};
    uint32_t kind = (uint32_t)idx->kind, dim = idx->dim;
    uint64_t n = s->n;
    memcpy(meta, &kind, 4);
    memcpy(meta + 4, &dim, 4);
    memcpy(meta + 8, &n, 8);
    rv_section sections[] = {
        {RV_SEC_META, meta, sizeof meta},
        {RV_SEC_IDS, s->ids, s->n * sizeof(int64_t)},
        {RV_SEC_VECS, s->vectors, (uint64_t)s->n * s->dim * sizeof(float)},
    };
    rv_status st = rv_container_save(path, RV_INDEX_FILE_KIND, RV_INDEX_FILE_VERSION, sections,
                                     RV_ARRAY_LEN(sections));
    pthread_rwlock_unlock((pthread_rwlock_t *)&idx->lock);
    return st;
}

static rv_status rv_section_expect(rv_container_reader *r, uint32_t tag, const char *name,
                                   uint64_t want, const rv_section_info **out)
{
    const rv_section_info *s = rv_container_find(r, tag);
    if (!s)
        return rv_fail(RV_ERR_FORMAT, "'%s' has no %s section", r->path, name);
    if (s->length != want)
        return rv_fail(RV_ERR_FORMAT, "'%s' %s section is %llu bytes, expected %llu", r->path, name,
                       (unsigned long long)s->length, (unsigned long long)want);
    *out = s;
    return RV_OK;
}

rv_status rv_index_load(const char *path, rv_index **out)
{
    rv_container_reader r;
    rv_status st = rv_container_open(&r, path, RV_INDEX_FILE_KIND);
    if (st != RV_OK)
        return st;
    rv_index *idx = NULL;
    const rv_section_info *sm = NULL, *si = NULL, *sv = NULL;
    unsigned char meta[RV_META_SIZE];
    if (r.payload_version != RV_INDEX_FILE_VERSION) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' is index format version %u; this build reads version %u",
                     path, r.payload_version, RV_INDEX_FILE_VERSION);
        goto fail;
    }
    if ((st = rv_section_expect(&r, RV_SEC_META, "META", RV_META_SIZE, &sm)) != RV_OK ||
        (st = rv_container_read(&r, sm, meta)) != RV_OK)
        goto fail;
    uint32_t kind, dim;
    uint64_t n;
    memcpy(&kind, meta, 4);
    memcpy(&dim, meta + 4, 4);
    memcpy(&n, meta + 8, 8);
    if (kind != RV_INDEX_FLAT_F32) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' holds index kind %u, unknown to this build", path, kind);
        goto fail;
    }
    if (dim < RV_INDEX_MIN_DIM || dim > RV_INDEX_MAX_DIM) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' claims dim %u (allowed %u..%u)", path, dim,
                     RV_INDEX_MIN_DIM, RV_INDEX_MAX_DIM);
        goto fail;
    }
    /* n is bounded by the file size before anything is allocated. */
    if (n > r.file_size / sizeof(int64_t)) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' claims %llu vectors, more than its %llu bytes can hold",
                     path, (unsigned long long)n, (unsigned long long)r.file_size);
        goto fail;
    }
    size_t vec_bytes;
    if (!rv_mul3((size_t)n, dim, sizeof(float), &vec_bytes)) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' claims %llu x %u floats (overflow)", path, (unsigned long long)n, dim);
        goto fail;
    }
    if ((st = rv_section_expect(&r, RV_SEC_IDS, "IDS", n * sizeof(int64_t), &si)) != RV_OK ||
        (st = rv_section_expect(&r, RV_SEC_VECS, "VECS", vec_bytes, &sv)) != RV_OK)
        goto fail;
    if ((st = rv_index_new((rv_index_kind)kind, dim, &idx)) != RV_OK)
        goto fail;
    rv_store *s = &idx->store;
    if ((st = rv_store_reserve(s, (size_t)n)) != RV_OK || (st = rv_idmap_reserve(&s->map, (size_t)n)) != RV_OK)
        goto fail;
    if ((st = rv_container_read(&r, si, s->ids)) != RV_OK || (st = rv_container_read(&r, sv, s->vectors)) != RV_OK)
        goto fail;
    for (size_t i = 0; i < n; i++)
        if (!rv_idmap_insert(&s->map, s->ids[i], i)) {
            st = rv_fail(RV_ERR_FORMAT, "'%s' lists id %lld twice", path, (long long)s->ids[i]);
            goto fail;
        }
    size_t row, col;
    if (!rv_rows_finite(s->vectors, (size_t)n, dim, &row, &col)) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' vector at row %zu has a non-finite value", path, row);
        goto fail;
    }
    s->n = (size_t)n;
    rv_store_compute_norms(s, 0, s->n);
    atomic_store(&idx->len, s->n);
    rv_container_close(&r);
    *out = idx;
    return RV_OK;
fail:
    rv_container_close(&r);
    rv_index_destroy(idx);
    return st;
}
