"""Reads and writes ruvector's checksummed container from its spec, for crafting hostile files.

The layout (src/base/container.h), all integers little-endian:
  0   magic 89 'R' 'V' 'E' 'C' 0D 0A 1A     8  u32 container version (1)   12  u32 payload kind
  16  u32 payload version   20  u32 section count   24  u64 file size   32  u64 XXH3-64 of the table
  40  16 zero bytes         56  u64 XXH3-64 of bytes 0..55
  64  table: count x {u32 tag, u32 flags (0), u64 offset, u64 length, u64 XXH3-64 of the section}
  then the sections in table order, each at a 64-byte aligned offset, zero-padded between and after.

This is written from that text, not from ruvector's writer: the checksum is the system's libxxhash
(through ctypes), so a file rebuilt here passes every container check and reaches the payload's
content checks, which is what a test of those checks needs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import pathlib
import struct

import numpy as np
import numpy.typing as npt

MAGIC = b"\x89RVEC\r\n\x1a"
HEADER = 64
ENTRY = 32


def _load_xxhash() -> ctypes.CDLL:
    name = ctypes.util.find_library("xxhash") or "libxxhash.so.0"
    lib = ctypes.CDLL(name)
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lib


_XXH = _load_xxhash()


def xxh3_64(data: bytes) -> int:
    return int(_XXH.XXH3_64bits(data, len(data)))


def _round_up(x: int, a: int = 64) -> int:
    return (x + a - 1) // a * a


@dataclasses.dataclass
class Container:
    kind: bytes  # the payload FOURCC, e.g. b"IDX1"
    version: int  # the payload version
    sections: dict[bytes, bytes]  # tag -> payload, in file order

    def array(self, tag: bytes, dtype: str) -> npt.NDArray[np.generic]:
        """A writable copy of a section as a little-endian array ("<u4", "<f4", "<u8", "<i8")."""
        return np.frombuffer(self.sections[tag], dtype=dtype).copy()

    def put(self, tag: bytes, value: npt.NDArray[np.generic] | bytes) -> None:
        """Replaces (or adds, at the end) a section."""
        self.sections[tag] = value if isinstance(value, bytes) else value.tobytes()


def read(path: pathlib.Path) -> Container:
    """Parses a container, checking its checksums (so a test knows it started from a valid file)."""
    raw = path.read_bytes()
    head = raw[:HEADER]
    assert head[:8] == MAGIC and struct.unpack_from("<Q", head, 56)[0] == xxh3_64(head[:56])
    (cver,) = struct.unpack_from("<I", head, 8)
    kind = head[12:16]
    version, count, size, table_sum = struct.unpack_from("<IIQQ", head, 16)
    assert cver == 1 and size == len(raw)
    table = raw[HEADER:HEADER + count * ENTRY]
    assert xxh3_64(table) == table_sum
    sections: dict[bytes, bytes] = {}
    for i in range(count):
        tag = table[i * ENTRY:i * ENTRY + 4]
        flags, offset, length, checksum = struct.unpack_from("<IQQQ", table, i * ENTRY + 4)
        body = raw[offset:offset + length]
        assert flags == 0 and xxh3_64(body) == checksum
        sections[tag] = body
    return Container(kind, version, sections)


def encode(c: Container) -> bytes:
    """The container's bytes, with every offset and checksum recomputed."""
    count = len(c.sections)
    table_end = HEADER + count * ENTRY
    offset = _round_up(table_end)
    table = bytearray()
    body = bytearray(offset - table_end)
    for tag, data in c.sections.items():
        assert len(tag) == 4
        table += tag + struct.pack("<IQQQ", 0, offset, len(data), xxh3_64(data))
        pad = _round_up(len(data)) - len(data)
        body += data + bytes(pad)
        offset += len(data) + pad
    head = bytearray(MAGIC + struct.pack("<I", 1) + c.kind + struct.pack("<IIQQ", c.version, count, offset,
                                                                         xxh3_64(bytes(table))))
    head += bytes(16)
    head += struct.pack("<Q", xxh3_64(bytes(head)))
    return bytes(head + table + body)


def write(path: pathlib.Path, c: Container) -> None:
    path.write_bytes(encode(c))
