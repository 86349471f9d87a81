"""RuLake (M2): the contract's snippet, results vs a direct index and brute force, consistency
modes counted through a Python BackendAdapter, bundles and witnesses, warm restart in a fresh
process, eviction, single-flight priming, async, federation, sessions, and bad input."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ruvector
from conftest import F32, I64, brute_force, clustered

QUERY_DIM = 32


class CountingAdapter(ruvector.BackendAdapter):
    """A user backend that counts every call the lake makes into it."""

    def __init__(self, name: str, data: dict[str, tuple[I64, F32]], data_ref: str | None = None,
                 pull_delay: float = 0.0) -> None:
        self._name = name
        self.data = data
        self.gen = {c: 1 for c in data}
        self.calls = {"generation": 0, "pull": 0, "list_collections": 0}
        self._ref = data_ref
        self.pull_delay = pull_delay
        self.lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    def list_collections(self) -> list[str]:
        with self.lock:
            self.calls["list_collections"] += 1
        return sorted(self.data)

    def pull(self, collection: str) -> tuple[Any, Any]:
        with self.lock:
            self.calls["pull"] += 1
        if self.pull_delay:
            time.sleep(self.pull_delay)
        return self.data[collection]

    def generation(self, collection: str) -> int | str:
        with self.lock:
            self.calls["generation"] += 1
        return self.gen[collection]

    def data_ref(self, collection: str) -> str | None:
        return self._ref

    def write(self, collection: str, ids: I64, vectors: F32) -> None:
        self.data[collection] = (ids, vectors)
        self.gen[collection] = self.gen.get(collection, 0) + 1


def sparse_ids(rng: np.random.Generator, n: int) -> I64:
    """Non-dense 64-bit ids, some negative, some beyond 2^32."""
    return rng.choice(np.arange(-(2**40), 2**40, 7919, dtype=np.int64), size=n, replace=False)


def make_lake(**options: Any) -> ruvector.RuLake:
    b = ruvector.RuLake.builder().rerank_factor(20).rotation_seed(7)
    for key, value in options.items():
        getattr(b, key)(value)
    return b.build()


def test_contract_m2_snippet_as_written(tmp_path: Path) -> None:
    query = np.random.randn(768).astype(np.float32)
    bundle_dir = str(tmp_path / "bundle") + "/"
    # from 03-api-surface.md § M2, with only the bundle directory moved into tmp_path
    lake = (
        ruvector.RuLake.builder()
        .rerank_factor(20)
        .rotation_seed(42)
        .max_cache_entries(1_000_000)
        .consistency(ruvector.Consistency.FRESH)
        .build()
    )
    backend = ruvector.LocalBackend(name="hot-shard")
    backend.upsert("docs", ids=[1, 2, 3], vectors=np.random.randn(3, 768).astype(np.float32))
    lake.register_backend(backend)
    hits = lake.search_one(collection="docs", query=query, k=10)

    async def main() -> None:
        hits = await lake.search_one_async(collection="docs", query=query, k=10)
        print([(h.backend, h.id, h.score) for h in hits])

    asyncio.run(main())
    hits = lake.search_federated(collection="docs", query=query, k=10)
    witness = lake.publish_bundle("docs", out_dir=bundle_dir)
    # the snippet's key names a backend "local" that was never registered: that typo raises
    # (it used to read as UP_TO_DATE); with the registered name the snippet's assertion holds
    with pytest.raises(ruvector.LakeError, match="no backend named 'local'.*'hot-shard'"):
        lake.refresh_from_bundle_dir(key=("local", "docs"), dir=bundle_dir)
    result = lake.refresh_from_bundle_dir(key=("hot-shard", "docs"), dir=bundle_dir)
    assert result == ruvector.RefreshResult.UP_TO_DATE  # or INVALIDATED, BUNDLE_MISSING
    # and what it promises
    assert [h.id for h in hits] and {h.id for h in hits} == {1, 2, 3}
    assert all(h.backend == "hot-shard" and h.collection == "docs" for h in hits)
    assert len(witness) == 64 and witness == lake.cache_witness_of(("hot-shard", "docs"))
    assert ruvector.RuLakeBundle.read(bundle_dir).rvf_witness == witness


def test_results_equal_a_direct_index_and_brute_force(rng: np.random.Generator) -> None:
    x = clustered(rng, 5000, QUERY_DIM)
    ids = sparse_ids(rng, len(x))
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=ids, vectors=x)
    lake = make_lake()
    lake.register_backend(backend)
    direct = ruvector.RabitqPlusIndex.build(x, ids, seed=7, rerank_factor=20)
    queries = clustered(rng, 40, QUERY_DIM)
    recall = 0
    for q in queries:
        got = lake.search_one(collection="c", query=q, k=10)
        want = direct.search(q, k=10)
        assert [h.id for h in got] == [h.id for h in want]
        assert [h.score for h in got] == [h.score for h in want]
        truth, _ = brute_force(x, ids, q, 10)
        recall += len({h.id for h in got} & set(truth.tolist()))
    assert recall / (10 * len(queries)) >= 0.99
    batch = lake.search_batch(collection="c", queries=queries, k=10)
    assert [[h.id for h in row] for row in batch] == [[h.id for h in lake.search_one("c", q, 10)] for q in queries]
    stats = lake.cache_stats()
    assert stats.primes == 1 and stats.pulls == 1


def test_consistency_modes_count_backend_calls(rng: np.random.Generator) -> None:
    x = rng.standard_normal((300, QUERY_DIM)).astype(np.float32)
    ids = np.arange(300, dtype=np.int64)
    q = x[3]
    counts = {}
    for mode in ruvector.Consistency:
        adapter = CountingAdapter("user", {"c": (ids, x)})
        lake = make_lake(consistency=mode, eventual_ttl_ms=60_000)
        lake.register_backend(adapter)
        for _ in range(5):
            assert lake.search_one("c", q, 1)[0].id == 3
        counts[mode] = dict(adapter.calls)
        # a write: FRESH sees it at once; EVENTUAL after its TTL; STALE never (until invalidated)
        adapter.write("c", ids, x + 1.0)
        first_after_write = lake.search_one("c", q + 1.0, 1)[0]
        assert first_after_write.id == 3
        seen_new = first_after_write.score == 0.0
        assert seen_new == (mode == ruvector.Consistency.FRESH)
        if mode == ruvector.Consistency.STALE:
            lake.invalidate_cache(("user", "c"))
            assert lake.search_one("c", q + 1.0, 1)[0].score == 0.0
    assert counts[ruvector.Consistency.FRESH] == {"generation": 5, "pull": 1, "list_collections": 0}
    assert counts[ruvector.Consistency.EVENTUAL] == {"generation": 1, "pull": 1, "list_collections": 0}
    assert counts[ruvector.Consistency.STALE] == {"generation": 1, "pull": 1, "list_collections": 0}


def test_eventual_ttl_expires(rng: np.random.Generator) -> None:
    x = rng.standard_normal((50, 8)).astype(np.float32)
    adapter = CountingAdapter("user", {"c": (np.arange(50, dtype=np.int64), x)})
    lake = make_lake(consistency=ruvector.Consistency.EVENTUAL, eventual_ttl_ms=50)
    lake.register_backend(adapter)
    lake.search_one("c", x[0], 1)
    lake.search_one("c", x[0], 1)
    assert adapter.calls["generation"] == 1
    time.sleep(0.08)
    lake.search_one("c", x[0], 1)
    assert adapter.calls["generation"] == 2 and adapter.calls["pull"] == 1


def test_refresh_outcomes_in_upstream_order(tmp_path: Path, rng: np.random.Generator) -> None:
    x = rng.standard_normal((200, 16)).astype(np.float32)
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=np.arange(200), vectors=x)
    lake = make_lake()
    lake.register_backend(backend)
    key = ("b", "c")
    assert lake.refresh_from_bundle_dir(key=key, dir=tmp_path) == ruvector.RefreshResult.BUNDLE_MISSING
    witness = lake.publish_bundle("c", out_dir=tmp_path)
    assert key not in lake
    # not primed: UP_TO_DATE by design (polling daemons stay quiet)
    assert lake.refresh_from_bundle_dir(key=key, dir=tmp_path) == ruvector.RefreshResult.UP_TO_DATE
    lake.search_one("c", x[0], 1)
    assert lake.cache_witness_of(key) == witness
    assert lake.refresh_from_bundle_dir(key=key, dir=tmp_path) == ruvector.RefreshResult.UP_TO_DATE
    backend.upsert("c", ids=[1000], vectors=np.ones((1, 16), np.float32))
    new_witness = lake.publish_bundle("c", out_dir=tmp_path)
    assert new_witness != witness
    assert lake.refresh_from_bundle_dir(key=key, dir=tmp_path) == ruvector.RefreshResult.INVALIDATED
    assert key not in lake and lake.cache_witness_of(key) is None
    assert lake.search_one("c", np.ones(16, np.float32), 1)[0].id == 1000
    stats = lake.cache_stats()
    assert stats.invalidations == 1 and stats.primes == 2


def test_tampered_bundle_raises_witness_mismatch(tmp_path: Path, rng: np.random.Generator) -> None:
    x = rng.standard_normal((100, 8)).astype(np.float32)
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=np.arange(100), vectors=x)
    lake = make_lake()
    lake.register_backend(backend)
    lake.search_one("c", x[0], 1)
    witness = lake.publish_bundle("c", out_dir=tmp_path)
    path = tmp_path / "table.rulake.json"
    doc = json.loads(path.read_text())
    assert doc["format_version"] == 2 and doc["rvf_witness"] == witness
    doc["generation"] = doc["generation"] + 1  # a forged newer version with the old witness
    path.write_text(json.dumps(doc))
    with pytest.raises(ruvector.WitnessMismatch):
        lake.refresh_from_bundle_dir(key=("b", "c"), dir=tmp_path)
    with pytest.raises(ruvector.WitnessMismatch):
        ruvector.RuLakeBundle.read(tmp_path)
    assert lake.cache_witness_of(("b", "c")) == witness  # untouched
    path.write_text("{not json")
    with pytest.raises(ruvector.LakeError):
        lake.refresh_from_bundle_dir(key=("b", "c"), dir=tmp_path)
    path.write_text(json.dumps({**doc, "format_version": 3}))
    with pytest.raises(ruvector.LakeError, match="format_version 3"):
        ruvector.RuLakeBundle.read(tmp_path)


def test_witness_test_vectors_from_python() -> None:
    w = ruvector.RuLakeBundle.witness_of
    assert w("gs://bucket/x.parquet", 128, 42, 20, 7) == "7eac1775d1f76a4db88672655fc64977287ec60eda47c6df3a19bacfd0c038cd"
    assert w("local://b/c", 8, 42, 20, 1) == "aaa52194b87ddea9b60b1df3c8cf6c39b489a6b172454c7ece8a66fffe61816f"
    assert (
        w("iceberg://catalog/db/table", 384, 0xDEADBEEF, 5, "01JCX7NK6G5R9G1YZ7QH")
        == "6b1a75410b684054ec05c6c717a4e75204419722d5ce64e37ac1a2703c8e940b"
    )


WARM_CHILD = textwrap.dedent(
    """
    import json, sys, numpy as np, ruvector
    root, entry, q = sys.argv[1], sys.argv[2], np.load(sys.argv[3])
    lake = ruvector.RuLake.builder().rerank_factor(20).rotation_seed(7).build()
    lake.register_backend(ruvector.FsBackend(name="disk", root=root))
    n = lake.warm_from_dir(("disk", "docs"), entry)
    hits = [lake.search_one("docs", row, 10) for row in q]
    s = lake.cache_stats()
    print(json.dumps({"n": n, "pulls": s.pulls, "primes": s.primes, "warm": s.warm_installs,
                      "ids": [[h.id for h in r] for r in hits],
                      "scores": [[h.score for h in r] for r in hits]}))
    """
)


def test_warm_restart_in_a_fresh_process_keeps_real_ids(tmp_path: Path, rng: np.random.Generator) -> None:
    x = clustered(rng, 3000, QUERY_DIM)
    ids = sparse_ids(rng, len(x))
    backend = ruvector.FsBackend(name="disk", root=tmp_path / "data")
    backend.upsert("docs", ids=ids, vectors=x)
    lake = make_lake()
    lake.register_backend(backend)
    queries = clustered(rng, 5, QUERY_DIM)
    before = [lake.search_one("docs", q, 10) for q in queries]
    entry = tmp_path / "entry"
    lake.save_cache_to_dir(("disk", "docs"), entry)
    np.save(tmp_path / "q.npy", queries)
    out = subprocess.run(
        [sys.executable, "-c", WARM_CHILD, str(tmp_path / "data"), str(entry), str(tmp_path / "q.npy")],
        capture_output=True, text=True, check=True,
    )
    child = json.loads(out.stdout)
    assert child["n"] == len(x)
    # FRESH: the child asked the file for its version, found the saved witness current: no pull
    assert (child["pulls"], child["primes"], child["warm"]) == (0, 0, 1)
    assert child["ids"] == [[h.id for h in r] for r in before]
    assert child["scores"] == [[h.score for h in r] for r in before]
    assert all(i not in range(len(x)) for r in child["ids"] for i in r[:3])  # real ids, not positions


def test_warm_refuses_tampered_or_mismatched_entries(tmp_path: Path, rng: np.random.Generator) -> None:
    x = rng.standard_normal((500, 8)).astype(np.float32)
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=np.arange(500), vectors=x)
    lake = make_lake()
    lake.register_backend(backend)
    with pytest.raises(ruvector.LakeError, match="not in the cache"):
        lake.save_cache_to_dir(("b", "c"), tmp_path / "e")
    lake.search_one("c", x[0], 1)
    lake.save_cache_to_dir(("b", "c"), tmp_path / "e")
    other_seed = ruvector.RuLake.builder().rotation_seed(8).rerank_factor(20).build()
    with pytest.raises(ruvector.WitnessMismatch, match="rotation_seed"):
        other_seed.warm_from_dir(("b", "c"), tmp_path / "e")
    index_file = tmp_path / "e" / "index.rvx"
    data = bytearray(index_file.read_bytes())
    data[len(data) // 2] ^= 1
    index_file.write_bytes(bytes(data))
    with pytest.raises(ruvector.PersistError, match="does not match its bundle"):
        make_lake().warm_from_dir(("b", "c"), tmp_path / "e")
    with pytest.raises(ruvector.PersistError):
        make_lake().warm_from_dir(("b", "c"), tmp_path / "missing")


def test_eviction_really_evicts_and_reprimes(rng: np.random.Generator) -> None:
    backend = ruvector.LocalBackend(name="b")
    data = {}
    for i in range(3):
        data[i] = rng.standard_normal((300, 8)).astype(np.float32)
        backend.upsert(f"c{i}", ids=np.arange(300), vectors=data[i])
    lake = make_lake(max_cache_entries=2)
    lake.register_backend(backend)
    for i in range(3):
        assert lake.search_one(f"c{i}", data[i][5], 1)[0].id == 5
    assert lake.cache_entries == 2
    assert ("b", "c0") not in lake and ("b", "c2") in lake  # the least recently used went
    s = lake.cache_stats()
    assert s.evictions == 1 and s.primes == 3
    assert lake.search_one("c0", data[0][7], 1)[0].id == 7  # re-primed on demand
    assert lake.cache_stats().primes == 4 and lake.cache_entries == 2
    # a byte budget holds too
    one = lake.cached_index(("b", "c0"))
    assert one is not None
    budget = make_lake(max_cache_bytes=one.memory_bytes * 3 // 2)
    budget.register_backend(backend)
    for i in range(3):
        budget.search_one(f"c{i}", data[i][0], 1)
    assert budget.cache_entries == 1 and budget.cache_bytes <= one.memory_bytes * 3 // 2


def test_eight_threads_missing_one_key_pull_once(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2000, 16)).astype(np.float32)
    adapter = CountingAdapter("slow", {"c": (np.arange(2000, dtype=np.int64), x)}, pull_delay=0.2)
    lake = make_lake()
    lake.register_backend(adapter)
    barrier = threading.Barrier(8)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results.append(lake.search_one("c", x[i], 1)[0].id)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == list(range(8))
    assert adapter.calls["pull"] == 1 and lake.cache_stats().primes == 1


def test_shared_witness_means_one_entry_and_no_second_pull(rng: np.random.Generator) -> None:
    x = rng.standard_normal((400, 8)).astype(np.float32)
    ids = np.arange(400, dtype=np.int64)
    a = CountingAdapter("a", {"t": (ids, x)}, data_ref="gs://bucket/t.parquet")
    b = CountingAdapter("b", {"t": (ids, x)}, data_ref="gs://bucket/t.parquet")
    lake = make_lake()
    lake.register_backend(a)
    lake.register_backend(b)
    lake.search_one("t", x[1], 1, backend="a")
    lake.search_one("t", x[1], 1, backend="b")
    s = lake.cache_stats()
    assert (s.primes, s.shared_hits, s.pulls, lake.cache_entries) == (1, 1, 1, 1)
    assert b.calls["pull"] == 0
    assert lake.cache_witness_of(("a", "t")) == lake.cache_witness_of(("b", "t"))


def test_hundred_concurrent_async_searches(rng: np.random.Generator) -> None:
    x = clustered(rng, 4000, QUERY_DIM)
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=np.arange(len(x)), vectors=x)
    lake = make_lake()
    lake.register_backend(backend)
    queries = clustered(rng, 100, QUERY_DIM)
    sync = [lake.search_one("c", q, 5) for q in queries]

    async def main() -> list[list[ruvector.LakeHit]]:
        return list(await asyncio.gather(*(lake.search_one_async("c", q, 5) for q in queries)))

    assert asyncio.run(main()) == sync

    async def errors() -> None:
        with pytest.raises(ruvector.DimensionMismatch):
            await lake.search_one_async("c", queries[0][:5], 5)
        with pytest.raises(ruvector.LakeError):
            await lake.search_federated_async("nope", queries[0], 5)
        batch = await lake.search_batch_async("c", queries[:3], 5)
        assert batch == sync[:3]
        fut = lake.search_one_async("c", queries[0], 5)
        fut.cancel()  # the result is dropped when it arrives
        await asyncio.sleep(0.05)

    asyncio.run(errors())


def test_federated_merge_order_against_brute_force(rng: np.random.Generator) -> None:
    shards = []
    lake = make_lake()
    all_x, all_ids, owner = [], [], []
    for s in range(4):
        x = clustered(rng, 1500, QUERY_DIM)
        ids = np.arange(1500, dtype=np.int64) + s * 10_000
        b = ruvector.LocalBackend(name=f"shard{3 - s}")  # registration order differs from name order
        b.upsert("docs", ids=ids, vectors=x)
        lake.register_backend(b)
        shards.append(b)
        all_x.append(x)
        all_ids.append(ids)
        owner += [f"shard{3 - s}"] * len(ids)
    x = np.concatenate(all_x)
    ids = np.concatenate(all_ids)
    for q in clustered(rng, 10, QUERY_DIM):
        hits = lake.search_federated(collection="docs", query=q, k=10)
        truth, dist = brute_force(x, ids, q, 10)
        assert [h.id for h in hits] == truth.tolist()
        assert all(h.backend == owner[int(np.where(ids == h.id)[0][0])] for h in hits)
    # ties: the same vector in two shards sorts by backend name, then id
    tie = ruvector.RuLake.builder().build()
    for name in ("zeta", "alpha"):
        b = ruvector.LocalBackend(name=name)
        b.upsert("t", ids=[5, 3], vectors=np.zeros((2, 4), np.float32))
        tie.register_backend(b)
    hits = tie.search_federated(collection="t", query=np.zeros(4, np.float32), k=4)
    assert [(h.backend, h.id) for h in hits] == [("alpha", 3), ("alpha", 5), ("zeta", 3), ("zeta", 5)]
    hits = tie.search_federated(collection="t", query=np.zeros(4, np.float32), k=4, backends=["zeta"])
    assert {h.backend for h in hits} == {"zeta"}
    with pytest.raises(ruvector.LakeError, match="several backends"):
        tie.search_one(collection="t", query=np.zeros(4, np.float32), k=1)


def test_fs_backend_rejects_path_traversal(tmp_path: Path) -> None:
    backend = ruvector.FsBackend(name="disk", root=tmp_path / "root")
    v = np.ones((1, 4), np.float32)
    for name in ["../escape", "a/b", "..", ".", "c:d", "x\\y", "tab\there", "/etc/passwd", "\x7f", ".hidden"]:
        with pytest.raises(ruvector.ArgumentError):
            backend.upsert(name, ids=[1], vectors=v)
    assert not (tmp_path / "escape").exists()
    with pytest.raises(ruvector.ArgumentError):
        backend.upsert("nul\x00byte", ids=[1], vectors=v)
    backend.upsert("ok.v1", ids=[1], vectors=v)
    assert backend.list_collections() == ["ok.v1"]


def test_fs_backend_generation_changes_on_every_write(tmp_path: Path, rng: np.random.Generator) -> None:
    backend = ruvector.FsBackend(name="disk", root=tmp_path)
    lake = make_lake()
    lake.register_backend(backend)
    x = rng.standard_normal((100, 8)).astype(np.float32)
    backend.upsert("c", ids=np.arange(100), vectors=x)
    witnesses = set()
    for i in range(5):  # several writes within one second
        backend.upsert("c", ids=[1000 + i], vectors=np.full((1, 8), 50.0 + i, np.float32))
        hit = lake.search_one("c", np.full(8, 50.0 + i, np.float32), 1)[0]
        assert hit.id == 1000 + i and hit.score == 0.0
        witnesses.add(lake.cache_witness_of(("disk", "c")))
    assert len(witnesses) == 5
    assert backend.delete("c", ids=[1000, 424242]) == 1
    # the file is upstream's ruvec1 layout
    raw = (tmp_path / "c").read_bytes()
    assert raw[:8] == b"ruvec1\0\0" and int.from_bytes(raw[8:16], "little") == 104


def test_pull_on_miss_false_raises_cache_miss(tmp_path: Path, rng: np.random.Generator) -> None:
    x = rng.standard_normal((100, 8)).astype(np.float32)
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=np.arange(100), vectors=x)
    lake = make_lake(pull_on_miss=False)
    lake.register_backend(backend)
    with pytest.raises(ruvector.CacheMissError):
        lake.search_one("c", x[0], 1)
    loader = make_lake()
    loader.register_backend(backend)
    loader.search_one("c", x[0], 1)
    loader.save_cache_to_dir(("b", "c"), tmp_path)
    assert lake.warm_from_dir(("b", "c"), tmp_path) == 100
    assert lake.search_one("c", x[4], 1)[0].id == 4
    assert lake.cache_stats().pulls == 0


def test_session_checks_once_and_saves_to_cache_dir(tmp_path: Path, rng: np.random.Generator) -> None:
    x = rng.standard_normal((300, 8)).astype(np.float32)
    adapter = CountingAdapter("user", {"c": (np.arange(300, dtype=np.int64), x)})
    lake = make_lake(cache_dir=tmp_path)
    lake.register_backend(adapter)
    with lake.session() as s:
        for i in range(5):
            assert s.search_one("c", x[i], 1)[0].id == i
        adapter.write("c", np.arange(300, dtype=np.int64), x + 5)  # not seen inside the snapshot
        assert s.search_one("c", x[0], 1)[0].score == 0.0
    assert adapter.calls["generation"] == 1 and adapter.calls["pull"] == 1
    saved = list(tmp_path.iterdir())
    assert len(saved) == 1 and (saved[0] / "index.rvx").exists()
    with pytest.raises(ruvector.LakeError, match="closed"):
        s.search_one("c", x[0], 1)
    # a new lake on the same cache_dir warms from it when the saved witness is current
    adapter.write("c", np.arange(300, dtype=np.int64), x)  # generation moves on: saved entry is stale
    fresh = make_lake(cache_dir=tmp_path)
    fresh.register_backend(adapter)
    fresh.search_one("c", x[0], 1)
    assert fresh.cache_stats().pulls == 1  # stale entry not used
    with fresh.session() as s2:
        s2.search_one("c", x[0], 1)
    again = make_lake(cache_dir=tmp_path)
    again.register_backend(adapter)
    assert again.search_one("c", x[9], 1)[0].id == 9
    st = again.cache_stats()
    assert (st.pulls, st.warm_installs) == (0, 1)


def test_index_in_lake_and_cached_index_is_read_only(rng: np.random.Generator) -> None:
    x = rng.standard_normal((200, 8)).astype(np.float32)
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=np.arange(200), vectors=x)
    lake = make_lake()
    lake.register_backend(backend)
    assert lake.cached_index(("b", "c")) is None
    lake.search_one("c", x[0], 1)
    idx = lake.cached_index(("b", "c"))
    assert isinstance(idx, ruvector.RabitqPlusIndex) and len(idx) == 200
    assert idx in lake and ("b", "c") in lake and ("b", "zzz") not in lake
    assert ruvector.RabitqPlusIndex.build(x) not in lake
    with pytest.raises(ruvector.IndexBusyError, match="read-only"):
        idx.add(999, np.ones(8, np.float32))
    lake.invalidate_cache(("b", "c"))
    assert idx not in lake and len(idx) == 200  # still usable after eviction
    per_backend = lake.cache_stats_by_backend()
    per_key = lake.cache_stats_by_collection()
    assert per_backend["b"].primes == 1 and per_key[("b", "c")].invalidations == 1


def test_bad_input_raises_clear_errors(rng: np.random.Generator) -> None:
    x = rng.standard_normal((100, 8)).astype(np.float32)
    lake = make_lake()
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=np.arange(100), vectors=x)
    lake.register_backend(backend)
    with pytest.raises(ruvector.LakeError, match="already registered"):
        lake.register_backend(ruvector.LocalBackend(name="b"))
    with pytest.raises(ruvector.ArgumentTypeError):
        lake.register_backend(object())  # type: ignore[arg-type]
    with pytest.raises(ruvector.ArgumentTypeError):
        ruvector.RuLake.builder().consistency("fresh")  # type: ignore[arg-type]
    with pytest.raises(ruvector.ArgumentTypeError):
        ruvector.RuLake.builder().consistency(0)  # type: ignore[arg-type]
    with pytest.raises(ruvector.ArgumentError):
        ruvector.RuLake.builder().rerank_factor(0)
    with pytest.raises(ruvector.DimensionMismatch, match="dim 7"):
        lake.search_one("c", x[0][:7], 1)
    with pytest.raises(ruvector.LakeError, match="no backend named 'zz'"):
        lake.search_one("c", x[0], 1, backend="zz")
    with pytest.raises(ruvector.LakeError, match="no collection 'nope'"):
        lake.search_one("nope", x[0], 1)
    with pytest.raises(ruvector.ArgumentTypeError):
        lake.search_one("c", x[0].astype(np.float64), 1)
    with pytest.raises(ruvector.ArgumentError):
        lake.search_one("c", x[0], 0)
    with pytest.raises(ruvector.ArgumentTypeError):
        lake.invalidate_cache("b/c")  # type: ignore[arg-type]
    with pytest.raises(ruvector.ArgumentError):
        backend.upsert("c", ids=[1], vectors=np.full((1, 8), np.nan, np.float32))
    with pytest.raises(ruvector.DimensionMismatch):
        backend.upsert("c", ids=[1], vectors=np.ones((1, 9), np.float32))

    class Broken(CountingAdapter):
        def pull(self, collection: str) -> tuple[Any, Any]:
            raise RuntimeError("storage offline")

    class BadData(CountingAdapter):
        def pull(self, collection: str) -> tuple[Any, Any]:
            return np.arange(3), np.array([[1.0, np.inf], [0, 0], [0, 0]], np.float32)

    class Mismatched(CountingAdapter):
        def pull(self, collection: str) -> tuple[Any, Any]:
            return np.arange(2), np.zeros((3, 2), np.float32)

    for cls, pattern in [(Broken, "storage offline"), (BadData, "non-finite"), (Mismatched, "2 ids but 3")]:
        bad = make_lake()
        bad.register_backend(cls("user", {"c": (np.arange(1), np.zeros((1, 2), np.float32))}))
        with pytest.raises(ruvector.BackendError, match=pattern):
            bad.search_one("c", np.zeros(2, np.float32), 1)
    dup = make_lake()
    dup.register_backend(CountingAdapter("user", {"c": (np.array([1, 1]), np.zeros((2, 2), np.float32))}))
    with pytest.raises(ruvector.BackendError, match="appears twice"):
        dup.search_one("c", np.zeros(2, np.float32), 1)
    empty = ruvector.LocalBackend(name="e")
    empty.upsert("c", ids=[1], vectors=np.ones((1, 3), np.float32))
    empty.delete("c", ids=[1])
    elake = make_lake()
    elake.register_backend(empty)
    with pytest.raises(ruvector.EmptyIndex):
        elake.search_one("c", np.ones(3, np.float32), 1)


def test_prime_reports_progress(rng: np.random.Generator) -> None:
    x = rng.standard_normal((20_000, 8)).astype(np.float32)
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=np.arange(len(x)), vectors=x)
    lake = make_lake()
    lake.register_backend(backend)
    seen: list[tuple[int, int]] = []
    lake.search_one("c", x[0], 1, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (len(x), len(x))


def test_types_and_enums() -> None:
    for name in ("RuLake", "LocalBackend", "FsBackend", "Consistency", "RuLakeBundle"):  # 03-api-surface.md
        assert name in ruvector.__all__ and getattr(ruvector, name).__module__ == "ruvector"
    assert isinstance(ruvector.Consistency.FRESH, int) and int(ruvector.Consistency.STALE) == 2
    assert [m.name for m in ruvector.RefreshResult] == ["UP_TO_DATE", "INVALIDATED", "BUNDLE_MISSING"]
    assert ruvector.LakeHit("b", "c", 1, 0.5).score == 0.5
    assert ruvector.CacheStats(1, 1, 0, 0, 0, 0, 0, 0, 0.0, 0.0).hit_rate == 0.5
    assert os.fspath(ruvector.FsBackend(name="x", root="/tmp").root) == "/tmp"
    assert "RuLake(" in repr(ruvector.RuLake.builder().build())


def test_async_under_uvloop(rng: np.random.Generator) -> None:
    import uvloop  # a test dependency (pyproject [test], installed by scripts/setup.sh)

    x = rng.standard_normal((2000, 16)).astype(np.float32)
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=np.arange(2000), vectors=x)
    lake = make_lake()
    lake.register_backend(backend)

    async def main() -> list[list[ruvector.LakeHit]]:
        return list(await asyncio.gather(*(lake.search_one_async("c", x[i], 3) for i in range(50))))

    got = uvloop.run(main())
    assert [r[0].id for r in got] == list(range(50))
