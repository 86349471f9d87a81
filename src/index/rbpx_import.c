/*
 * rbpx_import.c — reads upstream ruvector-rabitq's "rbpx0001" v1 file (docs/design/file-formats.md): a seed-
 * replay format holding the build inputs (dim, seed, rerank_factor, u32 ids, f32 vectors), no
 * checksum. We rebuild a RABITQ_PLUS index from them with our own encoder (upstream's codes are
 * SimHash codes without correction factors; they are not reusable).
 *
 * Upstream's reader accepts version 0, rerank_factor 0 and trailing bytes; we do not: version
 * must be 1, rerank_factor 1..1024, dim 1..8192, n <= 1e8, and the file exactly the size the
 * header implies. Everything is checked before any allocation.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/internal.h"
#include "index/internal.h"

#define RV_RBPX_HEADER 32u

rv_status rv_rbpx_load(const char *path, rv_index **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rv_fail(RV_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    rv_status st = RV_OK;
    unsigned char h[RV_RBPX_HEADER];
    float *vectors = NULL;
    int64_t *ids = NULL;
    unsigned char *item = NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || fread(h, 1, sizeof h, f) != sizeof h) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' is truncated inside its rbpx0001 header", path);
        goto done;
    }
    uint32_t version, dim, rf, n;
    uint64_t seed;
    memcpy(&version, h + 8, 4);
    memcpy(&dim, h + 12, 4);
    memcpy(&seed, h + 16, 8);
    memcpy(&rf, h + 24, 4);
    memcpy(&n, h + 28, 4);
    if (version != 1) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' is rbpx0001 version %u; only version 1 exists", path, version);
        goto done;
    }
    if (dim < 1 || dim > 8192 || rf < 1 || rf > RV_RERANK_FACTOR_MAX || n > 100000000u) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' has an rbpx0001 header out of range (dim %u, rerank_factor %u, n %u)",
                     path, dim, rf, n);
        goto done;
    }
    uint64_t item_bytes = 4 + 4ull * dim, want = RV_RBPX_HEADER + (uint64_t)n * item_bytes;
    if ((uint64_t)sb.st_size != want) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' is %lld bytes but its rbpx0001 header implies %llu", path,
                     (long long)sb.st_size, (unsigned long long)want);
        goto done;
    }
    vectors = rv_alloc((size_t)n * dim * sizeof(float));
    ids = rv_alloc((size_t)(n ? n : 1) * sizeof(int64_t));
    item = rv_alloc(item_bytes);
    if (!vectors || !ids || !item) {
        st = rv_fail(RV_ERR_NO_MEMORY, "out of memory reading '%s'", path);
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (fread(item, 1, item_bytes, f) != item_bytes) {
            st = rv_fail(RV_ERR_FORMAT, "'%s' is truncated at item %u", path, i);
            goto done;
        }
        uint32_t id;
        memcpy(&id, item, 4);
        ids[i] = id;
        memcpy(vectors + (size_t)i * dim, item + 4, 4ull * dim);
    }
    rv_index_params p = rv_index_params_default(RV_INDEX_RABITQ_PLUS);
    p.seed = seed;
    p.rerank_factor = rf;
    st = rv_index_build(RV_INDEX_RABITQ_PLUS, dim, &p, vectors, ids, n, NULL, out);
    if (st == RV_ERR_INVALID_ARGUMENT || st == RV_ERR_DUPLICATE_ID) {
        char why[256]; /* rv_fail writes the buffer rv_last_error() returns: copy it first */
        snprintf(why, sizeof why, "%s", rv_last_error());
        st = rv_fail(RV_ERR_FORMAT, "'%s' holds invalid items: %s", path, why);
    }
done:
    fclose(f);
    rv_free(vectors);
    rv_free(ids);
    rv_free(item);
    return st;
}
