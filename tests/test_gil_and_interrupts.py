"""Long calls release the GIL for their whole duration, and Ctrl-C stops a long batch search
between chunks instead of at its end.

The GIL test measures the longest pause of a Python loop running beside the call: a call that
held the GIL would pause it for about its own duration, one that releases it only for the
scheduler's slices. Both limits are fractions of the same call's duration, measured in the same
run, so a slow or noisy machine moves both sides alike (no wall-clock limit)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

import ruvector
from conftest import F32

MIN_CALL_S = 0.25  # the call under test lasts at least this long, many scheduler slices


def longest_gap(call: Callable[[], object]) -> tuple[float, float]:
    """Runs call() on a thread while this thread spins; returns (the longest stretch of the
    call's duration in which the spin loop made no progress, the call's duration), in seconds.
    The spinner is running before the call starts and still running when it ends, so a call
    that holds the GIL from its first instruction to its last shows as one long stretch."""
    span = [0.0, 0.0]

    def work() -> None:
        time.sleep(0.02)  # the spinner is under way first
        span[0] = time.perf_counter()
        call()
        span[1] = time.perf_counter()

    t = threading.Thread(target=work)
    t.start()
    gap, prev = 0.0, time.perf_counter()
    while True:
        alive = t.is_alive()
        now = time.perf_counter()
        a, b = span
        if a and now > a:  # the part of [prev, now] inside the call
            gap = max(gap, min(now, b or now) - max(prev, a))
        prev = now
        if not alive:
            break
    t.join()
    return gap, span[1] - span[0]


def assert_releases_gil(make_call: Callable[[int], Callable[[], object]]) -> None:
    """make_call(scale) gives a call whose work grows with scale; scale doubles until one call
    lasts MIN_CALL_S, then its longest pause must be a small fraction of its duration."""
    scale = 1
    make_call(1)()  # warm the pool and any lazy state
    while True:
        gap, duration = longest_gap(make_call(scale))
        if duration >= MIN_CALL_S or scale >= 64:
            break
        scale *= 2
    assert duration >= MIN_CALL_S
    # Holding the GIL pauses the loop for ~the whole call; releasing it, for a time slice.
    assert gap < 0.3 * duration, f"longest pause {gap * 1e3:.1f} ms in a {duration * 1e3:.1f} ms call"


@pytest.fixture(scope="module")
def data() -> F32:
    return np.random.default_rng(0).normal(size=(20_000, 64)).astype(np.float32)


def test_build_releases_the_gil(data: F32) -> None:
    assert_releases_gil(lambda s: lambda: ruvector.RabitqPlusIndex.build(np.tile(data[:2500], (s, 1)), seed=1))


@pytest.mark.parametrize("cls", [ruvector.FlatF32Index, ruvector.RabitqPlusIndex])
def test_search_batch_releases_the_gil(cls: type[ruvector.FlatF32Index], data: F32) -> None:
    idx = cls.build(data)
    queries = data[:500] + np.float32(0.1)
    assert_releases_gil(lambda s: lambda: idx.search_batch(np.tile(queries, (s, 1)), k=10))


def test_embed_batch_releases_the_gil() -> None:
    emb = ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2")
    texts = [f"sentence number {i} about vectors, quantization and search" for i in range(8)]
    assert_releases_gil(lambda s: lambda: emb.embed_batch(texts * s))


def test_lake_searches_release_the_gil(data: F32) -> None:
    hot = ruvector.LocalBackend(name="hot")
    hot.upsert("docs", ids=np.arange(len(data), dtype=np.int64), vectors=data)
    lake = ruvector.RuLake.builder().rotation_seed(1).build()
    lake.register_backend(hot)
    queries = data[:500] + np.float32(0.1)
    assert_releases_gil(lambda s: lambda: lake.search_batch(collection="docs", queries=np.tile(queries, (s, 1)), k=10))

    def prime(s: int) -> Callable[[], object]:  # a first search pulls and builds the collection
        name = f"c{s}-{time.perf_counter_ns()}"
        hot.upsert(name, ids=np.arange(2500 * s, dtype=np.int64), vectors=np.tile(data[:2500], (s, 1)))
        return lambda: lake.search_one(collection=name, query=queries[0], k=10)

    assert_releases_gil(prime)


def interrupted_after(call: Callable[[], object], full: float) -> float:
    """Sends SIGINT to this (the main) thread at 20% of the call's full duration; returns how
    long the call went on after the signal. Fails if the call finished without raising."""
    main = threading.main_thread().ident
    assert main == threading.get_ident()
    sent = [0.0]

    def fire() -> None:
        sent[0] = time.perf_counter()
        signal.pthread_kill(main, signal.SIGINT)

    timer = threading.Timer(0.2 * full, fire)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        call()
    ended = time.perf_counter()
    timer.join()
    return ended - sent[0]


def test_ctrl_c_stops_search_batch_between_chunks(data: F32) -> None:
    idx = ruvector.FlatF32Index.build(data)
    # The flat batch's chunks at 20k x 64 are ~6,700 queries: this batch is five of them.
    queries = np.tile(data[:1000] + np.float32(0.1), (32, 1))
    t0 = time.perf_counter()
    idx.search_batch(queries, k=10)
    full = time.perf_counter() - t0
    # Before the fix the interrupt arrived when the batch ended: 80% of full after the signal.
    after = interrupted_after(lambda: idx.search_batch(queries, k=10), full)
    assert after < 0.5 * full, f"{after * 1e3:.0f} ms after Ctrl-C in a {full * 1e3:.0f} ms batch"
    assert idx.search_batch(queries[:3], k=10)[0].shape == (3, 10)  # still usable


def test_ctrl_c_stops_lake_search_batch(data: F32) -> None:
    hot = ruvector.LocalBackend(name="hot")
    hot.upsert("docs", ids=np.arange(len(data), dtype=np.int64), vectors=data)
    lake = ruvector.RuLake.builder().rotation_seed(1).build()
    lake.register_backend(hot)
    queries = np.tile(data[:1000] + np.float32(0.1), (4, 1))  # ten chunks
    lake.search_one(collection="docs", query=queries[0], k=10)  # prime first
    t0 = time.perf_counter()
    lake.search_batch(collection="docs", queries=queries, k=10)
    full = time.perf_counter() - t0
    after = interrupted_after(lambda: lake.search_batch(collection="docs", queries=queries, k=10), full)
    assert after < 0.5 * full, f"{after * 1e3:.0f} ms after Ctrl-C in a {full * 1e3:.0f} ms batch"
