/*
 * ruvector/base.h — library-wide facts: version, CPU features and kernel choice, worker pool,
 * progress reporting.
 */
#ifndef RUVECTOR_BASE_H
#define RUVECTOR_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ruvector/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "MAJOR.MINOR.PATCH"; static storage. */
const char *rv_version(void);

/* What the CPU (and the OS, via XGETBV) lets us use. */
typedef struct rv_cpu_info {
    bool sse42, popcnt, avx, avx2, fma, bmi2, f16c;
    bool avx512f, avx512bw, avx512vl, avx512vpopcntdq;
    bool os_saves_ymm;  /* XCR0 has SSE+AVX state: YMM registers survive context switches */
    bool os_saves_zmm;  /* XCR0 has the AVX-512 state too */
} rv_cpu_info;

/* Fills *out with the detected features. Thread-safe; detection runs once per process. */
void rv_cpu_info_get(rv_cpu_info *out);

/* Name of the kernel set every computation uses: "avx2" or "scalar". Chosen once, at first use,
 * from the CPU and the RUVECTOR_SIMD environment variable (scalar|avx2|auto). */
const char *rv_kernel_name(void);

/* Why the kernel choice differs from what RUVECTOR_SIMD asked for ("" when it does not).
 * Static storage. */
const char *rv_kernel_note(void);

/* Threads the process-wide worker pool runs (the caller counts as one): min(8, online CPUs),
 * or RUVECTOR_NUM_THREADS (1..256) when set. Fixed at first use. */
unsigned rv_pool_size(void);

/* Queues fn(ctx, 0) to run soon on a pool worker and returns at once (async entry points).
 * Tasks start in submission order as workers free up; one worker is started even when the pool
 * size is 1. Returns 0, or -1 when nothing could be queued (no memory or no thread). */
int rv_pool_submit(void (*fn)(void *ctx, size_t task), void *ctx);

/* Progress of long work (build, add_batch, embedding, downloads, batch searches). Called on the
 * calling thread between chunks, never concurrently, with the phase the work is in (a static
 * label: "k-means", "encode", "search"; NULL when the call has a single phase) and (done, total)
 * in that phase's units; return non-zero to cancel, the call then fails with RV_ERR_CANCELLED
 * and leaves no partial result behind. */
typedef int (*rv_progress_fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);
typedef struct rv_progress {
    rv_progress_fn fn;  /* NULL: no reporting */
    void *ctx;
} rv_progress;

#ifdef __cplusplus
}
#endif
#endif
