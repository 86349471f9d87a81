/*
 * index_persist.c — save/load of every index variant in the checksummed container.
 *
 * Payload "IDX1" version 1 (flat and 1-bit indexes) or 2 (multi-bit codes), sections:
 *   META  32 bytes: u32 kind, u32 dim, u64 n, 16 bytes reserved (zero)
 *   IDS0  n x i64
 *   VECS  n x dim x f32 (row-major), for variants that retain originals
 * and for the RaBitQ family:
 *   PARM  32 bytes: u64 seed, u32 rerank_factor, u32 query_bits, u32 nlist asked, u32 nlist,
 *         u32 words per code plane, u32 bits per coordinate (planes per code)
 *   ROTM  dim x dim f32 (the rotation: stored, so loading never regenerates it)
 *   CENT  nlist x dim f32;  RADI nlist f32
 *   LIST  n x u32 (list of each row);  CODE n x bits x words u64;  FACT n x 3 f32 (A, K1s, E)
 *   FAC1  (bits > 1 only) n x 3 f32: the same factors for each code's sign plane, which the
 *         search scans first; its presence is what version 2 means. A version 1 file of a
 *         multi-bit index (written before the sign-code scan) is refused with a clear message.
 * Rows are saved in the index's row order; lists are rebuilt from LIST on load, so nothing is
 * re-encoded. Norms and rotated centroids are derived and recomputed.
 *
 * Load checks every section length against META/PARM (overflow-checked) before allocating, so
 * the largest allocation is bounded by the file's real size; then the content: ids unique,
 * values finite, radii non-negative, list numbers in range (they index per-list arrays on import),
 * code padding bits zero, no section the kind does not use. Anything off is RV_ERR_FORMAT, and
 * the message names the section (tests/test_hostile_files.py crafts a file for each check).
 */
#include <math.h>
#include <stdio.h>

#include "base/container.h"
#include "base/internal.h"
#include "index/internal.h"

#define RV_SEC_META RV_FOURCC('M', 'E', 'T', 'A')
#define RV_SEC_IDS RV_FOURCC('I', 'D', 'S', '0')
#define RV_SEC_VECS RV_FOURCC('V', 'E', 'C', 'S')
#define RV_SEC_PARM RV_FOURCC('P', 'A', 'R', 'M')
#define RV_SEC_ROTM RV_FOURCC('R', 'O', 'T', 'M')
#define RV_SEC_CENT RV_FOURCC('C', 'E', 'N', 'T')
#define RV_SEC_RADI RV_FOURCC('R', 'A', 'D', 'I')
#define RV_SEC_LIST RV_FOURCC('L', 'I', 'S', 'T')
#define RV_SEC_CODE RV_FOURCC('C', 'O', 'D', 'E')
#define RV_SEC_FACT RV_FOURCC('F', 'A', 'C', 'T')
#define RV_SEC_FAC1 RV_FOURCC('F', 'A', 'C', '1')
#define RV_META_SIZE 32u
#define RV_PARM_SIZE 32u

rv_status rv_index_save(const rv_index *idx, const char *path)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&idx->lock);
    const rv_store *s = &idx->store;
    const rv_rabitq *rq = idx->rq;
    unsigned char meta[RV_META_SIZE] = {0}, parm[RV_PARM_SIZE] = {0};
    uint32_t kind = (uint32_t)idx->kind, dim = idx->dim;
    uint64_t n = s->n;
    memcpy(meta, &kind, 4);
    memcpy(meta + 4, &dim, 4);
    memcpy(meta + 8, &n, 8);
    rv_section sections[12];
    size_t count = 0;
    sections[count++] = (rv_section){RV_SEC_META, meta, sizeof meta};
    sections[count++] = (rv_section){RV_SEC_IDS, s->ids, s->n * sizeof(int64_t)};
    if (s->retain)
        sections[count++] = (rv_section){RV_SEC_VECS, s->vectors, (uint64_t)s->n * dim * sizeof(float)};
    uint64_t *codes = NULL;
    float *factors = NULL, *factors1 = NULL, *radii = NULL;
    uint32_t *lists = NULL;
    rv_status st = RV_OK;
    if (rq) {
        uint32_t fields[6] = {rq->params.rerank_factor, rq->params.query_bits, rq->params.nlist, rq->nlist,
                              rq->words, rq->bits};
        memcpy(parm, &rq->params.seed, 8);
        memcpy(parm + 8, fields, sizeof fields);
        codes = rv_alloc((s->n ? s->n : 1) * rq->cwords * sizeof(uint64_t));
        factors = rv_alloc((s->n ? s->n : 1) * 3 * sizeof(float));
        factors1 = rq->bits > 1 ? rv_alloc((s->n ? s->n : 1) * 3 * sizeof(float)) : NULL;
        lists = rv_alloc((s->n ? s->n : 1) * sizeof(uint32_t));
        radii = rv_alloc((rq->nlist ? rq->nlist : 1) * sizeof(float));
        if (!codes || !factors || !lists || !radii || (rq->bits > 1 && !factors1)) {
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory saving '%s'", path);
            goto done;
        }
        rv_rabitq_export_rows(rq, s->n, codes, factors, factors1, lists);
        for (uint32_t l = 0; l < rq->nlist; l++)
            radii[l] = rq->lists[l].radius;
        sections[count++] = (rv_section){RV_SEC_PARM, parm, sizeof parm};
        sections[count++] = (rv_section){RV_SEC_ROTM, rq->rot.m, (uint64_t)dim * dim * sizeof(float)};
        sections[count++] = (rv_section){RV_SEC_CENT, rq->centroids, (uint64_t)rq->nlist * dim * sizeof(float)};
        sections[count++] = (rv_section){RV_SEC_RADI, radii, (uint64_t)rq->nlist * sizeof(float)};
        sections[count++] = (rv_section){RV_SEC_LIST, lists, s->n * sizeof(uint32_t)};
        sections[count++] = (rv_section){RV_SEC_CODE, codes, (uint64_t)s->n * rq->cwords * sizeof(uint64_t)};
        sections[count++] = (rv_section){RV_SEC_FACT, factors, (uint64_t)s->n * 3 * sizeof(float)};
        if (factors1)
            sections[count++] = (rv_section){RV_SEC_FAC1, factors1, (uint64_t)s->n * 3 * sizeof(float)};
    }
    st = rv_container_save(path, RV_INDEX_FILE_KIND, factors1 ? RV_INDEX_FILE_VERSION : 1u, sections, count);
done:
    pthread_rwlock_unlock((pthread_rwlock_t *)&idx->lock);
    rv_free(codes);
    rv_free(factors);
    rv_free(factors1);
    rv_free(lists);
    rv_free(radii);
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

static bool rv_all_finite(const float *v, size_t count)
{
    size_t row, col;
    return rv_rows_finite(v, count, 1, &row, &col);
}

/* As rv_all_finite, and *at is the first non-finite value's index. */
static bool rv_all_finite_at(const float *v, size_t count, size_t *at)
{
    size_t col;
    return rv_rows_finite(v, count, 1, at, &col);
}

/* Reads a section of exactly `bytes` into a fresh buffer. */
static rv_status rv_read_new(rv_container_reader *r, uint32_t tag, const char *name, uint64_t bytes, void **out)
{
    const rv_section_info *sec = NULL;
    rv_status st = rv_section_expect(r, tag, name, bytes, &sec);
    if (st != RV_OK)
        return st;
    if (!(*out = rv_alloc((size_t)bytes)))
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory loading '%s'", r->path);
    return rv_container_read(r, sec, *out);
}

/* What the section readers share while one file loads. */
typedef struct rv_loader {
    rv_container_reader r;
    const char *path;
    uint32_t kind, dim, words, bits, nlist;
    uint64_t n;
    size_t vec_bytes;
    rv_index *idx;
} rv_loader;

#define RV_BAD(...) rv_fail(RV_ERR_FORMAT, __VA_ARGS__)

/* META: kind, dim and n, each bounded (n by the file's real size) before anything is sized. */
static rv_status rv_load_meta(rv_loader *L)
{
    const rv_section_info *sm = NULL;
    unsigned char meta[RV_META_SIZE];
    rv_status st;
    if ((st = rv_section_expect(&L->r, RV_SEC_META, "META", RV_META_SIZE, &sm)) != RV_OK ||
        (st = rv_container_read(&L->r, sm, meta)) != RV_OK)
        return st;
    memcpy(&L->kind, meta, 4);
    memcpy(&L->dim, meta + 4, 4);
    memcpy(&L->n, meta + 8, 8);
    for (int i = 16; i < 32; i++)
        if (meta[i])
            return RV_BAD("'%s' META has non-zero reserved bytes", L->path);
    if (L->kind < RV_INDEX_FLAT_F32 || L->kind > RV_INDEX_RABITQ_ASYM)
        return RV_BAD("'%s' META holds index kind %u, unknown to this build", L->path, L->kind);
    if (L->dim < RV_INDEX_MIN_DIM || L->dim > RV_INDEX_MAX_DIM)
        return RV_BAD("'%s' META claims dim %u (allowed %u..%u)", L->path, L->dim, RV_INDEX_MIN_DIM, RV_INDEX_MAX_DIM);
    if (L->n > L->r.file_size / sizeof(int64_t))
        return RV_BAD("'%s' META claims %llu vectors, more than its %llu bytes can hold", L->path,
                      (unsigned long long)L->n, (unsigned long long)L->r.file_size);
    /* Rows are numbered in 32 bits in the RaBitQ lists (rv_rabitq_add's cap): more would wrap. */
    if (L->kind != RV_INDEX_FLAT_F32 && L->n > UINT32_MAX - 1)
        return RV_BAD("'%s' META claims %llu vectors; a RaBitQ index holds at most %u", L->path,
                      (unsigned long long)L->n, UINT32_MAX - 1);
    if (!rv_mul3((size_t)L->n, L->dim, sizeof(float), &L->vec_bytes))
        return RV_BAD("'%s' META claims %llu x %u floats (overflow)", L->path, (unsigned long long)L->n, L->dim);
    L->words = (L->dim + 63) / 64;
    L->bits = 1;
    return RV_OK;
}

/* PARM and ROTM (RaBitQ kinds), then the empty index of the file's kind, adopting the stored
 * rotation; a flat index needs neither. */
static rv_status rv_load_params(rv_loader *L)
{
    if (L->kind == RV_INDEX_FLAT_F32)
        return rv_index_create((rv_index_kind)L->kind, L->dim, NULL, &L->idx);
    const rv_section_info *sp = NULL;
    unsigned char parm[RV_PARM_SIZE];
    rv_status st;
    if ((st = rv_section_expect(&L->r, RV_SEC_PARM, "PARM", RV_PARM_SIZE, &sp)) != RV_OK ||
        (st = rv_container_read(&L->r, sp, parm)) != RV_OK)
        return st;
    rv_index_params p;
    uint32_t fld[6];
    memcpy(&p.seed, parm, 8);
    memcpy(fld, parm + 8, sizeof fld);
    p.rerank_factor = fld[0];
    p.query_bits = fld[1];
    p.nlist = fld[2];
    p.bits = fld[5];
    L->nlist = fld[3];
    if (rv_rabitq_check_params((rv_index_kind)L->kind, &p) != RV_OK) {
        char why[256]; /* rv_fail writes the buffer rv_last_error() returns: copy it first */
        snprintf(why, sizeof why, "%s", rv_last_error());
        return RV_BAD("'%s' PARM has invalid parameters: %s", L->path, why);
    }
    if (fld[4] != L->words || L->nlist > RV_NLIST_MAX || (L->nlist == 0 && L->n > 0))
        return RV_BAD("'%s' PARM has inconsistent RaBitQ parameters (words %u for dim %u, nlist %u of at most %u, n %llu)",
                      L->path, fld[4], L->dim, L->nlist, RV_NLIST_MAX, (unsigned long long)L->n);
    L->bits = p.bits;
    if ((L->bits > 1) != (L->r.payload_version == 2))
        return RV_BAD(L->bits > 1 ? "'%s' is a version 1 file of a %u-bit index, written before the sign-code scan; "
                                    "build the index again and save it"
                                  : "'%s' is a version 2 file of a %u-bit index (version 2 is for multi-bit codes)",
                      L->path, L->bits);
    float *rot = NULL;
    if ((st = rv_read_new(&L->r, RV_SEC_ROTM, "ROTM", (uint64_t)L->dim * L->dim * sizeof(float), (void **)&rot)) == RV_OK) {
        if (!rv_all_finite(rot, (size_t)L->dim * L->dim))
            st = RV_BAD("'%s' ROTM (the rotation) has non-finite values", L->path);
        else
            st = rv_index_create_ex((rv_index_kind)L->kind, L->dim, &p, rot, &L->idx);
    }
    rv_free(rot);
    return st;
}

/* IDS and (kinds that keep them) VECS into the store: ids unique, vectors finite. */
static rv_status rv_load_rows(rv_loader *L)
{
    rv_store *s = &L->idx->store;
    const rv_section_info *si = NULL, *sv = NULL;
    rv_status st;
    if ((st = rv_section_expect(&L->r, RV_SEC_IDS, "IDS", L->n * sizeof(int64_t), &si)) != RV_OK)
        return st;
    if (s->retain && (st = rv_section_expect(&L->r, RV_SEC_VECS, "VECS", L->vec_bytes, &sv)) != RV_OK)
        return st;
    if ((st = rv_store_reserve(s, (size_t)L->n)) != RV_OK || (st = rv_idmap_reserve(&s->map, (size_t)L->n)) != RV_OK)
        return st;
    if ((st = rv_container_read(&L->r, si, s->ids)) != RV_OK ||
        (sv && (st = rv_container_read(&L->r, sv, s->vectors)) != RV_OK))
        return st;
    for (size_t i = 0; i < L->n; i++)
        if (!rv_idmap_insert(&s->map, s->ids[i], i))
            return RV_BAD("'%s' IDS lists id %lld twice", L->path, (long long)s->ids[i]);
    size_t row, col;
    if (sv && !rv_rows_finite(s->vectors, (size_t)L->n, L->dim, &row, &col))
        return RV_BAD("'%s' VECS row %zu has a non-finite value", L->path, row);
    s->n = (size_t)L->n;
    if (s->retain)
        rv_store_compute_norms(s, 0, s->n);
    return RV_OK;
}

/* The RaBitQ sections read and checked in full before the lists are rebuilt from them. */
typedef struct rv_rabitq_sections {
    float *cent, *radii, *factors, *factors1;
    uint32_t *lists;
    uint64_t *codes;
} rv_rabitq_sections;

static rv_status rv_load_rabitq_read(rv_loader *L, rv_rabitq_sections *x)
{
    const uint64_t n = L->n, nlist = L->nlist, dim = L->dim;
    rv_status st;
    if ((st = rv_read_new(&L->r, RV_SEC_CENT, "CENT", nlist * dim * sizeof(float), (void **)&x->cent)) != RV_OK ||
        (st = rv_read_new(&L->r, RV_SEC_RADI, "RADI", nlist * sizeof(float), (void **)&x->radii)) != RV_OK ||
        (st = rv_read_new(&L->r, RV_SEC_LIST, "LIST", n * sizeof(uint32_t), (void **)&x->lists)) != RV_OK ||
        (st = rv_read_new(&L->r, RV_SEC_CODE, "CODE", n * L->bits * L->words * sizeof(uint64_t), (void **)&x->codes)) != RV_OK ||
        (st = rv_read_new(&L->r, RV_SEC_FACT, "FACT", n * 3 * sizeof(float), (void **)&x->factors)) != RV_OK)
        return st;
    if (L->bits > 1 && (st = rv_read_new(&L->r, RV_SEC_FAC1, "FAC1", n * 3 * sizeof(float), (void **)&x->factors1)) != RV_OK)
        return st;
    if (L->bits == 1 && rv_container_find(&L->r, RV_SEC_FAC1))
        return RV_BAD("'%s' has a FAC1 section: sign-code factors that a 1-bit index does not keep", L->path);
    size_t bad;
    if (!rv_all_finite_at(x->cent, (size_t)(nlist * dim), &bad))
        return RV_BAD("'%s' CENT list %zu has a non-finite centroid", L->path, bad / dim);
    if (!rv_all_finite_at(x->radii, (size_t)nlist, &bad))
        return RV_BAD("'%s' RADI list %zu has a non-finite radius", L->path, bad);
    if (!rv_all_finite_at(x->factors, (size_t)n * 3, &bad))
        return RV_BAD("'%s' FACT row %zu has a non-finite factor", L->path, bad / 3);
    if (x->factors1 && !rv_all_finite_at(x->factors1, (size_t)n * 3, &bad))
        return RV_BAD("'%s' FAC1 row %zu has a non-finite factor", L->path, bad / 3);
    for (uint32_t l = 0; l < nlist; l++)
        if (x->radii[l] < 0)
            return RV_BAD("'%s' RADI list %u has a negative radius (%g)", L->path, l, (double)x->radii[l]);
    /* The list numbers index the per-list arrays on import: out of range would write past them. */
    const uint64_t pad_mask = dim % 64 ? ~0ull << (dim % 64) : 0;
    for (size_t i = 0; i < n; i++) {
        if (x->lists[i] >= nlist)
            return RV_BAD("'%s' LIST row %zu names list %u, but the index has %u lists", L->path, i, x->lists[i],
                          L->nlist);
        for (uint32_t b = 0; b < L->bits; b++)
            if (x->codes[(i * L->bits + b) * L->words + L->words - 1] & pad_mask)
                return RV_BAD("'%s' CODE row %zu plane %u has bits set beyond dim %u", L->path, i, b, L->dim);
    }
    return RV_OK;
}

/* CENT, RADI, LIST, CODE, FACT, FAC1: checked, then the lists rebuilt (nothing re-encoded). */
static rv_status rv_load_rabitq(rv_loader *L)
{
    rv_rabitq_sections x = {0};
    rv_status st = rv_load_rabitq_read(L, &x);
    if (st == RV_OK && L->nlist)
        st = rv_rabitq_set_lists(L->idx->rq, L->nlist, x.cent);
    if (st == RV_OK)
        st = rv_rabitq_import_rows(L->idx->rq, (size_t)L->n, x.codes, x.factors, x.factors1, x.lists, x.radii);
    rv_free(x.cent);
    rv_free(x.radii);
    rv_free(x.factors);
    rv_free(x.factors1);
    rv_free(x.lists);
    rv_free(x.codes);
    return st;
}

/* Every section is one this kind reads: a foreign one is damage, not something to ignore. */
static rv_status rv_load_no_foreign_sections(const rv_loader *L)
{
    const bool retain = L->idx->store.retain, rabitq = L->idx->rq != NULL;
    for (uint32_t i = 0; i < L->r.count; i++) {
        uint32_t tag = L->r.sections[i].tag;
        if (tag == RV_SEC_VECS && !retain)
            return RV_BAD("'%s' has a VECS section, but this kind of index keeps no vectors", L->path);
        bool known = tag == RV_SEC_META || tag == RV_SEC_IDS || tag == RV_SEC_VECS ||
                     (rabitq && (tag == RV_SEC_PARM || tag == RV_SEC_ROTM || tag == RV_SEC_CENT || tag == RV_SEC_RADI ||
                                 tag == RV_SEC_LIST || tag == RV_SEC_CODE || tag == RV_SEC_FACT ||
                                 (tag == RV_SEC_FAC1 && L->bits > 1)));
        if (!known)
            return RV_BAD("'%s' has a section with tag 0x%08x that this kind of index (%u) does not use", L->path, tag,
                          L->kind);
    }
    return RV_OK;
}

/* What a search relies on but no section check sees (a radius smaller than its rows' distances
 * would drop results silently; row maps that disagree): such a file is damage. */
static rv_status rv_load_consistent(const rv_loader *L)
{
    rv_status st = rv_index_check(L->idx);
    if (st != RV_ERR_INTERNAL)
        return st;
    char why[256];
    snprintf(why, sizeof why, "%s", rv_last_error());
    return RV_BAD("'%s' does not hold a consistent index: %s", L->path, why);
}

rv_status rv_index_load(const char *path, rv_index **out)
{
    /* Upstream's seed-replay format is recognised by its magic. */
    FILE *f = fopen(path, "rb");
    if (f) {
        char magic[8];
        size_t got = fread(magic, 1, 8, f);
        fclose(f);
        if (got == 8 && memcmp(magic, "rbpx0001", 8) == 0)
            return rv_rbpx_load(path, out);
    }
    rv_loader L = {.path = path};
    rv_status st = rv_container_open(&L.r, path, RV_INDEX_FILE_KIND);
    if (st != RV_OK)
        return st;
    if (L.r.payload_version < 1 || L.r.payload_version > RV_INDEX_FILE_VERSION)
        st = RV_BAD("'%s' is index format version %u; this build reads versions 1..%u", path, L.r.payload_version,
                    RV_INDEX_FILE_VERSION);
    if (st == RV_OK && (st = rv_load_meta(&L)) == RV_OK && (st = rv_load_params(&L)) == RV_OK &&
        (st = rv_load_rows(&L)) == RV_OK && (!L.idx->rq || (st = rv_load_rabitq(&L)) == RV_OK) &&
        (st = rv_load_no_foreign_sections(&L)) == RV_OK && (st = rv_load_consistent(&L)) == RV_OK) {
        atomic_store(&L.idx->len, L.idx->store.n);
        *out = L.idx;
        L.idx = NULL;
    }
    rv_container_close(&L.r);
    rv_index_release(L.idx);
    return st;
}
