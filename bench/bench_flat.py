"""FlatF32Index against FAISS IndexFlatL2 (and NumPy), measured in one run on this machine.

For each dimension and thread count it reports build time, single-query latency (p50/p99) and
QPS with the bytes-scanned rate next to the measured read bandwidth, batch QPS with GFLOP/s next
to the measured FMA peak, agreement with a float64 brute force, and bytes per vector.
Each thread count runs in its own process (ruvector's pool size is fixed at first use).

    bash bench/run.sh flat                # sets up, installs the peers, runs, plots
    .venv/bin/python bench/bench_flat.py --n 100000 --dims 128,768 --threads 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


PEAKS = HERE / "results" / "peaks"


def machine_peaks(which: str = "") -> dict[str, float]:
    """FMA peak / read bandwidth measured by bench/peaks.c (built on first use)."""
    if not PEAKS.exists():
        PEAKS.parent.mkdir(exist_ok=True)
        subprocess.run(["gcc", "-O2", "-mavx2", "-mfma", "-o", str(PEAKS), str(HERE / "peaks.c")], check=True)
    out: dict[str, float] = json.loads(
        subprocess.run([str(PEAKS), which], capture_output=True, text=True, check=True).stdout)
    return out


def clustered(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.uniform(-2, 2, size=(100, d)).astype(np.float32)
    return c[rng.integers(0, 100, size=n)] + rng.normal(0, 0.6, size=(n, d)).astype(np.float32)


def timed(f, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    f()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def worker(n: int, d: int, m: int, threads: int) -> dict[str, object]:
    import faiss

    import ruvector

    faiss.omp_set_num_threads(threads)
    data = clustered(n, d, seed=1)
    queries = clustered(m, d, seed=2)
    k = 10
    res: dict[str, object] = {"n": n, "d": d, "m": m, "threads": threads, "kernel": ruvector.cpu_features()["kernel"]}

    t = time.perf_counter()
    idx = ruvector.FlatF32Index.build(data)
    res["build_s_ruvector"] = time.perf_counter() - t
    t = time.perf_counter()
    fi = faiss.IndexFlatL2(d)
    fi.add(data)
    res["build_s_faiss"] = time.perf_counter() - t
    res["bytes_per_vector_ruvector"] = idx.memory_bytes / n
    res["bytes_per_vector_faiss"] = d * 4.0

    # Single queries, one thread each way (a single query is one scan), interleaved so both see
    # the same machine; the read bandwidth is measured right before, as this VM's varies.
    res["read_gbs_1t"] = machine_peaks("read")["read_gbs_1t"]
    faiss.omp_set_num_threads(1)
    singles = queries[:100]
    searches = {"ruvector": lambda q: idx.search(q, k=k), "faiss": lambda q: fi.search(q[None], k)}
    lat: dict[str, list[float]] = {name: [] for name in searches}
    for q in singles:
        for name, search in searches.items():
            t = time.perf_counter()
            search(q)
            lat[name].append(time.perf_counter() - t)
    for name in searches:
        lat_a = np.array(lat[name][1:])
        res[f"single_p50_ms_{name}"] = float(np.percentile(lat_a, 50) * 1e3)
        res[f"single_p99_ms_{name}"] = float(np.percentile(lat_a, 99) * 1e3)
        res[f"single_qps_{name}"] = float(1 / lat_a.mean())
        res[f"single_gbs_{name}"] = float(n * d * 4 / np.percentile(lat_a, 50) / 1e9)
    faiss.omp_set_num_threads(threads)

    t_r = t_f = float("inf")
    for _ in range(3):  # interleaved best-of-3
        t_r = min(t_r, timed(lambda: idx.search_batch(queries, k=k), repeat=1))
        t_f = min(t_f, timed(lambda: fi.search(queries, k), repeat=1))
    flops = 2.0 * m * n * d
    res["batch_qps_ruvector"] = m / t_r
    res["batch_qps_faiss"] = m / t_f
    res["batch_gflops_ruvector"] = flops / t_r / 1e9
    res["batch_gflops_faiss"] = flops / t_f / 1e9

    # Exactness against a float64 brute force on a sample of queries.
    ids, _ = idx.search_batch(queries[:50], k=k)
    _, fids = fi.search(queries[:50], k)
    x64 = data.astype(np.float64)
    agree_r = agree_f = 0.0
    for i in range(50):
        dist = ((x64 - queries[i]) ** 2).sum(axis=1)
        truth = set(np.argsort(dist, kind="stable")[:k].tolist())
        agree_r += len(truth & set(ids[i].tolist())) / k
        agree_f += len(truth & set(fids[i].tolist())) / k
    res["recall_at_10_ruvector"] = agree_r / 50
    res["recall_at_10_faiss"] = agree_f / 50
    return res


def plot(results: list[dict[str, object]], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    labels = [f"d={r['d']}\n{r['threads']}t" for r in results]
    x = np.arange(len(results))
    for ax, key, title in ((axes[0], "single_qps", "single query (1 thread), QPS"),
                           (axes[1], "batch_qps", "search_batch of 1000 queries, QPS")):
        ax.bar(x - 0.2, [r[f"{key}_ruvector"] for r in results], 0.4, label="ruvector FlatF32Index")
        ax.bar(x + 0.2, [r[f"{key}_faiss"] for r in results], 0.4, label="FAISS IndexFlatL2")
        ax.set_xticks(x, labels)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dims", default="128,768")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out", default=str(HERE / "results" / "flat.json"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.n, int(args.dims), args.queries, int(args.threads))))
        return

    peaks = machine_peaks("fma")
    results = []
    for d in (int(v) for v in args.dims.split(",")):
        for t in (int(v) for v in args.threads.split(",")):
            env = {**os.environ, "RUVECTOR_NUM_THREADS": str(t), "OMP_NUM_THREADS": str(t)}
            for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # see the env notes: they slow BLAS
                env.pop(var, None)
            out = subprocess.run([sys.executable, __file__, "--worker", "--n", str(args.n), "--dims", str(d),
                                  "--queries", str(args.queries), "--threads", str(t)],
                                 env=env, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout)
            r["batch_peak_fraction_ruvector"] = r["batch_gflops_ruvector"] / (peaks["fma_gflops_1t"] * t)
            r["single_bw_fraction_ruvector"] = r["single_gbs_ruvector"] / r["read_gbs_1t"]
            results.append(r)
            print(f"d={d} threads={t}: batch {r['batch_qps_ruvector']:.0f} vs faiss {r['batch_qps_faiss']:.0f} QPS, "
                  f"single {r['single_qps_ruvector']:.0f} vs {r['single_qps_faiss']:.0f} QPS", file=sys.stderr)
    out_path = pathlib.Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), **peaks}
    out_path.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    plot(results, out_path.with_suffix(".png"))

    print(f"\nMachine: {os.cpu_count()} CPUs; measured FMA peak {peaks['fma_gflops_1t']:.1f} GFLOP/s per thread; "
          f"one-thread read bandwidth measured in each run (column 'of read bw'). n = {args.n}, k = 10, "
          f"clustered data.\n")
    print("| d | threads | build ruvector / faiss (s) | single p50 / p99 ms (ruvector) | single QPS ruvector / faiss | "
          "scan GB/s (of read bw measured then) | batch QPS ruvector / faiss | batch GFLOP/s (of FMA peak) | recall@10 ruvector / faiss | B/vector |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['d']} | {r['threads']} | {r['build_s_ruvector']:.3f} / {r['build_s_faiss']:.3f} | "
              f"{r['single_p50_ms_ruvector']:.2f} / {r['single_p99_ms_ruvector']:.2f} | "
              f"{r['single_qps_ruvector']:.0f} / {r['single_qps_faiss']:.0f} | "
              f"{r['single_gbs_ruvector']:.1f} ({r['single_bw_fraction_ruvector']:.0%}) | "
              f"{r['batch_qps_ruvector']:.0f} / {r['batch_qps_faiss']:.0f} (**{r['batch_qps_ruvector'] / r['batch_qps_faiss']:.2f}x**) | "
              f"{r['batch_gflops_ruvector']:.1f} ({r['batch_peak_fraction_ruvector']:.0%}) | "
              f"{r['recall_at_10_ruvector']:.4f} / {r['recall_at_10_faiss']:.4f} | "
              f"{r['bytes_per_vector_ruvector']:.0f} / {r['bytes_per_vector_faiss']:.0f} |")


if __name__ == "__main__":
    main()
