/* base/rng.c — see rng.h. */
#include <math.h>
#include <sys/random.h>
#include <time.h>

#include "base/internal.h"
#include "base/rng.h"

static uint64_t rv_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void rv_rng_seed(rv_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = rv_splitmix64(&seed);
    r->has_spare = 0;
    r->spare = 0;
}

static inline uint64_t rv_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rv_rng_next(rv_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rv_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rv_rotl(s[3], 45);
    return result;
}

double rv_rng_uniform(rv_rng *r) { return (double)(rv_rng_next(r) >> 11) * 0x1p-53; }

uint64_t rv_rng_below(rv_rng *r, uint64_t bound)
{
    unsigned __int128 m = (unsigned __int128)rv_rng_next(r) * bound;
    uint64_t low = (uint64_t)m;
    if (low < bound) {
        uint64_t threshold = -bound % bound;
        while (low < threshold) {
            m = (unsigned __int128)rv_rng_next(r) * bound;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double rv_rng_gauss(rv_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * rv_rng_uniform(r) - 1.0;
        v = 2.0 * rv_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

uint64_t rv_random_u64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) == (ssize_t)sizeof v)
        return v;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&v;
}
