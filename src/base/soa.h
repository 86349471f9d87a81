/*
 * base/soa.h — growing struct-of-arrays slabs: several parallel arrays (one per column: ids,
 * vectors, norms, ...) that hold the same rows and must grow together, all or nothing.
 *
 * rv_soa_grow gives every column a fresh rv_alloc'ed array (64-byte aligned, so a vector
 * column can be exported to NumPy as one C-contiguous matrix) of cap rows, copies the first n
 * rows and frees the old arrays — or, when any size overflows or any allocation fails, frees
 * what it allocated and changes nothing, so a failed grow never leaves one column longer than
 * another. It sets no error message: the caller names what it was growing.
 *
 * The growth policy (1.5x, doubling, the first capacity) stays with the caller: it decides how
 * many bytes an index or collection reports, which the lake's byte cap and users see.
 * Columns are passed by value and handed back (not as void ** into the caller's struct, which
 * would read an int64_t * through a void * lvalue). Rejected: realloc per column — it is not
 * aligned, and a failure after the first column would leave the columns at different
 * capacities. Not thread-safe (callers own the slab).
 */
#ifndef RV_BASE_SOA_H
#define RV_BASE_SOA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rv_soa_col {
    void *data;  /* the column's array (NULL while empty); the grown one on success */
    size_t elem; /* bytes per row */
} rv_soa_col;

/* Grows ncols (<= RV_SOA_MAX_COLS) columns holding n rows to cap rows (cap >= n): on success
 * each cols[c].data is the new array (the old one is freed) for the caller to store back.
 * False on overflow or no memory, with every column untouched. */
#define RV_SOA_MAX_COLS 8u
bool rv_soa_grow(rv_soa_col *cols, size_t ncols, size_t n, size_t cap);

#endif
