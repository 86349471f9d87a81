/*
 * fastscan.c — moving codes in and out of the FastScan blocks; the query tables.
 */
#include <string.h>

#include "index/fastscan.h"

/* The byte holding group g of slot `slot`; the nibble is the high one for slots 16..31. */
static inline size_t rv_fs_at(size_t words, size_t slot, size_t g)
{
    return (slot / RV_FS_BLOCK) * rv_fs_block_bytes(words) + (g / 2) * 32 + (g % 2) * 16 + slot % 16;
}

static inline unsigned rv_fs_nib(const uint8_t *blocks, size_t words, size_t slot, size_t g)
{
    uint8_t v = blocks[rv_fs_at(words, slot, g)];
    return slot % RV_FS_BLOCK >= 16 ? v >> 4 : v & 15u;
}

static inline void rv_fs_set_nib(uint8_t *blocks, size_t words, size_t slot, size_t g, unsigned nib)
{
    uint8_t *p = blocks + rv_fs_at(words, slot, g);
    *p = slot % RV_FS_BLOCK >= 16 ? (uint8_t)((*p & 0x0f) | nib << 4) : (uint8_t)((*p & 0xf0) | nib);
}

void rv_fs_put(uint8_t *blocks, size_t words, size_t slot, const uint64_t *code)
{
    for (size_t g = 0; g < words * 16; g++)
        rv_fs_set_nib(blocks, words, slot, g, (unsigned)(code[g / 16] >> (4 * (g % 16))) & 15u);
}

void rv_fs_get(const uint8_t *blocks, size_t words, size_t slot, uint64_t *code)
{
    memset(code, 0, words * sizeof(uint64_t));
    for (size_t g = 0; g < words * 16; g++)
        code[g / 16] |= (uint64_t)rv_fs_nib(blocks, words, slot, g) << (4 * (g % 16));
}

void rv_fs_clear(uint8_t *blocks, size_t words, size_t slot)
{
    for (size_t g = 0; g < words * 16; g++)
        rv_fs_set_nib(blocks, words, slot, g, 0);
}

void rv_fs_move(uint8_t *blocks, size_t words, size_t from, size_t to)
{
    for (size_t g = 0; g < words * 16; g++)
        rv_fs_set_nib(blocks, words, to, g, rv_fs_nib(blocks, words, from, g));
}

bool rv_fs_same(const uint8_t *a, size_t sa, const uint8_t *b, size_t sb, size_t words)
{
    for (size_t g = 0; g < words * 16; g++)
        if (rv_fs_nib(a, words, sa, g) != rv_fs_nib(b, words, sb, g))
            return false;
    return true;
}

unsigned rv_fs_lut(const uint8_t *uq, size_t words, unsigned qbits, uint8_t *lut)
{
    const unsigned nluts = 4u * ((1u << qbits) - 1) > 255 ? 2 : 1;
    const size_t table = words * 256;
    for (size_t g = 0; g < words * 16; g++) {
        const uint8_t *u = uq + 4 * g;
        size_t at = (g / 2) * 32 + (g % 2) * 16;
        for (unsigned n = 0; n < 16; n++) {
            unsigned v = (n & 1 ? u[0] : 0) + (n & 2 ? u[1] : 0) + (n & 4 ? u[2] : 0) + (n & 8 ? u[3] : 0);
            lut[at + n] = (uint8_t)(v & 255);
            if (nluts == 2)
                lut[table + at + n] = (uint8_t)(v >> 8);
        }
    }
    return nluts;
}
