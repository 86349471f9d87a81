/* tests/c/test_hash.c — base/hash.c against published vectors: SHA-256 from FIPS 180-2 ("abc",
 * the two-block message, a million 'a'), SHAKE-256 from the NIST examples (empty and "abc",
 * 32 bytes); a digest fed in uneven pieces equals the one-shot one; misuse is an error. */
#include <string.h>

#include "base/hash.h"
#include "base/internal.h"
#include "check.h"

static void hex_of(const unsigned char *d, size_t n, char *out) { rv_hex(d, n, out); }

static void test_sha256_vectors(void)
{
    static const struct {
        const char *msg;
        const char *hex;
    } v[] = {
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    };
    for (size_t i = 0; i < RV_ARRAY_LEN(v); i++) {
        unsigned char d[RV_SHA256_BYTES];
        char hex[65];
        CHECK(rv_sha256(v[i].msg, strlen(v[i].msg), d) == RV_OK);
        hex_of(d, sizeof d, hex);
        CHECK_MSG(strcmp(hex, v[i].hex) == 0, "SHA-256('%s') = %s", v[i].msg, hex);
    }
    /* a million 'a', fed in pieces of 1, 2, 3, ... bytes */
    static char a[1000];
    memset(a, 'a', sizeof a);
    rv_hash h;
    rv_hash_init(&h, RV_HASH_SHA256);
    size_t fed = 0;
    for (size_t step = 1; fed < 1000000; step = step % 997 + 1) {
        size_t n = rv_min(step, 1000000 - fed);
        rv_hash_update(&h, a, n);
        fed += n;
    }
    unsigned char d[RV_SHA256_BYTES];
    char hex[65];
    CHECK(rv_hash_final(&h, d, sizeof d) == RV_OK);
    hex_of(d, sizeof d, hex);
    CHECK_MSG(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
              "SHA-256(a x 1e6) = %s", hex);
    CHECK(h.ctx == NULL); /* final released the context */
}

static void test_shake256_vectors(void)
{
    unsigned char d[32];
    char hex[65];
    CHECK(rv_shake256("", 0, d, sizeof d) == RV_OK);
    hex_of(d, sizeof d, hex);
    CHECK_MSG(strcmp(hex, "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f") == 0,
              "SHAKE-256('') = %s", hex);
    CHECK(rv_shake256("abc", 3, d, sizeof d) == RV_OK);
    hex_of(d, sizeof d, hex);
    CHECK_MSG(strcmp(hex, "483366601360a8771c6863080cc4114d8db44530f8f1e1ee4f94ea37e78b5739") == 0,
              "SHAKE-256('abc') = %s", hex);
    /* streamed in two pieces, squeezed longer: the first 32 bytes are the same (an XOF) */
    unsigned char longer[64];
    rv_hash h;
    rv_hash_init(&h, RV_HASH_SHAKE256);
    rv_hash_update(&h, "a", 1);
    rv_hash_update(&h, NULL, 0);
    rv_hash_update(&h, "bc", 2);
    CHECK(rv_hash_final(&h, longer, sizeof longer) == RV_OK);
    CHECK(memcmp(longer, d, 32) == 0);
}

static void test_hash_misuse(void)
{
    unsigned char d[16];
    rv_hash h;
    rv_hash_init(&h, RV_HASH_SHA256);
    rv_hash_update(&h, "x", 1);
    CHECK(rv_hash_final(&h, d, sizeof d) == RV_ERR_INVALID_ARGUMENT); /* SHA-256 is 32 bytes */
    CHECK(h.ctx == NULL);
    CHECK(strstr(rv_last_error(), "32") && strstr(rv_last_error(), "16"));
    /* a failed update is remembered and reported at final */
    rv_hash_init(&h, RV_HASH_SHA256);
    h.failed = true;
    unsigned char full[RV_SHA256_BYTES];
    CHECK(rv_hash_final(&h, full, sizeof full) == RV_ERR_INTERNAL);
    CHECK(strcmp(rv_last_error(), "libcrypto SHA-256 failed") == 0);
    rv_hash_abort(&h); /* idempotent */
    rv_hash zero = {0};
    rv_hash_abort(&zero);
}

void test_hash(void)
{
    test_sha256_vectors();
    test_shake256_vectors();
    test_hash_misuse();
}
