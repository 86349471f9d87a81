"""Search results hold only what the search wrote: short rows (nprobe cut the scan, k > n, removed
ids) never expose uninitialised memory; ties are broken by id across lists; equal indexes search
alike. Every expectation comes from a NumPy brute force or from the contract, not from our own
output."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

import ruvector
from conftest import assert_exact_knn, brute_force

# The index classes share no base class (ruvector.AnyIndex is their Protocol), so name the union.
RABITQ: list[type[ruvector.RabitqIndex] | type[ruvector.RabitqPlusIndex] | type[ruvector.RabitqAsymIndex]] = [
    ruvector.RabitqIndex, ruvector.RabitqPlusIndex, ruvector.RabitqAsymIndex]
EXACT_SCORES = (ruvector.RabitqPlusIndex,)  # RabitqIndex / Asym (rf 1) return estimates


def check_real_hits(
    data: npt.NDArray[np.float32],
    ids: npt.NDArray[np.int64],
    query: npt.NDArray[np.float32],
    got_ids: list[int],
    got_scores: list[float],
    exact: bool,
) -> None:
    """Every hit is a real, distinct id of the index, in ascending (score, id) order; with exact
    scores each score is that id's true squared distance."""
    known = {int(i): n for n, i in enumerate(ids)}
    assert all(i in known for i in got_ids), [i for i in got_ids if i not in known]
    assert len(set(got_ids)) == len(got_ids)
    pairs = list(zip(got_scores, got_ids))
    assert pairs == sorted(pairs)
    assert all(np.isfinite(got_scores))
    if exact:
        true = ((data[[known[i] for i in got_ids]].astype(np.float64) - query) ** 2).sum(axis=1)
        np.testing.assert_allclose(got_scores, true, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", RABITQ)
def test_nprobe_short_rows_hold_only_real_hits(cls: type[ruvector.RabitqPlusIndex]) -> None:
    # The newcomer's reproduction: 1000 points in 100 lists, k = 20 from one list of ~10.
    x = np.random.default_rng(0).random((1000, 8), dtype=np.float32)
    ids = np.arange(1000, dtype=np.int64)
    idx = cls.build(x, nlist=100, seed=1)
    short = 0
    for qi in range(50):
        hits = idx.search(x[qi], k=20, nprobe=1)
        short += len(hits) < 20
        check_real_hits(x, ids, x[qi], [h.id for h in hits], [h.score for h in hits], cls in EXACT_SCORES)
    assert short > 0  # the case under test really happened
    got_ids, got_scores = idx.search_batch(x[:50], k=20, nprobe=1)
    assert got_ids.shape == got_scores.shape == (50, 20)
    for qi in range(50):
        single = idx.search(x[qi], k=20, nprobe=1)
        n = len(single)
        # Real hits first, exactly the single search's; then padding: id -1, score +inf.
        assert [int(i) for i in got_ids[qi, :n]] == [h.id for h in single]
        assert [float(s) for s in got_scores[qi, :n]] == [h.score for h in single]
        assert np.all(got_ids[qi, n:] == -1) and np.all(np.isposinf(got_scores[qi, n:]))


@pytest.mark.parametrize("cls", RABITQ)
def test_realistic_nprobe_two_never_returns_foreign_ids(cls: type[ruvector.RabitqPlusIndex]) -> None:
    # 50 clusters of uneven spread: some of the ~141 default lists are small, and a query
    # whose two nearest lists hold fewer than 100 vectors gets a short row.
    rng = np.random.default_rng(5)
    spread = rng.normal(size=(20_000, 32)) + 5 * rng.normal(size=(50, 32))[rng.integers(0, 50, 20_000)]
    x = spread.astype(np.float32)
    ids = np.random.default_rng(6).choice(10**9, size=20_000, replace=False).astype(np.int64)
    idx = cls.build(x, ids=ids, seed=3)
    q = x[:400].copy()
    got_ids, got_scores = idx.search_batch(q, k=100, nprobe=2)
    known = set(int(i) for i in ids)
    pad = got_ids == -1
    assert pad.any()  # the case under test really happened
    assert np.all(np.isposinf(got_scores[pad])) and np.all(np.isfinite(got_scores[~pad]))
    assert set(int(i) for i in got_ids[~pad]) <= known
    for row in range(len(q)):  # padding only at the end of a row
        n = int((~pad[row]).sum())
        assert not pad[row, :n].any()
        hits = idx.search(q[row], k=100, nprobe=2)
        assert [h.id for h in hits] == [int(i) for i in got_ids[row, :n]]


@pytest.mark.parametrize("cls", [ruvector.FlatF32Index, *RABITQ])
def test_k_larger_than_n_and_removed_ids(cls: type[ruvector.RabitqPlusIndex]) -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(40, 16)).astype(np.float32)
    ids = np.arange(100, 140, dtype=np.int64)
    idx = cls.build(x, ids=ids)
    for gone in range(100, 140, 3):
        idx.remove(gone)
    keep = np.array([i % 3 != 0 for i in range(40)])
    q = rng.normal(size=(5, 16)).astype(np.float32)
    for qi in range(5):
        hits = idx.search(q[qi], k=1000)
        assert len(hits) == int(keep.sum())
        check_real_hits(x[keep], ids[keep], q[qi], [h.id for h in hits], [h.score for h in hits],
                        cls in (ruvector.FlatF32Index, ruvector.RabitqPlusIndex))
    got_ids, got_scores = idx.search_batch(q, k=1000)
    assert got_ids.shape == (5, int(keep.sum()))  # rows are min(k, len) wide
    assert set(int(i) for i in got_ids.ravel()) == set(int(i) for i in ids[keep])


def test_lake_batch_rows_when_k_exceeds_the_collection() -> None:
    # Rows used to be read with stride k while written with stride min(k, n): row 1 on was wrong.
    rng = np.random.default_rng(11)
    x = rng.normal(size=(30, 8)).astype(np.float32)
    ids = np.arange(30, dtype=np.int64) * 5
    hot = ruvector.LocalBackend(name="hot")
    hot.upsert("docs", ids=ids, vectors=x)
    lake = ruvector.RuLake.builder().rerank_factor(20).rotation_seed(1).build()
    lake.register_backend(hot)
    q = rng.normal(size=(4, 8)).astype(np.float32)
    rows = lake.search_batch(collection="docs", queries=q, k=50)
    assert len(rows) == 4
    for qi, row in enumerate(rows):
        assert_exact_knn(x, ids, q[qi], np.array([h.id for h in row]), np.array([h.score for h in row]), 50)
        assert [h.id for h in row] == [h.id for h in lake.search_one(collection="docs", query=q[qi], k=50)]
    fed = lake.search_federated(collection="docs", query=q[0], k=50)
    assert_exact_knn(x, ids, q[0], np.array([h.id for h in fed]), np.array([h.score for h in fed]), 50)


def test_ties_across_lists_are_broken_by_id() -> None:
    x = np.array([[0, 0]] * 3 + [[4, 0]] * 3, dtype=np.float32)
    ids = np.array([0, 1, 2, 10, 11, 12], dtype=np.int64)
    q = np.array([2, 0], dtype=np.float32)
    want_ids, _ = brute_force(x, ids, q, 3)
    assert [int(i) for i in want_ids] == [0, 1, 2]
    for cls in RABITQ:
        idx = cls.build(x, ids=ids, nlist=2, seed=0)
        assert [h.id for h in idx.search(q, k=3)] == [0, 1, 2], cls.__name__
        # The clusters' ids swapped: the smallest ids now sit in the other list, and still win.
        idx2 = cls.build(x, ids=ids[::-1].copy(), nlist=2, seed=0)
        assert [h.id for h in idx2.search(q, k=3)] == [0, 1, 2], cls.__name__


def test_equal_indexes_search_alike() -> None:
    # An add then remove leaves the same ids, codes and vectors but a wider list radius, which
    # changes which lists a search visits: such indexes must not compare equal.
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2000, 16)).astype(np.float32)
    a = ruvector.RabitqPlusIndex.build(x, seed=4, nlist=40)
    b = ruvector.RabitqPlusIndex.build(x, seed=4, nlist=40)
    assert a == b
    b.add(id=10**6, vector=(x[0] * 40).astype(np.float32))
    b.remove(10**6)
    assert len(a) == len(b) and all(a[i].tobytes() == b[i].tobytes() for i in range(0, 2000, 97))
    assert a != b
    q = rng.normal(size=(300, 16)).astype(np.float32)
    ia, _ = a.search_batch(q, k=10, nprobe=1)
    ib, _ = b.search_batch(q, k=10, nprobe=1)
    assert not np.array_equal(ia, ib)  # the radius really steers the search
