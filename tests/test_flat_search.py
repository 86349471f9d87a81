"""FlatF32Index results against the NumPy brute-force oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ruvector
from conftest import assert_exact_knn, clustered


@pytest.mark.parametrize("d", [1, 3, 17, 64, 100, 128, 384, 768])
def test_single_and_batch_equal_oracle(rng: np.random.Generator, d: int) -> None:
    n, m, k = 1500, 25, 10
    data = clustered(rng, n, d)
    ids = rng.permutation(10 * n)[:n].astype(np.int64) - 5 * n  # non-dense, negative ids too
    idx = ruvector.FlatF32Index.build(data, ids=ids)
    queries = clustered(rng, m, d)
    bids, bscores = idx.search_batch(queries, k=k)
    assert bids.shape == bscores.shape == (m, k)
    assert bids.dtype == np.int64 and bscores.dtype == np.float32
    for i, q in enumerate(queries):
        hits = idx.search(q, k=k)
        sids = np.array([h.id for h in hits], dtype=np.int64)
        sscores = np.array([h.score for h in hits], dtype=np.float32)
        assert_exact_knn(data, ids, q, sids, sscores, k)
        # The batch path (blocked GEMM + exact re-scoring) agrees with the single path exactly.
        np.testing.assert_array_equal(bids[i], sids)
        np.testing.assert_array_equal(bscores[i], sscores)


def test_batch_sizes_around_the_gemm_blocking(rng: np.random.Generator) -> None:
    data = rng.normal(size=(777, 33)).astype(np.float32)  # n, d not multiples of any block
    ids = np.arange(777, dtype=np.int64)
    idx = ruvector.FlatF32Index.build(data)
    for m in (1, 2, 3, 4, 5, 6, 7, 95, 96, 97, 200):
        queries = rng.normal(size=(m, 33)).astype(np.float32)
        got_ids, got_scores = idx.search_batch(queries, k=7)
        for i in range(m):
            assert_exact_knn(data, ids, queries[i], got_ids[i], got_scores[i], 7)


def test_large_k_and_k_beyond_n(rng: np.random.Generator) -> None:
    data = rng.normal(size=(300, 8)).astype(np.float32)
    ids = np.arange(300, dtype=np.int64)
    idx = ruvector.FlatF32Index.build(data)
    q = rng.normal(size=8).astype(np.float32)
    hits = idx.search(q, k=10_000)
    assert len(hits) == 300
    assert_exact_knn(data, ids, q, np.array([h.id for h in hits]), np.array([h.score for h in hits]), 300)
    bi, bs = idx.search_batch(np.stack([q] * 9), k=2_000)  # k > GEMM limit and > n
    assert bi.shape == (9, 300)
    np.testing.assert_array_equal(bi[0], [h.id for h in hits])


def test_ties_are_broken_by_id() -> None:
    # 50 identical vectors: every distance ties; the smallest ids must win, in order.
    data = np.ones((50, 4), dtype=np.float32)
    ids = np.arange(1000, 950, -1, dtype=np.int64)
    idx = ruvector.FlatF32Index.build(data, ids=ids)
    q = np.zeros(4, dtype=np.float32)
    assert [h.id for h in idx.search(q, k=5)] == [951, 952, 953, 954, 955]
    bi, _ = idx.search_batch(np.zeros((10, 4), dtype=np.float32), k=5)
    assert (bi == [951, 952, 953, 954, 955]).all()


def test_edge_cases(rng: np.random.Generator) -> None:
    one = ruvector.FlatF32Index.build(np.array([[0.5]], dtype=np.float32), ids=[-(2**63)])
    assert one.search(np.array([2.5], dtype=np.float32), k=3) == [ruvector.Hit(-(2**63), 4.0)]
    zeros = ruvector.FlatF32Index.build(np.zeros((5, 3), dtype=np.float32))
    hits = zeros.search(np.zeros(3, dtype=np.float32), k=2)
    assert [(h.id, h.score) for h in hits] == [(0, 0.0), (1, 0.0)]
    big = ruvector.FlatF32Index.build(np.full((3, 2), 1e18, dtype=np.float32))
    assert big.search(np.zeros(2, dtype=np.float32), k=1)[0].score == pytest.approx(2e36, rel=1e-6)


def test_lists_are_accepted_and_give_the_same_results(rng: np.random.Generator) -> None:
    data = rng.normal(size=(40, 5)).astype(np.float32)
    a = ruvector.FlatF32Index.build(data)
    b = ruvector.FlatF32Index.build(data.tolist(), ids=list(range(40)))
    assert a == b
    q = data[3]
    assert a.search(q, k=4) == b.search(q.tolist(), k=4) == b.search(tuple(q.tolist()), k=4)


@given(
    n=st.integers(1, 60),
    d=st.integers(1, 40),
    k=st.integers(1, 70),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
)
def test_property_matches_oracle(n: int, d: int, k: int, seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    # Small integers make exact ties common; the ordering must still match (score, id).
    data = (rng.integers(-3, 4, size=(n, d)) * scale).astype(np.float32)
    ids = rng.choice(10**12, size=n, replace=False).astype(np.int64)
    idx = ruvector.FlatF32Index.build(data, ids=ids)
    queries = (rng.integers(-3, 4, size=(5, d)) * scale).astype(np.float32)
    bi, bs = idx.search_batch(queries, k=k)
    for i, q in enumerate(queries):
        hits = idx.search(q, k=k)
        assert_exact_knn(data, ids, q, np.array([h.id for h in hits]), np.array([h.score for h in hits]), k)
        assert [h.id for h in hits] == bi[i].tolist()


@given(data=arrays(np.float32, st.tuples(st.integers(1, 20), st.integers(1, 12)),
                   elements=st.floats(-1e6, 1e6, width=32)))
def test_property_self_is_nearest(data: np.ndarray) -> None:
    idx = ruvector.FlatF32Index.build(data)
    for i in range(len(data)):
        best = idx.search(data[i], k=1)[0]
        # Row i scores exactly 0, so the winner scores 0 too and, ties going to the smaller id,
        # is row i or an earlier row (equal, or closer than float32 can tell apart).
        assert best.score == 0.0 and best.id <= i
