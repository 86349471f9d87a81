/*
 * embed/safetensors.h — a validating reader for the safetensors format.
 *
 * Layout: u64le header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, ...,
 * "__metadata__": {...}}, then the data buffer. Opening checks every entry: known dtype, shape
 * product * dtype size == end - begin, offsets inside the file, and the entries tiling the buffer
 * exactly (no holes, no overlaps). Tensors are then copied out as float32 (F16/BF16 widened).
 */
#ifndef RV_EMBED_SAFETENSORS_H
#define RV_EMBED_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "ruvector/status.h"

typedef struct rv_safetensors rv_safetensors;

/* Maps and validates the file. Errors: IO, FORMAT (naming the entry), NO_MEMORY. */
rv_status rv_safetensors_open(const char *path, rv_safetensors **out);
void rv_safetensors_close(rv_safetensors *st);
/* Copies tensor `name` (an optional leading "bert.", "model." or "0.auto_model." is tried too)
 * as float32 into a new rv_alloc'ed buffer, after checking its shape is exactly dims[0..ndim).
 * Errors: FORMAT (missing, wrong shape, non-float dtype), NO_MEMORY. */
rv_status rv_safetensors_f32(const rv_safetensors *st, const char *name, const size_t *dims, size_t ndim,
                             float **out);

#endif
