/*
 * cpu.c — what the CPU and the OS let us run.
 *
 * CPUID says what the silicon has; XGETBV says whether the OS saves the wide registers on a
 * context switch. AVX2 kernels need both (pgvector's lesson: a hypervisor may expose AVX2 in
 * CPUID with XCR0 not enabling YMM state). Detection runs once (pthread_once); nothing SIMD
 * runs in a static initializer.
 */
#include <pthread.h>

#include "base/internal.h"

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t rv_xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

static rv_cpu_info rv_cpu;
static pthread_once_t rv_cpu_once = PTHREAD_ONCE_INIT;

static void rv_cpu_detect(void)
{
    memset(&rv_cpu, 0, sizeof rv_cpu);
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    rv_cpu.sse42 = (c >> 20) & 1;
    rv_cpu.popcnt = (c >> 23) & 1;
    rv_cpu.fma = (c >> 12) & 1;
    rv_cpu.f16c = (c >> 29) & 1;
    bool osxsave = (c >> 27) & 1;
    bool avx = (c >> 28) & 1;
    if (osxsave) {
        uint64_t xcr0 = rv_xgetbv0();
        rv_cpu.os_saves_ymm = (xcr0 & 0x6) == 0x6;
        rv_cpu.os_saves_zmm = (xcr0 & 0xe6) == 0xe6;
    }
    rv_cpu.avx = avx && rv_cpu.os_saves_ymm;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        rv_cpu.avx2 = rv_cpu.avx && ((b >> 5) & 1);
        rv_cpu.bmi2 = (b >> 8) & 1;
        rv_cpu.avx512f = rv_cpu.os_saves_zmm && ((b >> 16) & 1);
        rv_cpu.avx512bw = rv_cpu.avx512f && ((b >> 30) & 1);
        rv_cpu.avx512vl = rv_cpu.avx512f && ((b >> 31) & 1);
        rv_cpu.avx512vpopcntdq = rv_cpu.avx512f && ((c >> 14) & 1);
    }
    rv_cpu.fma = rv_cpu.fma && rv_cpu.avx;
#endif
}

void rv_cpu_info_get(rv_cpu_info *out)
{
    pthread_once(&rv_cpu_once, rv_cpu_detect);
    *out = rv_cpu;
}
