/*
 * witness.c — the upstream RuLake bundle witness, byte for byte:
 *
 *   SHAKE-256( "rulake-bundle-witness-v1|"
 *              u64le(len data_ref) data_ref "|"
 *              u64le(dim) u64le(rotation_seed) u64le(rerank_factor) "|"
 *              u64le(len G) G )  squeezed to 32 bytes, lowercase hex,
 *   G = 0x00 u64le(n) for a numeric generation, 0x01 utf8(s) for an opaque one.
 *
 * base/hash.c does the hashing (libcrypto's SHAKE-256); this file only lays the bytes out.
 */
#include <string.h>

#include "base/hash.h"
#include "lake/lake_internal.h"

static void rv_put_u64le(unsigned char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

static void rv_update_u64(rv_hash *h, uint64_t v)
{
    unsigned char b[8];
    rv_put_u64le(b, v);
    rv_hash_update(h, b, 8);
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
    rv_hash h;
    rv_hash_init(&h, RV_HASH_SHAKE256);
    rv_hash_update(&h, prefix, sizeof prefix - 1);
    rv_update_u64(&h, ref_len);
    rv_hash_update(&h, data_ref, ref_len);
    rv_hash_update(&h, "|", 1);
    rv_update_u64(&h, dim);
    rv_update_u64(&h, rotation_seed);
    rv_update_u64(&h, rerank_factor);
    rv_hash_update(&h, "|", 1);
    rv_update_u64(&h, 1 + (generation->opaque ? text_len : 8));
    rv_hash_update(&h, &tag, 1);
    if (generation->opaque)
        rv_hash_update(&h, generation->text, text_len);
    else
        rv_update_u64(&h, generation->num);
    rv_status st = rv_hash_final(&h, digest, sizeof digest);
    if (st != RV_OK)
        return st;
    rv_hex(digest, sizeof digest, out);
    return RV_OK;
}
