/* The worker pool: every task runs exactly once, concurrent callers do not mix, nesting works. */
#include <pthread.h>
#include <stdatomic.h>

#include "base/internal.h"
#include "base/pool.h"
#include "check.h"

typedef struct {
    atomic_int *hits;
    atomic_long sum;
} count_ctx;

static void count_task(void *ctx, size_t t)
{
    count_ctx *c = ctx;
    atomic_fetch_add(&c->hits[t], 1);
    atomic_fetch_add(&c->sum, (long)t);
}

static void nested_task(void *ctx, size_t t)
{
    (void)t;
    count_ctx inner = {ctx, 0};
    rv_parallel_for(8, count_task, &inner);
}

static void *caller_thread(void *arg)
{
    int *ok = arg;
    for (int round = 0; round < 50; round++) {
        atomic_int hits[97];
        for (int i = 0; i < 97; i++)
            atomic_init(&hits[i], 0);
        count_ctx c = {hits, 0};
        rv_parallel_for(97, count_task, &c);
        for (int i = 0; i < 97; i++)
            if (atomic_load(&hits[i]) != 1)
                *ok = 0;
        if (atomic_load(&c.sum) != 97 * 96 / 2)
            *ok = 0;
    }
    return NULL;
}

void test_pool(void)
{
    CHECK(rv_pool_size() >= 1);
    pthread_t th[4];
    int ok[4] = {1, 1, 1, 1};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, caller_thread, &ok[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(ok[i]);
    }
    atomic_int hits[8];
    for (int i = 0; i < 8; i++)
        atomic_init(&hits[i], 0);
    rv_parallel_for(5, nested_task, hits);
    for (int i = 0; i < 8; i++)
        CHECK(atomic_load(&hits[i]) == 5);
    rv_parallel_for(0, count_task, NULL); /* no tasks: no call */
}
