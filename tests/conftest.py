"""Shared fixtures and the NumPy brute-force oracle every search test checks against."""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, settings

import ruvector

# Tests that build 100k x 768 indexes run in the AVX2 pass of scripts/test.sh only: the portable
# scalar GEMM and AddressSanitizer make such a build take minutes.
full_size_only = pytest.mark.skipif(
    ruvector.cpu_features()["kernel"] != "avx2" or bool(os.environ.get("RUVECTOR_EXPECT_SANITIZED")),
    reason="full-size build; runs in the AVX2 pass of scripts/test.sh",
)

settings.register_profile("default", max_examples=60, deadline=None)
settings.register_profile(
    "sanitizer", max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


def brute_force(
    data: F32, ids: I64, query: F32, k: int
) -> tuple[I64, npt.NDArray[np.float64]]:
    """Exact k-NN in float64 (the oracle): ids and squared L2 distances, ties by id."""
    d = ((data.astype(np.float64) - query.astype(np.float64)) ** 2).sum(axis=1)
    order = np.lexsort((ids, d))[:k]
    return ids[order], d[order]


def assert_exact_knn(
    data: F32, ids: I64, query: F32, got_ids: I64, got_scores: npt.NDArray[np.floating], k: int
) -> None:
    """got is a correct exact top-k: right count, each score is that id's true distance, sorted,
    and it agrees with the oracle except where true distances tie within float32 rounding."""
    want_ids, want_d = brute_force(data, ids, query, k)
    assert len(got_ids) == len(want_ids) == min(k, len(ids))
    pos = {int(i): n for n, i in enumerate(ids)}
    true_d = ((data.astype(np.float64) - query.astype(np.float64)) ** 2).sum(axis=1)
    tol = 1e-5 * max(1.0, float(want_d.max(initial=0.0)))
    for gid, gs in zip(got_ids, got_scores):
        assert abs(float(gs) - true_d[pos[int(gid)]]) <= tol
    assert np.all(np.diff(np.asarray(got_scores, dtype=np.float64)) >= 0)
    np.testing.assert_allclose(np.asarray(got_scores, dtype=np.float64), want_d, rtol=0, atol=tol)
    mismatched = [n for n in range(len(want_ids)) if int(got_ids[n]) != int(want_ids[n])]
    for n in mismatched:  # only legitimate when the true distances are float32-equal
        assert abs(true_d[pos[int(got_ids[n])]] - want_d[n]) <= tol


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def clustered(rng: np.random.Generator, n: int, d: int, centres: int = 20) -> F32:
    """The upstream benchmark's shape: Gaussian blobs (sigma 0.6) around uniform centres."""
    c = rng.uniform(-2, 2, size=(centres, d))
    return (c[rng.integers(0, centres, size=n)] + rng.normal(0, 0.6, size=(n, d))).astype(np.float32)
