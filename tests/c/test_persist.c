/* Save/load: exact round trip, atomicity, and every truncation and every single-bit flip of a
 * small file is rejected with RV_ERR_FORMAT (never a crash, never a silent load). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/container.h"
#include "base/internal.h"
#include "check.h"
#include "ruvector/index.h"

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = rv_alloc(*len);
    if (fread(buf, 1, *len, f) != *len) {
        rv_free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void write_file(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, len, f);
        fclose(f);
    }
}

void test_persist(void)
{
    char dir[] = "/tmp/rv_persist_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/a.rvx", dir);
    snprintf(bad, sizeof bad, "%s/bad.rvx", dir);

    uint32_t d = 5;
    size_t n = 7;
    float x[7 * 5];
    int64_t ids[7] = {INT64_MIN, -1, 0, 1, 42, 1ll << 40, INT64_MAX};
    rv_test_fill(x, n * d, 9);
    rv_index *a, *b;
    CHECK(rv_index_build(RV_INDEX_FLAT_F32, d, NULL, x, ids, n, NULL, &a) == RV_OK);
    CHECK(rv_index_save(a, path) == RV_OK);
    CHECK(rv_index_load(path, &b) == RV_OK);
    CHECK(rv_index_equal(a, b));
    int64_t i1[7], i2[7];
    float s1[7], s2[7];
    size_t k1, k2;
    CHECK(rv_index_search(a, x + 2 * d, 1, d, 7, NULL, 7, i1, s1, NULL, &k1) == RV_OK);
    CHECK(rv_index_search(b, x + 2 * d, 1, d, 7, NULL, 7, i2, s2, NULL, &k2) == RV_OK);
    CHECK(k1 == k2 && memcmp(i1, i2, sizeof i1) == 0 && memcmp(s1, s2, sizeof s1) == 0);
    rv_index_destroy(b);

    /* Saving the same index twice gives identical bytes. */
    size_t len = 0, len2 = 0;
    unsigned char *orig = read_file(path, &len);
    CHECK(orig && len % 64 == 0);
    CHECK(rv_index_save(a, bad) == RV_OK);
    unsigned char *again = read_file(bad, &len2);
    CHECK(again && len2 == len && memcmp(orig, again, len) == 0);
    rv_free(again);

    /* Every truncation. */
    for (size_t cut = 0; cut < len; cut++) {
        write_file(bad, orig, cut);
        rv_status st = rv_index_load(bad, &b);
        CHECK_MSG(st == RV_ERR_FORMAT, "truncated to %zu: %s", cut, rv_status_name(st));
        if (st == RV_OK)
            rv_index_destroy(b);
    }
    /* Every single-bit flip. */
    for (size_t byte = 0; byte < len; byte++)
        for (int bit = 0; bit < 8; bit++) {
            orig[byte] ^= (unsigned char)(1u << bit);
            write_file(bad, orig, len);
            rv_status st = rv_index_load(bad, &b);
            CHECK_MSG(st == RV_ERR_FORMAT, "flip byte %zu bit %d: %s", byte, bit, rv_status_name(st));
            if (st == RV_OK)
                rv_index_destroy(b);
            orig[byte] ^= (unsigned char)(1u << bit);
        }
    /* Appended garbage. */
    unsigned char *longer = rv_alloc(len + 64);
    memcpy(longer, orig, len);
    memset(longer + len, 0, 64);
    write_file(bad, longer, len + 64);
    CHECK(rv_index_load(bad, &b) == RV_ERR_FORMAT);
    rv_free(longer);

    /* A well-formed container whose META lies about n cannot make us allocate: FORMAT. */
    unsigned char meta[32] = {0};
    uint32_t kind = RV_INDEX_FLAT_F32, dim = 128;
    uint64_t huge = 1ull << 60;
    memcpy(meta, &kind, 4);
    memcpy(meta + 4, &dim, 4);
    memcpy(meta + 8, &huge, 8);
    rv_section secs[] = {{RV_FOURCC('M', 'E', 'T', 'A'), meta, 32},
                         {RV_FOURCC('I', 'D', 'S', '0'), ids, sizeof ids},
                         {RV_FOURCC('V', 'E', 'C', 'S'), x, sizeof x}};
    CHECK(rv_container_save(bad, RV_FOURCC('I', 'D', 'X', '1'), 1, secs, 3) == RV_OK);
    CHECK(rv_index_load(bad, &b) == RV_ERR_FORMAT);
    CHECK(strstr(rv_last_error(), "claims") != NULL);
    /* ... nor duplicate ids, nor NaN. */
    uint64_t seven = 7;
    memcpy(meta + 8, &seven, 8);
    int64_t dup[7] = {1, 2, 3, 4, 5, 6, 1};
    secs[1].data = dup;
    CHECK(rv_container_save(bad, RV_FOURCC('I', 'D', 'X', '1'), 1, secs, 3) == RV_OK);
    CHECK(rv_index_load(bad, &b) == RV_ERR_FORMAT);
    secs[1].data = ids;
    float xn[7 * 5];
    memcpy(xn, x, sizeof x);
    xn[33] = 1.0f / 0.0f;
    secs[2].data = xn;
    CHECK(rv_container_save(bad, RV_FOURCC('I', 'D', 'X', '1'), 1, secs, 3) == RV_OK);
    CHECK(rv_index_load(bad, &b) == RV_ERR_FORMAT);

    /* A multi-bit index: round trip after removals (codes move between FastScan slots), and the
     * version rules: a version 1 file of a multi-bit index (no sign factors) is refused. */
    {
        enum { N = 100, D = 9 };
        float xr[N * D];
        int64_t rid[N];
        rv_test_fill(xr, N * D, 21);
        for (size_t i = 0; i < N; i++)
            rid[i] = (int64_t)i * 3 - 50;
        rv_index_params prm = rv_index_params_default(RV_INDEX_RABITQ_PLUS);
        prm.nlist = 3;
        rv_index *m, *m2;
        CHECK(rv_index_build(RV_INDEX_RABITQ_PLUS, D, &prm, xr, rid, N, NULL, &m) == RV_OK);
        for (size_t i = 0; i < N; i += 7)
            CHECK(rv_index_remove(m, rid[i]) == RV_OK);
        CHECK(rv_index_save(m, path) == RV_OK);
        CHECK(rv_index_load(path, &m2) == RV_OK);
        CHECK(rv_index_equal(m, m2));
        rv_index_destroy(m2);
        rv_container_reader r;
        CHECK(rv_container_open(&r, path, RV_FOURCC('I', 'D', 'X', '1')) == RV_OK);
        CHECK(r.payload_version == 2);
        rv_section keep[RV_CONTAINER_MAX_SECTIONS];
        size_t kept = 0;
        for (uint32_t i = 0; i < r.count; i++) {
            if (r.sections[i].tag == RV_FOURCC('F', 'A', 'C', '1'))
                continue;
            void *buf = rv_alloc(r.sections[i].length ? r.sections[i].length : 1);
            CHECK(rv_container_read(&r, &r.sections[i], buf) == RV_OK);
            keep[kept++] = (rv_section){r.sections[i].tag, buf, r.sections[i].length};
        }
        rv_container_close(&r);
        CHECK(rv_container_save(bad, RV_FOURCC('I', 'D', 'X', '1'), 1, keep, kept) == RV_OK);
        CHECK(rv_index_load(bad, &m2) == RV_ERR_FORMAT);
        CHECK(strstr(rv_last_error(), "version 1 file of a 4-bit index") != NULL);
        CHECK(rv_container_save(bad, RV_FOURCC('I', 'D', 'X', '1'), 2, keep, kept) == RV_OK);
        CHECK(rv_index_load(bad, &m2) == RV_ERR_FORMAT); /* version 2 without FAC1 */
        CHECK(strstr(rv_last_error(), "FAC1") != NULL);
        for (size_t i = 0; i < kept; i++)
            rv_free((void *)keep[i].data);
        rv_index_destroy(m);

        /* ... and a 1-bit index does not take sign factors it never writes. */
        rv_index_params p1 = rv_index_params_default(RV_INDEX_RABITQ);
        p1.nlist = 3;
        CHECK(rv_index_build(RV_INDEX_RABITQ, D, &p1, xr, rid, N, NULL, &m) == RV_OK);
        CHECK(rv_index_save(m, path) == RV_OK);
        CHECK(rv_container_open(&r, path, RV_FOURCC('I', 'D', 'X', '1')) == RV_OK);
        CHECK(r.payload_version == 1);
        kept = 0;
        for (uint32_t i = 0; i < r.count; i++) {
            void *buf = rv_alloc(r.sections[i].length ? r.sections[i].length : 1);
            CHECK(rv_container_read(&r, &r.sections[i], buf) == RV_OK);
            keep[kept++] = (rv_section){r.sections[i].tag, buf, r.sections[i].length};
        }
        rv_container_close(&r);
        float fac1[N * 3] = {0};
        keep[kept] = (rv_section){RV_FOURCC('F', 'A', 'C', '1'), fac1, sizeof fac1};
        CHECK(rv_container_save(bad, RV_FOURCC('I', 'D', 'X', '1'), 1, keep, kept + 1) == RV_OK);
        CHECK(rv_index_load(bad, &m2) == RV_ERR_FORMAT);
        CHECK(strstr(rv_last_error(), "sign-code factors") != NULL);
        for (size_t i = 0; i < kept; i++)
            rv_free((void *)keep[i].data);
        rv_index_destroy(m);
    }

    /* IO errors: missing file, directory, unwritable destination. */
    CHECK(rv_index_load("/nonexistent/x.rvx", &b) == RV_ERR_IO);
    CHECK(rv_index_load(dir, &b) == RV_ERR_FORMAT);
    CHECK(rv_index_save(a, "/nonexistent/dir/x.rvx") == RV_ERR_IO);
    rv_free(orig);
    rv_index_destroy(a);
    unlink(path);
    unlink(bad);
    rmdir(dir);
}
