/*
 * base/atomic_file.h — write a file so readers see the old one or the whole new one, never half.
 */
#ifndef RV_BASE_ATOMIC_FILE_H
#define RV_BASE_ATOMIC_FILE_H

#include <stddef.h>

#include "ruvector/status.h"

typedef struct rv_atomic_file {
    int fd;
    char *final_path;
    char *temp_path;
} rv_atomic_file;

/* Creates "<path>.tmp-XXXXXX" beside path. Errors: IO (message names the path and errno). */
rv_status rv_atomic_file_open(rv_atomic_file *f, const char *path);
/* Writes all of buf (retrying short writes and EINTR). Errors: IO. */
rv_status rv_atomic_file_write(rv_atomic_file *f, const void *buf, size_t len);
/* fsync, close, rename over path, fsync the directory. On error the temp file is removed. */
rv_status rv_atomic_file_commit(rv_atomic_file *f);
/* Closes and removes the temp file; safe after a failed write. */
void rv_atomic_file_abort(rv_atomic_file *f);

#endif
