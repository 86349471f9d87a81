/*
 * index/rotation.h — the seeded random orthogonal rotation of the RaBitQ indexes.
 */
#ifndef RV_INDEX_ROTATION_H
#define RV_INDEX_ROTATION_H

#include <stddef.h>
#include <stdint.h>

#include "ruvector/status.h"

typedef struct rv_rotation {
    uint32_t dim;
    float *m; /* dim x dim row-major; rows orthonormal */
} rv_rotation;

/* A Haar-distributed rotation from `seed`: Gaussian matrix (rv_rng), rows orthonormalised by
 * modified Gram-Schmidt in double precision, rounded to float. Errors: NO_MEMORY. */
rv_status rv_rotation_haar(rv_rotation *r, uint32_t dim, uint64_t seed);
void rv_rotation_free(rv_rotation *r);
/* out = P x with the dot kernel, row by row (bit-identical across kernel sets). */
void rv_rotation_apply(const rv_rotation *r, const float *x, float *out);
/* out[i] = P x[i] for n row-major vectors, as one GEMM on the pool (each row's result is
 * independent of the others and of the thread count). Errors: NO_MEMORY. */
rv_status rv_rotation_apply_batch(const rv_rotation *r, const float *x, size_t n, float *out);

#endif
