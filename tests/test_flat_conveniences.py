"""The Pythonic conveniences of 03-api-surface.md on FlatF32Index."""

from __future__ import annotations

import ctypes
import sys

import numpy as np
import pytest

import ruvector


def test_len_dim_repr_memory(rng: np.random.Generator) -> None:
    data = rng.normal(size=(1000, 96)).astype(np.float32)
    idx = ruvector.FlatF32Index.build(data)
    assert len(idx) == 1000 and idx.dim == 96
    raw = 1000 * 96 * 4
    # Honest: at least the vectors and ids; not more than storage slack + map overhead.
    assert raw + 1000 * 8 <= idx.memory_bytes <= 2 * raw
    assert repr(idx) == f"FlatF32Index(n=1000, dim=96, memory_bytes={idx.memory_bytes})"
    before = idx.memory_bytes
    idx.add_batch(np.arange(1000, 3000), rng.normal(size=(2000, 96)).astype(np.float32))
    assert idx.memory_bytes > before + 2000 * 96 * 4 * 0.9


def test_getitem_iteration_contains(rng: np.random.Generator) -> None:
    data = rng.normal(size=(50, 7)).astype(np.float32)
    ids = rng.choice(10**15, 50, replace=False).astype(np.int64)
    idx = ruvector.FlatF32Index.build(data, ids=ids)
    for i, ident in enumerate(ids):
        got = idx[int(ident)]
        assert got.dtype == np.float32 and got.shape == (7,)
        np.testing.assert_array_equal(got, data[i])
        assert int(ident) in idx
    got[0] = 123.0  # a copy: the index is unaffected
    assert idx[int(ids[-1])][0] != 123.0
    pairs = list(idx)
    assert [p[0] for p in pairs] == ids.tolist()
    for (ident, vec), row in zip(pairs, data):
        np.testing.assert_array_equal(vec, row)
    assert -1 not in idx


def test_asarray_is_a_zero_copy_read_only_view(rng: np.random.Generator) -> None:
    data = rng.normal(size=(300, 16)).astype(np.float32)
    idx = ruvector.FlatF32Index.build(data)
    a = np.asarray(idx)
    b = np.asarray(idx)
    assert a.shape == (300, 16) and a.dtype == np.float32
    assert np.shares_memory(a, b)  # both views of the index's own storage
    assert not np.shares_memory(a, data)  # build copied the caller's array into the index
    np.testing.assert_array_equal(a, data)
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[0, 0] = 1.0
    # The index stays alive while a view does.
    del idx
    np.testing.assert_array_equal(a, data)
    m = memoryview(ruvector.FlatF32Index.build(data))
    assert m.shape == (300, 16) and m.format == "f" and m.readonly
    get_buffer = ctypes.pythonapi.PyObject_GetBuffer
    get_buffer.argtypes = [ctypes.py_object, ctypes.c_void_p, ctypes.c_int]
    py_buffer = (ctypes.c_byte * 256)()
    with pytest.raises(BufferError, match="read-only"):
        get_buffer(ruvector.FlatF32Index.build(data), py_buffer, 0x1)  # PyBUF_WRITABLE
    assert np.asarray(ruvector.FlatF32Index(4)).shape == (0, 4)


def test_equality_is_structural(rng: np.random.Generator) -> None:
    data = rng.normal(size=(100, 8)).astype(np.float32)
    a = ruvector.FlatF32Index.build(data)
    b = ruvector.FlatF32Index.build(data)
    assert a == b and not (a != b)
    perm = rng.permutation(100)
    c = ruvector.FlatF32Index.build(data[perm], ids=perm.astype(np.int64))
    assert a == c  # same id -> vector mapping, different row order
    c.remove(5)
    assert a != c
    c.add(id=5, vector=data[5])
    assert a == c
    d = ruvector.FlatF32Index.build(data + np.float32(1e-6))
    assert a != d
    assert a != ruvector.FlatF32Index.build(data[:, :4].copy())


def test_remove_is_exact_and_re_add_works(rng: np.random.Generator) -> None:
    data = rng.normal(size=(200, 12)).astype(np.float32)
    idx = ruvector.FlatF32Index.build(data)
    q = data[17]
    assert idx.search(q, k=1)[0].id == 17
    idx.remove(17)
    assert len(idx) == 199 and 17 not in idx
    hits = idx.search(q, k=199)
    assert 17 not in [h.id for h in hits] and len(hits) == 199
    for i in range(0, 200, 3):
        if i != 17:
            idx.remove(i)
    remaining = sorted(i for i, _ in idx)
    assert remaining == [i for i in range(200) if i % 3 and i != 17]
    for i, vec in idx:  # every id still maps to its own vector after the swaps
        np.testing.assert_array_equal(vec, data[i])
    idx.add(id=17, vector=data[17])
    assert idx.search(q, k=1)[0] == ruvector.Hit(17, 0.0)


def test_add_and_add_batch(rng: np.random.Generator) -> None:
    idx = ruvector.FlatF32Index(5)
    idx.add(id=2**62, vector=[1, 2, 3, 4, 5])
    idx.add(3, np.ones(5, dtype=np.float32))
    idx.add_batch(np.array([7, 8], dtype=np.int64), np.zeros((2, 5), dtype=np.float32))
    idx.add_batch([], np.zeros((0, 5), dtype=np.float32))
    assert len(idx) == 4 and 2**62 in idx
    np.testing.assert_array_equal(idx[2**62], [1, 2, 3, 4, 5])


def test_progress_callback_and_bar(rng: np.random.Generator, capsys: pytest.CaptureFixture[str]) -> None:
    data = rng.normal(size=(50_000, 8)).astype(np.float32)
    calls: list[tuple[int, int]] = []
    ruvector.FlatF32Index.build(data, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (50_000, 50_000)
    assert all(t == 50_000 for _, t in calls) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    idx = ruvector.FlatF32Index(8)
    calls.clear()
    idx.add_batch(np.arange(50_000), data, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (50_000, 50_000)
    ruvector.FlatF32Index.build(data, progress=True)
    assert "build" in capsys.readouterr().err


def test_exception_in_progress_cancels_cleanly(rng: np.random.Generator) -> None:
    data = rng.normal(size=(60_000, 4)).astype(np.float32)

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ruvector.FlatF32Index.build(data, progress=interrupt)
    idx = ruvector.FlatF32Index.build(data[:10])

    def boom(done: int, total: int) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        idx.add_batch(np.arange(100, 60_100), data, progress=boom)
    assert len(idx) == 10 and 100 not in idx  # nothing half-added
    idx.add_batch(np.arange(100, 60_100), data)  # and the ids are free again
    assert len(idx) == 60_010


def test_refcounts_do_not_leak(rng: np.random.Generator) -> None:
    data = rng.normal(size=(64, 4)).astype(np.float32)
    idx = ruvector.FlatF32Index.build(data)
    q = data[0]
    before = (sys.getrefcount(data), sys.getrefcount(q), sys.getrefcount(idx))
    for _ in range(100):
        idx.search(q, k=3)
        idx.search_batch(data, k=2)
        np.asarray(idx)
        try:
            idx.search(q.astype(np.float64))
        except TypeError:
            pass
    assert (sys.getrefcount(data), sys.getrefcount(q), sys.getrefcount(idx)) == before
