"""RaBitQ indexes next to FlatF32Index on upstream's clustered data (one thread).

For each class and a sweep of its knobs: recall@1/@10/@100 against brute force, single-query
QPS and p50/p99 latency (one thread), build time and bytes per vector. Writes
bench/results/rabitq.json and prints a markdown table.

    bash bench/run.sh rabitq                 # n = 100k, d = 128
    .venv/bin/python bench/bench_rabitq.py --n 100000 --dim 128 --queries 1000
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def upstream_clustered(n: int, d: int, seed: int, centres_seed: int = 91) -> np.ndarray:
    """100 centres uniform in [-2, 2]^d, points = centre + N(0, 0.6^2) (upstream's generator)."""
    centres = np.random.default_rng(centres_seed).uniform(-2, 2, size=(100, d)).astype(np.float32)
    rng = np.random.default_rng(seed)
    return centres[rng.integers(0, 100, size=n)] + rng.normal(0, 0.6, size=(n, d)).astype(np.float32)


def recall(truth: np.ndarray, got: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(t[:k].tolist()) & set(g[:k].tolist())) / k for t, g in zip(truth, got)]))


def measure(name: str, idx: object, queries: np.ndarray, truth: np.ndarray, build_s: float, n: int,
            **search_kw: int) -> dict[str, object]:
    search = idx.search  # type: ignore[attr-defined]
    got = np.full((len(queries), 100), -1, dtype=np.int64)
    lat = []
    search(queries[0], k=100, **search_kw)
    for i, q in enumerate(queries):
        t = time.perf_counter()
        hits = search(q, k=10, **search_kw)
        lat.append(time.perf_counter() - t)
        got[i, : len(hits)] = [h.id for h in hits]
    got100 = np.full((len(queries), 100), -1, dtype=np.int64)
    for i, q in enumerate(queries[:200]):
        hits = search(q, k=100, **search_kw)
        got100[i, : len(hits)] = [h.id for h in hits]
    lat_a = np.array(lat)
    return {
        "index": name, "params": search_kw, "build_s": build_s,
        "recall@1": recall(truth, got, 1), "recall@10": recall(truth, got, 10),
        "recall@100": recall(truth[:200], got100[:200], 100),
        "qps": float(1 / lat_a.mean()), "p50_ms": float(np.percentile(lat_a, 50) * 1e3),
        "p99_ms": float(np.percentile(lat_a, 99) * 1e3),
        "bytes_per_vector": idx.memory_bytes / n,  # type: ignore[attr-defined]
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--out", default=str(HERE / "results" / "rabitq.json"))
    args = ap.parse_args()
    os.environ.setdefault("RUVECTOR_NUM_THREADS", "1")
    import ruvector

    n, d = args.n, args.dim
    data = upstream_clustered(n, d, seed=1)
    queries = upstream_clustered(args.queries, d, seed=2)
    t = time.perf_counter()
    flat = ruvector.FlatF32Index.build(data)
    flat_build = time.perf_counter() - t
    truth, _ = flat.search_batch(queries, k=100)
    rows = [measure("FlatF32Index", flat, queries[:200], truth[:200], flat_build, n)]

    def built(cls: type, **kw: int) -> tuple[object, float]:
        t0 = time.perf_counter()
        index = cls.build(data, seed=42, **kw)
        return index, time.perf_counter() - t0

    plus, tb = built(ruvector.RabitqPlusIndex)  # defaults: 4-bit codes, rerank 20
    for rf in (2, 5, 10, 20):
        rows.append(measure("RabitqPlusIndex (4-bit)", plus, queries, truth, tb, n, rerank_factor=rf))
    rows.append(measure("RabitqPlusIndex (4-bit)", plus, queries, truth, tb, n, rerank_factor=5, nprobe=8))
    plus1, tb = built(ruvector.RabitqPlusIndex, bits=1)
    for rf in (10, 20, 40):
        rows.append(measure("RabitqPlusIndex (1-bit)", plus1, queries, truth, tb, n, rerank_factor=rf))
    pure, tb = built(ruvector.RabitqIndex)
    rows.append(measure("RabitqIndex (1-bit)", pure, queries, truth, tb, n))
    asym, tb = built(ruvector.RabitqAsymIndex)  # 4-bit codes, no originals
    rows.append(measure("RabitqAsymIndex (4-bit, codes only)", asym, queries, truth, tb, n))
    asym_rr, tb = built(ruvector.RabitqAsymIndex, rerank_factor=5)
    rows.append(measure("RabitqAsymIndex (4-bit, rerank 5)", asym_rr, queries, truth, tb, n))

    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"n": n, "dim": d, "threads": ruvector.cpu_features()["threads"],
                               "kernel": ruvector.cpu_features()["kernel"], "rows": rows}, indent=1))
    flat_qps = rows[0]["qps"]
    print(f"n = {n:,}, d = {d}, {args.queries} queries, k = 10, one thread, kernel "
          f"{ruvector.cpu_features()['kernel']}\n")
    print("| index | search params | recall@1 | recall@10 | recall@100 | QPS | x Flat | p50 ms | p99 ms | build s | B/vector |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items()) or "-"  # type: ignore[attr-defined]
        print(f"| {r['index']} | {params} | {r['recall@1']:.3f} | {r['recall@10']:.4f} | {r['recall@100']:.3f} | "
              f"{r['qps']:,.0f} | {r['qps'] / flat_qps:.1f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | "
              f"{r['build_s']:.2f} | {r['bytes_per_vector']:.0f} |", file=sys.stdout)


if __name__ == "__main__":
    main()
