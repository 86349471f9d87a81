"""Concurrency (the GIL tests are in test_gil_and_interrupts.py): racing readers and writers stay correct, fork works, and
results do not depend on the thread count or the SIMD kernel set."""

from __future__ import annotations

import hashlib
import multiprocessing
from multiprocessing.connection import Connection
import os
import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest

import ruvector


def vector_of(ident: int, d: int) -> np.ndarray:
    """Each id's vector is a function of the id, so any result can be checked on its own."""
    return np.random.default_rng(ident).normal(size=d).astype(np.float32)


@pytest.mark.parametrize("cls", [ruvector.FlatF32Index, ruvector.RabitqPlusIndex])
def test_readers_racing_writers_stay_correct(cls: type[ruvector.FlatF32Index]) -> None:
    d = 16
    base = list(range(2_000))
    idx = cls.build(np.stack([vector_of(i, d) for i in base]), ids=base)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader(seed: int) -> None:
        r = np.random.default_rng(seed)
        try:
            while not stop.is_set():
                q = r.normal(size=(8, d)).astype(np.float32)
                ids, scores = idx.search_batch(q, k=5)
                for row in range(8):
                    for ident, score in zip(ids[row], scores[row]):
                        true = float(((vector_of(int(ident), d) - q[row]) ** 2).sum())
                        assert abs(true - float(score)) <= 1e-4 * max(1.0, true)
                hits = idx.search(q[0], k=3)
                assert len(hits) == 3
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def writer() -> None:
        try:
            for ident in range(10_000, 10_600):
                idx.add(id=ident, vector=vector_of(ident, d))
                idx.remove(ident - 10_000)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    readers = [threading.Thread(target=reader, args=(s,)) for s in range(3)]
    w = threading.Thread(target=writer)
    for t in readers:
        t.start()
    w.start()
    w.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors[0]
    assert len(idx) == 2_000 and 10_599 in idx and 599 not in idx and 600 in idx


def _child_search(conn: Connection) -> None:
    data = np.arange(64 * 8, dtype=np.float32).reshape(64, 8)
    idx = ruvector.FlatF32Index.build(data)
    ids, _ = idx.search_batch(data[:20], k=1)
    conn.send(ids[:, 0].tolist())


def test_pool_survives_fork(rng: np.random.Generator) -> None:
    data = rng.normal(size=(500, 8)).astype(np.float32)
    ruvector.FlatF32Index.build(data).search_batch(data[:50], k=3)  # the pool is running now
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child_search, args=(child,))
    p.start()
    assert parent.poll(60), "child hung after fork"
    assert parent.recv() == list(range(20))
    p.join(10)
    assert p.exitcode == 0


SCRIPT = r"""
import hashlib, sys, numpy as np, ruvector
rng = np.random.default_rng(7)
data = rng.normal(size=(3000, 100)).astype(np.float32)
idx = ruvector.FlatF32Index.build(data)
ids, scores = idx.search_batch(rng.normal(size=(257, 100)).astype(np.float32), k=12)
single = idx.search(data[5] + 0.01, k=12)
idx.save(sys.argv[1])
h = hashlib.sha256(ids.tobytes() + scores.tobytes() + repr(single).encode()).hexdigest()
print(ruvector.cpu_features()["kernel"], ruvector.cpu_features()["threads"], h)
"""


def run_child(tmp: pathlib.Path, name: str, **env: str) -> tuple[str, str, str, bytes]:
    out = tmp / f"{name}.rvx"
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(out)], env={**os.environ, **env},
                         capture_output=True, text=True, check=True)
    kernel, threads, digest = res.stdout.split()
    return kernel, threads, digest, out.read_bytes()


def test_results_identical_across_threads_and_kernels(tmp_path: pathlib.Path) -> None:
    runs = [
        run_child(tmp_path, "t1", RUVECTOR_NUM_THREADS="1", RUVECTOR_SIMD="scalar"),
        run_child(tmp_path, "t3", RUVECTOR_NUM_THREADS="3", RUVECTOR_SIMD="scalar"),
    ]
    if ruvector.cpu_features()["avx2"]:
        runs.append(run_child(tmp_path, "a1", RUVECTOR_NUM_THREADS="1", RUVECTOR_SIMD="avx2"))
        runs.append(run_child(tmp_path, "a4", RUVECTOR_NUM_THREADS="4", RUVECTOR_SIMD="avx2"))
        assert runs[-1][0] == "avx2"
    assert runs[0][0] == "scalar" and runs[0][1] == "1" and runs[1][1] == "3"
    # ids and scores bit for bit, and the saved bytes, whatever the threads and kernels.
    assert len({r[2] for r in runs}) == 1
    assert len({r[3] for r in runs}) == 1


def test_unknown_simd_request_warns_and_falls_back() -> None:
    res = subprocess.run(
        [sys.executable, "-W", "always", "-c", "import ruvector; print(ruvector.cpu_features()['kernel'])"],
        env={**os.environ, "RUVECTOR_SIMD": "neon"}, capture_output=True, text=True, check=True)
    assert "RUVECTOR_SIMD=neon is not one of scalar, avx2, auto" in res.stderr
    assert res.stdout.strip() in ("avx2", "scalar")
