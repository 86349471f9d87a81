"""Hostile index files that pass every checksum: each content check the loader makes, violated alone.

A flipped bit always dies at a checksum, so tests/test_persistence.py never reaches the payload's
checks. Here tests/containers.py rebuilds a saved file with one section edited and every checksum
recomputed (from the format's spec), so the file reaches exactly one content check, and the load
must raise PersistError naming the section. One of these checks guards a heap write (a LIST entry
past nlist indexes per-list arrays on import), the rest guard searches from silent garbage.
"""

from __future__ import annotations

import dataclasses
import pathlib
import struct
from collections.abc import Callable

import numpy as np
import pytest

import containers
import ruvector
from containers import Container

D = 70  # two code words, 58 padding bits in the last one
N = 60
AnyCls = type[ruvector.FlatF32Index] | type[ruvector.RabitqIndex] | type[ruvector.RabitqPlusIndex] \
    | type[ruvector.RabitqAsymIndex]


def _data() -> np.ndarray:
    rng = np.random.default_rng(11)
    return rng.normal(size=(N, D)).astype(np.float32)


BASES: dict[str, Callable[[], object]] = {
    "flat": lambda: ruvector.FlatF32Index.build(_data(), ids=np.arange(N) * 3 - 7),
    "rabitq": lambda: ruvector.RabitqIndex.build(_data(), ids=np.arange(N) * 3 - 7, nlist=3, seed=2),
    "plus": lambda: ruvector.RabitqPlusIndex.build(_data(), ids=np.arange(N) * 3 - 7, nlist=3, seed=2, bits=3),
    "asym": lambda: ruvector.RabitqAsymIndex.build(_data(), ids=np.arange(N) * 3 - 7, nlist=3, seed=2),
}
CLASSES: dict[str, AnyCls] = {"flat": ruvector.FlatF32Index, "rabitq": ruvector.RabitqIndex,
                              "plus": ruvector.RabitqPlusIndex, "asym": ruvector.RabitqAsymIndex}


def saved(tmp_path: pathlib.Path, base: str) -> Container:
    path = tmp_path / f"{base}.rvx"
    BASES[base]().save(path)  # type: ignore[attr-defined]
    return containers.read(path)


# ---- editing helpers: each returns an edit of one value of one section ------------------------


def set_u32(tag: bytes, index: int, value: int) -> Callable[[Container], None]:
    def edit(c: Container) -> None:
        a = c.array(tag, "<u4")
        a[index] = value
        c.put(tag, a)
    return edit


def set_f32(tag: bytes, index: int, value: float) -> Callable[[Container], None]:
    def edit(c: Container) -> None:
        a = c.array(tag, "<f4")
        a[index] = value
        c.put(tag, a)
    return edit


def set_i64(tag: bytes, index: int, value: int) -> Callable[[Container], None]:
    def edit(c: Container) -> None:
        a = c.array(tag, "<i8")
        a[index] = value
        c.put(tag, a)
    return edit


def set_u64(tag: bytes, index: int, value: int) -> Callable[[Container], None]:
    def edit(c: Container) -> None:
        a = c.array(tag, "<u8")
        a[index] = value
        c.put(tag, a)
    return edit


def set_byte(tag: bytes, index: int, value: int) -> Callable[[Container], None]:
    def edit(c: Container) -> None:
        b = bytearray(c.sections[tag])
        b[index] = value
        c.sections[tag] = bytes(b)
    return edit


def resize(tag: bytes, delta: int) -> Callable[[Container], None]:
    def edit(c: Container) -> None:
        b = c.sections[tag]
        c.sections[tag] = b + bytes(delta) if delta > 0 else b[:delta]
    return edit


def drop(tag: bytes) -> Callable[[Container], None]:
    def edit(c: Container) -> None:
        del c.sections[tag]
    return edit


def add(tag: bytes, data: bytes) -> Callable[[Container], None]:
    def edit(c: Container) -> None:
        c.sections[tag] = data
    return edit


def set_version(v: int) -> Callable[[Container], None]:
    def edit(c: Container) -> None:
        c.version = v
    return edit


def code_pad_bit(row: int, plane: int, bits: int) -> Callable[[Container], None]:
    """Sets the top (padding) bit of the last word of one plane of one row's code."""
    words = (D + 63) // 64

    def edit(c: Container) -> None:
        a = c.array(b"CODE", "<u8").reshape(N, bits, words)
        a[row, plane, words - 1] |= np.uint64(1 << 63)
        c.put(b"CODE", a)
    return edit


# META: u32 kind, u32 dim, u64 n, 16 reserved.  PARM: u64 seed, then u32 rerank_factor [2],
# query_bits [3], nlist asked [4], nlist [5], words [6], bits [7] (as u32 indexes).
CASES: list[tuple[str, str, Callable[[Container], None], str]] = [
    # container payload version and META (every kind reads these first)
    ("version-0", "flat", set_version(0), "index format version 0"),
    ("version-3", "rabitq", set_version(3), "index format version 3"),
    ("meta-missing", "flat", drop(b"META"), "no META section"),
    ("meta-length", "flat", resize(b"META", 4), "META section is 36 bytes, expected 32"),
    ("meta-reserved", "rabitq", set_byte(b"META", 20, 1), "META has non-zero reserved bytes"),
    ("meta-kind-0", "flat", set_u32(b"META", 0, 0), "META holds index kind 0"),
    ("meta-kind-5", "plus", set_u32(b"META", 0, 5), "META holds index kind 5"),
    ("meta-dim-0", "flat", set_u32(b"META", 1, 0), "META claims dim 0"),
    ("meta-dim-big", "rabitq", set_u32(b"META", 1, 65537), "META claims dim 65537"),
    ("meta-n-huge", "flat", set_u64(b"META", 1, 1 << 60), "META claims 1152921504606846976 vectors"),
    ("meta-n-plus-one", "flat", set_u64(b"META", 1, N + 1), "IDS section is 480 bytes, expected 488"),
    ("meta-dim-mismatch", "flat", set_u32(b"META", 1, D - 1), "VECS section is 16800 bytes, expected 16560"),
    # the flat index: IDS and VECS
    ("ids-missing", "flat", drop(b"IDS0"), "no IDS section"),
    ("ids-length", "flat", resize(b"IDS0", -8), "IDS section is 472 bytes"),
    ("ids-duplicate", "flat", set_i64(b"IDS0", 9, -7), "IDS lists id -7 twice"),
    ("vecs-missing", "flat", drop(b"VECS"), "no VECS section"),
    ("vecs-length", "flat", resize(b"VECS", 4), "VECS section is 16804 bytes"),
    ("vecs-nan", "flat", set_f32(b"VECS", 3 * D + 5, float("nan")), "VECS row 3 has a non-finite value"),
    ("vecs-inf", "plus", set_f32(b"VECS", 7 * D, float("-inf")), "VECS row 7 has a non-finite value"),
    ("flat-foreign-section", "flat", add(b"PARM", bytes(32)), "section with tag 0x4d524150"),
    ("rabitq-unknown-section", "rabitq", add(b"XTRA", b"x"), "section with tag 0x41525458"),
    ("rabitq-ids-duplicate", "rabitq", set_i64(b"IDS0", N - 1, -7), "IDS lists id -7 twice"),
    # PARM
    ("parm-missing", "rabitq", drop(b"PARM"), "no PARM section"),
    ("parm-length", "plus", resize(b"PARM", -4), "PARM section is 28 bytes, expected 32"),
    ("parm-rerank-0", "plus", set_u32(b"PARM", 2, 0), "PARM has invalid parameters: rerank_factor"),
    ("parm-rerank-big", "asym", set_u32(b"PARM", 2, 1025), "PARM has invalid parameters: rerank_factor"),
    ("parm-rerank-1bit", "rabitq", set_u32(b"PARM", 2, 2), "PARM has invalid parameters: .*cannot rerank"),
    ("parm-query-bits-0", "rabitq", set_u32(b"PARM", 3, 0), "PARM has invalid parameters: query_bits"),
    ("parm-query-bits-9", "asym", set_u32(b"PARM", 3, 9), "PARM has invalid parameters: query_bits"),
    ("parm-nlist-asked", "rabitq", set_u32(b"PARM", 4, 65537), "PARM has invalid parameters: nlist"),
    ("parm-nlist-big", "rabitq", set_u32(b"PARM", 5, 65537), "PARM has inconsistent .* nlist 65537"),
    ("parm-nlist-0", "plus", set_u32(b"PARM", 5, 0), "PARM has inconsistent .* nlist 0 .* n 60"),
    ("parm-nlist-other", "rabitq", set_u32(b"PARM", 5, 2), "CENT section is 840 bytes, expected 560"),
    ("parm-words", "rabitq", set_u32(b"PARM", 6, 1), "PARM has inconsistent .*words 1 for dim 70"),
    ("parm-bits-0", "rabitq", set_u32(b"PARM", 7, 0), "PARM has invalid parameters: bits"),
    ("parm-bits-9", "plus", set_u32(b"PARM", 7, 9), "PARM has invalid parameters: bits"),
    ("parm-bits-other", "plus", set_u32(b"PARM", 7, 2), "CODE section is 2880 bytes, expected 1920"),
    # version vs bits: version 2 means multi-bit codes with sign factors
    ("version-1-multibit", "plus", set_version(1), "version 1 file of a 3-bit index"),
    ("version-2-onebit", "rabitq", set_version(2), "version 2 file of a 1-bit index"),
    ("rabitq-vecs", "rabitq", add(b"VECS", bytes(N * D * 4)), "VECS section, but this kind"),
    ("plus-vecs-missing", "plus", drop(b"VECS"), "no VECS section"),
    ("fac1-in-1bit", "rabitq", add(b"FAC1", bytes(N * 12)), "FAC1 section: sign-code factors"),
    # ROTM
    ("rotm-missing", "asym", drop(b"ROTM"), "no ROTM section"),
    ("rotm-length", "rabitq", resize(b"ROTM", -4), "ROTM section is 19596 bytes, expected 19600"),
    ("rotm-nan", "rabitq", set_f32(b"ROTM", 77, float("nan")), "ROTM .*non-finite"),
    # CENT / RADI
    ("cent-missing", "rabitq", drop(b"CENT"), "no CENT section"),
    ("cent-length", "plus", resize(b"CENT", 4), "CENT section is 844 bytes, expected 840"),
    ("cent-nan", "rabitq", set_f32(b"CENT", D + 3, float("nan")), "CENT list 1 has a non-finite centroid"),
    ("cent-inf", "plus", set_f32(b"CENT", 2 * D, float("inf")), "CENT list 2 has a non-finite centroid"),
    ("radi-missing", "asym", drop(b"RADI"), "no RADI section"),
    ("radi-length", "rabitq", resize(b"RADI", -4), "RADI section is 8 bytes, expected 12"),
    ("radi-nan", "rabitq", set_f32(b"RADI", 1, float("nan")), "RADI list 1 has a non-finite radius"),
    ("radi-inf", "plus", set_f32(b"RADI", 0, float("inf")), "RADI list 0 has a non-finite radius"),
    ("radi-negative", "rabitq", set_f32(b"RADI", 2, -0.5), r"RADI list 2 has a negative radius \(-0.5\)"),
    # A radius smaller than its rows' distances would make searches skip the list silently:
    # rv_index_check at load sees it where the vectors are kept.
    ("radi-too-small", "plus", set_f32(b"RADI", 1, 0.01), "consistent index: .*past its radius 0.01"),
    # LIST: the heap-write guard
    ("list-missing", "rabitq", drop(b"LIST"), "no LIST section"),
    ("list-length", "plus", resize(b"LIST", 4), "LIST section is 244 bytes, expected 240"),
    ("list-nlist", "rabitq", set_u32(b"LIST", 5, 3), "LIST row 5 names list 3, but the index has 3 lists"),
    ("list-huge", "plus", set_u32(b"LIST", N - 1, 0xFFFFFFFF), "LIST row 59 names list 4294967295"),
    ("list-asym", "asym", set_u32(b"LIST", 0, 1000), "LIST row 0 names list 1000"),
    # CODE: padding bits past dim, in every plane
    ("code-missing", "rabitq", drop(b"CODE"), "no CODE section"),
    ("code-length", "rabitq", resize(b"CODE", -8), "CODE section is 952 bytes, expected 960"),
    ("code-pad-1bit", "rabitq", code_pad_bit(4, 0, 1), "CODE row 4 plane 0 has bits set beyond dim 70"),
    ("code-pad-sign-plane", "plus", code_pad_bit(9, 2, 3), "CODE row 9 plane 2 has bits set beyond dim 70"),
    ("code-pad-low-plane", "plus", code_pad_bit(N - 1, 0, 3), "CODE row 59 plane 0 has bits set beyond"),
    ("code-pad-asym", "asym", code_pad_bit(0, 3, 4), "CODE row 0 plane 3 has bits set beyond"),
    # FACT / FAC1
    ("fact-missing", "rabitq", drop(b"FACT"), "no FACT section"),
    ("fact-length", "asym", resize(b"FACT", 12), "FACT section is 732 bytes, expected 720"),
    ("fact-nan", "rabitq", set_f32(b"FACT", 3 * 8 + 1, float("nan")), "FACT row 8 has a non-finite factor"),
    ("fact-inf", "plus", set_f32(b"FACT", 3 * 2 + 2, float("inf")), "FACT row 2 has a non-finite factor"),
    ("fac1-missing", "plus", drop(b"FAC1"), "no FAC1 section"),
    ("fac1-length", "plus", resize(b"FAC1", -12), "FAC1 section is 708 bytes, expected 720"),
    ("fac1-nan", "plus", set_f32(b"FAC1", 3 * 30, float("nan")), "FAC1 row 30 has a non-finite factor"),
]


def test_the_helper_rebuilds_files_byte_for_byte(tmp_path: pathlib.Path) -> None:
    for base in BASES:
        path = tmp_path / f"{base}.rvx"
        idx = BASES[base]()
        idx.save(path)  # type: ignore[attr-defined]
        c = containers.read(path)
        assert containers.encode(c) == path.read_bytes()
        again = tmp_path / "again.rvx"
        containers.write(again, dataclasses.replace(c, sections=dict(c.sections)))
        assert CLASSES[base].load(again) == idx


@pytest.mark.parametrize("name,base,edit,match", CASES, ids=[c[0] for c in CASES])
def test_checksum_valid_hostile_file_raises(tmp_path: pathlib.Path, name: str, base: str,
                                            edit: Callable[[Container], None], match: str) -> None:
    c = saved(tmp_path, base)
    edit(c)
    bad = tmp_path / "bad.rvx"
    containers.write(bad, c)
    assert containers.read(bad) == c  # it passes every checksum: only the content is wrong
    with pytest.raises(ruvector.PersistError, match=match):
        CLASSES[base].load(bad)


def test_rabitq_row_count_cap(tmp_path: pathlib.Path) -> None:
    """n = 2^32 rows would wrap the lists' 32-bit row numbers. A file that large is made sparse:
    the container reader checks only the layout, and the loader META before reading the rest."""
    n = 1 << 32
    meta = struct.pack("<IIQ", 2, D, n) + bytes(16)
    ids_len = n * 8
    # header 64 + table 2 x 32 = 128; META at 128..160; IDS0 at 192, 2^35 bytes (all zero: sparse)
    table = (b"META" + struct.pack("<IQQQ", 0, 128, len(meta), containers.xxh3_64(meta)) +
             b"IDS0" + struct.pack("<IQQQ", 0, 192, ids_len, 0))  # IDS0's checksum is never reached
    size = 192 + ids_len
    head = containers.MAGIC + struct.pack("<I", 1) + b"IDX1" + struct.pack("<IIQQ", 1, 2, size, containers.xxh3_64(table))
    head += bytes(16)
    head += struct.pack("<Q", containers.xxh3_64(head))
    path = tmp_path / "sparse.rvx"
    with open(path, "wb") as f:
        f.write(head + table + meta + bytes(32))
        f.truncate(size)
    with pytest.raises(ruvector.PersistError, match="META claims 4294967296 vectors; a RaBitQ index holds at most"):
        ruvector.RabitqIndex.load(path)


# ---- upstream rbpx0001 (no checksums): the header checks not covered in test_rabitq_persist.py --


def rbpx(dim: int, rf: int, n_claimed: int, n_items: int) -> bytes:
    head = b"rbpx0001" + struct.pack("<IIQII", 1, dim, 9, rf, n_claimed)
    item = struct.pack("<I", 1) + bytes(4 * dim)
    return head + b"".join(struct.pack("<I", i) + item[4:] for i in range(n_items))


@pytest.mark.parametrize(
    "data,match",
    [
        (rbpx(8, 1025, 2, 2), r"out of range \(dim 8, rerank_factor 1025, n 2\)"),
        (rbpx(8, 2, 100_000_001, 2), r"out of range \(dim 8, rerank_factor 2, n 100000001\)"),
        (rbpx(8192, 2, 1, 1)[:-4], "implies"),
        (rbpx(8, 2, 3, 2), "is 104 bytes but its rbpx0001 header implies 140"),
    ],
)
def test_rbpx_header_caps(tmp_path: pathlib.Path, data: bytes, match: str) -> None:
    path = tmp_path / "x.rbpx"
    path.write_bytes(data)
    with pytest.raises(ruvector.PersistError, match=match):
        ruvector.RabitqPlusIndex.load(path)
