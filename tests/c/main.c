/* tests/c/main.c — runs every C unit test group and prints "N passed, N failed". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int rv_test_failures;

float rv_test_gauss(uint64_t *s)
{
    double u1 = (rv_test_rand(s) >> 11) * (1.0 / 9007199254740992.0) + 1e-300;
    double u2 = (rv_test_rand(s) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void rv_test_fill(float *v, size_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++)
        v[i] = rv_test_gauss(&s);
}

static const struct {
    const char *name;
    void (*fn)(void);
} groups[] = {
    {"kernels", test_kernels}, {"structs", test_structs}, {"pool", test_pool},
    {"index", test_index},     {"persist", test_persist}, {"lake", test_lake}, {"embed", test_embed},
    {"hash", test_hash},       {"http", test_http},
};

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (argc > 1 && strcmp(argv[1], groups[i].name) != 0)
            continue;
        int before = rv_test_failures;
        groups[i].fn();
        int f = rv_test_failures - before;
        printf("%-8s %s (%d failed checks)\n", groups[i].name, f ? "FAIL" : "ok", f);
        if (f)
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
