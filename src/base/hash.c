/*
 * hash.c — SHA-256 and SHAKE-256 through libcrypto's EVP interface: the one file of the library
 * that includes an OpenSSL header (the contract in hash.h).
 *
 * EVP rather than the deprecated SHA256_* calls: OpenSSL 3 keeps EVP as the supported API and
 * picks its provider's fastest implementation (SHA-NI where the CPU has it). Nothing here
 * allocates through rv_alloc: the context is libcrypto's own.
 */
#include <openssl/evp.h>

#include "base/hash.h"
#include "base/internal.h"

static const char *rv_hash_name(rv_hash_kind kind) { return kind == RV_HASH_SHAKE256 ? "SHAKE-256" : "SHA-256"; }

void rv_hash_init(rv_hash *h, rv_hash_kind kind)
{
    h->kind = kind;
    h->failed = false;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = kind == RV_HASH_SHAKE256 ? EVP_shake256() : EVP_sha256();
    if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL)) {
        EVP_MD_CTX_free(ctx);
        ctx = NULL;
        h->failed = true;
    }
    h->ctx = ctx;
}

void rv_hash_update(rv_hash *h, const void *data, size_t n)
{
    if (h->failed || n == 0)
        return;
    if (!h->ctx || !EVP_DigestUpdate(h->ctx, data, n))
        h->failed = true;
}

rv_status rv_hash_final(rv_hash *h, unsigned char *out, size_t out_len)
{
    rv_status st = RV_OK;
    if (h->kind == RV_HASH_SHA256 && out_len != RV_SHA256_BYTES) {
        st = rv_fail(RV_ERR_INVALID_ARGUMENT, "SHA-256 has %u bytes, not %zu", RV_SHA256_BYTES, out_len);
    } else if (h->failed || !h->ctx) {
        st = rv_fail(RV_ERR_INTERNAL, "libcrypto %s failed", rv_hash_name(h->kind));
    } else {
        unsigned len = 0;
        int ok = h->kind == RV_HASH_SHAKE256 ? EVP_DigestFinalXOF(h->ctx, out, out_len)
                                              : EVP_DigestFinal_ex(h->ctx, out, &len) && len == RV_SHA256_BYTES;
        if (!ok)
            st = rv_fail(RV_ERR_INTERNAL, "libcrypto %s failed", rv_hash_name(h->kind));
    }
    rv_hash_abort(h);
    return st;
}

void rv_hash_abort(rv_hash *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

rv_status rv_sha256(const void *data, size_t n, unsigned char out[RV_SHA256_BYTES])
{
    rv_hash h;
    rv_hash_init(&h, RV_HASH_SHA256);
    rv_hash_update(&h, data, n);
    return rv_hash_final(&h, out, RV_SHA256_BYTES);
}

rv_status rv_shake256(const void *data, size_t n, unsigned char *out, size_t out_len)
{
    rv_hash h;
    rv_hash_init(&h, RV_HASH_SHAKE256);
    rv_hash_update(&h, data, n);
    return rv_hash_final(&h, out, out_len);
}
