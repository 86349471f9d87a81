"""ruvector demo: exact and RaBitQ vector search on generated data.

Builds a FlatF32Index over clustered vectors (the shape of the upstream benchmark), answers
single and batched queries, checks answers against a NumPy brute force, saves, reloads; then
builds a RabitqPlusIndex on the same data and compares its recall and speed with the exact scan. Run it directly (`bash scripts/demo.sh` runs the semantic-search demo, examples/demo.py):

    .venv/bin/python examples/index_demo.py [--n 200000] [--dim 128]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

import ruvector


def clustered(rng: np.random.Generator, centres: np.ndarray, n: int) -> np.ndarray:
    """Points around the given centres (sigma 0.6): upstream's benchmark distribution."""
    noise = rng.normal(0, 0.6, size=(n, centres.shape[1])).astype(np.float32)
    return centres[rng.integers(0, len(centres), size=n)] + noise


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=1_000)
    args = ap.parse_args()
    n, d, m = args.n, args.dim, args.queries

    f = ruvector.cpu_features()
    print(f"ruvector {ruvector.__version__}: kernel={f['kernel']} threads={f['threads']}")
    rng = np.random.default_rng(42)
    t = time.perf_counter()
    centres = rng.uniform(-2, 2, size=(100, d)).astype(np.float32)
    data = clustered(rng, centres, n)
    queries = clustered(rng, centres, m)  # queries from the same distribution as the data
    print(f"generated {n:,} x {d} clustered vectors in {time.perf_counter() - t:.2f}s")

    t = time.perf_counter()
    idx = ruvector.FlatF32Index.build(data, progress=True)
    print(f"build: {time.perf_counter() - t:.3f}s  -> {idx!r}")

    # Single queries: the memory-bound scan.
    t = time.perf_counter()
    singles = [idx.search(q, k=10) for q in queries[:200]]
    dt = time.perf_counter() - t
    gbps = 200 * n * d * 4 / dt / 1e9
    print(f"search (single): {dt / 200 * 1e3:.2f} ms/query, {200 / dt:,.0f} QPS, "
          f"{gbps:.1f} GB/s of vectors scanned")

    # A batch: blocked GEMM on the worker pool.
    t = time.perf_counter()
    ids, scores = idx.search_batch(queries, k=10)
    dt = time.perf_counter() - t
    print(f"search_batch ({m} queries): {dt:.3f}s, {m / dt:,.0f} QPS, "
          f"{2.0 * m * n * d / dt / 1e9:.1f} GFLOP/s on {f['threads']} threads")

    # Check against the brute-force oracle (float64).
    for i in range(5):
        exact = np.argsort(((data.astype(np.float64) - queries[i]) ** 2).sum(1), kind="stable")[:10]
        assert [h.id for h in singles[i]] == ids[i].tolist() == exact.tolist(), i
    print("results: identical to a NumPy float64 brute force on 5 checked queries")
    print("top hits for query 0:", [(h.id, round(h.score, 3)) for h in singles[0][:3]])

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "demo.rvx")
        t = time.perf_counter()
        idx.save(path)
        ts = time.perf_counter() - t
        t = time.perf_counter()
        back = ruvector.FlatF32Index.load(path)
        tl = time.perf_counter() - t
        size = os.path.getsize(path)
        print(f"save: {ts:.3f}s, load: {tl:.3f}s ({size / 1e6:.1f} MB, checksummed), equal: {back == idx}")

    # The same search with RaBitQ: error-bounded code scan + exact rerank.
    t = time.perf_counter()
    rq = ruvector.RabitqPlusIndex.build(data, seed=42, rerank_factor=5, progress=True)
    print(f"\nRabitqPlusIndex build: {time.perf_counter() - t:.2f}s -> {rq!r}")
    t = time.perf_counter()
    approx = [rq.search(q, k=10) for q in queries]
    dt = time.perf_counter() - t
    recall = np.mean([len({h.id for h in a} & set(ids[i].tolist())) / 10 for i, a in enumerate(approx)])
    print(f"RabitqPlusIndex search (single): {dt / m * 1e3:.3f} ms/query, {m / dt:,.0f} QPS, "
          f"recall@10 vs exact {recall:.4f}")


if __name__ == "__main__":
    main()
