/*
 * bench/peaks.c — the machine's physical limits, measured the way our kernels use it:
 *   fma:  single-thread AVX2 FMA throughput (12 independent chains of 8-float FMAs: latency 4 x
 *         2 ports = 8 chains needed; 12 leaves headroom), in GFLOP/s (2 flops per lane);
 *   read: single-thread sequential read bandwidth over a 512 MiB buffer (AVX2 loads, summed so
 *         the loads cannot be elided), in GB/s.
 * Built and run by bench/bench_flat.py (gcc -O2 -mavx2 -mfma); prints JSON.
 */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double fma_peak(void)
{
    /* 12 named accumulators so they live in registers (an array may be kept in memory). */
    __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3);
    __m256 a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7);
    __m256 a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    const long iters = 50000000;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t = now();
        for (long it = 0; it < iters; it++) {
            a0 = _mm256_fmadd_ps(a0, x, y); a1 = _mm256_fmadd_ps(a1, x, y);
            a2 = _mm256_fmadd_ps(a2, x, y); a3 = _mm256_fmadd_ps(a3, x, y);
            a4 = _mm256_fmadd_ps(a4, x, y); a5 = _mm256_fmadd_ps(a5, x, y);
            a6 = _mm256_fmadd_ps(a6, x, y); a7 = _mm256_fmadd_ps(a7, x, y);
            a8 = _mm256_fmadd_ps(a8, x, y); a9 = _mm256_fmadd_ps(a9, x, y);
            a10 = _mm256_fmadd_ps(a10, x, y); a11 = _mm256_fmadd_ps(a11, x, y);
            __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));
        }
        double dt = now() - t;
        double gflops = (double)iters * 12 * 8 * 2 / dt / 1e9;
        best = gflops > best ? gflops : best;
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    if (_mm256_cvtss_f32(s) == 12345.f)
        puts("");
    return best;
}

static double read_bw(void)
{
    size_t n = (512u << 20) / sizeof(float);
    float *buf = aligned_alloc(64, n * sizeof(float));
    memset(buf, 1, n * sizeof(float));
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        double t = now();
        for (size_t i = 0; i < n; i += 32) {
            s0 = _mm256_add_ps(s0, _mm256_load_ps(buf + i));
            s1 = _mm256_add_ps(s1, _mm256_load_ps(buf + i + 8));
            s2 = _mm256_add_ps(s2, _mm256_load_ps(buf + i + 16));
            s3 = _mm256_add_ps(s3, _mm256_load_ps(buf + i + 24));
        }
        double dt = now() - t;
        float sink = _mm256_cvtss_f32(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
        if (sink == 12345.f)
            puts("");
        double gbs = n * sizeof(float) / dt / 1e9;
        best = gbs > best ? gbs : best;
    }
    free(buf);
    return best;
}

int main(int argc, char **argv)
{
    /* "fma" or "read" measures one; no argument measures both. */
    const char *only = argc > 1 ? argv[1] : "";
    if (strcmp(only, "read") == 0)
        printf("{\"read_gbs_1t\": %.2f}\n", read_bw());
    else if (strcmp(only, "fma") == 0)
        printf("{\"fma_gflops_1t\": %.2f}\n", fma_peak());
    else
        printf("{\"fma_gflops_1t\": %.2f, \"read_gbs_1t\": %.2f}\n", fma_peak(), read_bw());
    return 0;
}
