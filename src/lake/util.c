/*
 * util.c — small helpers of the lake: strings, paths, SHA-256 of a file, the string map, and
 * the pulled-batch validator.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "lake/lake_internal.h"

rv_status rv_mkdirs(const char *dir)
{
    char *p = rv_strdup(dir);
    if (!p)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            rv_status st = rv_fail(RV_ERR_IO, "cannot create directory '%s': %s", p, strerror(e));
            rv_free(p);
            return st;
        }
        p[i] = c;
    }
    struct stat sb;
    rv_status st = RV_OK;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        st = rv_fail(RV_ERR_IO, "'%s' is not a directory", dir);
    rv_free(p);
    return st;
}

rv_status rv_sha256_file(const char *path, char out[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rv_fail(RV_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    rv_hash h;
    rv_hash_init(&h, RV_HASH_SHA256);
    unsigned char buf[1 << 16];
    rv_status st = RV_OK;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = rv_fail(RV_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        rv_hash_update(&h, buf, (size_t)r);
    }
    unsigned char digest[RV_SHA256_BYTES];
    if (st == RV_OK)
        st = rv_hash_final(&h, digest, sizeof digest);
    rv_hash_abort(&h);
    close(fd);
    if (st == RV_OK)
        rv_hex(digest, sizeof digest, out);
    return st;
}

rv_status rv_pulled_check(const rv_pulled *p, const char *backend, const char *collection)
{
    if (p->dim == 0 || p->dim > RV_LAKE_MAX_DIM)
        return rv_fail(RV_ERR_BACKEND, "backend '%s' returned collection '%s' with dim %u (must be 1..%u)",
                       backend, collection, p->dim, RV_LAKE_MAX_DIM);
    if (p->n > RV_LAKE_MAX_VECTORS)
        return rv_fail(RV_ERR_BACKEND, "backend '%s' returned %zu vectors for '%s' (cap %u)", backend,
                       p->n, collection, RV_LAKE_MAX_VECTORS);
    if (p->n && (!p->ids || !p->vectors))
        return rv_fail(RV_ERR_BACKEND, "backend '%s' returned no arrays for '%s'", backend, collection);
    size_t total = p->n * p->dim;
    for (size_t i = 0; i < total; i++)
        if (!isfinite(p->vectors[i]))
            return rv_fail(RV_ERR_BACKEND, "backend '%s' collection '%s': row %zu (id %lld) has a "
                           "non-finite value", backend, collection, i / p->dim,
                           (long long)p->ids[i / p->dim]);
    return RV_OK;
}

void rv_pulled_clear(rv_pulled *p)
{
    rv_free(p->ids);
    rv_free(p->vectors);
    memset(p, 0, sizeof *p);
}

void rv_changes_clear(rv_changes *c)
{
    rv_free(c->ids);
    rv_free(c->vectors);
    rv_free(c->removed);
    rv_ident_clear(&c->at);
    memset(c, 0, sizeof *c);
}

void rv_ident_clear(rv_ident *id)
{
    rv_free(id->data_ref);
    rv_free(id->text);
    memset(id, 0, sizeof *id);
}

void *rv_lake_alloc(size_t size) { return rv_alloc(size ? size : 1); }
void rv_lake_free(void *p) { rv_free(p); }

void rv_lake_free_names(char **names, size_t count)
{
    if (!names)
        return;
    for (size_t i = 0; i < count; i++)
        rv_free(names[i]);
    rv_free(names);
}

