/* tests/c/check.h — a tiny test harness: CHECK records a failure and continues. */
#ifndef RV_TEST_CHECK_H
#define RV_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>

extern int rv_test_failures;

/* Only the first 20 failures are printed; all are counted. */
#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond) && rv_test_failures++ < 20)                                         \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                            \
    do {                                                                                \
        if (!(cond) && rv_test_failures++ < 20) {                                       \
            fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
        }                                                                               \
    } while (0)

/* Deterministic test data: xorshift64* and a Gaussian by Box-Muller. */
static inline uint64_t rv_test_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}
static inline float rv_test_uniform(uint64_t *s) { return (float)((rv_test_rand(s) >> 40) * (1.0 / 16777216.0)); }
float rv_test_gauss(uint64_t *s);
void rv_test_fill(float *v, size_t n, uint64_t seed);

void test_kernels(void);
void test_structs(void);
void test_pool(void);
void test_index(void);
void test_persist(void);
void test_lake(void);
void test_embed(void);
void test_hash(void);
void test_http(void);

#endif
