/*
 * ruvector/index.h — vector indexes behind one opaque handle.
 *
 * An rv_index maps 64-bit ids to vectors of a fixed dimension and answers k-nearest-neighbour
 * queries by squared L2 distance, ascending, ties broken by id ascending. The variant (flat f32,
 * or one of the RaBitQ family) is chosen at creation and recorded in saved files.
 *
 * Threading: every function is safe to call concurrently on the same handle. Searches share a
 * read lock; add/remove take the write lock. The release of the last holder must not race
 * other calls.
 * Ownership: input arrays are borrowed for the duration of the call; outputs go to caller
 * buffers or come with their own destructor.
 */
#ifndef RUVECTOR_INDEX_H
#define RUVECTOR_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ruvector/base.h"
#include "ruvector/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RV_INDEX_MIN_DIM 1u
#define RV_INDEX_MAX_DIM 65536u

typedef enum rv_index_kind {
    RV_INDEX_FLAT_F32 = 1,     /* originals only, exact brute force */
    RV_INDEX_RABITQ = 2,       /* 1-bit RaBitQ codes + factors only; estimated distances */
    RV_INDEX_RABITQ_PLUS = 3,  /* codes + originals; exact rerank of the best estimates */
    RV_INDEX_RABITQ_ASYM = 4   /* codes, 8-bit query; originals and exact rerank when rf > 1 */
} rv_index_kind;

/* Every tunable as DEFAULT / MIN / MAX (rv_index_params_default uses the defaults). */
#define RV_RERANK_FACTOR_MIN 1u
#define RV_RERANK_FACTOR_MAX 1024u
#define RV_RERANK_FACTOR_DEFAULT_PLUS 20u /* RabitqPlus: recall@10 1.0 at D = 128 (BENCHMARKS.md) */
#define RV_RERANK_FACTOR_DEFAULT 1u       /* the other kinds: no rerank */
#define RV_CODE_BITS_MIN 1u
#define RV_CODE_BITS_MAX 8u
#define RV_CODE_BITS_DEFAULT 4u        /* Plus and Asym: Extended RaBitQ 4-bit codes */
#define RV_CODE_BITS_DEFAULT_RABITQ 1u /* RabitqIndex: the 1-bit minimum */
#define RV_QUERY_BITS_MIN 1u
#define RV_QUERY_BITS_MAX 8u
#define RV_QUERY_BITS_DEFAULT 8u
#define RV_NLIST_MIN 0u /* 0: about sqrt(n), chosen at build */
#define RV_NLIST_MAX 65536u
#define RV_NLIST_DEFAULT 0u

/* Build parameters. Start from rv_index_params_default(kind) and change what you need.
 * Ignored by FLAT_F32. */
typedef struct rv_index_params {
    uint64_t seed;          /* rotation and k-means seed */
    uint32_t rerank_factor; /* candidates = k x rerank_factor (1..RV_RERANK_FACTOR_MAX) */
    uint32_t query_bits;    /* bits per rotated query coordinate in the code scan (1..8) */
    uint32_t nlist;         /* k-means lists; 0 = about sqrt(n) at build */
    uint32_t bits;          /* bits per code coordinate: 1 = RaBitQ, 2..8 = Extended RaBitQ */
} rv_index_params;

/* Per-search overrides; zero fields keep the index's setting. */
typedef struct rv_search_params {
    uint32_t rerank_factor; /* 0 = the index's */
    uint32_t nprobe;        /* max lists visited; 0 = as many as the error bound requires */
    /* NULL: none. For m > 1, called on the calling thread between chunks of queries (see
     * RV_SEARCH_CHUNK_OPS below) with (queries done, m); non-zero cancels the search (CANCELLED). */
    const rv_progress *progress;
} rv_search_params;

/* The id of an unused result slot; its score is +inf. */
#define RV_PAD_ID (-1)

/* A batch search is cut into chunks so cancellation (Ctrl-C) is seen within about a second;
 * every row's result is the same whatever the chunking. A chunk is about RV_SEARCH_CHUNK_OPS
 * distance-coordinate operations (queries x n x dim), and at least RV_SEARCH_CHUNK_MIN queries.
 * The flat index's batch (a GEMM that packs the whole data matrix once per call) takes chunks
 * 16x larger: at 256 queries a chunk, repacking cost it 13-21% of its throughput (measured at
 * 100k x 128 and 20k x 768); at >= 4096 queries it stays within noise. */
#define RV_SEARCH_CHUNK_OPS (1ull << 29)
#define RV_SEARCH_CHUNK_MIN 256u
#define RV_SEARCH_CHUNK_FLAT_SCALE 16u

/* The defaults of a kind: seed 0, query_bits 8, nlist auto; RABITQ: 1-bit codes, rerank 1;
 * RABITQ_PLUS: 4-bit codes, rerank 20; RABITQ_ASYM: 4-bit codes, rerank 1. */
rv_index_params rv_index_params_default(rv_index_kind kind);

typedef struct rv_index rv_index;

/* Creates an empty index of dimension dim (1..RV_INDEX_MAX_DIM); params NULL = defaults.
 * A RaBitQ index created empty trains its lists on its first add. *out holds the one reference;
 * drop it with rv_index_release. Errors: INVALID_ARGUMENT, NO_MEMORY. */
rv_status rv_index_create(rv_index_kind kind, uint32_t dim, const rv_index_params *params,
                          rv_index **out);

/* The parameters the index was built with. */
rv_index_params rv_index_params_of(const rv_index *idx);

/* An index is reference counted (a cache and its searches share it): rv_index_retain adds a
 * holder, rv_index_release drops one and frees the index and everything it owns with the last
 * (NULL is a no-op). rv_index_freeze makes add/remove fail with BUSY from then on (for indexes
 * shared by a cache); it cannot be undone. Never fail. */
void rv_index_retain(rv_index *idx);
void rv_index_release(rv_index *idx);
void rv_index_freeze(rv_index *idx);
bool rv_index_frozen(const rv_index *idx);

/* Builds an index from n row-major vectors of dimension dim; params NULL = defaults. ids may
 * be NULL (ids 0..n-1). The result depends only on (kind, params, vectors, ids), never on the
 * thread count. Errors: INVALID_ARGUMENT (dim or a parameter out of range, non-finite value:
 * the message names row and column), DUPLICATE_ID, NO_MEMORY, CANCELLED. On error *out is
 * untouched. */
rv_status rv_index_build(rv_index_kind kind, uint32_t dim, const rv_index_params *params,
                         const float *vectors, const int64_t *ids, size_t n,
                         const rv_progress *progress, rv_index **out);

/* Appends n vectors (row-major, dimension dim) with the given ids. All or nothing: on any error
 * the index is unchanged. Errors: DIMENSION_MISMATCH, INVALID_ARGUMENT (non-finite value),
 * DUPLICATE_ID (already present, or twice in the batch), BUSY (storage pinned), NO_MEMORY,
 * CANCELLED. */
rv_status rv_index_add(rv_index *idx, const int64_t *ids, const float *vectors, size_t n,
                       uint32_t dim, const rv_progress *progress);

/* Removes id in O(1) (the last row moves into its slot). Errors: UNKNOWN_ID, BUSY. */
rv_status rv_index_remove(rv_index *idx, int64_t id);

/* Searches m row-major queries of dimension dim for their k nearest neighbours. Writes
 * kk = min(k, len) results per query, rows of stride kk, into ids_out and scores_out, which
 * must hold m * min(k, out_cap_per_query) entries; out_cap_per_query bounds kk from above so
 * a concurrent add cannot overflow the caller's buffers. *k_out receives kk. params may be NULL.
 * Every slot is written: a row with fewer than kk real hits (a RaBitQ search whose nprobe cut
 * the scan short) is padded with RV_PAD_ID / +inf, and counts_out (m entries, or NULL)
 * receives each row's number of real hits. Ids are any int64, -1 included: use the count, not
 * the pad id, to tell real hits from padding.
 * Scores are exact squared L2 (FLAT, PLUS, ASYM with rerank) or RaBitQ estimates clamped at 0.
 * m > 1 runs in parallel on the worker pool; each row equals the m = 1 result for that query.
 * Errors: INVALID_ARGUMENT (k = 0, a parameter out of range, non-finite query),
 * DIMENSION_MISMATCH, EMPTY_INDEX, NO_MEMORY, CANCELLED (params->progress asked; the rows not
 * reached are unspecified). */
rv_status rv_index_search(const rv_index *idx, const float *queries, size_t m, uint32_t dim,
                          size_t k, const rv_search_params *params, size_t out_cap_per_query,
                          int64_t *ids_out, float *scores_out, size_t *counts_out, size_t *k_out);

/* Copies the stored vector of id into out[dim]. Errors: UNKNOWN_ID, NOT_RETAINED (an index
 * that keeps codes only). */
rv_status rv_index_get(const rv_index *idx, int64_t id, float *out);

/* True when the index holds id. */
bool rv_index_contains(const rv_index *idx, int64_t id);

/* Reads row `row` (0 <= row < len) as seen by an iterator that started at `generation`:
 * its id into *id_out and, if vec_out is not NULL, its vector. Errors: CHANGED (the index was
 * mutated since), INVALID_ARGUMENT (row out of range), NOT_RETAINED. */
rv_status rv_index_row(const rv_index *idx, uint64_t generation, size_t row, int64_t *id_out,
                       float *vec_out);

/* Pins the vector storage so it cannot move or change, and returns a borrowed pointer to the
 * (len, dim) row-major matrix and its row count. Mutations fail with BUSY until every pin is
 * released with rv_index_unpin. Errors: NOT_RETAINED. */
rv_status rv_index_pin(rv_index *idx, const float **vectors, size_t *rows);
void rv_index_unpin(rv_index *idx);

/* The variant, dimension, vector count (a lock-free snapshot) and mutation counter (bumps on
 * every add/remove). Never fail. */
rv_index_kind rv_index_kind_of(const rv_index *idx);
uint32_t rv_index_dim(const rv_index *idx);
uint32_t rv_index_nlist(const rv_index *idx); /* RaBitQ lists; 0 for FLAT or before training */
size_t rv_index_len(const rv_index *idx);
uint64_t rv_index_generation(const rv_index *idx);
/* Every heap byte the index owns: storage at capacity, id map, the handle itself. */
size_t rv_index_memory_bytes(const rv_index *idx);

/* Structural equality: same kind, dim and parameters, same set of ids, and bit-identical vectors
 * (and codes) per id. Row order does not matter. */
bool rv_index_equal(const rv_index *a, const rv_index *b);

/* Verifies the index's internal invariants (Redis's hnsw_validate_graph idea), for tests, fuzz
 * targets and users who suspect a bug: the id map against the ids, retained vectors finite with
 * matching cached norms; for RaBitQ, each list slot's row against the row maps, list sizes
 * against the row count, zero code bits past the dimension and zero padding nibbles, finite
 * factors (err >= 0) and centroids, levels within the code width, and every retained vector
 * within its list's radius (the bound searches prune with). O(n dim). Read lock.
 * Errors: INTERNAL naming the first broken invariant, NO_MEMORY. */
rv_status rv_index_check(const rv_index *idx);

/* Saves atomically (temp file in the same directory, fsync, rename, fsync of the directory).
 * Errors: IO. */
rv_status rv_index_save(const rv_index *idx, const char *path);

/* Loads a file written by rv_index_save, or an upstream ruvector-rabitq "rbpx0001" v1 file (as a
 * RABITQ_PLUS index rebuilt from its vectors and seed). Every length and offset is checked
 * against the file before use and every section against its checksum. Errors: IO, FORMAT,
 * NO_MEMORY. */
rv_status rv_index_load(const char *path, rv_index **out);

/* ---- cache updates (RuLake) ------------------------------------------------------------ */

/* Brings an index (frozen or not) up to date with a backend's change set, under one hold of the
 * write lock: removes every id of removed[] it holds (absent ones are ignored), then inserts
 * ids[i] with vectors row i, replacing an id it holds. Concurrent searches see the index before
 * or after, never between. Checks dim, finiteness and duplicates in ids first (then nothing
 * changed). *damaged is set when a later failure (NO_MEMORY) left the removals applied but not
 * the inserts: the caller must stop serving the index. Errors: DIMENSION_MISMATCH,
 * INVALID_ARGUMENT, DUPLICATE_ID, BUSY (pinned vectors), NO_MEMORY. */
rv_status rv_index_apply_changes(rv_index *idx, const int64_t *removed, size_t nremoved, const int64_t *ids,
                                 const float *vectors, size_t n, uint32_t dim, bool *damaged);

#ifdef __cplusplus
}
#endif
#endif
