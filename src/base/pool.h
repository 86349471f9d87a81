/*
 * base/pool.h — the process-wide worker pool.
 */
#ifndef RV_BASE_POOL_H
#define RV_BASE_POOL_H

#include <stddef.h>

typedef void (*rv_task_fn)(void *ctx, size_t task);

/* Runs fn(ctx, t) for every t in [0, ntasks) and returns when all have finished. The caller runs
 * tasks too. Tasks may run in any order and concurrently; they report failure through ctx.
 * Safe from several threads at once; called from inside a task it runs inline (no deadlock).
 * Never fails: if threads cannot be started the tasks run on the caller. */
void rv_parallel_for(size_t ntasks, rv_task_fn fn, void *ctx);

/* rv_pool_submit is public (ruvector/base.h). */

#endif
