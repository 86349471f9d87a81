/*
 * lake/table.h — one collection's rows held by a backend: ids, vectors and an id -> row map,
 * with insert-or-replace and delete (swap-remove). Not thread-safe (backends lock around it).
 */
#ifndef RV_LAKE_TABLE_H
#define RV_LAKE_TABLE_H

#include "index/idmap.h"
#include "lake/lake_internal.h"

/* A bounded log of the ids each write touched, so a backend can tell a cache what changed since
 * one of its generations (then the cache updates its index instead of pulling everything). One
 * record per write: the generation the write produced (num, or text for opaque generations) and
 * the ids it upserted or deleted. At most RV_CHANGELOG_MAX_IDS ids and RV_CHANGELOG_MAX_WRITES
 * records are kept (ruvector/lake.h); the oldest go first, and a generation whose record went
 * is answered "not known" (the cache then pulls). Not thread-safe (backends lock around it). */

typedef struct rv_changelog_rec {
    uint64_t num;
    char *text; /* NULL for numeric generations */
    size_t first, count; /* the write's ids: ids[first .. first + count) */
} rv_changelog_rec;

typedef struct rv_changelog {
    rv_changelog_rec *recs;
    size_t nrecs, recs_cap;
    int64_t *ids;
    size_t nids, ids_cap;
} rv_changelog;

void rv_changelog_free(rv_changelog *log);
/* Records a write that produced generation (num, text) touching ids[0..n). Never fails: when
 * memory runs out, or the write alone exceeds the bound, older history is forgotten instead. */
void rv_changelog_note(rv_changelog *log, uint64_t num, const char *text, const int64_t *ids, size_t n);
/* The ids touched by writes after the one that produced (num, text), each once, in *ids (rv_free;
 * NULL when none). *known is false when that generation is not in the log. Errors: NO_MEMORY. */
rv_status rv_changelog_since(const rv_changelog *log, uint64_t num, const char *text, int64_t **ids, size_t *n,
                             bool *known);
/* The last record, or NULL. */
const rv_changelog_rec *rv_changelog_last(const rv_changelog *log);

typedef struct rv_table {
    uint32_t dim;
    size_t n, cap;
    int64_t *ids;
    float *vecs;
    rv_idmap map;
    uint64_t generation;
    rv_changelog log; /* LocalBackend's history of writes (FsBackend keeps its own per file) */
} rv_table;

void rv_table_init(rv_table *t, uint32_t dim);
void rv_table_free(rv_table *t);
/* Inserts or replaces rows by id (later duplicates in the batch win). Checks dim and finiteness
 * first, so a failed call changes nothing. Errors: DIMENSION_MISMATCH, INVALID_ARGUMENT,
 * NO_MEMORY. */
rv_status rv_table_upsert(rv_table *t, const int64_t *ids, const float *vecs, size_t n, uint32_t dim);
/* DUPLICATE_ID naming the first id that is twice in ids[0..n) (as an index build refuses them),
 * else OK. Errors: DUPLICATE_ID, NO_MEMORY. */
rv_status rv_ids_unique(const int64_t *ids, size_t n);
/* Removes the ids present; returns how many. */
size_t rv_table_delete(rv_table *t, const int64_t *ids, size_t n);
/* The current state of the touched ids as a change set: those held go to out->ids/vectors,
 * the others to out->removed (out->at is left to the caller). Errors: NO_MEMORY. */
rv_status rv_table_changes(const rv_table *t, const int64_t *touched, size_t n, rv_changes *out);
/* Copies the rows into a pulled batch. Errors: NO_MEMORY. */
rv_status rv_table_copy_out(const rv_table *t, rv_pulled *out);

#endif
