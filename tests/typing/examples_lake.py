"""Typing examples for RuLake: search results, sessions, the *_async coroutines, cache stats and
bundles; static types by assert_type, runtime types asserted when test_typing_examples.py runs
the functions."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import assert_type

import ruvector

DATA = np.random.default_rng(1).normal(size=(40, 8)).astype(np.float32)


def make_lake() -> ruvector.RuLake:
    backend = ruvector.LocalBackend(name="mem")
    assert_type(backend, ruvector.LocalBackend)
    backend.upsert("docs", np.arange(40, dtype=np.int64), DATA)
    assert_type(backend.list_collections(), list[str])
    assert_type(backend.delete("docs", [39]), int)
    lake = ruvector.RuLake.builder().rerank_factor(10).consistency(ruvector.Consistency.FRESH).build()
    assert_type(lake, ruvector.RuLake)
    lake.register_backend(backend)
    return lake


def searches() -> None:
    lake = make_lake()
    hits = lake.search_one("docs", DATA[0], k=3)
    assert_type(hits, list[ruvector.LakeHit])
    assert_type(hits[0].backend, str)
    assert_type(hits[0].id, int)
    assert_type(hits[0].score, float)
    assert type(hits[0]) is ruvector.LakeHit and type(hits[0].id) is int and type(hits[0].score) is float
    rows = lake.search_batch("docs", DATA[:2], k=3)
    assert_type(rows, list[list[ruvector.LakeHit]])
    assert len(rows) == 2 and type(rows[0][0]) is ruvector.LakeHit
    fed = lake.search_federated("docs", DATA[0], k=3, backends=["mem"])
    assert_type(fed, list[ruvector.LakeHit])
    with lake.session() as s:
        assert_type(s, ruvector.LakeSession)
        assert_type(s.search_one("docs", DATA[0]), list[ruvector.LakeHit])
    stats = lake.cache_stats()
    assert_type(stats, ruvector.CacheStats)
    assert_type(stats.hit_rate, float | None)
    assert_type(lake.cache_stats_by_collection(), dict[tuple[str, str], ruvector.CacheStats])
    assert type(stats) is ruvector.CacheStats
    cached = lake.cached_index(("mem", "docs"))
    assert_type(cached, ruvector.RabitqPlusIndex | None)
    assert isinstance(cached, ruvector.RabitqPlusIndex)
    assert_type(lake.cache_witness_of(("mem", "docs")), str | None)
    assert_type("x" in lake, bool)


def async_searches() -> None:
    lake = make_lake()

    async def run() -> list[ruvector.LakeHit]:
        call = lake.search_one_async("docs", DATA[0], k=2)
        assert isinstance(call, Coroutine)
        task = asyncio.create_task(call)
        assert_type(task, asyncio.Task[list[ruvector.LakeHit]])
        rows = await lake.search_batch_async("docs", DATA[:2], k=2)
        assert_type(rows, list[list[ruvector.LakeHit]])
        return await task

    hits = asyncio.run(run())
    assert_type(hits, list[ruvector.LakeHit])
    assert type(hits[0]) is ruvector.LakeHit


def bundles(tmp: Path) -> None:
    lake = make_lake()
    witness = lake.publish_bundle("docs", tmp)
    assert_type(witness, str)
    bundle = ruvector.RuLakeBundle.read(tmp)
    assert_type(bundle, ruvector.RuLakeBundle)
    assert_type(bundle.generation, int | str)
    assert_type(bundle.verify(), bool)
    assert bundle.verify() and bundle.rvf_witness == witness
    result = lake.refresh_from_bundle_dir(("mem", "docs"), tmp)
    assert_type(result, ruvector.RefreshResult)
    assert isinstance(result, ruvector.RefreshResult)


class Adapter(ruvector.BackendAdapter):
    @property
    def name(self) -> str:
        return "adapted"

    def list_collections(self) -> list[str]:
        return ["docs"]

    def pull(self, collection: str) -> tuple[Any, Any]:
        return np.arange(40, dtype=np.int64), DATA

    def generation(self, collection: str) -> int:
        return 1


def adapter() -> None:
    lake = ruvector.RuLake()
    lake.register_backend(Adapter())
    assert_type(lake.search_one("docs", DATA[0], k=1, backend="adapted"), list[ruvector.LakeHit])
    assert lake.search_one("docs", DATA[0], k=1, backend="adapted")[0].backend == "adapted"
