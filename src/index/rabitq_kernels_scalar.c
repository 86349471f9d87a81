/*
 * index/rabitq_kernels_scalar.c — the scalar reference of RaBitQ's kernels (rabitq_kernels.h):
 * plain loops in the exact order the contracts state. Every SIMD twin is tested against these.
 */
#include "base/internal.h"
#include "index/rabitq_kernels.h"

static void rv_fastscan_dot_scalar(const uint8_t *blocks, size_t words, size_t nblocks, const uint8_t *lut,
                                   unsigned nluts, uint32_t *out)
{
    const size_t block_bytes = words * 256;
    for (size_t blk = 0; blk < nblocks; blk++) {
        const uint8_t *B = blocks + blk * block_bytes;
        for (size_t j = 0; j < 32; j++) {
            uint32_t sum = 0;
            for (size_t g = 0; g < words * 16; g++) {
                size_t at = (g / 2) * 32 + (g % 2) * 16;
                unsigned nib = j < 16 ? B[at + j] & 15u : B[at + j - 16] >> 4;
                for (unsigned t = 0; t < nluts; t++)
                    sum += (uint32_t)lut[t * block_bytes + at + nib] << (8 * t);
            }
            out[blk * 32 + j] = sum;
        }
    }
}

static uint32_t rv_levels_dot_scalar(const uint8_t *ex, size_t words, unsigned bits, const uint8_t *uq)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < words * 64; i++)
        sum += rv_ex_level(ex, bits, i) * uq[i];
    return sum;
}

static uint32_t rv_screen32_scalar(const float *f, const float *f2, const uint32_t *scan, const rv_screen *c,
                                   float *est, float *err)
{
    uint32_t keep = 0;
    for (unsigned j = 0; j < 32; j++) {
        float t = c->lo * f[96 + j] - c->lo_cd + c->delta * (float)scan[j] - c->delta_cu;
        float e = f[j] + c->dc - f[32 + j] * t;
        float r = f[64 + j] * c->sqrt_dc + f[32 + j] * c->qerr;
        est[j] = e;
        err[j] = r;
        float r2 = f2 ? f2[j] * c->sqrt_dc + f2[32 + j] * c->qerr2 : 0.0f;
        if (!(e - c->a * r - r2 > c->cand && e + c->b * r > c->ub))
            keep |= 1u << j;
    }
    return keep;
}

static const rv_rabitq_kernels rv_rabitq_kernels_scalar_table = {
    .name = "scalar",
    .fastscan_dot = rv_fastscan_dot_scalar,
    .levels_dot = rv_levels_dot_scalar,
    .screen32 = rv_screen32_scalar,
};

const rv_rabitq_kernels *rv_rabitq_kernels_scalar(void) { return &rv_rabitq_kernels_scalar_table; }
