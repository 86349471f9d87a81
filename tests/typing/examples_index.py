"""Typing examples for the index classes: what mypy infers (assert_type, checked by
`mypy --strict`) and what the runtime returns (asserted when test_typing_examples.py runs each
function), so a stub that drifts from either fails."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import numpy.typing as npt
from typing_extensions import assert_type

import ruvector

DATA = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)


def flat_index() -> None:
    idx = ruvector.FlatF32Index.build(DATA)
    assert_type(idx, ruvector.FlatF32Index)
    assert_type(ruvector.FlatF32Index(8), ruvector.FlatF32Index)
    hits = idx.search(DATA[0], k=3)
    assert_type(hits, list[ruvector.Hit])
    assert_type(hits[0].id, int)
    assert_type(hits[0].score, float)
    ident, score = hits[0]
    assert_type(ident, int)
    assert_type(score, float)
    assert type(hits) is list and type(hits[0]) is ruvector.Hit
    assert type(hits[0].id) is int and type(hits[0].score) is float

    ids, scores = idx.search_batch(DATA[:5], k=3)
    assert_type(ids, npt.NDArray[np.int64])
    assert_type(scores, npt.NDArray[np.float32])
    assert ids.dtype == np.int64 and scores.dtype == np.float32 and ids.shape == scores.shape == (5, 3)

    assert_type(idx.dim, int)
    assert_type(idx.memory_bytes, int)
    assert_type(len(idx), int)
    assert_type(idx[0], npt.NDArray[np.float32])
    assert_type(5 in idx, bool)
    assert_type(iter(idx), Iterator[tuple[int, npt.NDArray[np.float32]]])
    assert_type(np.asarray(idx), npt.NDArray[np.float32])
    assert_type(memoryview(idx), memoryview)
    assert idx[0].dtype == np.float32 and type(idx.dim) is int and type(idx.memory_bytes) is int
    first = next(iter(idx))
    assert type(first) is tuple and type(first[0]) is int and first[1].dtype == np.float32
    assert_type(idx.add(1000, DATA[1]), None)
    assert_type(idx.remove(1000), None)


def rabitq_indexes() -> None:
    plus = ruvector.RabitqPlusIndex.build(DATA, seed=1, rerank_factor=5, bits=4)
    assert_type(plus, ruvector.RabitqPlusIndex)
    codes = ruvector.RabitqIndex.build(DATA, ids=range(64), nlist=None)
    assert_type(codes, ruvector.RabitqIndex)
    asym = ruvector.RabitqAsymIndex.build(DATA, ids=np.arange(64, dtype=np.int64))
    assert_type(asym, ruvector.RabitqAsymIndex)
    assert_type(plus.search(DATA[0], k=2, rerank_factor=None, nprobe=4), list[ruvector.Hit])
    ids, scores = codes.search_batch(DATA[:3], k=2)
    assert_type(ids, npt.NDArray[np.int64])
    assert_type(scores, npt.NDArray[np.float32])
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    assert_type(plus.seed, int)
    assert_type(plus.nlist, int)
    assert_type(plus.bits, int)
    assert plus.rerank_factor == 5 and plus.bits == 4 and type(plus.nlist) is int


def any_index_and_recommend() -> None:
    def search_any(index: ruvector.AnyIndex) -> list[ruvector.Hit]:
        return index.search(DATA[0], k=1)

    for cls in (ruvector.FlatF32Index, ruvector.RabitqIndex, ruvector.RabitqPlusIndex, ruvector.RabitqAsymIndex):
        idx = cls.build(DATA)
        assert isinstance(idx, ruvector.AnyIndex)
        assert len(search_any(idx)) == 1

    cls, kwargs = ruvector.recommend(100_000, 128, 0.99)
    assert_type(kwargs, dict[str, Any])
    assert all(type(v) is int for v in kwargs.values())
    built = cls.build(DATA, **kwargs)
    assert_type(
        built, ruvector.FlatF32Index | ruvector.RabitqIndex | ruvector.RabitqPlusIndex | ruvector.RabitqAsymIndex
    )
    assert isinstance(built, ruvector.RabitqPlusIndex)


def cpu_features() -> None:
    f = ruvector.cpu_features()
    assert_type(f["kernel"], str)
    assert_type(f["threads"], int)
    assert_type(f["avx2"], bool)
    assert type(f["kernel"]) is str and type(f["threads"]) is int and type(f["avx2"]) is bool
    assert_type(ruvector.__version__, str)
