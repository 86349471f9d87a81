"""RuLake incremental updates: a stale key whose backend reports what changed (LocalBackend,
FsBackend) is brought up to date in place instead of re-primed. Checked against a NumPy brute
force over the backend's true contents and against a freshly primed lake, through upserts of new
ids, upserts that overwrite ids, and removals; the witness and session semantics still hold, and
past reprime_fraction the key is re-primed in the background."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ruvector
from conftest import F32, I64, brute_force

DIM = 16
K = 10  # with rerank_factor 20 the lake reranks 200 candidates: exact for n <= 200


def make_lake(**options: Any) -> ruvector.RuLake:
    b = ruvector.RuLake.builder().rerank_factor(20).rotation_seed(3)
    for key, value in options.items():
        getattr(b, key)(value)
    return b.build()


class Truth:
    """What the backend holds, kept independently in NumPy."""

    def __init__(self) -> None:
        self.rows: dict[int, F32] = {}

    def upsert(self, ids: I64, vectors: F32) -> None:
        for i, v in zip(ids.tolist(), vectors):
            self.rows[int(i)] = v.copy()

    def delete(self, ids: I64) -> None:
        for i in ids.tolist():
            self.rows.pop(int(i), None)

    def arrays(self) -> tuple[I64, F32]:
        ids = np.array(sorted(self.rows), dtype=np.int64)
        return ids, np.stack([self.rows[int(i)] for i in ids]).astype(np.float32)


def check_exact(lake: ruvector.RuLake, backend: Any, truth: Truth, queries: F32) -> None:
    ids, data = truth.arrays()
    fresh = make_lake()
    fresh.register_backend(backend)
    for q in queries:
        want_ids, want_d = brute_force(data, ids, q, K)
        got = lake.search_one("c", q, K)
        assert [h.id for h in got] == want_ids.tolist()
        np.testing.assert_allclose([h.score for h in got], want_d, rtol=1e-4, atol=1e-4)
        assert got == fresh.search_one("c", q, K)  # the same hits as a lake primed from scratch
    assert lake.cache_witness_of((backend.name, "c")) == fresh.cache_witness_of((backend.name, "c"))


def random_ops(lake: ruvector.RuLake, backend: Any, truth: Truth, rng: np.random.Generator, rounds: int) -> None:
    queries = rng.standard_normal((4, DIM)).astype(np.float32)
    next_id = 10_000
    for r in range(rounds):
        held = np.array(sorted(truth.rows), dtype=np.int64)
        kind = r % 4
        if kind == 0:  # new ids
            ids = np.arange(next_id, next_id + 3, dtype=np.int64)
            next_id += 3
        elif kind == 1:  # overwrite held ids (moved far, so stale vectors would show)
            ids = rng.choice(held, size=3, replace=False)
        elif kind == 2:  # a mix of both, and two writes before the next search
            ids = np.array([rng.choice(held), next_id], dtype=np.int64)
            next_id += 1
            first = (rng.standard_normal((1, DIM)) * 3).astype(np.float32)
            backend.upsert("c", ids=[next_id], vectors=first)
            truth.upsert(np.array([next_id]), first)
            next_id += 1
        if kind == 3:
            gone = np.append(rng.choice(held, size=3, replace=False), -5)  # -5 was never there
            backend.delete("c", ids=gone)
            truth.delete(gone)
        else:
            vecs = (rng.standard_normal((len(ids), DIM)) * 3).astype(np.float32)
            backend.upsert("c", ids=ids, vectors=vecs)
            truth.upsert(ids, vecs)
        # a query right at a changed row: its new position must be found, its old one not
        check_exact(lake, backend, truth, np.vstack([queries, truth.arrays()[1][-1:]]))


def test_local_backend_updates_in_place_and_stays_exact(rng: np.random.Generator) -> None:
    backend = ruvector.LocalBackend(name="loc")
    truth = Truth()
    ids = np.arange(150, dtype=np.int64)
    x = rng.standard_normal((150, DIM)).astype(np.float32)
    backend.upsert("c", ids=ids, vectors=x)
    truth.upsert(ids, x)
    lake = make_lake(reprime_fraction=1.0)  # no background re-prime here: count pulls exactly
    lake.register_backend(backend)
    lake.search_one("c", x[0], K)
    assert lake.cache_stats().pulls == 1
    random_ops(lake, backend, truth, rng, rounds=12)
    s = lake.cache_stats()
    assert s.pulls == 1 and s.primes == 1  # every change applied in place, none re-primed
    assert s.misses == 13  # each write made the next FRESH search see a new witness


def test_fs_backend_updates_in_place_and_stays_exact(tmp_path: Path, rng: np.random.Generator) -> None:
    backend = ruvector.FsBackend(name="fs", root=tmp_path)
    truth = Truth()
    ids = np.arange(120, dtype=np.int64)
    x = rng.standard_normal((120, DIM)).astype(np.float32)
    backend.upsert("c", ids=ids, vectors=x)
    truth.upsert(ids, x)
    lake = make_lake(reprime_fraction=1.0)
    lake.register_backend(backend)
    lake.search_one("c", x[0], K)
    random_ops(lake, backend, truth, rng, rounds=8)
    assert lake.cache_stats().pulls == 1
    # a write this process did not make (another writer) cannot be described: a full re-pull
    other = ruvector.FsBackend(name="fs2", root=tmp_path)
    vec = np.full((1, DIM), 9.0, np.float32)
    other.upsert("c", ids=[77], vectors=vec)
    truth.upsert(np.array([77]), vec)
    check_exact(lake, backend, truth, vec)
    assert lake.cache_stats().pulls == 2


def test_sessions_keep_their_snapshot_while_the_lake_moves_on(rng: np.random.Generator) -> None:
    backend = ruvector.LocalBackend(name="loc")
    x = rng.standard_normal((100, DIM)).astype(np.float32)
    backend.upsert("c", ids=np.arange(100), vectors=x)
    lake = make_lake()
    lake.register_backend(backend)
    far = np.full(DIM, 50.0, np.float32)
    with lake.session() as s:
        assert s.search_one("c", far, 1)[0].id != 500
        backend.upsert("c", ids=[500], vectors=far[None, :])
        assert lake.search_one("c", far, 1)[0].id == 500  # FRESH outside the session sees it
        assert s.search_one("c", far, 1)[0].id != 500  # the session's snapshot did not change
        backend.delete("c", ids=[500])
        assert lake.search_one("c", far, 1)[0].id != 500
        assert s.search_one("c", far, 1)[0].id != 500


def test_past_the_fraction_the_key_reprimes_in_the_background(rng: np.random.Generator) -> None:
    backend = ruvector.LocalBackend(name="loc")
    truth = Truth()
    ids = np.arange(200, dtype=np.int64)
    x = rng.standard_normal((200, DIM)).astype(np.float32)
    backend.upsert("c", ids=ids, vectors=x)
    truth.upsert(ids, x)
    lake = make_lake(reprime_fraction=0.05)  # 10 changed rows of 200
    lake.register_backend(backend)
    lake.search_one("c", x[0], K)
    for i in range(11):
        v = (rng.standard_normal((1, DIM)) * 2).astype(np.float32)
        backend.upsert("c", ids=[i], vectors=v)
        truth.upsert(np.array([i]), v)
        lake.search_one("c", v[0], K)
    # the 11th change crossed 5%: a background pull and build (of 200 vectors: milliseconds),
    # swapped in when done. The poll's bound is only a guard against hanging the suite if the
    # swap never happens, not a speed requirement: two minutes, far past any slow machine.
    deadline = time.monotonic() + 120
    while lake.cache_stats().primes != 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    s = lake.cache_stats()
    assert s.primes == 2 and s.pulls == 2
    check_exact(lake, backend, truth, rng.standard_normal((3, DIM)).astype(np.float32))


def test_reprime_fraction_zero_turns_updates_off_and_adapters_reprime(rng: np.random.Generator) -> None:
    backend = ruvector.LocalBackend(name="loc")
    x = rng.standard_normal((100, DIM)).astype(np.float32)
    backend.upsert("c", ids=np.arange(100), vectors=x)
    lake = make_lake(reprime_fraction=0.0)
    lake.register_backend(backend)
    lake.search_one("c", x[0], 1)
    backend.upsert("c", ids=[1], vectors=x[:1] + 1)
    lake.search_one("c", x[0], 1)
    assert lake.cache_stats().pulls == 2
    with pytest.raises(ruvector.ArgumentError, match="reprime_fraction"):
        ruvector.RuLake.builder().reprime_fraction(1.5)


def test_readers_stay_correct_while_a_writer_updates(rng: np.random.Generator) -> None:
    backend = ruvector.LocalBackend(name="loc")
    x = rng.standard_normal((150, DIM)).astype(np.float32)
    backend.upsert("c", ids=np.arange(150), vectors=x)
    lake = make_lake(consistency=ruvector.Consistency.EVENTUAL, eventual_ttl_ms=0)
    lake.register_backend(backend)
    lake.search_one("c", x[0], K)
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            hits = lake.search_one("c", x[3], K)
            # id 3 is never touched by the writer: it is always the nearest, at distance 0
            if hits[0].id != 3 or hits[0].score != 0.0 or len({h.id for h in hits}) != K:
                errors.append(repr(hits[:2]))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(40):
        backend.upsert("c", ids=[1000 + i % 7], vectors=(rng.standard_normal((1, DIM)) * 5).astype(np.float32))
        if i % 5 == 4:
            backend.delete("c", ids=[1000 + i % 7])
    stop.set()
    for t in threads:
        t.join()
    assert not errors
