/*
 * base/strmap.h — a string -> pointer hash map (chained, power-of-two buckets, XXH3 hashes).
 * Not thread-safe; callers lock.
 */
#ifndef RV_BASE_STRMAP_H
#define RV_BASE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "ruvector/status.h"

/* A string -> pointer hash map (chained, power-of-two buckets, XXH3). Keys are copied. */
typedef struct rv_strmap_node {
    struct rv_strmap_node *next;
    uint64_t hash;
    size_t key_len;
    void *value;
    char key[];
} rv_strmap_node;

typedef struct rv_strmap {
    rv_strmap_node **buckets;
    size_t nbuckets, count;
} rv_strmap;

void rv_strmap_free(rv_strmap *m);
/* The value for key (key_len bytes, may contain NULs), or NULL. */
void *rv_strmap_get(const rv_strmap *m, const char *key, size_t key_len);
/* Inserts or replaces. Errors: NO_MEMORY. */
rv_status rv_strmap_put(rv_strmap *m, const char *key, size_t key_len, void *value);
/* Removes key; returns its value or NULL. */
void *rv_strmap_del(rv_strmap *m, const char *key, size_t key_len);
/* Calls fn for every entry (no mutation during the walk). */
void rv_strmap_each(const rv_strmap *m, void (*fn)(void *ctx, const char *key, size_t key_len, void *value),
                    void *ctx);

#endif
