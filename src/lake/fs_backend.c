/*
 * fs_backend.c — FsBackend: one upstream "ruvec1" file per collection, named by the collection,
 * in a root directory.
 *
 * Layout (little-endian): "ruvec1\0\0", count u64, dim u32, reserved u32, then count x (id u64,
 * dim x f32); trailing bytes ignored, as upstream. We write a random non-zero nonce into the
 * reserved word (upstream writes 0 and ignores it on read).
 *
 * Identity: data_ref "file://" + the canonical root + "/" + collection; generation (opaque) =
 * inode, mtime in ns, size and the nonce, all read from one open file — so every write, even
 * two in the same second or a rewrite that reuses an inode, gives a new witness (upstream used
 * mtime seconds and missed same-second rewrites).
 *
 * Writes are read-modify-write of the whole file, atomic (temp file, fsync, rename, fsync dir),
 * serialized within the process by a mutex; writers in other processes are not coordinated.
 * Each write is logged (the ids it touched, under the generation of the file it produced), so
 * changes() can tell a cache what changed since one of this process's writes while the file is
 * still the one our last write produced; otherwise it answers "not known" and the lake pulls.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/rng.h"
#include "lake/table.h"

#define RV_RUVEC1_MAGIC "ruvec1\0\0"
#define RV_RUVEC1_HEADER 24u

typedef struct rv_fsb {
    pthread_mutex_t write_lock;
    char *root; /* canonical */
    char *name;
    rv_strmap logs; /* collection -> rv_changelog* of this process's writes (under write_lock) */
} rv_fsb;

rv_status rv_fsb_check_name(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 255)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "a collection file name must be 1..255 bytes, not %zu", len);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "'%s' is not a valid collection file name", name);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ':')
            return rv_fail(RV_ERR_INVALID_ARGUMENT, "collection file name '%s' contains a forbidden "
                           "character (byte 0x%02x at %zu; '/', '\\', ':' and control bytes are refused)",
                           name, c, i);
    }
    if (name[0] == '.')
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "collection file name '%s' may not start with '.' "
                       "(reserved for temporary files)", name);
    return RV_OK;
}

static void rv_fsb_free_log(void *ctx, const char *key, size_t len, void *value)
{
    (void)ctx, (void)key, (void)len;
    rv_changelog_free(value);
    rv_free(value);
}

static void rv_fsb_destroy(void *self)
{
    rv_fsb *f = self;
    rv_strmap_each(&f->logs, rv_fsb_free_log, NULL);
    rv_strmap_free(&f->logs);
    pthread_mutex_destroy(&f->write_lock);
    rv_free(f->root);
    rv_free(f->name);
    rv_free(f);
}

static uint64_t rv_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t rv_le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static rv_status rv_read_full(int fd, void *buf, size_t len, const char *path)
{
    unsigned char *p = buf;
    while (len) {
        ssize_t r = read(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return rv_fail(RV_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
        if (r == 0)
            return rv_fail(RV_ERR_BACKEND, "'%s' is truncated", path);
        p += r;
        len -= (size_t)r;
    }
    return RV_OK;
}

typedef struct rv_ruvec1 {
    uint64_t count;
    uint32_t dim, nonce;
    struct stat sb;
} rv_ruvec1;

/* Opens path and validates its header against the file size. *fd_out open on success. */
static rv_status rv_ruvec1_open(const char *path, bool missing_is_lake, const char *backend,
                                const char *collection, int *fd_out, rv_ruvec1 *h)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && missing_is_lake)
            return rv_fail(RV_ERR_LAKE, "backend '%s' has no collection '%s'", backend, collection);
        return rv_fail(RV_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    }
    unsigned char hdr[RV_RUVEC1_HEADER];
    rv_status st = RV_OK;
    if (fstat(fd, &h->sb) != 0)
        st = rv_fail(RV_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
    else if (!S_ISREG(h->sb.st_mode))
        st = rv_fail(RV_ERR_BACKEND, "'%s' is not a regular file", path);
    else if ((size_t)h->sb.st_size < RV_RUVEC1_HEADER)
        st = rv_fail(RV_ERR_BACKEND, "'%s' is %lld bytes, shorter than a ruvec1 header", path,
                     (long long)h->sb.st_size);
    else if ((st = rv_read_full(fd, hdr, sizeof hdr, path)) == RV_OK) {
        h->count = rv_le64(hdr + 8);
        h->dim = rv_le32(hdr + 16);
        h->nonce = rv_le32(hdr + 20);
        uint64_t row = 8 + 4 * (uint64_t)h->dim;
        if (memcmp(hdr, RV_RUVEC1_MAGIC, 8) != 0)
            st = rv_fail(RV_ERR_BACKEND, "'%s' is not a ruvec1 file (bad magic)", path);
        else if (h->dim == 0 || h->dim > RV_LAKE_MAX_DIM)
            st = rv_fail(RV_ERR_BACKEND, "'%s' has dim %u (must be 1..%u)", path, h->dim, RV_LAKE_MAX_DIM);
        else if (h->count > RV_LAKE_MAX_VECTORS)
            st = rv_fail(RV_ERR_BACKEND, "'%s' claims %" PRIu64 " vectors (cap %u)", path, h->count,
                         RV_LAKE_MAX_VECTORS);
        else if ((uint64_t)h->sb.st_size - RV_RUVEC1_HEADER < h->count * row)
            st = rv_fail(RV_ERR_BACKEND, "'%s' is truncated: %" PRIu64 " rows of dim %u need %" PRIu64
                         " bytes, the file has %lld", path, h->count, h->dim,
                         RV_RUVEC1_HEADER + h->count * row, (long long)h->sb.st_size);
    }
    if (st != RV_OK) {
        close(fd);
        return st;
    }
    *fd_out = fd;
    return RV_OK;
}

static rv_status rv_ruvec1_read_rows(int fd, const char *path, const rv_ruvec1 *h, rv_pulled *out)
{
    size_t n = (size_t)h->count, row = 8 + 4 * (size_t)h->dim;
    out->ids = rv_alloc((n ? n : 1) * sizeof(int64_t));
    out->vectors = rv_alloc((n ? n : 1) * h->dim * sizeof(float));
    unsigned char *buf = rv_alloc(row * 1024);
    rv_status st = RV_OK;
    if (!out->ids || !out->vectors || !buf)
        st = rv_fail(RV_ERR_NO_MEMORY, "out of memory reading %zu rows of '%s'", n, path);
    for (size_t i = 0; st == RV_OK && i < n; i += 1024) {
        size_t cnt = rv_min(1024, n - i);
        if ((st = rv_read_full(fd, buf, cnt * row, path)) != RV_OK)
            break;
        for (size_t r = 0; r < cnt; r++) {
            out->ids[i + r] = (int64_t)rv_le64(buf + r * row); /* u64 ids keep their bits */
            memcpy(out->vectors + (i + r) * h->dim, buf + r * row + 8, 4 * (size_t)h->dim);
        }
    }
    rv_free(buf);
    if (st == RV_OK) {
        out->n = n;
        out->dim = h->dim;
    } else {
        rv_pulled_clear(out);
    }
    return st;
}

/* The opaque generation of an opened file. */
static void rv_ruvec1_gen(const rv_ruvec1 *h, char *out, size_t cap)
{
    snprintf(out, cap, "ino%llu-m%lld.%09ld-s%lld-n%08x", (unsigned long long)h->sb.st_ino,
             (long long)h->sb.st_mtim.tv_sec, (long)h->sb.st_mtim.tv_nsec, (long long)h->sb.st_size, h->nonce);
}

static char *rv_fsb_path(const rv_fsb *f, const char *collection, rv_status *st)
{
    if ((*st = rv_fsb_check_name(collection)) != RV_OK)
        return NULL;
    char *p = rv_path_join(f->root, collection);
    if (!p)
        *st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    return p;
}

static rv_status rv_fsb_ident(void *self, const char *collection, rv_ident *out)
{
    rv_fsb *f = self;
    rv_status st;
    char *path = rv_fsb_path(f, collection, &st);
    int fd = -1;
    rv_ruvec1 h;
    if (path && (st = rv_ruvec1_open(path, true, f->name, collection, &fd, &h)) == RV_OK) {
        close(fd);
        size_t len = strlen(path) + 8;
        out->data_ref = rv_alloc(len);
        out->text = rv_alloc(128);
        if (!out->data_ref || !out->text) {
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        } else {
            snprintf(out->data_ref, len, "file://%s", path);
            rv_ruvec1_gen(&h, out->text, 128);
            out->opaque = true;
            out->dim = h.dim;
        }
    }
    rv_free(path);
    return st;
}

static rv_status rv_fsb_pull(void *self, const char *collection, rv_pulled *out)
{
    rv_fsb *f = self;
    rv_status st;
    char *path = rv_fsb_path(f, collection, &st);
    int fd = -1;
    rv_ruvec1 h;
    if (path && (st = rv_ruvec1_open(path, true, f->name, collection, &fd, &h)) == RV_OK) {
        st = rv_ruvec1_read_rows(fd, path, &h, out);
        close(fd);
    }
    rv_free(path);
    return st;
}

static rv_status rv_fsb_holds(void *self, const char *collection, bool *out)
{
    rv_fsb *f = self;
    *out = false;
    if (rv_fsb_check_name(collection) != RV_OK)
        return RV_OK; /* a name that cannot be a file is not held */
    char *path = rv_path_join(f->root, collection);
    if (!path)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    int fd = -1;
    rv_ruvec1 h;
    if (rv_ruvec1_open(path, true, f->name, collection, &fd, &h) == RV_OK) {
        close(fd);
        *out = true;
    }
    rv_free(path);
    return RV_OK;
}

static rv_status rv_fsb_list(void *self, char ***names, size_t *count)
{
    rv_fsb *f = self;
    DIR *d = opendir(f->root);
    if (!d)
        return rv_fail(RV_ERR_IO, "cannot list '%s': %s", f->root, strerror(errno));
    size_t cap = 16, n = 0;
    char **out = rv_calloc(cap, sizeof *out);
    rv_status st = out ? RV_OK : rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    struct dirent *e;
    while (st == RV_OK && (e = readdir(d)) != NULL) {
        bool held = false;
        if (rv_fsb_check_name(e->d_name) != RV_OK || rv_fsb_holds(f, e->d_name, &held) != RV_OK || !held)
            continue;
        if (n + 1 >= cap) {
            char **grown = rv_calloc(cap * 2, sizeof *grown);
            if (!grown) {
                st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
                break;
            }
            memcpy(grown, out, n * sizeof *out);
            rv_free(out);
            out = grown;
            cap *= 2;
        }
        if (!(out[n] = rv_strdup(e->d_name)))
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (st != RV_OK) {
        rv_lake_free_names(out, n);
        return st;
    }
    *names = out;
    *count = n;
    return RV_OK;
}

/* Changes since one of this process's writes, from the collection's log: valid only while the
 * file is still the one our last write produced (a writer in another process, or a rewrite we
 * did not log, makes the answer "not known"). The touched rows' current vectors are read from
 * the file. */
static rv_status rv_fsb_changes(void *self, const char *collection, const rv_ident *since, rv_changes *out,
                               bool *known)
{
    rv_fsb *f = self;
    *known = false;
    if (!since->opaque || !since->text)
        return RV_OK;
    rv_status st;
    char *path = rv_fsb_path(f, collection, &st);
    if (!path)
        return st;
    pthread_mutex_lock(&f->write_lock);
    rv_changelog *log = rv_strmap_get(&f->logs, collection, strlen(collection));
    const rv_changelog_rec *last = log ? rv_changelog_last(log) : NULL;
    int fd = -1;
    rv_ruvec1 h;
    char now[128];
    int64_t *touched = NULL;
    size_t nt = 0;
    rv_pulled rows = {0};
    rv_idmap want;
    rv_idmap_init(&want);
    if (!last || (st = rv_ruvec1_open(path, true, f->name, collection, &fd, &h)) != RV_OK)
        goto done;
    rv_ruvec1_gen(&h, now, sizeof now);
    if (!last->text || strcmp(last->text, now) != 0) /* the file is not our last write's */
        goto done;
    if ((st = rv_changelog_since(log, 0, since->text, &touched, &nt, known)) != RV_OK || !*known)
        goto done;
    *known = false;
    if ((st = rv_ruvec1_read_rows(fd, path, &h, &rows)) != RV_OK || (st = rv_idmap_reserve(&want, nt + 1)) != RV_OK)
        goto done;
    for (size_t i = 0; i < nt; i++)
        rv_idmap_insert(&want, touched[i], UINT64_MAX - 1); /* row not seen yet */
    rv_table held; /* the touched rows as the file has them */
    rv_table_init(&held, h.dim);
    for (size_t r = 0; r < rows.n && st == RV_OK; r++) {
        uint64_t mark;
        if (rv_idmap_get(&want, rows.ids[r], &mark) && mark == UINT64_MAX - 1) {
            rv_idmap_update(&want, rows.ids[r], r);
            st = rv_table_upsert(&held, rows.ids + r, rows.vectors + r * h.dim, 1, h.dim);
        }
    }
    if (st == RV_OK && (st = rv_table_changes(&held, touched, nt, out)) == RV_OK) {
        size_t len = strlen(path) + 8;
        out->at.data_ref = rv_alloc(len);
        out->at.text = rv_strdup(now);
        if (!out->at.data_ref || !out->at.text) {
            rv_changes_clear(out);
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        } else {
            snprintf(out->at.data_ref, len, "file://%s", path);
            out->at.opaque = true;
            out->at.dim = h.dim;
            *known = true;
        }
    }
    rv_table_free(&held);
done:
    pthread_mutex_unlock(&f->write_lock);
    if (fd >= 0)
        close(fd);
    rv_idmap_free(&want);
    rv_pulled_clear(&rows);
    rv_free(touched);
    rv_free(path);
    if (st == RV_ERR_LAKE) /* the collection went: let the pull report it */
        st = RV_OK;
    return st;
}

/* Under write_lock, after a committed write of path: logs its ids under the file's new
 * generation (best effort: without a log entry the next cache update pulls). */
static void rv_fsb_note(rv_fsb *f, const char *collection, const char *path, const int64_t *ids, size_t n)
{
    rv_changelog *log = rv_strmap_get(&f->logs, collection, strlen(collection));
    if (!log && (log = rv_calloc(1, sizeof *log)) != NULL &&
        rv_strmap_put(&f->logs, collection, strlen(collection), log) != RV_OK) {
        rv_free(log);
        log = NULL;
    }
    if (!log)
        return;
    int fd = -1;
    rv_ruvec1 h;
    char now[128];
    if (rv_ruvec1_open(path, true, f->name, collection, &fd, &h) != RV_OK) {
        rv_changelog_free(log); /* cannot name the generation: forget the history */
        return;
    }
    close(fd);
    rv_ruvec1_gen(&h, now, sizeof now);
    rv_changelog_note(log, 0, now, ids, n);
}

static const rv_backend_ops rv_fsb_ops = {rv_fsb_ident, rv_fsb_pull, rv_fsb_holds, rv_fsb_list, rv_fsb_destroy,
                                         rv_fsb_changes};

rv_status rv_fsb_new(const char *name, const char *root, rv_backend **out)
{
    if (!root || !*root)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "FsBackend needs a root directory");
    rv_status st = rv_mkdirs(root);
    if (st != RV_OK)
        return st;
    char *canon = realpath(root, NULL); /* libc allocation, copied below */
    if (!canon)
        return rv_fail(RV_ERR_IO, "cannot resolve '%s': %s", root, strerror(errno));
    rv_fsb *f = rv_calloc(1, sizeof *f);
    if (f) {
        f->root = rv_strdup(canon);
        f->name = rv_strdup(name ? name : "");
    }
    free(canon);
    if (!f || !f->root || !f->name || pthread_mutex_init(&f->write_lock, NULL) != 0) {
        if (f) {
            rv_free(f->root);
            rv_free(f->name);
            rv_free(f);
        }
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    }
    return rv_backend_new(name, &rv_fsb_ops, f, out);
}

/* ---- writes ----------------------------------------------------------------------------- */

static void rv_put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static rv_status rv_ruvec1_write(const char *path, const rv_table *t)
{
    unsigned char hdr[RV_RUVEC1_HEADER];
    memcpy(hdr, RV_RUVEC1_MAGIC, 8);
    rv_put_le64(hdr + 8, t->n);
    uint32_t nonce = (uint32_t)rv_random_u64() | 1u;
    for (int i = 0; i < 4; i++) {
        hdr[16 + i] = (unsigned char)(t->dim >> (8 * i));
        hdr[20 + i] = (unsigned char)(nonce >> (8 * i));
    }
    size_t row = 8 + 4 * (size_t)t->dim;
    unsigned char *buf = rv_alloc(row * 1024);
    if (!buf)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    rv_atomic_file f;
    rv_status st = rv_atomic_file_open(&f, path);
    if (st == RV_OK)
        st = rv_atomic_file_write(&f, hdr, sizeof hdr);
    for (size_t i = 0; st == RV_OK && i < t->n; i += 1024) {
        size_t cnt = rv_min(1024, t->n - i);
        for (size_t r = 0; r < cnt; r++) {
            rv_put_le64(buf + r * row, (uint64_t)t->ids[i + r]);
            memcpy(buf + r * row + 8, t->vecs + (i + r) * t->dim, 4 * (size_t)t->dim);
        }
        st = rv_atomic_file_write(&f, buf, cnt * row);
    }
    rv_free(buf);
    if (st == RV_OK)
        st = rv_atomic_file_commit(&f);
    else
        rv_atomic_file_abort(&f);
    return st;
}

/* Loads the collection's file into t (an empty table of dim `dim` when the file is missing and
 * create is set). */
static rv_status rv_fsb_load_table(rv_fsb *f, const char *path, const char *collection, bool create,
                                  uint32_t dim, rv_table *t)
{
    int fd = -1;
    rv_ruvec1 h;
    rv_status st = rv_ruvec1_open(path, true, f->name, collection, &fd, &h);
    if (st == RV_ERR_LAKE && create) {
        rv_table_init(t, dim);
        return RV_OK;
    }
    if (st != RV_OK)
        return st;
    rv_pulled p = {0};
    st = rv_ruvec1_read_rows(fd, path, &h, &p);
    close(fd);
    if (st != RV_OK)
        return st;
    rv_table_init(t, p.dim);
    if ((st = rv_pulled_check(&p, f->name, collection)) == RV_OK)
        st = rv_table_upsert(t, p.ids, p.vectors, p.n, p.dim);
    rv_pulled_clear(&p);
    if (st != RV_OK)
        rv_table_free(t);
    return st;
}

static rv_status rv_fsb_of(rv_backend *b, const char *collection, rv_fsb **f, char **path)
{
    *f = rv_backend_impl(b, &rv_fsb_ops);
    *path = NULL;
    if (!*f)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "backend '%s' is not an FsBackend", rv_backend_name(b));
    rv_status st;
    *path = rv_fsb_path(*f, collection, &st);
    return st;
}

rv_status rv_fsb_upsert(rv_backend *b, const char *collection, const int64_t *ids,
                       const float *vectors, size_t n, uint32_t dim)
{
    rv_fsb *f;
    char *path;
    rv_status st = rv_fsb_of(b, collection, &f, &path);
    if (st == RV_OK && (dim == 0 || dim > RV_LAKE_MAX_DIM))
        st = rv_fail(RV_ERR_INVALID_ARGUMENT, "dim must be 1..%u, not %u", RV_LAKE_MAX_DIM, dim);
    if (st != RV_OK) {
        rv_free(path);
        return st;
    }
    if ((st = rv_ids_unique(ids, n)) != RV_OK) {
        rv_free(path);
        return st;
    }
    pthread_mutex_lock(&f->write_lock);
    rv_table t;
    if ((st = rv_fsb_load_table(f, path, collection, true, dim, &t)) == RV_OK) {
        if ((st = rv_table_upsert(&t, ids, vectors, n, dim)) == RV_OK && (st = rv_ruvec1_write(path, &t)) == RV_OK)
            rv_fsb_note(f, collection, path, ids, n);
        rv_table_free(&t);
    }
    pthread_mutex_unlock(&f->write_lock);
    rv_free(path);
    return st;
}

rv_status rv_fsb_delete(rv_backend *b, const char *collection, const int64_t *ids, size_t n,
                       size_t *removed)
{
    rv_fsb *f;
    char *path;
    *removed = 0;
    rv_status st = rv_fsb_of(b, collection, &f, &path);
    if (st != RV_OK) {
        rv_free(path);
        return st;
    }
    pthread_mutex_lock(&f->write_lock);
    rv_table t;
    if ((st = rv_fsb_load_table(f, path, collection, false, 0, &t)) == RV_OK) {
        if ((*removed = rv_table_delete(&t, ids, n)) > 0 && (st = rv_ruvec1_write(path, &t)) == RV_OK)
            rv_fsb_note(f, collection, path, ids, n);
        rv_table_free(&t);
    }
    pthread_mutex_unlock(&f->write_lock);
    rv_free(path);
    return st;
}

rv_status rv_fsb_drop(rv_backend *b, const char *collection)
{
    rv_fsb *f;
    char *path;
    rv_status st = rv_fsb_of(b, collection, &f, &path);
    if (st == RV_OK) {
        pthread_mutex_lock(&f->write_lock);
        rv_changelog *log = rv_strmap_del(&f->logs, collection, strlen(collection));
        if (log) {
            rv_changelog_free(log);
            rv_free(log);
        }
        if (unlink(path) != 0)
            st = errno == ENOENT ? rv_fail(RV_ERR_LAKE, "backend '%s' has no collection '%s'", f->name, collection)
                                 : rv_fail(RV_ERR_IO, "cannot remove '%s': %s", path, strerror(errno));
        pthread_mutex_unlock(&f->write_lock);
    }
    rv_free(path);
    return st;
}
