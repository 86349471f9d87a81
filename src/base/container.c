/*
 * container.c — see container.h for the format and what a reader checks.
 *
 * XXH3-64 (libxxhash) is the checksum: it runs at memory speed, so loading stays I/O bound
 * (zlib's crc32 would cost ~0.3 s on a 300 MB index). It detects corruption; it is not a MAC.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/atomic_file.h"
#include "base/container.h"
#include "base/internal.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "ruvector files are little-endian; big-endian hosts need byte swapping here");

static const unsigned char rv_magic[8] = {0x89, 'R', 'V', 'E', 'C', 0x0d, 0x0a, 0x1a};

static void rv_put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void rv_put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t rv_get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rv_get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

rv_status rv_container_save(const char *path, uint32_t kind, uint32_t payload_version,
                            const rv_section *sections, size_t count)
{
    if (count == 0 || count > RV_CONTAINER_MAX_SECTIONS)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "container needs 1..%u sections, not %zu",
                       RV_CONTAINER_MAX_SECTIONS, count);
    unsigned char head[RV_CONTAINER_HEADER_SIZE + RV_CONTAINER_MAX_SECTIONS * RV_CONTAINER_ENTRY_SIZE];
    memset(head, 0, sizeof head);
    size_t table_end = RV_CONTAINER_HEADER_SIZE + count * RV_CONTAINER_ENTRY_SIZE;
    uint64_t offset = rv_round_up(table_end, 64);
    for (size_t i = 0; i < count; i++) {
        unsigned char *e = head + RV_CONTAINER_HEADER_SIZE + i * RV_CONTAINER_ENTRY_SIZE;
        rv_put32(e, sections[i].tag);
        rv_put64(e + 8, offset);
        rv_put64(e + 16, sections[i].length);
        rv_put64(e + 24, XXH3_64bits(sections[i].data, sections[i].length));
        if (sections[i].length > UINT64_MAX - offset - 64)
            return rv_fail(RV_ERR_INVALID_ARGUMENT, "section too large");
        offset = rv_round_up(offset + sections[i].length, 64);
    }
    uint64_t file_size = offset;
    memcpy(head, rv_magic, 8);
    rv_put32(head + 8, RV_CONTAINER_VERSION);
    rv_put32(head + 12, kind);
    rv_put32(head + 16, payload_version);
    rv_put32(head + 20, (uint32_t)count);
    rv_put64(head + 24, file_size);
    rv_put64(head + 32, XXH3_64bits(head + RV_CONTAINER_HEADER_SIZE, count * RV_CONTAINER_ENTRY_SIZE));
    rv_put64(head + 56, XXH3_64bits(head, 56));

    static const unsigned char zeros[64];
    rv_atomic_file f;
    rv_status st = rv_atomic_file_open(&f, path);
    if (st != RV_OK)
        return st;
    size_t pos = table_end;
    st = rv_atomic_file_write(&f, head, table_end);
    for (size_t i = 0; i < count && st == RV_OK; i++) {
        size_t pad = rv_round_up(pos, 64) - pos;
        st = rv_atomic_file_write(&f, zeros, pad);
        if (st == RV_OK)
            st = rv_atomic_file_write(&f, sections[i].data, sections[i].length);
        pos += pad + sections[i].length;
    }
    if (st == RV_OK)
        st = rv_atomic_file_write(&f, zeros, rv_round_up(pos, 64) - pos);
    if (st != RV_OK) {
        rv_atomic_file_abort(&f);
        return st;
    }
    return rv_atomic_file_commit(&f);
}

static rv_status rv_pread_all(rv_container_reader *r, void *dst, uint64_t len, uint64_t off)
{
    unsigned char *p = dst;
    while (len > 0) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t got = pread(r->fd, p, chunk, (off_t)off);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return rv_fail(RV_ERR_IO, "reading '%s': %s", r->path, strerror(errno));
        }
        if (got == 0)
            return rv_fail(RV_ERR_FORMAT, "'%s' is truncated (file shrank while reading)", r->path);
        p += got;
        len -= (uint64_t)got;
        off += (uint64_t)got;
    }
    return RV_OK;
}

/* Bytes [from, to) must be fewer than 64 and all zero (alignment padding). */
static rv_status rv_check_zero_gap(rv_container_reader *r, uint64_t from, uint64_t to)
{
    unsigned char gap[64];
    if (to - from >= 64)
        return rv_fail(RV_ERR_FORMAT, "'%s' has %llu unaccounted bytes at offset %llu", r->path,
                       (unsigned long long)(to - from), (unsigned long long)from);
    rv_status st = rv_pread_all(r, gap, to - from, from);
    if (st != RV_OK)
        return st;
    for (uint64_t i = 0; i < to - from; i++)
        if (gap[i])
            return rv_fail(RV_ERR_FORMAT, "'%s' has corrupt padding at offset %llu", r->path,
                           (unsigned long long)(from + i));
    return RV_OK;
}

#define RV_BAD(...) do { st = rv_fail(RV_ERR_FORMAT, __VA_ARGS__); goto fail; } while (0)

rv_status rv_container_open(rv_container_reader *r, const char *path, uint32_t expected_kind)
{
    rv_status st;
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return rv_fail(RV_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(r->fd, &sb) != 0) {
        st = rv_fail(RV_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode))
        RV_BAD("'%s' is not a regular file", path);
    uint64_t actual = (uint64_t)sb.st_size;
    unsigned char head[RV_CONTAINER_HEADER_SIZE];
    if (actual < RV_CONTAINER_HEADER_SIZE)
        RV_BAD("'%s' is not a ruvector file (%llu bytes, shorter than the %u-byte header)", path,
               (unsigned long long)actual, RV_CONTAINER_HEADER_SIZE);
    if ((st = rv_pread_all(r, head, sizeof head, 0)) != RV_OK)
        goto fail;
    if (memcmp(head, rv_magic, 8) != 0)
        RV_BAD("'%s' is not a ruvector file (bad magic)", path);
    for (int i = 40; i < 56; i++)
        if (head[i])
            RV_BAD("'%s' has non-zero reserved header bytes", path);
    if (rv_get64(head + 56) != XXH3_64bits(head, 56))
        RV_BAD("'%s' has a corrupt header (checksum mismatch)", path);
    uint32_t version = rv_get32(head + 8);
    if (version != RV_CONTAINER_VERSION)
        RV_BAD("'%s' uses container version %u; this build reads version %u", path, version,
               RV_CONTAINER_VERSION);
    uint32_t kind = rv_get32(head + 12);
    if (kind != expected_kind)
        RV_BAD("'%s' holds a payload of kind 0x%08x, expected 0x%08x", path, kind, expected_kind);
    r->payload_version = rv_get32(head + 16);
    r->count = rv_get32(head + 20);
    r->file_size = rv_get64(head + 24);
    if (r->file_size != actual)
        RV_BAD("'%s' is %llu bytes but its header says %llu (truncated or extended)", path,
               (unsigned long long)actual, (unsigned long long)r->file_size);
    if (r->count == 0 || r->count > RV_CONTAINER_MAX_SECTIONS)
        RV_BAD("'%s' claims %u sections (1..%u allowed)", path, r->count, RV_CONTAINER_MAX_SECTIONS);
    uint64_t table_end = RV_CONTAINER_HEADER_SIZE + (uint64_t)r->count * RV_CONTAINER_ENTRY_SIZE;
    if (table_end > actual)
        RV_BAD("'%s' is truncated inside its section table", path);
    unsigned char table[RV_CONTAINER_MAX_SECTIONS * RV_CONTAINER_ENTRY_SIZE];
    if ((st = rv_pread_all(r, table, table_end - RV_CONTAINER_HEADER_SIZE, RV_CONTAINER_HEADER_SIZE)) != RV_OK)
        goto fail;
    if (rv_get64(head + 32) != XXH3_64bits(table, table_end - RV_CONTAINER_HEADER_SIZE))
        RV_BAD("'%s' has a corrupt section table (checksum mismatch)", path);
    uint64_t min_offset = rv_round_up(table_end, 64);
    if ((st = rv_check_zero_gap(r, table_end, min_offset)) != RV_OK)
        goto fail;
    for (uint32_t i = 0; i < r->count; i++) {
        const unsigned char *e = table + i * RV_CONTAINER_ENTRY_SIZE;
        rv_section_info *s = &r->sections[i];
        s->tag = rv_get32(e);
        s->offset = rv_get64(e + 8);
        s->length = rv_get64(e + 16);
        s->checksum = rv_get64(e + 24);
        if (rv_get32(e + 4) != 0)
            RV_BAD("'%s' section %u has unknown flags", path, i);
        if (s->offset % 64 != 0 || s->offset < min_offset || s->offset > actual ||
            s->length > actual - s->offset)
            RV_BAD("'%s' section %u (offset %llu, length %llu) lies outside the file (%llu bytes)",
                   path, i, (unsigned long long)s->offset, (unsigned long long)s->length,
                   (unsigned long long)actual);
        for (uint32_t j = 0; j < i; j++)
            if (r->sections[j].tag == s->tag)
                RV_BAD("'%s' has section tag 0x%08x twice", path, s->tag);
        if ((st = rv_check_zero_gap(r, min_offset, s->offset)) != RV_OK)
            goto fail;
        min_offset = s->offset + s->length;
    }
    /* Every byte is accounted for: gaps are alignment padding, zero, and the file ends at the
     * padded end of the last section. So any flipped bit anywhere is detected. */
    if (actual != rv_round_up(min_offset, 64))
        RV_BAD("'%s' has %llu bytes after its last section", path,
               (unsigned long long)(actual - min_offset));
    if ((st = rv_check_zero_gap(r, min_offset, actual)) != RV_OK)
        goto fail;
    return RV_OK;
fail:
    close(r->fd);
    r->fd = -1;
    return st;
}

const rv_section_info *rv_container_find(const rv_container_reader *r, uint32_t tag)
{
    for (uint32_t i = 0; i < r->count; i++)
        if (r->sections[i].tag == tag)
            return &r->sections[i];
    return NULL;
}

rv_status rv_container_read(rv_container_reader *r, const rv_section_info *s, void *dst)
{
    rv_status st = rv_pread_all(r, dst, s->length, s->offset);
    if (st != RV_OK)
        return st;
    if (XXH3_64bits(dst, s->length) != s->checksum)
        return rv_fail(RV_ERR_FORMAT, "'%s' section 0x%08x is corrupt (checksum mismatch)", r->path,
                       s->tag);
    return RV_OK;
}

void rv_container_close(rv_container_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}
