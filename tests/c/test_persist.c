/* Save/load: exact round trip, atomicity, and every truncation and every single-bit flip of a
 * small file is rejected with RV_ERR_FORMAT (never a crash, never a silent load). */
#include <math.h>
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

/* Rewrites the container at src to dst with one section edited in place (edit(data, length, arg))
 * and `extra` zero bytes appended to it, and every checksum recomputed, so the result reaches the
 * loader's content checks. */
typedef void (*section_edit)(unsigned char *data, uint64_t length, const void *arg);

static rv_status recontain(const char *src, const char *dst, uint32_t tag, section_edit edit, const void *arg,
                           size_t extra)
{
    rv_container_reader r;
    rv_status st = rv_container_open(&r, src, RV_FOURCC('I', 'D', 'X', '1'));
    if (st != RV_OK)
        return st;
    rv_section secs[RV_CONTAINER_MAX_SECTIONS];
    uint32_t count = 0;
    for (; count < r.count && st == RV_OK; count++) {
        const rv_section_info *s = &r.sections[count];
        size_t grow = s->tag == tag ? extra : 0;
        unsigned char *buf = rv_alloc(s->length + grow + 1);
        st = buf ? rv_container_read(&r, s, buf) : RV_ERR_NO_MEMORY;
        if (st == RV_OK && s->tag == tag) {
            memset(buf + s->length, 0, grow);
            edit(buf, s->length, arg);
        }
        secs[count] = (rv_section){s->tag, buf, s->length + grow};
    }
    uint32_t version = r.payload_version;
    rv_container_close(&r);
    if (st == RV_OK)
        st = rv_container_save(dst, RV_FOURCC('I', 'D', 'X', '1'), version, secs, count);
    for (uint32_t i = 0; i < count; i++)
        rv_free((void *)secs[i].data);
    return st;
}

typedef struct { size_t at; uint32_t value; } edit_u32_arg;
typedef struct { size_t at; float value; } edit_f32_arg;
static void edit_u32(unsigned char *d, uint64_t len, const void *arg)
{
    const edit_u32_arg *a = arg;
    if ((a->at + 1) * 4 <= len)
        memcpy(d + a->at * 4, &a->value, 4);
}
static void edit_f32(unsigned char *d, uint64_t len, const void *arg)
{
    const edit_f32_arg *a = arg;
    if ((a->at + 1) * 4 <= len)
        memcpy(d + a->at * 4, &a->value, 4);
}
static void edit_none(unsigned char *d, uint64_t len, const void *arg)
{
    (void)d, (void)len, (void)arg;
}
static void edit_or_u64(unsigned char *d, uint64_t len, const void *arg)
{
    const edit_u32_arg *a = arg; /* at: word index; value: the bit to set */
    uint64_t w;
    if ((a->at + 1) * 8 <= len) {
        memcpy(&w, d + a->at * 8, 8);
        w |= 1ull << a->value;
        memcpy(d + a->at * 8, &w, 8);
    }
}

/* Crafted, checksum-valid files that break one RaBitQ content check each: RV_ERR_FORMAT and a
 * message naming the section. Run under ASan, the LIST case is the one that matters most: without
 * its check the import counts rows into per-list arrays at the file's list number (a heap write). */
static void test_hostile_rabitq(const char *dir)
{
    enum { N = 60, D = 70, W = 2 };
    char good[160], bad[160];
    snprintf(good, sizeof good, "%s/h.rvx", dir);
    snprintf(bad, sizeof bad, "%s/hbad.rvx", dir);
    float x[N * D];
    rv_test_fill(x, N * D, 31);
    const rv_index_kind kinds[2] = {RV_INDEX_RABITQ, RV_INDEX_RABITQ_PLUS};
    for (int kk = 0; kk < 2; kk++) {
        rv_index_params p = rv_index_params_default(kinds[kk]);
        p.nlist = 3;
        rv_index *a, *b;
        CHECK(rv_index_build(kinds[kk], D, &p, x, NULL, N, NULL, &a) == RV_OK);
        CHECK(rv_index_save(a, good) == RV_OK);
        uint32_t bits = p.bits;
        const struct {
            uint32_t tag;
            section_edit edit;
            size_t at;
            uint32_t u;
            float f;
            const char *want;
            size_t extra;
        } cases[] = {
            {RV_FOURCC('L', 'I', 'S', 'T'), edit_u32, 5, 3, 0, "LIST row 5 names list 3, but the index has 3 lists", 0},
            {RV_FOURCC('L', 'I', 'S', 'T'), edit_u32, N - 1, 0x7fffffffu, 0, "LIST row 59 names list 2147483647", 0},
            {RV_FOURCC('L', 'I', 'S', 'T'), edit_u32, 0, 0xffffffffu, 0, "LIST row 0 names list 4294967295", 0},
            {RV_FOURCC('C', 'O', 'D', 'E'), edit_or_u64, (4 * bits + bits - 1) * W + W - 1, 63, 0,
             "CODE row 4 plane", 0},
            {RV_FOURCC('C', 'O', 'D', 'E'), edit_or_u64, (N - 1) * bits * W + 1, D % 64, 0, "CODE row 59 plane 0", 0},
            {RV_FOURCC('R', 'A', 'D', 'I'), edit_f32, 2, 0, -1.0f, "RADI list 2 has a negative radius", 0},
            {RV_FOURCC('R', 'A', 'D', 'I'), edit_f32, 1, 0, NAN, "RADI list 1 has a non-finite radius", 0},
            {RV_FOURCC('C', 'E', 'N', 'T'), edit_f32, 2 * D + 69, 0, INFINITY, "CENT list 2 has a non-finite", 0},
            {RV_FOURCC('F', 'A', 'C', 'T'), edit_f32, 3 * 7 + 2, 0, NAN, "FACT row 7 has a non-finite", 0},
            {RV_FOURCC('F', 'A', 'C', '1'), edit_f32, 3 * 8, 0, -INFINITY, "FAC1 row 8 has a non-finite", 0},
            {RV_FOURCC('R', 'O', 'T', 'M'), edit_f32, 4, 0, NAN, "ROTM (the rotation) has non-finite", 0},
            {RV_FOURCC('P', 'A', 'R', 'M'), edit_u32, 5, 0, 0, "PARM has inconsistent", 0},  /* nlist 0, n 60 */
            {RV_FOURCC('P', 'A', 'R', 'M'), edit_u32, 5, 70000, 0, "PARM has inconsistent", 0},
            {RV_FOURCC('P', 'A', 'R', 'M'), edit_u32, 6, 3, 0, "PARM has inconsistent", 0},  /* words */
            {RV_FOURCC('P', 'A', 'R', 'M'), edit_u32, 7, 9, 0, "PARM has invalid parameters: bits", 0},
            /* a section longer than META/PARM imply: read into a buffer of the implied size, it
             * would overflow it (by more than the allocator's 64-byte rounding, so ASan sees it) */
            {RV_FOURCC('I', 'D', 'S', '0'), edit_none, 0, 0, 0, "IDS section is 608 bytes, expected 480", 128},
            {RV_FOURCC('R', 'O', 'T', 'M'), edit_none, 0, 0, 0, "ROTM section is 19728 bytes", 128},
            {RV_FOURCC('C', 'E', 'N', 'T'), edit_none, 0, 0, 0, "CENT section is 968 bytes", 128},
            {RV_FOURCC('R', 'A', 'D', 'I'), edit_none, 0, 0, 0, "RADI section is 140 bytes", 128},
            {RV_FOURCC('L', 'I', 'S', 'T'), edit_none, 0, 0, 0, "LIST section is 368 bytes", 128},
            {RV_FOURCC('C', 'O', 'D', 'E'), edit_none, 0, 0, 0, "CODE section is", 128},
            {RV_FOURCC('F', 'A', 'C', 'T'), edit_none, 0, 0, 0, "FACT section is 852 bytes", 132},
            {RV_FOURCC('F', 'A', 'C', '1'), edit_none, 0, 0, 0, "FAC1 section is 852 bytes", 132},
            {RV_FOURCC('V', 'E', 'C', 'S'), edit_none, 0, 0, 0, "VECS section is 16928 bytes", 128},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            if ((bits == 1 && cases[c].tag == RV_FOURCC('F', 'A', 'C', '1')) ||
                (kinds[kk] == RV_INDEX_RABITQ && cases[c].tag == RV_FOURCC('V', 'E', 'C', 'S')))
                continue;
            edit_u32_arg au = {cases[c].at, cases[c].u};
            edit_f32_arg af = {cases[c].at, cases[c].f};
            const void *arg = cases[c].edit == edit_f32 ? (const void *)&af : (const void *)&au;
            CHECK(recontain(good, bad, cases[c].tag, cases[c].edit, arg, cases[c].extra) == RV_OK);
            rv_status st = rv_index_load(bad, &b);
            CHECK_MSG(st == RV_ERR_FORMAT && strstr(rv_last_error(), cases[c].want), "kind %d case %zu (%s): %s: %s",
                      (int)kinds[kk], c, cases[c].want, rv_status_name(st), rv_last_error());
            if (st == RV_OK)
                rv_index_release(b);
        }
        /* The helper itself: an identity edit gives a file that loads and equals the index. */
        edit_u32_arg same = {0, 0};
        CHECK(recontain(good, bad, RV_FOURCC('N', 'O', 'N', 'E'), edit_u32, &same, 0) == RV_OK);
        CHECK(rv_index_load(bad, &b) == RV_OK && rv_index_equal(a, b));
        rv_index_release(b);
        rv_index_release(a);
    }
    unlink(good);
    unlink(bad);
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
    rv_index_release(b);

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
            rv_index_release(b);
    }
    /* Every single-bit flip. */
    for (size_t byte = 0; byte < len; byte++)
        for (int bit = 0; bit < 8; bit++) {
            orig[byte] ^= (unsigned char)(1u << bit);
            write_file(bad, orig, len);
            rv_status st = rv_index_load(bad, &b);
            CHECK_MSG(st == RV_ERR_FORMAT, "flip byte %zu bit %d: %s", byte, bit, rv_status_name(st));
            if (st == RV_OK)
                rv_index_release(b);
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
        rv_index_release(m2);
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
        rv_index_release(m);

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
        rv_index_release(m);
    }

    test_hostile_rabitq(dir);

    /* IO errors: missing file, directory, unwritable destination. */
    CHECK(rv_index_load("/nonexistent/x.rvx", &b) == RV_ERR_IO);
    CHECK(rv_index_load(dir, &b) == RV_ERR_FORMAT);
    CHECK(rv_index_save(a, "/nonexistent/dir/x.rvx") == RV_ERR_IO);
    rv_free(orig);
    rv_index_release(a);
    unlink(path);
    unlink(bad);
    rmdir(dir);
}
