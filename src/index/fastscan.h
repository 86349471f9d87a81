/*
 * index/fastscan.h — the blocked layout of the RaBitQ lists' sign codes, and the query's tables.
 *
 * The layout is the one kernels.h documents for fastscan_dot: blocks of 32 codes of `words` u64,
 * one nibble per (code, group of 4 dimensions). These helpers move single codes between that
 * layout and plain form (what the encoder writes and the index file stores), and build the
 * tables for a quantized query.
 */
#ifndef RV_INDEX_FASTSCAN_H
#define RV_INDEX_FASTSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RV_FS_BLOCK 32u /* codes per block */

/* Bytes of one block of 32 codes. */
static inline size_t rv_fs_block_bytes(size_t words) { return words * 256; }

/* Writes the code (words u64) into slot `slot` of the blocks. */
void rv_fs_put(uint8_t *blocks, size_t words, size_t slot, const uint64_t *code);
/* Reads slot `slot` back into plain form. */
void rv_fs_get(const uint8_t *blocks, size_t words, size_t slot, uint64_t *code);
/* Clears slot `slot` (all nibbles zero). */
void rv_fs_clear(uint8_t *blocks, size_t words, size_t slot);
/* Copies slot `from` to slot `to` (same blocks). */
void rv_fs_move(uint8_t *blocks, size_t words, size_t from, size_t to);
/* Whether slot sa of a holds the same code as slot sb of b. */
bool rv_fs_same(const uint8_t *a, size_t sa, const uint8_t *b, size_t sb, size_t words);

/* Tables for query levels uq[0 .. 64 words) (each < 2^qbits, zero past the dimension): table
 * value for group g, nibble n = sum of uq[4g + i] over the bits i of n, split into bytes.
 * Returns the number of tables written to lut (1 when every value fits a byte, else 2: low and
 * high bytes); lut holds 2 x 256 words bytes. */
unsigned rv_fs_lut(const uint8_t *uq, size_t words, unsigned qbits, uint8_t *lut);

#endif
