"""save/load: exact round trips, atomic writes, old-format fixtures, and hostile files."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ruvector

DATA = pathlib.Path(__file__).parent / "data"


def small_file(tmp_path: pathlib.Path) -> tuple[pathlib.Path, bytes, ruvector.FlatF32Index]:
    idx = ruvector.FlatF32Index.build(
        np.linspace(-1, 1, 4 * 3, dtype=np.float32).reshape(4, 3), ids=[10, -20, 30, 2**50]
    )
    path = tmp_path / "small.rvx"
    idx.save(path)
    return path, path.read_bytes(), idx


@pytest.mark.parametrize("d", [1, 5, 128, 769])
def test_round_trip_is_exact(tmp_path: pathlib.Path, rng: np.random.Generator, d: int) -> None:
    data = rng.normal(size=(500, d)).astype(np.float32)
    idx = ruvector.FlatF32Index.build(data, ids=rng.choice(2**62, 500, replace=False))
    for i in list(iter(idx))[::7]:
        idx.remove(i[0])  # holes and moved rows survive the trip
    path = tmp_path / "idx.rvx"
    idx.save(path)
    back = ruvector.FlatF32Index.load(path)
    assert back == idx and len(back) == len(idx) and back.dim == d
    q = rng.normal(size=(20, d)).astype(np.float32)
    for a, b in zip(idx.search_batch(q, k=15), back.search_batch(q, k=15)):
        np.testing.assert_array_equal(a, b)
    assert idx.search(q[0], k=5) == back.search(q[0], k=5)
    np.testing.assert_array_equal(np.asarray(idx), np.asarray(back))  # same row order too


def test_save_is_deterministic_and_atomic(tmp_path: pathlib.Path, rng: np.random.Generator) -> None:
    data = rng.normal(size=(100, 8)).astype(np.float32)
    a, b = tmp_path / "a.rvx", tmp_path / "b.rvx"
    ruvector.FlatF32Index.build(data).save(a)
    ruvector.FlatF32Index.build(data).save(str(b))
    assert a.read_bytes() == b.read_bytes()
    # Overwriting replaces the file whole; no temp files are left behind.
    ruvector.FlatF32Index.build(data[:10]).save(os.fsencode(a))
    assert len(ruvector.FlatF32Index.load(a)) == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.rvx", "b.rvx"]


def test_failed_save_leaves_the_old_file(tmp_path: pathlib.Path) -> None:
    path, original, idx = small_file(tmp_path)
    with pytest.raises(ruvector.PersistError, match="cannot create a file beside"):
        idx.save(tmp_path / "missing-dir" / "x.rvx")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ruvector.PersistError):
        idx.save(blocker / "x.rvx")  # parent is not a directory
    assert path.read_bytes() == original


def test_format_fixture_still_loads() -> None:
    ids = np.array([-(2**63), -5, 0, 7, 2**40, 2**63 - 1], dtype=np.int64)
    vectors = ((np.arange(30).reshape(6, 5) - 12.5) / 4).astype(np.float32)
    idx = ruvector.FlatF32Index.load(DATA / "flat_v1.rvx")
    assert idx == ruvector.FlatF32Index.build(vectors, ids=ids)


def test_missing_and_non_files(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ruvector.PersistError, match="cannot open .*No such file"):
        ruvector.FlatF32Index.load(tmp_path / "nope.rvx")
    with pytest.raises(ruvector.PersistError, match="not a regular file"):
        ruvector.FlatF32Index.load(tmp_path)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(ruvector.PersistError, match="not a ruvector file"):
        ruvector.FlatF32Index.load(empty)
    text = tmp_path / "text"
    text.write_bytes(b"hello world, this is not an index" * 10)
    with pytest.raises(ruvector.PersistError, match="bad magic"):
        ruvector.FlatF32Index.load(text)
    with pytest.raises(ruvector.ArgumentTypeError):
        ruvector.FlatF32Index.load(42)  # type: ignore[arg-type]


def test_every_truncation_raises(tmp_path: pathlib.Path) -> None:
    path, original, _ = small_file(tmp_path)
    bad = tmp_path / "bad.rvx"
    for cut in range(len(original)):
        bad.write_bytes(original[:cut])
        with pytest.raises(ruvector.PersistError):
            ruvector.FlatF32Index.load(bad)
    bad.write_bytes(original + b"\0" * 64)
    with pytest.raises(ruvector.PersistError):
        ruvector.FlatF32Index.load(bad)


def test_every_bit_flip_raises(tmp_path: pathlib.Path) -> None:
    path, original, _ = small_file(tmp_path)
    bad = tmp_path / "bad.rvx"
    for byte in range(len(original)):
        for bit in range(8):
            mutated = bytearray(original)
            mutated[byte] ^= 1 << bit
            bad.write_bytes(mutated)
            with pytest.raises(ruvector.PersistError):
                ruvector.FlatF32Index.load(bad)


@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_fuzzed_files_never_crash(tmp_path_factory: pytest.TempPathFactory,
                                  edits: list[tuple[int, int]], cut: int | None) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    path, original, idx = small_file(tmp)
    mutated = bytearray(original)
    for pos, value in edits:
        mutated[pos % len(mutated)] = value
    if cut is not None:
        mutated = mutated[: cut % (len(mutated) + 1)]
    path.write_bytes(mutated)
    if bytes(mutated) == original:
        assert ruvector.FlatF32Index.load(path) == idx
    else:
        with pytest.raises(ruvector.PersistError):
            ruvector.FlatF32Index.load(path)
