/*
 * lake/lake_internal.h — what the RuLake files share.
 */
#ifndef RV_LAKE_INTERNAL_H
#define RV_LAKE_INTERNAL_H

#include "base/internal.h"
#include "base/strmap.h"
#include "ruvector/lake.h"

#define RV_BUNDLE_FILE "table.rulake.json"
#define RV_ENTRY_INDEX_FILE "index.rvx"
#define RV_BUNDLE_MAX_BYTES 65536u
#define RV_BUNDLE_MAX_FIELD 4096u

/* Hex SHA-256 of a whole file. Errors: IO, INTERNAL. */
rv_status rv_sha256_file(const char *path, char out[65]);
/* mkdir -p. Errors: IO. */
rv_status rv_mkdirs(const char *dir);
/* Checks a pulled batch: dims and counts within upstream's caps, every value finite. Errors:
 * BACKEND naming the backend and collection. */
rv_status rv_pulled_check(const rv_pulled *p, const char *backend, const char *collection);

/* Backend calls with validation (backend.c): ident must carry a data_ref; pulls are checked
 * with rv_pulled_check. */
rv_status rv_backend_ident(rv_backend *b, const char *collection, rv_ident *out);
rv_status rv_backend_pull(rv_backend *b, const char *collection, rv_pulled *out);
rv_status rv_backend_holds(rv_backend *b, const char *collection, bool *out);
/* The backend's changes since *since, validated as a pull (*known false, nothing owned, when the
 * backend has no changes callback or cannot say). */
/* Whether the backend has a changes callback at all. */
bool rv_backend_tells_changes(const rv_backend *b);
rv_status rv_backend_changes(rv_backend *b, const char *collection, const rv_ident *since, rv_changes *out,
                             bool *known);
/* A fresh random 64-bit value (getrandom; falls back to time and address bits). */
uint64_t rv_random_u64(void);

#endif
