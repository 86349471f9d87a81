/*
 * base/container.h — ruvector's checksummed, sectioned file container.
 *
 * Layout (all integers little-endian):
 *   0   magic     89 'R' 'V' 'E' 'C' 0D 0A 1A  (PNG-style: catches text-mode and 7-bit damage)
 *   8   u32 container version (1)     12  u32 payload kind (FOURCC, e.g. "IDX1")
 *   16  u32 payload version           20  u32 section count (1..RV_CONTAINER_MAX_SECTIONS)
 *   24  u64 file size                 32  u64 XXH3-64 of the section table
 *   40  16 bytes reserved (zero)      56  u64 XXH3-64 of bytes 0..55
 *   64  section table: count x { u32 tag, u32 flags (0), u64 offset, u64 length, u64 XXH3-64 }
 *   then the sections, each at a 64-byte aligned offset, in table order, zero-padded between.
 *
 * A reader trusts nothing: the header checksum, the file size, the table checksum, every
 * offset/length against the file size (overflow-checked), alignment, order and uniqueness are
 * checked before a single payload byte is read, and each payload against its checksum as it is
 * read. So a bad header can never cause a large allocation: sections are only as large as the
 * file actually is.
 */
#ifndef RV_BASE_CONTAINER_H
#define RV_BASE_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "ruvector/status.h"

#define RV_CONTAINER_VERSION 1u
#define RV_CONTAINER_MAX_SECTIONS 32u
#define RV_CONTAINER_HEADER_SIZE 64u
#define RV_CONTAINER_ENTRY_SIZE 32u

#define RV_FOURCC(a, b, c, d) \
    ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

typedef struct rv_section {
    uint32_t tag;
    const void *data;
    uint64_t length;
} rv_section;

typedef struct rv_section_info {
    uint32_t tag;
    uint64_t offset, length, checksum;
} rv_section_info;

typedef struct rv_container_reader {
    int fd;
    char path[256]; /* for messages; truncated */
    uint32_t payload_version;
    uint32_t count;
    uint64_t file_size;
    rv_section_info sections[RV_CONTAINER_MAX_SECTIONS];
} rv_container_reader;

/* Writes the sections atomically to path. Errors: IO, NO_MEMORY, INVALID_ARGUMENT. */
rv_status rv_container_save(const char *path, uint32_t kind, uint32_t payload_version,
                            const rv_section *sections, size_t count);

/* Opens and validates the header and table. Errors: IO, FORMAT (with what is wrong). On success
 * close with rv_container_close. */
rv_status rv_container_open(rv_container_reader *r, const char *path, uint32_t expected_kind);

/* The section with this tag, or NULL. */
const rv_section_info *rv_container_find(const rv_container_reader *r, uint32_t tag);

/* Reads the whole section into dst (s->length bytes) and verifies its checksum.
 * Errors: IO, FORMAT. */
rv_status rv_container_read(rv_container_reader *r, const rv_section_info *s, void *dst);

void rv_container_close(rv_container_reader *r);

#endif
