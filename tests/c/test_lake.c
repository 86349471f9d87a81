/* tests/c/test_lake.c — RuLake core: witness test vectors, bundles, backends, cache semantics. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

#define RV_CHANGELOG_TEST_IDS 65537 /* RV_CHANGELOG_MAX_IDS (src/lake/table.h) + 1 */
#include "ruvector/ruvector.h"

static void test_witness_vectors(void)
{
    /* reference/rulake-upstream.md §3.3, computed with hashlib.shake_256 from the algorithm */
    char w[RV_WITNESS_HEX + 1];
    rv_generation g7 = {false, 7, NULL}, g1 = {false, 1, NULL}, go = {true, 0, "01JCX7NK6G5R9G1YZ7QH"};
    CHECK(rv_witness("gs://bucket/x.parquet", 128, 42, 20, &g7, w) == RV_OK);
    CHECK(strcmp(w, "7eac1775d1f76a4db88672655fc64977287ec60eda47c6df3a19bacfd0c038cd") == 0);
    CHECK(rv_witness("local://b/c", 8, 42, 20, &g1, w) == RV_OK);
    CHECK(strcmp(w, "aaa52194b87ddea9b60b1df3c8cf6c39b489a6b172454c7ece8a66fffe61816f") == 0);
    CHECK(rv_witness("iceberg://catalog/db/table", 384, 0xdeadbeef, 5, &go, w) == RV_OK);
    CHECK(strcmp(w, "6b1a75410b684054ec05c6c717a4e75204419722d5ce64e37ac1a2703c8e940b") == 0);
}

static void test_bundle_roundtrip(const char *dir)
{
    rv_bundle b = {0};
    b.data_ref = strdup("gs://bucket/\"quoted\"\n.parquet");
    b.dim = 128;
    b.rotation_seed = 42;
    b.rerank_factor = 20;
    b.gen_opaque = true;
    b.gen_text = strdup("snap-\xc3\xa9");
    rv_generation g = {true, 0, b.gen_text};
    CHECK(rv_witness(b.data_ref, 128, 42, 20, &g, b.witness) == RV_OK);
    CHECK(rv_bundle_write_dir(&b, dir) == RV_OK);
    rv_bundle r;
    CHECK(rv_bundle_read_dir(dir, &r) == RV_OK);
    CHECK(r.format_version == 2 && r.dim == 128 && r.gen_opaque && strcmp(r.gen_text, b.gen_text) == 0);
    CHECK(strcmp(r.data_ref, b.data_ref) == 0 && strcmp(r.witness, b.witness) == 0);
    CHECK(!r.pii_policy && !r.memory_class);
    rv_bundle_clear(&r);
    free(b.data_ref);
    free(b.gen_text);
    /* newer version, bad witness, oversize, wrong types */
    const char *newer = "{\"format_version\":3,\"data_ref\":\"x\",\"dim\":1,\"rotation_seed\":1,"
                        "\"rerank_factor\":1,\"generation\":1,\"rvf_witness\":\"00\"}";
    CHECK(rv_bundle_parse(newer, strlen(newer), &r) == RV_ERR_LAKE);
    const char *badtype = "{\"format_version\":2,\"data_ref\":5,\"dim\":1,\"rotation_seed\":1,"
                          "\"rerank_factor\":1,\"generation\":1,\"rvf_witness\":\"00\"}";
    CHECK(rv_bundle_parse(badtype, strlen(badtype), &r) == RV_ERR_LAKE);
    const char *ok = "{\"format_version\":2,\"data_ref\":\"x\",\"dim\":1,\"rotation_seed\":1,"
                     "\"rerank_factor\":1,\"generation\":1,\"rvf_witness\":\"00\",\"extra\":[1]}";
    CHECK(rv_bundle_parse(ok, strlen(ok), &r) == RV_OK);
    CHECK(!rv_bundle_verify(&r));
    rv_bundle_clear(&r);
}

static void test_local_lake(void)
{
    rv_backend *b = NULL;
    CHECK(rv_local_backend_new("hot", &b) == RV_OK);
    enum { N = 3000, D = 16 };
    float *v = malloc(sizeof(float) * N * D);
    int64_t *ids = malloc(sizeof(int64_t) * N);
    rv_test_fill(v, N * D, 5);
    for (int i = 0; i < N; i++)
        ids[i] = (int64_t)i * 1000003 - 777; /* non-dense, some negative */
    CHECK(rv_local_upsert(b, "docs", ids, v, N, D) == RV_OK);
    CHECK(rv_local_upsert(b, "docs", ids, v, 1, D + 1) == RV_ERR_DIMENSION_MISMATCH);
    rv_lake_params p = rv_lake_params_default();
    rv_lake *L = NULL;
    CHECK(rv_lake_create(&p, &L) == RV_OK);
    CHECK(rv_lake_register(L, b) == RV_OK);
    CHECK(rv_lake_register(L, b) == RV_ERR_LAKE);
    int64_t out_ids[10];
    float out_scores[10];
    size_t kk = 0;
    const char *bn = NULL;
    /* the query is row 17: its own id comes first at distance 0 */
    CHECK(rv_lake_search(L, NULL, NULL, "docs", v + 17 * D, 1, D, 10, 10, out_ids, out_scores, NULL, &kk, &bn, NULL) == RV_OK);
    CHECK(kk == 10 && out_ids[0] == ids[17] && out_scores[0] == 0.0f && strcmp(bn, "hot") == 0);
    rv_lake_stats s = rv_lake_stats_get(L);
    CHECK(s.misses == 1 && s.primes == 1 && s.pulls == 1 && s.hits == 0);
    CHECK(rv_lake_search(L, NULL, "hot", "docs", v, 1, D, 10, 10, out_ids, out_scores, NULL, &kk, &bn, NULL) == RV_OK);
    s = rv_lake_stats_get(L);
    CHECK(s.hits == 1 && s.primes == 1);
    CHECK(rv_lake_search(L, NULL, "hot", "docs", v, 1, D - 1, 10, 10, out_ids, out_scores, NULL, &kk, &bn, NULL) ==
          RV_ERR_DIMENSION_MISMATCH);
    CHECK(rv_lake_search(L, NULL, "cold", "docs", v, 1, D, 10, 10, out_ids, out_scores, NULL, &kk, &bn, NULL) == RV_ERR_LAKE);
    CHECK(rv_lake_search(L, NULL, "hot", "nope", v, 1, D, 10, 10, out_ids, out_scores, NULL, &kk, &bn, NULL) == RV_ERR_LAKE);
    /* a write changes the witness: the next FRESH search applies it in place and sees the row */
    char w1[RV_WITNESS_HEX + 1], w2[RV_WITNESS_HEX + 1];
    CHECK(rv_lake_witness_of(L, "hot", "docs", w1));
    float extra[D];
    for (int d = 0; d < D; d++)
        extra[d] = 100.0f;
    int64_t extra_id = 999999999999;
    CHECK(rv_local_upsert(b, "docs", &extra_id, extra, 1, D) == RV_OK);
    CHECK(rv_lake_search(L, NULL, "hot", "docs", extra, 1, D, 1, 1, out_ids, out_scores, NULL, &kk, &bn, NULL) == RV_OK);
    CHECK(kk == 1 && out_ids[0] == extra_id);
    CHECK(rv_lake_witness_of(L, "hot", "docs", w2) && strcmp(w1, w2) != 0);
    s = rv_lake_stats_get(L);
    CHECK(s.primes == 1 && s.pulls == 1 && rv_lake_entry_count(L) == 1);
    /* overwrite the row far away, then delete it: both applied in place, both seen */
    for (int d = 0; d < D; d++)
        extra[d] = -100.0f;
    CHECK(rv_local_upsert(b, "docs", &extra_id, extra, 1, D) == RV_OK);
    CHECK(rv_lake_search(L, NULL, "hot", "docs", extra, 1, D, 1, 1, out_ids, out_scores, NULL, &kk, &bn, NULL) == RV_OK);
    CHECK(kk == 1 && out_ids[0] == extra_id && out_scores[0] == 0.0f);
    size_t removed = 0;
    CHECK(rv_local_delete(b, "docs", &extra_id, 1, &removed) == RV_OK && removed == 1);
    CHECK(rv_lake_search(L, NULL, "hot", "docs", extra, 1, D, 1, 1, out_ids, out_scores, NULL, &kk, &bn, NULL) == RV_OK);
    CHECK(kk == 1 && out_ids[0] != extra_id);
    s = rv_lake_stats_get(L);
    CHECK(s.primes == 1 && s.pulls == 1);
    /* a session pins its entry: a write then re-primes instead of changing the snapshot */
    rv_lake_session *sess = NULL;
    CHECK(rv_lake_session_open(L, &sess) == RV_OK);
    CHECK(rv_lake_search(L, sess, "hot", "docs", extra, 1, D, 1, 1, out_ids, out_scores, NULL, &kk, &bn, NULL) == RV_OK);
    CHECK(rv_local_upsert(b, "docs", &extra_id, extra, 1, D) == RV_OK);
    CHECK(rv_lake_search(L, NULL, "hot", "docs", extra, 1, D, 1, 1, out_ids, out_scores, NULL, &kk, &bn, NULL) == RV_OK);
    CHECK(kk == 1 && out_ids[0] == extra_id);
    CHECK(rv_lake_search(L, sess, "hot", "docs", extra, 1, D, 1, 1, out_ids, out_scores, NULL, &kk, &bn, NULL) == RV_OK);
    CHECK(kk == 1 && out_ids[0] != extra_id);
    CHECK(rv_lake_session_close(sess) == RV_OK);
    s = rv_lake_stats_get(L);
    CHECK(s.pulls == 2);
    /* a write too large for the change log: history is forgotten, the next search pulls */
    enum { BIG = RV_CHANGELOG_TEST_IDS };
    int64_t *big = malloc(sizeof(int64_t) * BIG);
    float *bigv = calloc((size_t)BIG * D, sizeof(float));
    for (int i = 0; i < BIG; i++)
        big[i] = 5000000000000 + i;
    CHECK(rv_local_upsert(b, "docs", big, bigv, BIG, D) == RV_OK);
    CHECK(rv_lake_search(L, NULL, "hot", "docs", extra, 1, D, 1, 1, out_ids, out_scores, NULL, &kk, &bn, NULL) == RV_OK);
    CHECK(kk == 1 && out_ids[0] == extra_id);
    s = rv_lake_stats_get(L);
    CHECK(s.pulls == 3);
    free(big);
    free(bigv);
    CHECK(rv_lake_invalidate(L, "hot", "docs") == RV_OK);
    CHECK(rv_lake_entry_count(L) == 0 && !rv_lake_witness_of(L, "hot", "docs", w2));
    rv_lake_destroy(L);
    rv_backend_release(b);
    free(v);
    free(ids);
}

static void test_fs_names(const char *dir)
{
    const char *bad[] = {"", ".", "..", "a/b", "a\\b", "c:d", "x\ny", "\x7f", "../etc/passwd", "/abs", ".hidden"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(rv_fsb_check_name(bad[i]) == RV_ERR_INVALID_ARGUMENT, "name %zu", i);
    CHECK(rv_fsb_check_name("docs.v2") == RV_OK);
    rv_backend *b = NULL;
    CHECK(rv_fsb_new("disk", dir, &b) == RV_OK);
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t ids[2] = {5, -6};
    CHECK(rv_fsb_upsert(b, "../escape", ids, v, 2, 4) == RV_ERR_INVALID_ARGUMENT);
    CHECK(rv_fsb_upsert(b, "docs", ids, v, 2, 4) == RV_OK);
    char **names;
    size_t n;
    CHECK(rv_backend_list(b, &names, &n) == RV_OK && n == 1 && strcmp(names[0], "docs") == 0);
    rv_lake_free_names(names, n);
    /* incremental updates from the file backend's log, and a background re-prime past the
     * fraction that the lake's destroy waits for */
    rv_lake_params p = rv_lake_params_default();
    p.reprime_fraction = 0.2;
    rv_lake *L = NULL;
    CHECK(rv_lake_create(&p, &L) == RV_OK && rv_lake_register(L, b) == RV_OK);
    int64_t hit[4];
    float sc[4];
    size_t kk = 0;
    const char *bn;
    CHECK(rv_lake_search(L, NULL, NULL, "docs", v, 1, 4, 2, 4, hit, sc, NULL, &kk, &bn, NULL) == RV_OK && kk == 2);
    for (int64_t id = 100; id < 103; id++) {
        float far[4] = {(float)id, 0, 0, 0};
        CHECK(rv_fsb_upsert(b, "docs", &id, far, 1, 4) == RV_OK);
        CHECK(rv_lake_search(L, NULL, NULL, "docs", far, 1, 4, 1, 4, hit, sc, NULL, &kk, &bn, NULL) == RV_OK);
        CHECK(kk == 1 && hit[0] == id && sc[0] == 0.0f);
    }
    rv_lake_stats st = rv_lake_stats_get(L);
    CHECK(st.pulls >= 1 && st.primes >= 1 && st.misses == 4);
    rv_lake_destroy(L);
    size_t removed = 0;
    CHECK(rv_fsb_delete(b, "docs", ids, 1, &removed) == RV_OK && removed == 1);
    CHECK(rv_fsb_drop(b, "docs") == RV_OK && rv_fsb_drop(b, "docs") == RV_ERR_LAKE);
    rv_backend_release(b);
}

/* Readers search while a writer upserts and deletes: updates in place and background re-primes
 * (fraction 0.05 of 200 rows) run under them; row 3 is never written, so it always comes first
 * at distance 0. Under ASan this also checks the lifetimes around the swaps. */
typedef struct stress_ctx {
    rv_lake *L;
    const float *q;
    atomic_bool stop;
    atomic_int bad, searches;
} stress_ctx;

static void *stress_reader(void *arg)
{
    stress_ctx *c = arg;
    int64_t ids[5];
    float sc[5];
    size_t kk;
    const char *bn;
    while (!atomic_load(&c->stop)) {
        rv_status st = rv_lake_search(c->L, NULL, NULL, "docs", c->q, 1, 8, 5, 5, ids, sc, NULL, &kk, &bn, NULL);
        if (st != RV_OK || kk != 5 || ids[0] != 3 || sc[0] != 0.0f)
            atomic_fetch_add(&c->bad, 1);
        atomic_fetch_add(&c->searches, 1);
    }
    return NULL;
}

static void test_updates_under_readers(void)
{
    rv_backend *b = NULL;
    CHECK(rv_local_backend_new("hot", &b) == RV_OK);
    enum { N = 200, D = 8 };
    float v[N * D];
    int64_t ids[N];
    rv_test_fill(v, N * D, 11);
    for (int i = 0; i < N; i++)
        ids[i] = i;
    CHECK(rv_local_upsert(b, "docs", ids, v, N, D) == RV_OK);
    rv_lake_params p = rv_lake_params_default();
    p.reprime_fraction = 0.05;
    rv_lake *L = NULL;
    CHECK(rv_lake_create(&p, &L) == RV_OK && rv_lake_register(L, b) == RV_OK);
    stress_ctx c = {.L = L, .q = v + 3 * D};
    atomic_init(&c.stop, false);
    atomic_init(&c.bad, 0);
    atomic_init(&c.searches, 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, stress_reader, &c);
    while (atomic_load(&c.searches) < 2) /* the readers are running */
        sched_yield();
    float w[D];
    for (int r = 0; r < 300; r++) {
        int64_t id = 1000 + r % 17;
        for (int d = 0; d < D; d++)
            w[d] = 50.0f + (float)r; /* unique per round: no ties */
        size_t removed;
        CHECK(r % 3 ? rv_local_upsert(b, "docs", &id, w, 1, D) == RV_OK
                    : rv_local_delete(b, "docs", &id, 1, &removed) == RV_OK);
        int64_t got;
        float score;
        size_t kk;
        const char *bn;
        CHECK(rv_lake_search(L, NULL, NULL, "docs", w, 1, D, 1, 1, &got, &score, NULL, &kk, &bn, NULL) == RV_OK);
        CHECK(kk == 1 && (r % 3 ? got == id && score == 0.0f : got != id)); /* the write is seen */
    }
    atomic_store(&c.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK(atomic_load(&c.bad) == 0);
    rv_lake_stats st = rv_lake_stats_get(L);
    CHECK(st.misses >= 100 && st.pulls * 4 < st.misses); /* most writes were applied in place */
    rv_lake_destroy(L); /* waits for a background re-prime still running */
    rv_backend_release(b);
}

void test_lake(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/rv_lake_test_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    test_witness_vectors();
    test_bundle_roundtrip(dir);
    test_local_lake();
    test_updates_under_readers();
    test_fs_names(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}
