/*
 * index/idmap.h — 64-bit id -> row, open addressing with linear probing.
 *
 * Slots are {key, row} pairs (16 bytes) in one power-of-two array, at most 70% full; an empty
 * slot has row == RV_IDMAP_EMPTY. Erase uses backward-shift deletion (no tombstones, so lookups
 * never degrade after many removes). Keys are mixed with the splitmix64 finalizer, so dense,
 * strided or adversarially regular ids spread evenly.
 */
#ifndef RV_INDEX_IDMAP_H
#define RV_INDEX_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ruvector/status.h"

#define RV_IDMAP_EMPTY UINT64_MAX

typedef struct rv_idmap_slot {
    int64_t key;
    uint64_t row;
} rv_idmap_slot;

typedef struct rv_idmap {
    rv_idmap_slot *slots;
    size_t mask;  /* capacity - 1; capacity 0 when slots == NULL */
    size_t count;
} rv_idmap;

void rv_idmap_init(rv_idmap *m);
void rv_idmap_free(rv_idmap *m);
/* Makes room for `extra` more keys without rehashing. Errors: NO_MEMORY. */
rv_status rv_idmap_reserve(rv_idmap *m, size_t extra);
/* Row of key, or false. */
bool rv_idmap_get(const rv_idmap *m, int64_t key, uint64_t *row);
/* Inserts key -> row after a reserve; returns false (and changes nothing) if key is present. */
bool rv_idmap_insert(rv_idmap *m, int64_t key, uint64_t row);
/* Changes the row of a present key. */
void rv_idmap_update(rv_idmap *m, int64_t key, uint64_t row);
/* Removes key; false if absent. */
bool rv_idmap_erase(rv_idmap *m, int64_t key);
size_t rv_idmap_bytes(const rv_idmap *m);

#endif
