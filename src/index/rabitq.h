/*
 * index/rabitq.h — the RaBitQ family's state: rotation, k-means lists, codes and factors.
 *
 * Ids and (when retained) original vectors live in the shared rv_store by global row; each list
 * holds its entries' codes (in FastScan blocks of 32) and factors contiguously (struct of
 * arrays) plus the global row of
 * each entry, and row_list/row_pos map a global row back to its list slot, so both levels can
 * swap-remove in O(1).
 */
#ifndef RV_INDEX_RABITQ_H
#define RV_INDEX_RABITQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index/rotation.h"
#include "index/store.h"
#include "ruvector/index.h"

#define RV_RABITQ_EPSILON0 3.0 /* see rabitq.c: 1.9 (the paper's, FAISS's) fails one-sided ~3% of the time */

/* One estimator's factors for one code (see rabitq.c):
 *   add   = ||o||^2 + 2 K1 <x_bar, P c>,   K1 = ||o|| / <x_bar, o_hat>
 *   scale = 2 K1 / ||v||  (v = u - (2^B - 1)/2, x_bar = v / ||v||)
 *   err   = 2 ||o|| sqrt(1 - <x_bar,o_hat>^2) / <x_bar,o_hat> * eps0 / sqrt(D - 1)
 *   lsum  = sum_i u_i */
typedef struct rv_fac {
    float add, scale, err;
    uint32_t lsum;
} rv_fac;

/* A list scans in two stages when bits > 1: the 1-bit sign codes (the top bit plane of every
 * code) in FastScan blocks with their own factors f1, for all entries; then the full B-bit
 * estimate from the packed levels `ex` for the entries the first stage's bound keeps. With
 * bits = 1 the first stage is the estimate. */
typedef struct rv_ivf_list {
    size_t n, cap;   /* cap is a multiple of 32 */
    uint8_t *sign;   /* cap / 32 FastScan blocks of the sign codes (index/fastscan.h) */
    float *f1;       /* by block of 32: the sign estimators' add[32] scale[32] err[32] lsum[32], then
                      * (bits > 1) the B-bit estimators' err[32] scale[32] for the screen */
    uint8_t *ex;     /* bits > 1: each code's levels u_i, ex_bytes per code (rv_ex_pack) */
    rv_fac *fx;      /* bits > 1: the B-bit estimator */
    uint32_t *rows;  /* global store row of each entry */
    float radius;    /* max ||x - c|| ever added: an upper bound, also after removals */
} rv_ivf_list;

typedef struct rv_rabitq {
    rv_index_kind kind;
    uint32_t dim, words; /* words: u64 per code plane */
    uint32_t bits, cwords; /* planes per code; cwords = bits x words */
    uint32_t ex_bytes;     /* bytes of packed levels per code (bits > 1) */
    uint32_t f1_rows;      /* floats per slot in a list's f1 blocks: 4, or 6 when bits > 1 */
    rv_index_params params;
    rv_rotation rot;
    uint32_t nlist;       /* 0 until the first vectors train the lists */
    float *centroids;     /* nlist x dim */
    float *centroids_rot; /* nlist x dim: P c */
    rv_ivf_list *lists;
    uint32_t *row_list, *row_pos; /* by global row; capacity row_cap */
    size_t row_cap;
} rv_rabitq;

/* Validates params for kind (ranges named in the message). Errors: INVALID_ARGUMENT. */
rv_status rv_rabitq_check_params(rv_index_kind kind, const rv_index_params *p);
/* Whether the kind keeps original vectors with these params. */
bool rv_rabitq_retains(rv_index_kind kind, const rv_index_params *p);

/* rotation: dim x dim to adopt (a loaded index), or NULL to generate it from p->seed. */
rv_status rv_rabitq_new(rv_index_kind kind, uint32_t dim, const rv_index_params *p,
                        const float *rotation, rv_rabitq **out);
void rv_rabitq_free(rv_rabitq *rq);

/* Appends n vectors: trains the lists first if there are none, encodes (on the pool, chunked,
 * reporting progress), then appends ids/originals to the store and codes to the lists. All or
 * nothing. Errors: INVALID_ARGUMENT, DUPLICATE_ID, NO_MEMORY, CANCELLED. */
rv_status rv_rabitq_add(rv_rabitq *rq, rv_store *s, const int64_t *ids, const float *x, size_t n,
                        const rv_progress *progress);
/* Errors: UNKNOWN_ID. */
rv_status rv_rabitq_remove(rv_rabitq *rq, rv_store *s, int64_t id);

/* kk best for m queries (rows of stride kk). Parallel over queries when m > 1; each row equals
 * the single-query result. A row with fewer real hits (nprobe cut the scan) is padded with
 * RV_PAD_ID / +inf; counts (m entries, may be NULL) receives each row's real count.
 * Errors: NO_MEMORY, NOT_RETAINED (rerank asked of a codes-only index). */
rv_status rv_rabitq_search(const rv_rabitq *rq, const rv_store *s, const float *q, size_t m,
                           size_t kk, const rv_search_params *sp, int64_t *ids, float *scores,
                           size_t *counts);

/* rv_index_check's RaBitQ part (see index.h). Errors: INTERNAL naming the broken invariant,
 * NO_MEMORY. */
rv_status rv_rabitq_check(const rv_rabitq *rq, const rv_store *s);

bool rv_rabitq_equal(const rv_rabitq *a, const rv_store *sa, const rv_rabitq *b, const rv_store *sb);
size_t rv_rabitq_bytes(const rv_rabitq *rq);

/* Persistence helpers (index_persist.c): codes, factors and list ids in global row order, and
 * the inverse that rebuilds the lists from them. factors holds n x 3 floats (add, scale, err)
 * of the B-bit estimator; factors1 (bits > 1 only, else NULL) the same for the sign codes. */
rv_status rv_rabitq_export_rows(const rv_rabitq *rq, size_t n, uint64_t *codes, float *factors,
                                float *factors1, uint32_t *lists);
rv_status rv_rabitq_import_rows(rv_rabitq *rq, size_t n, const uint64_t *codes, const float *factors,
                                const float *factors1, const uint32_t *lists, const float *radii);
/* Sets the trained state (centroids copied; rotated centroids recomputed). */
rv_status rv_rabitq_set_lists(rv_rabitq *rq, uint32_t nlist, const float *centroids);

#endif
