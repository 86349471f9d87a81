/*
 * pool.c — one process-wide pool of pthreads (no OpenMP: it fights torch and faiss for cores when
 * they share a process).
 *
 * Size: min(8, online CPUs) or RUVECTOR_NUM_THREADS, counting the calling thread, so size - 1
 * workers. Started lazily on the first parallel call.
 *
 * A job lives on its caller's stack: a task function, a shared atomic cursor that hands out task
 * indices, and a count of workers currently inside it. Jobs queue in a list under one mutex.
 * Workers take the oldest job with tasks left; the caller works on its own job, then waits until
 * no worker is still inside it before returning (so the stack frame outlives every reference).
 * Claiming a task is one atomic fetch-add; the mutex is only taken to enter and leave a job.
 *
 * After fork() the child has no workers: an atfork handler resets the pool so the child starts
 * its own on first use (multiprocessing with the fork start method keeps working).
 *
 * Rejected: a work-stealing deque per thread (our jobs are flat parallel-fors of similar tasks; a
 * shared cursor balances them as well with far less code); condition variable per job (one
 * broadcast variable suffices at these job rates).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "base/internal.h"
#include "base/pool.h"

#define RV_POOL_MAX_THREADS 256u
#define RV_POOL_DEFAULT_MAX 8u

typedef struct rv_job {
    rv_task_fn fn;
    void *ctx;
    size_t ntasks;
    atomic_size_t next;
    unsigned inside; /* workers running tasks of this job; guarded by the pool mutex */
    bool detached;   /* rv_pool_submit: heap-allocated, freed by the last worker leaving it */
    struct rv_job *link;
} rv_job;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work;  /* a job was queued */
    pthread_cond_t left;  /* a worker left a job */
    rv_job *head, *tail;
    unsigned size;        /* threads including the caller; 0 = not started */
    unsigned async_extra; /* 1 if a worker was added only so rv_pool_submit has one */
} rv_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
             NULL, NULL, 0, 0};

static _Thread_local int rv_in_task;

static unsigned rv_pool_wanted_size(void)
{
    const char *env = getenv("RUVECTOR_NUM_THREADS");
    if (env && *env >= '0' && *env <= '9') { /* digits only: strtoul would take " 4" or "-18446744073709551615" */
        char *end = NULL;
        unsigned long v = strtoul(env, &end, 10);
        if (end && *end == '\0' && v >= 1 && v <= RV_POOL_MAX_THREADS)
            return (unsigned)v;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    return (unsigned)(cpus < (long)RV_POOL_DEFAULT_MAX ? cpus : (long)RV_POOL_DEFAULT_MAX);
}

static void rv_job_unlink_locked(rv_job *job)
{
    rv_job **pp = &rv_pool.head;
    rv_job *prev = NULL;
    while (*pp && *pp != job) {
        prev = *pp;
        pp = &(*pp)->link;
    }
    if (*pp) {
        *pp = job->link;
        if (rv_pool.tail == job)
            rv_pool.tail = prev;
    }
}

static void rv_job_run_tasks(rv_job *job)
{
    for (;;) {
        size_t t = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        if (t >= job->ntasks)
            return;
        job->fn(job->ctx, t);
    }
}

static void *rv_worker_main(void *arg)
{
    (void)arg;
    rv_in_task = 1;
    pthread_mutex_lock(&rv_pool.mu);
    for (;;) {
        rv_job *job = rv_pool.head;
        while (job && atomic_load_explicit(&job->next, memory_order_relaxed) >= job->ntasks) {
            rv_job *done = job;
            job = job->link;
            rv_job_unlink_locked(done);
        }
        if (!job) {
            pthread_cond_wait(&rv_pool.work, &rv_pool.mu);
            continue;
        }
        job->inside++;
        pthread_mutex_unlock(&rv_pool.mu);
        rv_job_run_tasks(job);
        pthread_mutex_lock(&rv_pool.mu);
        job->inside--;
        rv_job_unlink_locked(job);
        if (job->detached && job->inside == 0)
            rv_free(job); /* exhausted and unlinked: no one else can reach it */
        pthread_cond_broadcast(&rv_pool.left);
    }
    return NULL;
}

static void rv_pool_after_fork_child(void)
{
    pthread_mutex_init(&rv_pool.mu, NULL);
    pthread_cond_init(&rv_pool.work, NULL);
    pthread_cond_init(&rv_pool.left, NULL);
    rv_pool.head = rv_pool.tail = NULL;
    rv_pool.size = 0;
    rv_pool.async_extra = 0;
}

/* Starts the workers once; returns the pool size. Called with the mutex held. */
static unsigned rv_pool_start_locked(unsigned min_size)
{
    static int atfork_registered;
    if (rv_pool.size) {
        if (rv_pool.size < min_size) { /* a submit on a 1-thread pool: add the one worker */
            pthread_t th;
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            if (pthread_create(&th, &attr, rv_worker_main, NULL) == 0) {
                rv_pool.size++;
                rv_pool.async_extra = 1;
            }
            pthread_attr_destroy(&attr);
        }
        return rv_pool.size;
    }
    if (!atfork_registered) {
        pthread_atfork(NULL, NULL, rv_pool_after_fork_child);
        atfork_registered = 1;
    }
    unsigned want = rv_pool_wanted_size(), extra = 0;
    if (want < min_size) {
        extra = min_size - want;
        want = min_size;
    }
    unsigned started = 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (unsigned i = 1; i < want; i++) {
        pthread_t th;
        if (pthread_create(&th, &attr, rv_worker_main, NULL) != 0)
            break;
        started++;
    }
    pthread_attr_destroy(&attr);
    rv_pool.size = started;
    rv_pool.async_extra = started > extra ? extra : 0;
    return started;
}

unsigned rv_pool_size(void)
{
    pthread_mutex_lock(&rv_pool.mu);
    unsigned size = rv_pool.size ? rv_pool.size - rv_pool.async_extra : rv_pool_wanted_size();
    pthread_mutex_unlock(&rv_pool.mu);
    return size;
}

void rv_parallel_for(size_t ntasks, rv_task_fn fn, void *ctx)
{
    if (ntasks == 0)
        return;
    if (ntasks == 1 || rv_in_task) {
        for (size_t t = 0; t < ntasks; t++)
            fn(ctx, t);
        return;
    }
    rv_job job = {.fn = fn, .ctx = ctx, .ntasks = ntasks, .inside = 0, .link = NULL};
    atomic_init(&job.next, 0);

    pthread_mutex_lock(&rv_pool.mu);
    if (rv_pool_start_locked(1) - rv_pool.async_extra > 1) {
        if (rv_pool.tail)
            rv_pool.tail->link = &job;
        else
            rv_pool.head = &job;
        rv_pool.tail = &job;
        pthread_cond_broadcast(&rv_pool.work);
    }
    pthread_mutex_unlock(&rv_pool.mu);

    rv_in_task = 1;
    rv_job_run_tasks(&job);
    rv_in_task = 0;

    pthread_mutex_lock(&rv_pool.mu);
    rv_job_unlink_locked(&job);
    while (job.inside > 0)
        pthread_cond_wait(&rv_pool.left, &rv_pool.mu);
    pthread_mutex_unlock(&rv_pool.mu);
}

int rv_pool_submit(rv_task_fn fn, void *ctx)
{
    rv_job *job = rv_calloc(1, sizeof *job);
    if (!job)
        return -1;
    job->fn = fn;
    job->ctx = ctx;
    job->ntasks = 1;
    job->detached = true;
    atomic_init(&job->next, 0);
    pthread_mutex_lock(&rv_pool.mu);
    if (rv_pool_start_locked(2) < 2) {
        pthread_mutex_unlock(&rv_pool.mu);
        rv_free(job);
        return -1;
    }
    if (rv_pool.tail)
        rv_pool.tail->link = job;
    else
        rv_pool.head = job;
    rv_pool.tail = job;
    pthread_cond_broadcast(&rv_pool.work);
    pthread_mutex_unlock(&rv_pool.mu);
    return 0;
}
