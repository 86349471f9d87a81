/*
 * dispatch.c — the CPU-dispatch table, one of the library's two pieces of global mutable state
 * (the worker pool is the other). Written once under pthread_once, read-only afterwards.
 *
 * RUVECTOR_SIMD=scalar|avx2|auto forces a table (CI runs the suites on both). Asking for a table
 * the CPU cannot run falls back to the best one that it can, and rv_kernel_note() says so.
 */
#include <pthread.h>
#include <stdio.h>

#include "base/internal.h"
#include "base/kernels.h"

static const rv_kernels *rv_active;
static char rv_note[160];
static pthread_once_t rv_dispatch_once = PTHREAD_ONCE_INIT;

const rv_kernels *rv_kernels_avx2(void)
{
#if RV_HAVE_X86_64_KERNELS
    rv_cpu_info cpu;
    rv_cpu_info_get(&cpu);
    if (cpu.avx2 && cpu.fma && cpu.popcnt && cpu.bmi2)
        return &rv_kernels_avx2_table;
#endif
    return NULL;
}

static void rv_dispatch_init(void)
{
    const rv_kernels *best = rv_kernels_avx2() ? rv_kernels_avx2() : rv_kernels_scalar();
    const char *want = getenv("RUVECTOR_SIMD");
    rv_active = best;
    if (!want || !*want || strcmp(want, "auto") == 0)
        return;
    if (strcmp(want, "scalar") == 0) {
        rv_active = rv_kernels_scalar();
    } else if (strcmp(want, "avx2") == 0) {
        if (!rv_kernels_avx2())
            snprintf(rv_note, sizeof rv_note,
                     "RUVECTOR_SIMD=avx2 but this CPU lacks AVX2/FMA/BMI2; using %s", best->name);
    } else {
        snprintf(rv_note, sizeof rv_note,
                 "RUVECTOR_SIMD=%.40s is not one of scalar, avx2, auto; using %s", want, best->name);
    }
}

const rv_kernels *rv_kernels_get(void)
{
    pthread_once(&rv_dispatch_once, rv_dispatch_init);
    return rv_active;
}

const char *rv_kernel_name(void) { return rv_kernels_get()->name; }

const char *rv_kernel_note(void)
{
    rv_kernels_get();
    return rv_note;
}
