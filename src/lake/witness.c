/*
 * witness.c — the upstream RuLake bundle witness, byte for byte:
 *
 *   SHAKE-256( "rulake-bundle-witness-v1|"
 *              u64le(len data_ref) data_ref "|"
 *              u64le(dim) u64le(rotation_seed) u64le(rerank_factor) "|"
 *              u64le(len G) G )  squeezed to 32 bytes, lowercase hex,
 *   G = 0x00 u64le(n) for a numeric generation, 0x01 utf8(s) for an opaque one.
 *
 * libcrypto does the hashing (EVP SHAKE-256); this file only lays the bytes out.
 */
#include <openssl/evp.h>
#include <string.h>

#include "lake/lake_internal.h"

static void rv_put_u64le(unsigned char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

static int rv_update_u64(EVP_MD_CTX *ctx, uint64_t v)
{
    unsigned char b[8];
    rv_put_u64le(b, v);
    return EVP_DigestUpdate(ctx, b, 8);
}

rv_status rv_witness(const char *data_ref, uint64_t dim, uint64_t rotation_seed,
                     uint64_t rerank_factor, const rv_generation *generation,
                     char out[RV_WITNESS_HEX + 1])
{
    if (!data_ref || !generation || (generation->opaque && !generation->text))
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "witness: data_ref and generation are required");
    static const char prefix[] = "rulake-bundle-witness-v1|";
    size_t ref_len = strlen(data_ref);
    size_t text_len = generation->opaque ? strlen(generation->text) : 0;
    unsigned char tag = generation->opaque ? 1 : 0, digest[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_shake256(), NULL) &&
             EVP_DigestUpdate(ctx, prefix, sizeof prefix - 1) && rv_update_u64(ctx, ref_len) &&
             EVP_DigestUpdate(ctx, data_ref, ref_len) && EVP_DigestUpdate(ctx, "|", 1) &&
             rv_update_u64(ctx, dim) && rv_update_u64(ctx, rotation_seed) &&
             rv_update_u64(ctx, rerank_factor) && EVP_DigestUpdate(ctx, "|", 1) &&
             rv_update_u64(ctx, 1 + (generation->opaque ? text_len : 8)) &&
             EVP_DigestUpdate(ctx, &tag, 1) &&
             (generation->opaque ? EVP_DigestUpdate(ctx, generation->text, text_len)
                                 : rv_update_u64(ctx, generation->num)) &&
             EVP_DigestFinalXOF(ctx, digest, sizeof digest);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return rv_fail(RV_ERR_INTERNAL, "libcrypto SHAKE-256 failed");
    rv_hex(digest, sizeof digest, out);
    return RV_OK;
}
