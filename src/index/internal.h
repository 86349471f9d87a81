/*
 * index/internal.h — the rv_index handle shared by every variant.
 *
 * Locking: `lock` is a readers/writer lock; searches, gets and saves read, add/remove write.
 * `len` and `generation` are atomics so len() and iterators never wait. `pins` counts exported
 * views of the vector storage: incremented under the read lock, checked under the write lock, so
 * no mutation can move or change pinned rows.
 */
#ifndef RV_INDEX_INTERNAL_H
#define RV_INDEX_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "index/rabitq.h"
#include "index/store.h"
#include "ruvector/index.h"

#define RV_INDEX_FILE_KIND RV_FOURCC('I', 'D', 'X', '1')
#define RV_INDEX_FILE_VERSION 2u /* 2: FAC1 (sign-code factors) */

struct rv_index {
    rv_index_kind kind;
    uint32_t dim;
    pthread_rwlock_t lock;
    atomic_size_t len;
    atomic_uint_fast64_t generation;
    atomic_size_t pins;
    atomic_uint refs;   /* rv_index_retain / rv_index_release */
    atomic_bool frozen; /* rv_index_freeze: add/remove refused */
    rv_index_params params;
    rv_store store;
    rv_rabitq *rq; /* NULL for FLAT_F32 */
};

/* rv_index_create (index.h), adopting a stored rotation (dim x dim) instead of generating one
 * from the seed when rotation is not NULL (loading: generating costs O(dim^3)).
 * Errors: INVALID_ARGUMENT, NO_MEMORY. */
rv_status rv_index_create_ex(rv_index_kind kind, uint32_t dim, const rv_index_params *params,
                             const float *rotation, rv_index **out);
/* Publishes len and bumps the generation after a mutation. Caller holds the write lock. */
void rv_index_mutated(rv_index *idx);
/* Reads an upstream ruvector-rabitq "rbpx0001" file into a RABITQ_PLUS index (rbpx_import.c). */
rv_status rv_rbpx_load(const char *path, rv_index **out);

#endif
