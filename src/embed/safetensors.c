/*
 * safetensors.c — see safetensors.h. The JSON header is parsed with jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/internal.h"
#include "embed/safetensors.h"

#define RV_ST_MAX_HEADER (100u << 20)
#define RV_ST_MAX_DIMS 8

typedef enum { RV_DT_F32, RV_DT_F16, RV_DT_BF16, RV_DT_OTHER } rv_dtype;

typedef struct rv_tensor {
    char *name;
    rv_dtype dtype;
    size_t ndim, dims[RV_ST_MAX_DIMS];
    uint64_t begin, end;
} rv_tensor;

struct rv_safetensors {
    int fd;
    unsigned char *map;
    size_t size;
    const unsigned char *data;
    size_t data_size;
    rv_tensor *tensors;
    size_t n;
    char *path;
};

static int rv_dtype_of(const char *s, rv_dtype *dt, size_t *bytes)
{
    static const struct {
        const char *name;
        rv_dtype dt;
        size_t bytes;
    } table[] = {{"F32", RV_DT_F32, 4}, {"F16", RV_DT_F16, 2}, {"BF16", RV_DT_BF16, 2}, {"F64", RV_DT_OTHER, 8},
                 {"I64", RV_DT_OTHER, 8}, {"I32", RV_DT_OTHER, 4}, {"I16", RV_DT_OTHER, 2}, {"I8", RV_DT_OTHER, 1},
                 {"U8", RV_DT_OTHER, 1}, {"BOOL", RV_DT_OTHER, 1}, {"U16", RV_DT_OTHER, 2}, {"U32", RV_DT_OTHER, 4},
                 {"U64", RV_DT_OTHER, 8}};
    for (size_t i = 0; i < RV_ARRAY_LEN(table); i++)
        if (strcmp(s, table[i].name) == 0) {
            *dt = table[i].dt;
            *bytes = table[i].bytes;
            return 1;
        }
    return 0;
}

void rv_safetensors_close(rv_safetensors *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        rv_free(st->tensors[i].name);
    rv_free(st->tensors);
    if (st->map)
        munmap(st->map, st->size);
    if (st->fd >= 0)
        close(st->fd);
    rv_free(st->path);
    rv_free(st);
}

static int rv_cmp_begin(const void *a, const void *b)
{
    const rv_tensor *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

static rv_status rv_parse_entry(rv_safetensors *st, const char *name, json_t *v, rv_tensor *t)
{
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    size_t bytes = 0;
    if (!json_is_string(dt) || !rv_dtype_of(json_string_value(dt), &t->dtype, &bytes))
        return rv_fail(RV_ERR_FORMAT, "%s: tensor '%s' has an unknown dtype", st->path, name);
    if (!json_is_array(shape) || json_array_size(shape) > RV_ST_MAX_DIMS)
        return rv_fail(RV_ERR_FORMAT, "%s: tensor '%s' has a bad shape", st->path, name);
    if (!json_is_array(offs) || json_array_size(offs) != 2 || !json_is_integer(json_array_get(offs, 0)) ||
        !json_is_integer(json_array_get(offs, 1)))
        return rv_fail(RV_ERR_FORMAT, "%s: tensor '%s' has bad data_offsets", st->path, name);
    uint64_t numel = 1;
    t->ndim = json_array_size(shape);
    for (size_t i = 0; i < t->ndim; i++) {
        json_t *d = json_array_get(shape, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > (json_int_t)(1ull << 40))
            return rv_fail(RV_ERR_FORMAT, "%s: tensor '%s' has a bad dimension", st->path, name);
        t->dims[i] = (size_t)json_integer_value(d);
        if (__builtin_mul_overflow(numel, (uint64_t)t->dims[i], &numel))
            return rv_fail(RV_ERR_FORMAT, "%s: tensor '%s' is too large", st->path, name);
    }
    json_int_t b = json_integer_value(json_array_get(offs, 0)), e = json_integer_value(json_array_get(offs, 1));
    uint64_t want;
    if (b < 0 || e < b || (uint64_t)e > st->data_size || __builtin_mul_overflow(numel, (uint64_t)bytes, &want) ||
        (uint64_t)(e - b) != want)
        return rv_fail(RV_ERR_FORMAT, "%s: tensor '%s' has data_offsets [%lld, %lld] that do not fit its shape "
                       "or the %zu-byte data buffer", st->path, name, (long long)b, (long long)e, st->data_size);
    t->begin = (uint64_t)b;
    t->end = (uint64_t)e;
    return (t->name = rv_strdup(name)) ? RV_OK : rv_fail(RV_ERR_NO_MEMORY, "out of memory");
}

rv_status rv_safetensors_open(const char *path, rv_safetensors **out)
{
    *out = NULL;
    rv_safetensors *st = rv_calloc(1, sizeof *st);
    if (!st)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    st->fd = -1;
    st->path = rv_strdup(path);
    rv_status status = RV_OK;
    json_t *root = NULL;
    struct stat sb;
    if (!st->path) {
        status = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    } else if ((st->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(st->fd, &sb) != 0) {
        status = rv_fail(RV_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    } else if (sb.st_size < 8) {
        status = rv_fail(RV_ERR_FORMAT, "'%s' is %lld bytes: not a safetensors file", path, (long long)sb.st_size);
    } else {
        st->size = (size_t)sb.st_size;
        st->map = mmap(NULL, st->size, PROT_READ, MAP_PRIVATE, st->fd, 0);
        if (st->map == MAP_FAILED) {
            st->map = NULL;
            status = rv_fail(RV_ERR_IO, "cannot map '%s': %s", path, strerror(errno));
        }
    }
    if (status == RV_OK) {
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; i--)
            hlen = hlen << 8 | st->map[i];
        json_error_t err;
        if (hlen > RV_ST_MAX_HEADER || hlen > st->size - 8 || hlen < 2 || st->map[8] != '{') {
            status = rv_fail(RV_ERR_FORMAT, "'%s': header length %llu does not fit the file (or it is not a "
                             "safetensors file)", path, (unsigned long long)hlen);
        } else if (!(root = json_loadb((const char *)st->map + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &err)) ||
                   !json_is_object(root)) {
            status = rv_fail(RV_ERR_FORMAT, "'%s': the header is not a JSON object (%s)", path, root ? "" : err.text);
        } else {
            st->data = st->map + 8 + hlen;
            st->data_size = st->size - 8 - (size_t)hlen;
        }
    }
    if (status == RV_OK) {
        st->tensors = rv_calloc(json_object_size(root) + 1, sizeof *st->tensors);
        if (!st->tensors)
            status = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v)
        {
            if (status != RV_OK)
                break;
            if (strcmp(key, "__metadata__") == 0)
                continue;
            if (!json_is_object(v)) {
                status = rv_fail(RV_ERR_FORMAT, "'%s': entry '%s' is not an object", path, key);
                break;
            }
            status = rv_parse_entry(st, key, v, &st->tensors[st->n]);
            if (status == RV_OK)
                st->n++;
        }
    }
    if (status == RV_OK) { /* the entries must tile the data buffer exactly */
        rv_tensor *sorted = rv_alloc((st->n + 1) * sizeof *sorted);
        if (!sorted) {
            status = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        } else {
            memcpy(sorted, st->tensors, st->n * sizeof *sorted);
            qsort(sorted, st->n, sizeof *sorted, rv_cmp_begin);
            uint64_t at = 0;
            for (size_t i = 0; i < st->n && status == RV_OK; i++) {
                if (sorted[i].begin != at)
                    status = rv_fail(RV_ERR_FORMAT, "'%s': tensor '%s' starts at %llu, expected %llu (a hole or an "
                                     "overlap in the data buffer)", path, sorted[i].name,
                                     (unsigned long long)sorted[i].begin, (unsigned long long)at);
                at = sorted[i].end;
            }
            if (status == RV_OK && at != st->data_size)
                status = rv_fail(RV_ERR_FORMAT, "'%s': tensors cover %llu of %zu data bytes", path,
                                 (unsigned long long)at, st->data_size);
            rv_free(sorted);
        }
    }
    json_decref(root);
    if (status != RV_OK) {
        rv_safetensors_close(st);
        return status;
    }
    *out = st;
    return RV_OK;
}

static float rv_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    float f;
    if (exp == 0)
        f = ldexpf((float)man, -24);
    else if (exp == 31)
        f = man ? NAN : INFINITY;
    else
        f = ldexpf((float)(man | 0x400), (int)exp - 25);
    uint32_t bits;
    memcpy(&bits, &f, 4);
    bits |= sign;
    memcpy(&f, &bits, 4);
    return f;
}

rv_status rv_safetensors_f32(const rv_safetensors *st, const char *name, const size_t *dims, size_t ndim,
                             float **out)
{
    *out = NULL;
    static const char *const prefixes[] = {"", "bert.", "model.", "0.auto_model."};
    const rv_tensor *t = NULL;
    char full[512];
    for (size_t p = 0; p < RV_ARRAY_LEN(prefixes) && !t; p++) {
        snprintf(full, sizeof full, "%s%s", prefixes[p], name);
        for (size_t i = 0; i < st->n && !t; i++)
            if (strcmp(st->tensors[i].name, full) == 0)
                t = &st->tensors[i];
    }
    if (!t)
        return rv_fail(RV_ERR_FORMAT, "'%s' has no tensor '%s'", st->path, name);
    int same = t->ndim == ndim;
    size_t numel = 1;
    for (size_t i = 0; i < ndim && same; i++) {
        same = t->dims[i] == dims[i];
        numel *= dims[i];
    }
    if (!same)
        return rv_fail(RV_ERR_FORMAT, "'%s': tensor '%s' does not have the expected shape", st->path, name);
    if (t->dtype == RV_DT_OTHER)
        return rv_fail(RV_ERR_FORMAT, "'%s': tensor '%s' is not a float tensor", st->path, name);
    float *f = rv_alloc((numel ? numel : 1) * sizeof(float));
    if (!f)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory loading '%s'", name);
    const unsigned char *src = st->data + t->begin;
    for (size_t i = 0; i < numel; i++) {
        if (t->dtype == RV_DT_F32) {
            uint32_t bits = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 | (uint32_t)src[4 * i + 2] << 16 |
                            (uint32_t)src[4 * i + 3] << 24;
            memcpy(&f[i], &bits, 4);
        } else {
            uint16_t h = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
            if (t->dtype == RV_DT_F16) {
                f[i] = rv_half_to_float(h);
            } else {
                uint32_t bits = (uint32_t)h << 16;
                memcpy(&f[i], &bits, 4);
            }
        }
    }
    *out = f;
    return RV_OK;
}
