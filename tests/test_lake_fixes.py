"""RuLake fixes from "[5a] correctness and friction": per-backend prime time, refresh with an
unknown key, LRU (not FIFO) eviction, the friction items (async tasks, constructor misuse,
RefreshResult's name, duplicate ids, BackendError's cause)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ruvector


def make_lake(**options: Any) -> ruvector.RuLake:
    b = ruvector.RuLake.builder().rerank_factor(20).rotation_seed(7)
    for key, value in options.items():
        getattr(b, key)(value)
    return b.build()


def test_prime_time_accumulates_per_backend_and_per_key(rng: np.random.Generator) -> None:
    backend = ruvector.LocalBackend(name="b")
    other = ruvector.LocalBackend(name="o")
    for i in range(3):
        backend.upsert(f"c{i}", ids=np.arange(500), vectors=rng.standard_normal((500, 16)).astype(np.float32))
    other.upsert("d", ids=np.arange(500), vectors=rng.standard_normal((500, 16)).astype(np.float32))
    lake = make_lake()
    lake.register_backend(backend)
    lake.register_backend(other)
    q = np.zeros(16, np.float32)
    for i in range(3):
        lake.search_one(f"c{i}", q, 1)
    lake.search_one("d", q, 1)
    total = lake.cache_stats()
    by_backend = lake.cache_stats_by_backend()
    by_key = lake.cache_stats_by_collection()
    assert total.primes == 4 and total.total_prime_ms > 0
    assert by_backend["b"].primes == 3 and by_backend["o"].primes == 1
    # the per-backend rows add up to the total, and each backend's to its keys'
    assert by_backend["b"].total_prime_ms > 0 and by_backend["o"].total_prime_ms > 0
    assert by_backend["b"].total_prime_ms + by_backend["o"].total_prime_ms == pytest.approx(total.total_prime_ms)
    keys_b = sum(by_key[("b", f"c{i}")].total_prime_ms for i in range(3))
    assert by_backend["b"].total_prime_ms == pytest.approx(keys_b)
    assert by_backend["o"].last_prime_ms == pytest.approx(by_key[("o", "d")].last_prime_ms)
    assert by_backend["b"].avg_prime_ms is not None and by_backend["b"].avg_prime_ms > 0


def test_refresh_with_an_unknown_backend_or_collection_raises(tmp_path: Path, rng: np.random.Generator) -> None:
    backend = ruvector.LocalBackend(name="local")
    x = rng.standard_normal((50, 8)).astype(np.float32)
    backend.upsert("docs", ids=np.arange(50), vectors=x)
    lake = make_lake()
    lake.register_backend(backend)
    lake.publish_bundle("docs", out_dir=tmp_path)
    with pytest.raises(ruvector.LakeError, match="no backend named 'nope'.*'local'"):
        lake.refresh_from_bundle_dir(key=("nope", "docs"), dir=tmp_path)
    with pytest.raises(ruvector.LakeError, match="'local' holds no collection 'dosc'"):
        lake.refresh_from_bundle_dir(key=("local", "dosc"), dir=tmp_path)
    # the typo is caught before the bundle is looked at: a missing bundle does not hide it
    with pytest.raises(ruvector.LakeError, match="nope"):
        lake.refresh_from_bundle_dir(key=("nope", "docs"), dir=tmp_path / "missing")
    # the right key still follows the contract
    assert lake.refresh_from_bundle_dir(key=("local", "docs"), dir=tmp_path) == ruvector.RefreshResult.UP_TO_DATE
    assert lake.refresh_from_bundle_dir(key=("local", "docs"), dir=tmp_path / "missing") == (
        ruvector.RefreshResult.BUNDLE_MISSING
    )
    # a key the lake still caches may be refreshed after the backend dropped it
    lake.search_one("docs", x[0], 1)
    backend.drop("docs")
    backend.upsert("docs2", ids=[1], vectors=x[:1])
    assert lake.refresh_from_bundle_dir(key=("local", "docs"), dir=tmp_path) == ruvector.RefreshResult.UP_TO_DATE


def test_eviction_is_least_recently_used_not_first_in(rng: np.random.Generator) -> None:
    backend = ruvector.LocalBackend(name="b")
    data = {}
    for i in range(3):
        data[i] = rng.standard_normal((100, 8)).astype(np.float32)
        backend.upsert(f"c{i}", ids=np.arange(100), vectors=data[i])
    lake = make_lake(max_cache_entries=2)
    lake.register_backend(backend)
    for i in (0, 1, 0, 2):  # c0 was used after c1: c1 is the least recently used
        assert lake.search_one(f"c{i}", data[i][3], 1)[0].id == 3
    assert ("b", "c0") in lake and ("b", "c2") in lake
    assert ("b", "c1") not in lake
    assert lake.cache_stats().evictions == 1 and lake.cache_stats_by_collection()[("b", "c1")].evictions == 1
