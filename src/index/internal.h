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

#include "index/store.h"
#include "ruvector/index.h"

#define RV_INDEX_FILE_KIND RV_FOURCC('I', 'D', 'X', '1')
#define RV_INDEX_FILE_VERSION 1u

struct rv_index {
    rv_index_kind kind;
    uint32_t dim;
    pthread_rwlock_t lock;
    atomic_size_t len;
    atomic_uint_fast64_t generation;
    atomic_size_t pins;
    rv_store store;
};

/* Allocates an empty handle (no locking needed yet). Errors: INVALID_ARGUMENT, NO_MEMORY. */
rv_status rv_index_new(rv_index_kind kind, uint32_t dim, rv_index **out);

#endif
