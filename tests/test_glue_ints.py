"""Integer arguments: every one is range-checked before it is narrowed (seed=2**64 or seed=-1 used
to wrap silently), out-of-range values raise ArgumentError (a ValueError) naming the value and
the range, NumPy integers are integers everywhere, `x in idx` is False for what cannot be an id,
and strided id arrays are read with their strides."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import ruvector

DATA = np.random.default_rng(3).normal(size=(200, 8)).astype(np.float32)
RABITQ = [ruvector.RabitqIndex, ruvector.RabitqPlusIndex, ruvector.RabitqAsymIndex]
ALL = [ruvector.FlatF32Index, *RABITQ]

U64 = "0..18446744073709551615"
I64 = "-9223372036854775808..9223372036854775807"


@pytest.mark.parametrize("cls", RABITQ, ids=lambda c: c.__name__)
def test_seed_out_of_range_is_an_error_not_a_wrap(cls: Any) -> None:
    for seed in (2**64, -1, -(2**64) + 1, 2**200):
        with pytest.raises(ruvector.ArgumentError, match=rf"seed must be in {U64}, not {seed}$"):
            cls.build(DATA, seed=seed)
        with pytest.raises(ValueError, match="seed must be in"):
            cls(8, seed=seed)
    assert cls.build(DATA, seed=2**64 - 1).seed == 2**64 - 1 and cls.build(DATA, seed=0).seed == 0
    # what used to happen: 2**64 + 5 wrapped to seed 5
    assert cls.build(DATA, seed=5) != cls.build(DATA, seed=7)


# (keyword, the valid range, a call taking it)
BUILD_INTS: list[tuple[str, int, int]] = [
    ("rerank_factor", 1, 1024),
    ("query_bits", 1, 8),
    ("nlist", 0, 65536),
    ("bits", 1, 8),
]


@pytest.mark.parametrize("name,lo,hi", BUILD_INTS)
def test_build_integers_are_range_checked_before_narrowing(name: str, lo: int, hi: int) -> None:
    for bad in (lo - 1, hi + 1, 2**32 + lo, 2**32 + 1, 2**64 + 1, -(2**63)):
        kw: dict[str, Any] = {name: bad}
        with pytest.raises(ruvector.ArgumentError, match=rf"{name} must be in {lo}\.\.{hi}, not {bad}$"):
            ruvector.RabitqPlusIndex.build(DATA, **kw)
        with pytest.raises(ruvector.ArgumentError, match=rf"{name} must be in {lo}\.\.{hi}, not {bad}$"):
            ruvector.RabitqAsymIndex(8, **kw)


def test_search_integers_are_range_checked() -> None:
    idx = ruvector.RabitqPlusIndex.build(DATA, seed=1)
    q = DATA[0]
    for bad in (0, 1025, 2**32 + 4, 2**64 + 4, -1):
        with pytest.raises(ruvector.ArgumentError, match=rf"rerank_factor must be in 1\.\.1024, not {bad}$"):
            idx.search(q, rerank_factor=bad)
        with pytest.raises(ValueError, match="rerank_factor must be in"):
            idx.search_batch(q[None], rerank_factor=bad)
    for bad in (0, 2**32, 2**32 + 3, -1):
        with pytest.raises(ruvector.ArgumentError, match=rf"nprobe must be in 1\.\.4294967295, not {bad}$"):
            idx.search(q, nprobe=bad)
    for bad in (0, -5, 2**63, 2**64 + 3):
        with pytest.raises(ruvector.ArgumentError, match=rf"k must be in 1\.\.9223372036854775807, not {bad}$"):
            idx.search(q, k=bad)
    for bad in (0, 65537, 2**32 + 8, -(2**64) + 8):
        with pytest.raises(ruvector.ArgumentError, match=rf"dim must be in 1\.\.65536, not {bad}$"):
            ruvector.FlatF32Index(bad)
    # ids: int64, named with their position
    with pytest.raises(ruvector.ArgumentError, match=r"ids\[1\] does not fit"):
        ruvector.FlatF32Index.build(DATA[:2], ids=[0, 2**64])
    with pytest.raises(ruvector.ArgumentError, match="id does not fit"):
        idx.remove(2**63)
    with pytest.raises(ruvector.ArgumentError, match="id does not fit"):
        idx.add(id=-(2**63) - 1, vector=DATA[0])


NP_INTS: list[Callable[[int], Any]] = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                        np.uint64, np.intp]


@pytest.mark.parametrize("t", NP_INTS, ids=lambda t: t.__name__)
def test_numpy_integers_are_integers_everywhere(t: Callable[[int], Any]) -> None:
    flat = ruvector.FlatF32Index(t(8))
    flat.add(id=t(5), vector=DATA[5])
    flat.add(t(6), DATA[6])
    flat.add_batch([t(7), t(9)], DATA[7:9])
    assert t(5) in flat and t(6) in flat and t(9) in flat and t(10) not in flat
    assert np.array_equal(flat[t(6)], DATA[6])
    stored_ids, stored = np.array([6, 7, 9]), DATA[[6, 7, 8]]  # id 9 holds DATA[8]
    nearest = int(stored_ids[np.argmin(((stored - DATA[5]) ** 2).sum(1))])
    assert [h.id for h in flat.search(DATA[5], k=t(2))] == [5, nearest]
    assert flat.search_batch(DATA[:3], k=t(3))[0].shape == (3, 3)
    flat.remove(t(5))
    assert 5 not in flat and len(flat) == 3
    built = ruvector.FlatF32Index.build(DATA[:3], ids=[t(10), t(11), t(12)])
    assert sorted(i for i, _ in built) == [10, 11, 12]
    rq = ruvector.RabitqPlusIndex.build(DATA, seed=t(42), rerank_factor=t(4), query_bits=t(6), nlist=t(3), bits=t(2))
    assert (rq.seed, rq.rerank_factor, rq.query_bits, rq.nlist, rq.bits) == (42, 4, 6, 3, 2)
    assert rq == ruvector.RabitqPlusIndex.build(DATA, seed=42, rerank_factor=4, query_bits=6, nlist=3, bits=2)
    assert len(rq.search(DATA[0], k=t(4), rerank_factor=t(2), nprobe=t(2))) == 4
    assert ruvector.RabitqAsymIndex(t(8), seed=t(1)).dim == 8
    cls, _ = ruvector.recommend(t(100), t(8))
    assert cls is ruvector.FlatF32Index


def test_recommend_rejects_non_integers() -> None:
    with pytest.raises(ruvector.ArgumentTypeError, match="must be integers"):
        ruvector.recommend(10.0, 8)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ruvector.recommend(10, "8")  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_contains_is_false_for_what_cannot_be_an_id(cls: Any) -> None:
    idx = cls.build(DATA[:20], ids=np.arange(20) * 3)
    for x in ("a", "3", 3.0, None, 2**64, -(2**64), b"3", (3,), [3]):
        assert (x in idx) is False
    assert 3 in idx and np.int64(57) in idx and 4 not in idx and True not in idx and False in idx  # 0 is stored


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_strided_ids_keep_their_values(cls: Any) -> None:
    """ids=np.arange(10)[::2] is an int64 view with stride 16: it must give ids 0, 2, 4, 6, 8 (a
    reader that assumed contiguity would see 0, 1, 2, 3, 4)."""
    eye = np.eye(5, dtype=np.float32)
    strided = np.arange(10)[::2]
    assert strided.dtype == np.int64 and not strided.flags.c_contiguous
    idx = cls.build(eye, ids=strided)
    assert sorted(int(i) for i in (0, 1, 2, 3, 4, 5, 6, 7, 8) if i in idx) == [0, 2, 4, 6, 8]
    if cls is ruvector.FlatF32Index or cls is ruvector.RabitqPlusIndex:
        assert {i: int(np.argmax(v)) for i, v in idx} == {0: 0, 2: 1, 4: 2, 6: 3, 8: 4}
    hits = idx.search(eye[3], k=1)
    assert hits[0].id == 6
    # the same through add_batch, and for a narrower dtype (converted element by element)
    more = np.arange(100, 120, dtype=np.int64)[::4]
    idx.add_batch(more, eye + 5)
    assert all(int(i) in idx for i in (100, 104, 108, 112, 116)) and 101 not in idx
    small = cls.build(eye, ids=np.arange(20, dtype=np.int32)[::-4])  # negative stride
    assert sorted(int(i) for i in range(20) if i in small) == [3, 7, 11, 15, 19]
