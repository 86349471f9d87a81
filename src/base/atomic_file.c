/*
 * atomic_file.c — temp file + fsync + rename + directory fsync.
 *
 * The temp file lives in the destination's directory so rename(2) is atomic (same filesystem).
 * After a crash a reader sees either the previous file or the complete new one; a stray
 * "*.tmp-XXXXXX" may remain, never a torn target.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/internal.h"

static char *rv_strdup_len(const char *s, size_t extra)
{
    size_t len = strlen(s);
    char *out = rv_alloc(len + extra + 1);
    if (out)
        memcpy(out, s, len + 1);
    return out;
}

rv_status rv_atomic_file_open(rv_atomic_file *f, const char *path)
{
    f->fd = -1;
    f->final_path = rv_strdup_len(path, 0);
    f->temp_path = rv_strdup_len(path, 12);
    if (!f->final_path || !f->temp_path) {
        rv_free(f->final_path);
        rv_free(f->temp_path);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory saving '%s'", path);
    }
    strcat(f->temp_path, ".tmp-XXXXXX");
    f->fd = mkstemp(f->temp_path);
    if (f->fd < 0) {
        int e = errno;
        rv_free(f->final_path);
        rv_free(f->temp_path);
        return rv_fail(RV_ERR_IO, "cannot create a file beside '%s': %s", path, strerror(e));
    }
    fchmod(f->fd, 0644);
    return RV_OK;
}

rv_status rv_atomic_file_write(rv_atomic_file *f, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(f->fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return rv_fail(RV_ERR_IO, "writing '%s': %s", f->final_path, strerror(errno));
        }
        p += w;
        len -= (size_t)w;
    }
    return RV_OK;
}

static void rv_fsync_parent_dir(const char *path)
{
    char *copy = rv_strdup_len(path, 0);
    if (!copy)
        return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rv_free(copy);
}

void rv_atomic_file_abort(rv_atomic_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->temp_path)
        unlink(f->temp_path);
    rv_free(f->temp_path);
    rv_free(f->final_path);
    f->temp_path = f->final_path = NULL;
}

rv_status rv_atomic_file_commit(rv_atomic_file *f)
{
    if (fsync(f->fd) != 0) {
        rv_status st = rv_fail(RV_ERR_IO, "fsync of '%s': %s", f->final_path, strerror(errno));
        rv_atomic_file_abort(f);
        return st;
    }
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) {
        rv_status st = rv_fail(RV_ERR_IO, "closing '%s': %s", f->final_path, strerror(errno));
        rv_atomic_file_abort(f);
        return st;
    }
    if (rename(f->temp_path, f->final_path) != 0) {
        rv_status st = rv_fail(RV_ERR_IO, "renaming onto '%s': %s", f->final_path, strerror(errno));
        rv_atomic_file_abort(f);
        return st;
    }
    rv_fsync_parent_dir(f->final_path);
    rv_free(f->temp_path);
    rv_free(f->final_path);
    f->temp_path = f->final_path = NULL;
    return RV_OK;
}
