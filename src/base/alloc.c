/*
 * alloc.c — the library's only allocator.
 *
 * Every buffer is 64-byte aligned (a cache line, and AVX-512-ready), so SIMD loads of rows never
 * straddle lines at the start and slabs can be handed to NumPy as-is. Callers compute sizes with
 * rv_mul (overflow-checked); here we only guard the rounding.
 */
#define RV_ALLOCATOR_IMPLEMENTATION
#include "base/internal.h"

void *rv_alloc(size_t size)
{
    if (size > SIZE_MAX - RV_ALIGN)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, RV_ALIGN, rv_round_up(size ? size : 1, RV_ALIGN)) != 0)
        return NULL;
    return p;
}

void *rv_calloc(size_t count, size_t size)
{
    size_t total;
    if (!rv_mul(count, size, &total))
        return NULL;
    void *p = rv_alloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void rv_free(void *p) { free(p); }
