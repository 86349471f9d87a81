/*
 * base/rng.h — the seeded generator behind every random choice (rotations, k-means sampling).
 *
 * xoshiro256** (Blackman & Vigna, 2018) seeded through splitmix64, so any 64-bit seed (0
 * included) gives a well-mixed state. Gaussians by the Marsaglia polar method in double. The
 * stream is part of our file-format determinism: same seed, same library build => same bytes.
 * (Bit-compatibility with upstream's ChaCha12 + ziggurat is not a goal: index files store the
 * rotation itself, so nothing needs to replay upstream's stream; docs/design/file-formats.md.)
 *
 * rv_random_u64 is the one unseeded source: fresh bits from the OS for identities that must
 * differ between processes (LocalBackend's generation tag, FsBackend's file nonce), never for
 * anything a seed should reproduce.
 */
#ifndef RV_BASE_RNG_H
#define RV_BASE_RNG_H

#include <stdint.h>

typedef struct rv_rng {
    uint64_t s[4];
    double spare;   /* second polar-method normal */
    int has_spare;
} rv_rng;

void rv_rng_seed(rv_rng *r, uint64_t seed);
uint64_t rv_rng_next(rv_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rv_rng_uniform(rv_rng *r);
/* Uniform integer in [0, bound), bound >= 1 (Lemire's multiply-shift, unbiased). */
uint64_t rv_rng_below(rv_rng *r, uint64_t bound);
/* Standard normal. */
double rv_rng_gauss(rv_rng *r);

/* A fresh random 64-bit value (getrandom; falls back to time and address bits). Thread-safe. */
uint64_t rv_random_u64(void);

#endif
