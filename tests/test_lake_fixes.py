"""RuLake fixes from "[5a] correctness and friction": per-backend prime time, refresh with an
unknown key, LRU (not FIFO) eviction, the friction items (async tasks, constructor misuse,
RefreshResult's name, duplicate ids, BackendError's cause)."""

from __future__ import annotations

import asyncio
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


def test_async_methods_return_coroutines_that_create_task_takes(rng: np.random.Generator) -> None:
    x = rng.standard_normal((50, 8)).astype(np.float32)
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=np.arange(50), vectors=x)
    lake = make_lake()
    lake.register_backend(backend)
    want = lake.search_one("c", x[4], 3)

    async def main() -> None:
        call = lake.search_one_async("c", x[4], 3)
        assert asyncio.iscoroutine(call)
        assert await asyncio.create_task(call) == want
        batch = await asyncio.create_task(lake.search_batch_async("c", x[:2], 3))
        assert batch[0][0].id == 0 and batch[1][0].id == 1
        fed = await asyncio.ensure_future(lake.search_federated_async("c", x[4], 3))
        assert [h.id for h in fed] == [h.id for h in want]
        # cancelling the task before it ever ran cancels the search's future too
        pending = lake.search_one_async("c", x[4], 3)
        task = asyncio.create_task(pending)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pending.cancelled()
        # and while it waits
        task = asyncio.create_task(lake.search_one_async("c", x[4], 3))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await lake.search_one_async("c", x[4], 3) == want  # the lake is fine afterwards

    asyncio.run(main())


def test_backend_constructors_name_their_keywords(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"LocalBackend\(\) takes its name as a keyword: write LocalBackend\(name='hot'\)"):
        ruvector.LocalBackend("hot")  # type: ignore[call-arg]
    with pytest.raises(ruvector.ArgumentTypeError, match=r"FsBackend\(name='d', root=\.\.\.\)"):
        ruvector.FsBackend("d")  # type: ignore[call-arg]
    with pytest.raises(ruvector.ArgumentTypeError, match=r"write FsBackend\(name=\.\.\., root=\.\.\.\)"):
        ruvector.FsBackend(name="d")  # type: ignore[call-arg]
    assert ruvector.LocalBackend(name="hot").name == "hot"


def test_refresh_result_and_consistency_print_their_names() -> None:
    r = ruvector.RefreshResult.UP_TO_DATE
    assert repr(r) == "RefreshResult.UP_TO_DATE" and str(r) == "RefreshResult.UP_TO_DATE"
    assert f"{ruvector.RefreshResult.INVALIDATED}" == "RefreshResult.INVALIDATED"
    assert f"{ruvector.RefreshResult.INVALIDATED:d}" == "1"  # a numeric format spec still formats the int
    assert str(ruvector.Consistency.STALE) == "Consistency.STALE"
    assert r == 0 and ruvector.RefreshResult(2) is ruvector.RefreshResult.BUNDLE_MISSING  # still int enums


@pytest.mark.parametrize("kind", ["local", "fs"])
def test_duplicate_ids_in_one_upsert_raise_and_write_nothing(kind: str, tmp_path: Path,
                                                            rng: np.random.Generator) -> None:
    backend: ruvector.LocalBackend | ruvector.FsBackend = (  # siblings: FsBackend is no LocalBackend
        ruvector.LocalBackend(name="b") if kind == "local" else ruvector.FsBackend(name="b", root=tmp_path))
    x = rng.standard_normal((4, 8)).astype(np.float32)
    backend.upsert("c", ids=[1, 2], vectors=x[:2])
    # as RabitqPlusIndex.build refuses duplicate ids, so does one upsert: all or nothing
    with pytest.raises(ruvector.DuplicateIdError, match="id 7 is twice in one upsert"):
        backend.upsert("c", ids=[7, 8, 7], vectors=x[:3])
    with pytest.raises(ruvector.DuplicateIdError):
        ruvector.RabitqPlusIndex.build(x[:3], np.array([7, 8, 7]))
    with pytest.raises(ruvector.DuplicateIdError):
        backend.upsert("new", ids=[3, 3], vectors=x[:2])
    assert backend.list_collections() == ["c"]  # not even created
    lake = make_lake()
    lake.register_backend(backend)
    got = lake.search_one("c", x[0], 10)
    assert sorted(h.id for h in got) == [1, 2]  # 7 and 8 were not written


class FailingAdapter(ruvector.BackendAdapter):
    def __init__(self, fail_in: str) -> None:
        self.fail_in = fail_in

    @property
    def name(self) -> str:
        return "ad"

    def list_collections(self) -> list[str]:
        return ["c"]

    def pull(self, collection: str) -> tuple[Any, Any]:
        if self.fail_in == "pull":
            raise KeyError(f"no such shard for {collection} " + "x" * 2000)  # longer than any buffer
        return np.arange(3), np.eye(3, dtype=np.float32)

    def generation(self, collection: str) -> int | str:
        if self.fail_in == "generation":
            raise ConnectionError("store unreachable")
        return 1


@pytest.mark.parametrize("fail_in", ["pull", "generation"])
def test_backend_error_chains_the_adapters_exception(fail_in: str, tmp_path: Path) -> None:
    adapter = FailingAdapter(fail_in)
    lake = make_lake()
    lake.register_backend(adapter)
    want = KeyError if fail_in == "pull" else ConnectionError
    q = np.ones(3, np.float32)
    with pytest.raises(ruvector.BackendError) as sync:
        lake.search_one("c", q, 1)
    with pytest.raises(ruvector.BackendError) as fed:
        lake.search_federated("c", q, 1)  # the adapter ran on a pool worker

    async def main() -> ruvector.BackendError:
        try:
            await lake.search_one_async("c", q, 1)
        except ruvector.BackendError as e:
            return e
        raise AssertionError("no BackendError")

    errors = [sync.value, fed.value, asyncio.run(main())]
    if fail_in == "generation":
        with pytest.raises(ruvector.BackendError) as pub:
            lake.publish_bundle("c", out_dir=tmp_path)
        errors.append(pub.value)
    for e in errors:
        assert isinstance(e.__cause__, want), e
        assert e.__cause__.__traceback__ is not None  # with the adapter's own frames
        assert f"{fail_in}('c') raised {want.__name__}" in str(e)
