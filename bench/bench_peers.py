"""ruvector's indexes against FAISS, hnswlib and usearch, measured in one run (issue [3]).

For each dataset: brute-force ground truth, then for every index a sweep of its speed/accuracy
knob, reporting recall@1/@10 (k = 10 searches) and recall@100 (k = 100, on 200 queries),
single-thread QPS and p50/p99 latency (one query per call on one thread, for every library),
batch QPS and build time on all threads (every library), and memory per vector (the size of
the saved index, for every library). Writes
bench/results/peers-<dataset>.json/.md and a recall-vs-QPS plot bench/peers-<dataset>.png.

    bash bench/run.sh peers          # clustered d=128 and d=768, uniform d=128, MiniLM sentences d=384
    .venv/bin/python bench/bench_peers.py --datasets clustered128 --n 100000
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time
from typing import Any, Callable

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_rabitq import upstream_clustered  # noqa: E402


def minilm(n: int, nq: int) -> tuple[np.ndarray, np.ndarray]:
    """Real sentence embeddings: all-MiniLM-L6-v2 (ruvector's C embedder) over sentences of the
    standard library's, NumPy's, SciPy's and scikit-learn's docstrings; queries are held-out
    sentences. Cached in bench/results/cache/ (embedding ~90k sentences takes minutes)."""
    from corpus import stdlib_sentences

    import ruvector

    cache = HERE / "results" / "cache" / f"minilm384-{n}-{nq}.npz"
    if cache.exists():
        z = np.load(cache)
        return z["xb"], z["xq"]
    texts = stdlib_sentences(n + nq, extra=("numpy", "scipy", "sklearn"))
    rng = np.random.default_rng(4)
    order = rng.permutation(len(texts))
    queries, base = [texts[i] for i in order[:nq]], [texts[i] for i in order[nq:]]
    emb = ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2")
    print(f"embedding {len(base):,} + {nq} sentences with all-MiniLM-L6-v2 ...", file=sys.stderr)
    xb, xq = emb.embed_batch(base), emb.embed_batch(queries)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, xb=xb, xq=xq)
    return xb, xq


def dataset(name: str, n: int, nq: int) -> tuple[np.ndarray, np.ndarray]:
    if name == "minilm384":
        return minilm(n, nq)
    if name.startswith("clustered"):
        d = int(name[len("clustered"):])
        return upstream_clustered(n, d, seed=1), upstream_clustered(nq, d, seed=2)
    if name.startswith("uniform"):
        d = int(name[len("uniform"):])
        rng = np.random.default_rng(3)
        return rng.uniform(-1, 1, (n, d)).astype(np.float32), rng.uniform(-1, 1, (nq, d)).astype(np.float32)
    raise SystemExit(f"unknown dataset {name}")


def recall(truth: np.ndarray, got: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(t[:k].tolist()) & set(g[:k].tolist())) / k for t, g in zip(truth, got)]))


def file_bytes(save: Callable[[str], None]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "index")
        save(path)
        return os.path.getsize(path)


class Runner:
    def __init__(self, xb: np.ndarray, xq: np.ndarray, truth: np.ndarray, threads: int) -> None:
        self.xb, self.xq, self.truth, self.threads = xb, xq, truth, threads
        self.rows: list[dict[str, Any]] = []

    def run(self, family: str, knob: str, search: Callable[[np.ndarray, int], np.ndarray],
            batch: Callable[[np.ndarray, int], np.ndarray] | None, build_s: float, bytes_per_vector: float) -> None:
        xq, truth = self.xq, self.truth
        got = np.full((len(xq), 10), -1, dtype=np.int64)
        search(xq[0], 10)
        lat = np.empty(len(xq))
        for i, q in enumerate(xq):
            t = time.perf_counter()
            res = search(q, 10)
            lat[i] = time.perf_counter() - t
            got[i, : len(res)] = res[:10]
        got100 = np.full((200, 100), -1, dtype=np.int64)
        for i, q in enumerate(xq[:200]):
            res = search(q, 100)
            got100[i, : len(res)] = res[:100]
        row = {"index": family, "knob": knob, "recall@1": recall(truth, got, 1), "recall@10": recall(truth, got, 10),
               "recall@100": recall(truth[:200], got100, 100), "qps": float(1 / lat.mean()),
               "p50_ms": float(np.percentile(lat, 50) * 1e3), "p99_ms": float(np.percentile(lat, 99) * 1e3),
               "build_s": build_s, "bytes_per_vector": bytes_per_vector}
        if batch is not None:
            batch(xq[:50], 10)
            t = time.perf_counter()
            batch(xq, 10)
            row["batch_qps"] = len(xq) / (time.perf_counter() - t)
        self.rows.append(row)
        print(f"  {family:34s} {knob:28s} r@10 {row['recall@10']:.4f}  QPS {row['qps']:8.0f}  "
              f"p99 {row['p99_ms']:.3f} ms", file=sys.stderr, flush=True)


def bench_ruvector(r: Runner) -> None:
    import ruvector

    xb, n = r.xb, len(r.xb)
    t = time.perf_counter()
    flat = ruvector.FlatF32Index.build(xb)
    bt = time.perf_counter() - t
    r.run("ruvector FlatF32Index", "-", lambda q, k: np.array([h.id for h in flat.search(q, k=k)]),
          lambda qs, k: flat.search_batch(qs, k=k)[0], bt, file_bytes(flat.save) / n)
    # the exhaustive search (every list the error bound cannot rule out) per rerank factor, then
    # nprobe caps: the approximate mode for data whose lists cannot be pruned (real embeddings)
    plus_knobs = [{"rerank_factor": rf} for rf in (1, 2, 3, 5, 10, 20)] + [
        {"rerank_factor": rf, "nprobe": p} for rf in (2, 5) for p in (4, 8, 16, 32, 64, 128, 192)]
    for cls, kw, knobs in (
        (ruvector.RabitqPlusIndex, {}, plus_knobs),
        (ruvector.RabitqPlusIndex, {"bits": 1}, [{"rerank_factor": rf} for rf in (10, 20, 40)]),
        (ruvector.RabitqAsymIndex, {}, [{"rerank_factor": 1}]),
        (ruvector.RabitqIndex, {}, [{"rerank_factor": 1}]),
    ):
        t = time.perf_counter()
        idx = cls.build(xb, seed=42, **kw)
        bt = time.perf_counter() - t
        name = f"ruvector {cls.__name__} ({idx.bits}-bit)"
        for knob in knobs:
            over = {k: v for k, v in knob.items() if not (k == "rerank_factor" and v == 1)}
            r.run(name, ",".join(f"{k}={v}" for k, v in knob.items()),
                  lambda q, k, o=over: np.array([h.id for h in idx.search(q, k=k, **o)]),  # type: ignore[misc]
                  lambda qs, k, o=over: idx.search_batch(qs, k=k, **o)[0],  # type: ignore[misc]
                  bt, file_bytes(idx.save) / n)


def unwrap(faiss: Any, index: Any) -> tuple[Any, Any]:
    """The IndexRefine and the RaBitQ index inside a factory-built wrapper chain."""
    refine = None
    ix = faiss.downcast_index(index)
    while True:
        if hasattr(ix, "k_factor") and hasattr(ix, "base_index"):
            refine = ix
            ix = faiss.downcast_index(ix.base_index)
        elif isinstance(ix, faiss.IndexPreTransform):
            ix = faiss.downcast_index(ix.index)
        else:
            return refine, ix


def bench_faiss(r: Runner, nlist: int) -> None:
    import faiss

    xb, d, n = r.xb, r.xb.shape[1], len(r.xb)

    def single(index: Any) -> Callable[[np.ndarray, int], np.ndarray]:
        return lambda q, k: index.search(q[None], k)[1][0]

    def batch(index: Any) -> Callable[[np.ndarray, int], np.ndarray]:
        def run(qs: np.ndarray, k: int) -> np.ndarray:
            faiss.omp_set_num_threads(r.threads)
            out = index.search(qs, k)[1]
            faiss.omp_set_num_threads(1)
            return out
        return run

    faiss.omp_set_num_threads(1)
    specs = [
        ("FAISS IndexFlatL2", "Flat", [None]),
        ("FAISS RR,RaBitQ,RFlat", f"RR{d},RaBitQ,RFlat", [(qb, kf) for qb in (8,) for kf in (2, 5, 10, 20, 50)]),
        ("FAISS RR,RaBitQ4,RFlat", f"RR{d},RaBitQ4,RFlat", [(8, kf) for kf in (1, 2, 5, 10)]),
        ("FAISS RR,RaBitQfs,RFlat", f"RR{d},RaBitQfs,RFlat", [(8, kf) for kf in (5, 10, 20, 50)]),
        (f"FAISS RR,IVF{nlist},RaBitQ,RFlat", f"RR{d},IVF{nlist},RaBitQ,RFlat",
         [(8, kf, npb) for npb in (4, 8, 16, 32, 64, 128) for kf in (5, 10, 20)]),
        (f"FAISS RR,IVF{nlist},RaBitQfs,RFlat", f"RR{d},IVF{nlist},RaBitQfs,RFlat",
         [(8, kf, npb) for npb in (4, 8, 16, 32, 64, 128) for kf in (10, 20)]),
        ("FAISS IndexHNSWFlat M16", "HNSW16,Flat", [("ef", ef) for ef in (16, 32, 64, 128, 256)]),
    ]
    for family, factory, knobs in specs:
        index = faiss.index_factory(d, factory)
        faiss.omp_set_num_threads(r.threads)
        t = time.perf_counter()
        index.train(xb)
        index.add(xb)
        bt = time.perf_counter() - t
        faiss.omp_set_num_threads(1)
        bpv = file_bytes(lambda p, ix=index: faiss.write_index(ix, p)) / n
        for knob in knobs:
            label = "-"
            if knob is not None and knob[0] == "ef":
                faiss.downcast_index(index).hnsw.efSearch = knob[1]
                label = f"efSearch={knob[1]}"
            elif knob is not None:
                refine, base = unwrap(faiss, index)
                refine.k_factor = knob[1]
                base.qb = knob[0]
                label = f"qb={knob[0]},k_factor={knob[1]}"
                if len(knob) == 3:
                    base.nprobe = knob[2]
                    label += f",nprobe={knob[2]}"
            r.run(family, label, single(index), batch(index), bt, bpv)


def bench_hnswlib(r: Runner) -> None:
    import hnswlib

    xb, d, n = r.xb, r.xb.shape[1], len(r.xb)
    p = hnswlib.Index(space="l2", dim=d)
    p.init_index(max_elements=n, ef_construction=200, M=16, random_seed=1)
    p.set_num_threads(r.threads)
    t = time.perf_counter()
    p.add_items(xb, np.arange(n))
    bt = time.perf_counter() - t
    p.set_num_threads(1)
    bpv = file_bytes(lambda path: p.save_index(path)) / n
    for ef in (16, 32, 64, 128, 256):
        p.set_ef(max(ef, 100))  # ef must be >= k for the k = 100 searches

        def single(q: np.ndarray, k: int, ef: int = ef) -> np.ndarray:
            p.set_ef(max(ef, k))
            return p.knn_query(q, k=k)[0][0]

        def batch(qs: np.ndarray, k: int, ef: int = ef) -> np.ndarray:
            p.set_ef(max(ef, k))
            p.set_num_threads(r.threads)
            out = p.knn_query(qs, k=k)[0]
            p.set_num_threads(1)
            return out

        r.run("hnswlib M16 efC200", f"ef={ef}", single, batch, bt, bpv)


def bench_usearch(r: Runner) -> None:
    from usearch.index import Index

    xb, d, n = r.xb, r.xb.shape[1], len(r.xb)
    index = Index(ndim=d, metric="l2sq", dtype="f32", connectivity=16, expansion_add=128)
    t = time.perf_counter()
    index.add(np.arange(n), xb, threads=r.threads)
    bt = time.perf_counter() - t
    bpv = file_bytes(lambda path: index.save(path)) / n
    for ef in (16, 32, 64, 128, 256):
        def single(q: np.ndarray, k: int, ef: int = ef) -> np.ndarray:
            index.expansion_search = ef
            return np.asarray(index.search(q, k, threads=1).keys)

        def batch(qs: np.ndarray, k: int, ef: int = ef) -> np.ndarray:
            index.expansion_search = ef
            return np.asarray(index.search(qs, k, threads=r.threads).keys)

        r.run("usearch M16 efC128", f"expansion_search={ef}", single, batch, bt, bpv)


def plot(rows: list[dict[str, Any]], title: str, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    for family in dict.fromkeys(r["index"] for r in rows):
        pts = sorted((r["recall@10"], r["qps"]) for r in rows if r["index"] == family)
        style = "-o" if family.startswith("ruvector") else "--s"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=family, markersize=4)
    ax.set_xlabel("recall@10 (k = 10 searches)")
    ax.set_ylabel("queries per second, one thread (log)")
    ax.set_yscale("log")
    ax.set_xlim(left=max(0.0, min(r["recall@10"] for r in rows) - 0.02), right=1.005)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="clustered128,clustered768,uniform128,minilm384")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--peers", default="ruvector,faiss,hnswlib,usearch")
    args = ap.parse_args()
    os.environ["RUVECTOR_NUM_THREADS"] = str(args.threads)  # pool for build and batch; single search uses 1
    import ruvector

    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    for name in args.datasets.split(","):
        xb, xq = dataset(name, args.n, args.queries)
        n = len(xb)  # minilm384 has as many vectors as the corpus has sentences (~88k)
        truth = ruvector.FlatF32Index.build(xb).search_batch(xq, k=100)[0]  # exact (tested against NumPy)
        print(f"{name}: n={n}, d={xb.shape[1]}, {len(xq)} queries", file=sys.stderr)
        r = Runner(xb, xq, truth, args.threads)
        peers = args.peers.split(",")
        if "ruvector" in peers:
            bench_ruvector(r)
        if "faiss" in peers:
            bench_faiss(r, nlist=int(round(np.sqrt(n))))
        if "hnswlib" in peers:
            bench_hnswlib(r)
        if "usearch" in peers:
            bench_usearch(r)
        (out_dir / f"peers-{name}.json").write_text(json.dumps(r.rows, indent=1))
        plot(r.rows, f"{name}: n={n:,}, d={xb.shape[1]}, k=10, one thread", HERE / f"peers-{name}.png")
        lines = [f"### {name}: n = {n:,}, d = {xb.shape[1]}, {len(xq)} queries, k = 10\n",
                 "| index | knob | recall@1 | recall@10 | recall@100 | QPS (1 thread) | p50 ms | p99 ms | "
                 f"batch QPS ({args.threads} threads) | build s ({args.threads} threads) | bytes/vector (saved) |",
                 "|---|---|---|---|---|---|---|---|---|---|---|"]
        for x in r.rows:
            lines.append(f"| {x['index']} | {x['knob']} | {x['recall@1']:.3f} | {x['recall@10']:.4f} | "
                         f"{x['recall@100']:.3f} | {x['qps']:,.0f} | {x['p50_ms']:.3f} | {x['p99_ms']:.3f} | "
                         f"{x.get('batch_qps', 0):,.0f} | {x['build_s']:.2f} | {x['bytes_per_vector']:.0f} |")
        (out_dir / f"peers-{name}.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
