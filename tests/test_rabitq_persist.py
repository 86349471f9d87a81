"""RaBitQ persistence: exact round trips, determinism, hostile files, upstream rbpx0001 import."""

from __future__ import annotations

import os
import pathlib
import struct
import subprocess
import sys

import numpy as np
import numpy.typing as npt
import pytest

import ruvector
from conftest import clustered

RABITQ = [ruvector.RabitqIndex, ruvector.RabitqPlusIndex, ruvector.RabitqAsymIndex]


@pytest.mark.parametrize("cls", RABITQ)
@pytest.mark.parametrize("d", [3, 64, 100])
def test_round_trip_is_exact(tmp_path: pathlib.Path, rng: np.random.Generator,
                             cls: type[ruvector.RabitqPlusIndex], d: int) -> None:
    data = clustered(rng, 2_000, d)
    ids = rng.choice(2**60, 2_000, replace=False).astype(np.int64)
    idx = cls.build(data, ids=ids, seed=5, query_bits=6, bits=1 if d == 3 else 3)
    for i in ids[::5]:
        idx.remove(int(i))
    idx.add(id=-7, vector=data[0])
    path = tmp_path / "r.rvx"
    idx.save(path)
    back = cls.load(path)
    assert back == idx and len(back) == len(idx) and back.nlist == idx.nlist and back.query_bits == 6
    assert back.bits == idx.bits
    q = clustered(rng, 30, d)
    for a, b in zip(idx.search_batch(q, k=10), back.search_batch(q, k=10)):
        np.testing.assert_array_equal(a, b)
    back.add(id=-8, vector=data[1])  # a loaded index keeps working
    assert len(back) == len(idx) + 1


def test_same_data_and_seed_give_identical_bytes(tmp_path: pathlib.Path, rng: np.random.Generator) -> None:
    data = clustered(rng, 3_000, 48)
    a, b, c = (tmp_path / n for n in ("a", "b", "c"))
    ruvector.RabitqPlusIndex.build(data, seed=77).save(a)
    ruvector.RabitqPlusIndex.build(data, seed=77).save(b)
    ruvector.RabitqPlusIndex.build(data, seed=78).save(c)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert ruvector.RabitqPlusIndex.build(data, seed=77) != ruvector.RabitqPlusIndex.build(data, seed=78)


SCRIPT = r"""
import sys, numpy as np, ruvector
rng = np.random.default_rng(3)
c = rng.uniform(-2, 2, size=(20, 40)).astype(np.float32)
data = c[rng.integers(0, 20, size=20_000)] + rng.normal(0, 0.6, size=(20_000, 40)).astype(np.float32)
ruvector.RabitqPlusIndex.build(data, seed=5).save(sys.argv[1])
print(ruvector.cpu_features()["threads"])
"""


def test_build_is_independent_of_thread_count(tmp_path: pathlib.Path) -> None:
    outs = []
    for threads in ("1", "2", "5"):
        path = tmp_path / f"t{threads}.rvx"
        res = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], capture_output=True, text=True, check=True,
                             env={**os.environ, "RUVECTOR_NUM_THREADS": threads})
        assert res.stdout.strip() == threads
        outs.append(path.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_kind_is_checked_on_load(tmp_path: pathlib.Path, rng: np.random.Generator) -> None:
    data = clustered(rng, 200, 8)
    ruvector.RabitqIndex.build(data).save(tmp_path / "r.rvx")
    with pytest.raises(ruvector.PersistError, match="holds a RabitqIndex, not a RabitqPlusIndex"):
        ruvector.RabitqPlusIndex.load(tmp_path / "r.rvx")
    ruvector.FlatF32Index.build(data).save(tmp_path / "f.rvx")
    with pytest.raises(ruvector.PersistError, match="holds a FlatF32Index"):
        ruvector.RabitqIndex.load(tmp_path / "f.rvx")


@pytest.mark.parametrize("cls", [ruvector.RabitqIndex, ruvector.RabitqPlusIndex])
def test_every_byte_corrupted_raises(tmp_path: pathlib.Path, cls: type[ruvector.RabitqPlusIndex]) -> None:
    data = np.linspace(-1, 1, 40 * 5, dtype=np.float32).reshape(40, 5)
    path = tmp_path / "small.rvx"
    cls.build(data, seed=1, nlist=3).save(path)
    original = path.read_bytes()
    bad = tmp_path / "bad.rvx"
    for pos in range(len(original)):
        for flip in (0x01, 0x80):
            mutated = bytearray(original)
            mutated[pos] ^= flip
            bad.write_bytes(mutated)
            with pytest.raises(ruvector.PersistError):
                cls.load(bad)
    for cut in range(0, len(original), 7):
        bad.write_bytes(original[:cut])
        with pytest.raises(ruvector.PersistError):
            cls.load(bad)


# ---- upstream rbpx0001 (reference §8): header | per item: u32 id, dim x f32 ----------------


def rbpx(dim: int, seed: int, rf: int, ids: list[int], vectors: npt.NDArray[np.float32], version: int = 1) -> bytes:
    head = b"rbpx0001" + struct.pack("<IIQII", version, dim, seed, rf, len(ids))
    body = b"".join(struct.pack("<I", i) + vectors[n].astype("<f4").tobytes() for n, i in enumerate(ids))
    return head + body


def test_rbpx_import(tmp_path: pathlib.Path) -> None:
    # The reference's golden case: rows v[j] = ((7i + 3j) mod 11) - 5, ids 10i + 1, D = 8.
    vectors = np.array([[((7 * i + 3 * j) % 11) - 5 for j in range(8)] for i in range(16)], dtype=np.float32)
    ids = [10 * i + 1 for i in range(16)]
    path = tmp_path / "index.rbpx"
    data = rbpx(8, 42, 2, ids, vectors)
    assert len(data) == 32 + 16 * 36 and data[:32].hex() == (
        "7262707830303031" "01000000" "08000000" "2a00000000000000" "02000000" "10000000")
    path.write_bytes(data)
    idx = ruvector.RabitqPlusIndex.load(path)
    assert (idx.seed, idx.rerank_factor, len(idx), idx.dim) == (42, 2, 16, 8)
    assert idx == ruvector.RabitqPlusIndex.build(vectors, ids=ids, seed=42, rerank_factor=2)
    q = np.array([0.5 * j - 1 for j in range(8)], dtype=np.float32)
    # Exact scores (the reference's Flat/Plus golden: (111,69)(1,69)(61,81)(131,83)(21,83)), ties by id.
    got = [(h.id, round(h.score, 4)) for h in idx.search(q, k=5, rerank_factor=20)]
    assert got == [(1, 69.0), (111, 69.0), (61, 81.0), (21, 83.0), (131, 83.0)]
    with pytest.raises(ruvector.PersistError, match="holds a RabitqPlusIndex"):
        ruvector.RabitqIndex.load(path)


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda b: b[:8] + struct.pack("<I", 0) + b[12:], "version 0"),  # upstream accepted version 0
        (lambda b: b[:24] + struct.pack("<I", 0) + b[28:], "out of range"),  # ... and rerank_factor 0
        (lambda b: b[:12] + struct.pack("<I", 0) + b[16:], "out of range"),  # dim 0 crashed upstream
        (lambda b: b[:12] + struct.pack("<I", 9000) + b[16:], "out of range"),
        (lambda b: b + b"\0", "implies"),  # trailing bytes were ignored upstream
        (lambda b: b[:-1], "implies"),
        (lambda b: b[:20], "truncated"),
    ],
)
def test_rbpx_hostile_headers(tmp_path: pathlib.Path, mutate: object, match: str) -> None:
    vectors = np.ones((4, 8), dtype=np.float32)
    good = rbpx(8, 1, 2, [1, 2, 3, 4], vectors)
    path = tmp_path / "bad.rbpx"
    path.write_bytes(mutate(good))  # type: ignore[operator]
    with pytest.raises(ruvector.PersistError, match=match):
        ruvector.RabitqPlusIndex.load(path)


def test_rbpx_bad_items(tmp_path: pathlib.Path) -> None:
    vectors = np.ones((3, 4), dtype=np.float32)
    path = tmp_path / "dup.rbpx"
    path.write_bytes(rbpx(4, 1, 2, [5, 5, 6], vectors))
    with pytest.raises(ruvector.PersistError, match="twice|already"):
        ruvector.RabitqPlusIndex.load(path)
    vectors[1, 2] = np.nan
    path.write_bytes(rbpx(4, 1, 2, [5, 6, 7], vectors))
    with pytest.raises(ruvector.PersistError, match="non-finite"):
        ruvector.RabitqPlusIndex.load(path)
