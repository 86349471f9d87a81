/*
 * base/internal.h — what every library source file includes first.
 *
 * Allocation goes through rv_alloc/rv_free (64-byte aligned, overflow-checked); after this header
 * the libc allocators are poisoned so a stray malloc() is a compile error inside the library.
 */
#ifndef RV_BASE_INTERNAL_H
#define RV_BASE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rv_config.h"
#include "ruvector/base.h"
#include "ruvector/status.h"

#define RV_ALIGN 64u

/* rv_fail (status.h) sets the thread's error message and returns the status. */

/* 64-byte aligned allocation of `size` bytes (size 0 allowed, returns a unique pointer).
 * NULL on failure; the caller reports RV_ERR_NO_MEMORY. */
void *rv_alloc(size_t size);
void *rv_calloc(size_t count, size_t size); /* zeroed; NULL on overflow */
void rv_free(void *p);

/* a*b (and a*b*c) with overflow detection: false when it overflows. */
static inline bool rv_mul(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool rv_mul3(size_t a, size_t b, size_t c, size_t *out)
{
    size_t t;
    return rv_mul(a, b, &t) && rv_mul(t, c, out);
}
static inline size_t rv_round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }
static inline size_t rv_min(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t rv_max(size_t a, size_t b) { return a > b ? a : b; }

#define RV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* strutil.c: an rv_alloc'ed copy of s (NULL for NULL or on no memory); "dir/name" rv_alloc'ed
 * (NULL on no memory); lowercase hex of n bytes into out (2n + 1 chars). */
char *rv_strdup(const char *s);
char *rv_path_join(const char *dir, const char *name);
void rv_hex(const unsigned char *bytes, size_t n, char *out);

/* No stray allocations inside the library (alloc.c, the one allowed user, opts out). */
#ifndef RV_ALLOCATOR_IMPLEMENTATION
#pragma GCC poison malloc calloc realloc aligned_alloc posix_memalign strdup
#endif

#endif
