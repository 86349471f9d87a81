/*
 * dispatch.c — the process's one SIMD decision and the kernel tables that follow it: with the
 * worker pool, the library's only global mutable state. Decided once under pthread_once,
 * read-only afterwards.
 *
 * rv_simd() picks the best level the CPU and the build can run (CPUID and XGETBV, base/cpu.c);
 * RUVECTOR_SIMD=scalar|avx2|auto forces one (CI runs the suites on both). Asking for a level the
 * CPU cannot run falls back to the best one that it can, and rv_kernel_note() says so. Every
 * kernel domain (generic here, index/rabitq_kernels.h, embed/nn_kernels.h) indexes its tables
 * by that one level, so no two domains can disagree. Rejected: a decision per domain (one could
 * run AVX2 while another ran scalar, and RUVECTOR_SIMD would have to be read in three places).
 */
#include <pthread.h>
#include <stdio.h>

#include "base/internal.h"
#include "base/kernels.h"
#include "embed/nn_kernels.h"
#include "index/rabitq_kernels.h"

static rv_simd_level rv_level;
static const rv_kernels *rv_generic;        /* the tables for rv_level, resolved with it, so a */
static const rv_rabitq_kernels *rv_rabitq;  /* getter on a hot path is one pthread_once check */
static const rv_nn_kernels *rv_nn;          /* and a load */
static char rv_note[160];
static pthread_once_t rv_dispatch_once = PTHREAD_ONCE_INIT;

#if RV_HAVE_X86_64_KERNELS
extern const rv_kernels rv_kernels_avx2_table;
extern const rv_rabitq_kernels rv_rabitq_kernels_avx2_table;
extern const rv_nn_kernels rv_nn_kernels_avx2_table;
#endif

bool rv_simd_supported(rv_simd_level level)
{
    if (level == RV_SIMD_SCALAR)
        return true;
#if RV_HAVE_X86_64_KERNELS
    rv_cpu_info cpu;
    rv_cpu_info_get(&cpu);
    if (level == RV_SIMD_AVX2)
        return cpu.avx2 && cpu.fma && cpu.popcnt && cpu.bmi2;
#endif
    return false;
}

static void rv_dispatch_decide(void)
{
    const rv_simd_level best = rv_simd_supported(RV_SIMD_AVX2) ? RV_SIMD_AVX2 : RV_SIMD_SCALAR;
    const char *best_name = best == RV_SIMD_AVX2 ? "avx2" : "scalar";
    const char *want = getenv("RUVECTOR_SIMD");
    rv_level = best;
    if (!want || !*want || strcmp(want, "auto") == 0)
        return;
    if (strcmp(want, "scalar") == 0) {
        rv_level = RV_SIMD_SCALAR;
    } else if (strcmp(want, "avx2") == 0) {
        if (best != RV_SIMD_AVX2)
            snprintf(rv_note, sizeof rv_note,
                     "RUVECTOR_SIMD=avx2 but this CPU lacks AVX2/FMA/BMI2; using %s", best_name);
    } else {
        snprintf(rv_note, sizeof rv_note,
                 "RUVECTOR_SIMD=%.40s is not one of scalar, avx2, auto; using %s", want, best_name);
    }
}

static void rv_dispatch_init(void)
{
    rv_dispatch_decide();
    const bool avx2 = rv_level == RV_SIMD_AVX2;
    rv_generic = avx2 ? rv_kernels_avx2() : rv_kernels_scalar();
    rv_rabitq = avx2 ? rv_rabitq_kernels_avx2() : rv_rabitq_kernels_scalar();
    rv_nn = avx2 ? rv_nn_kernels_avx2() : rv_nn_kernels_scalar();
}

rv_simd_level rv_simd(void)
{
    pthread_once(&rv_dispatch_once, rv_dispatch_init);
    return rv_level;
}

/* Each domain's tables: NULL where the build has no twin for a level. */

const rv_kernels *rv_kernels_avx2(void)
{
#if RV_HAVE_X86_64_KERNELS
    if (rv_simd_supported(RV_SIMD_AVX2))
        return &rv_kernels_avx2_table;
#endif
    return NULL;
}

const rv_rabitq_kernels *rv_rabitq_kernels_avx2(void)
{
#if RV_HAVE_X86_64_KERNELS
    if (rv_simd_supported(RV_SIMD_AVX2))
        return &rv_rabitq_kernels_avx2_table;
#endif
    return NULL;
}

const rv_nn_kernels *rv_nn_kernels_avx2(void)
{
#if RV_HAVE_X86_64_KERNELS
    if (rv_simd_supported(RV_SIMD_AVX2))
        return &rv_nn_kernels_avx2_table;
#endif
    return NULL;
}

const rv_kernels *rv_kernels_get(void)
{
    pthread_once(&rv_dispatch_once, rv_dispatch_init);
    return rv_generic;
}

const rv_rabitq_kernels *rv_rabitq_kernels_get(void)
{
    pthread_once(&rv_dispatch_once, rv_dispatch_init);
    return rv_rabitq;
}

const rv_nn_kernels *rv_nn_kernels_get(void)
{
    pthread_once(&rv_dispatch_once, rv_dispatch_init);
    return rv_nn;
}

const char *rv_kernel_name(void) { return rv_kernels_get()->name; }

const char *rv_kernel_note(void)
{
    rv_simd();
    return rv_note;
}
