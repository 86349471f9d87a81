"""Text embedding throughput and latency: ruvector's C all-MiniLM-L6-v2 vs sentence-transformers
(torch CPU) and ONNX Runtime (the same weights exported to ONNX), on the same threads and the same sentences (first paragraphs of standard-library
docstrings, cut to 10-30 words: real text of the typical length).

Reports sentences/s at batch 32 (each engine's best of --rounds interleaved rounds, and the
round-by-round ratio to torch), single-sentence p50 latency, achieved GFLOP/s (21.23 MFLOP per
token for the linear layers + 9,216 T per token of attention), and agreement (min cosine).
Writes bench/results/embed.json and prints a markdown table.

    bash bench/run.sh embed                      # all threads of the pool
    RUVECTOR_NUM_THREADS=1 .venv/bin/python bench/bench_embed.py --threads 1
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import pathlib
import statistics
import sys
import time
import warnings

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def sentences(n: int) -> list[str]:
    warnings.simplefilter("ignore")
    import importlib

    out: list[str] = []
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo"}:
            continue
        try:
            mod = importlib.import_module(name)
        except Exception:
            continue
        for obj in [mod, *vars(mod).values()]:
            doc = getattr(obj, "__doc__", None)
            if isinstance(doc, str):
                words = inspect.cleandoc(doc).split()
                if len(words) >= 10:
                    out.append(" ".join(words[: 10 + len(out) % 21]))
                    if len(out) >= n:
                        return out
    return out


def onnx_engine(model_dir: str, threads: int):  # type: ignore[no-untyped-def]
    """all-MiniLM-L6-v2 through ONNX Runtime: the encoder exported once from the same weights
    (torch.onnx, opset 17), the HF fast tokenizer, padding per batch like sentence-transformers,
    mean pooling and normalisation in NumPy. Returns embed(texts) or None when unavailable."""
    try:
        import onnxruntime as ort
        import torch
        from tokenizers import Tokenizer
        from transformers import AutoModel
    except ImportError:
        return None
    path = HERE / "results" / "cache" / "minilm-l6-v2.onnx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        base = AutoModel.from_pretrained(model_dir).eval()

        class Encoder(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.m = base

            def forward(self, ids, mask):  # type: ignore[no-untyped-def]
                return self.m(input_ids=ids, attention_mask=mask).last_hidden_state

        ids = torch.ones(2, 16, dtype=torch.long)
        with torch.no_grad():
            torch.onnx.export(Encoder().eval(), (ids, ids), str(path), input_names=["ids", "mask"],
                              output_names=["h"], opset_version=17, dynamo=False,
                              dynamic_axes={"ids": {0: "b", 1: "t"}, "mask": {0: "b", 1: "t"}, "h": {0: "b", 1: "t"}})
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(model_dir + "/tokenizer.json")
    tok.enable_truncation(256)
    tok.enable_padding(pad_id=0)

    def embed(texts: list[str]) -> np.ndarray:
        enc = tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        h = sess.run(None, {"ids": ids, "mask": mask})[0]
        m = mask[:, :, None].astype(np.float32)
        e = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    return embed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=0, help="0: the ruvector pool size")
    ap.add_argument("--out", default=str(HERE / "results" / "embed.json"))
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds; each engine's best counts")
    args = ap.parse_args()
    if args.threads:
        os.environ["RUVECTOR_NUM_THREADS"] = str(args.threads)
    import ruvector

    threads = ruvector.cpu_features()["threads"]
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    texts = sentences(args.n)
    emb = ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2")
    ref = SentenceTransformer(str(ruvector._embed.resolve("all-MiniLM-L6-v2", download=False)), device="cpu")
    tokens = sum(len(emb.tokenize(t)) for t in texts)
    flops = sum(21.23e6 * len(ids) + 9216 * len(ids) ** 2 for ids in (emb.tokenize(t) for t in texts))

    def ours() -> np.ndarray:
        return np.concatenate([emb.embed_batch(texts[i:i + 32]) for i in range(0, len(texts), 32)])

    def theirs() -> np.ndarray:
        return ref.encode(texts, batch_size=32, convert_to_numpy=True)

    ort_embed = onnx_engine(str(ruvector._embed.resolve("all-MiniLM-L6-v2", download=False)), threads)

    def sorted_batches(fn):  # type: ignore[no-untyped-def]
        def run() -> np.ndarray:  # length-sorted batches of 32, as sentence-transformers does
            order = np.argsort([-len(t) for t in texts], kind="stable")
            out = np.empty((len(texts), 384), np.float32)
            for i in range(0, len(texts), 32):
                idx = order[i:i + 32]
                out[idx] = fn([texts[j] for j in idx])
            return out
        return run

    engines = [("ruvector", ours), ("sentence-transformers", theirs)]
    if ort_embed is not None:
        engines.append(("onnxruntime", sorted_batches(ort_embed)))
    for _, fn in engines:
        fn()  # warm up
    # Interleaved rounds, each engine's best: on a shared host one engine can lose a round to a
    # neighbour; the per-round ratios are kept too, so the spread is on record.
    times: dict[str, list[float]] = {name: [] for name, _ in engines}
    for _ in range(args.rounds):
        for name, fn in engines:
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    best = {name: min(v) for name, v in times.items()}
    round_ratios = [b / a for a, b in zip(times["ruvector"], times["sentence-transformers"])]
    a, b = ours(), theirs()
    cos = float(((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())
    if ort_embed is not None:
        c = engines[2][1]()
        cos = min(cos, float(((a * c).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(c, axis=1)).min()))

    singles = {"ruvector": lambda t: emb.embed(t), "sentence-transformers": lambda t: ref.encode([t])}
    if ort_embed is not None:
        singles["onnxruntime"] = lambda t: ort_embed([t])
    lat: dict[str, list[float]] = {name: [] for name in singles}
    for t in texts[:200]:
        for name, fn in singles.items():
            s = time.perf_counter()
            fn(t)
            lat[name].append(time.perf_counter() - s)

    thr = {k: len(texts) / v for k, v in best.items()}
    gfl = {k: flops / v / 1e9 for k, v in best.items()}
    p50 = {k: statistics.median(v) * 1e3 for k, v in lat.items()}
    res = {
        "threads": threads, "sentences": len(texts), "tokens": tokens, "min_cosine": cos,
        "throughput": thr, "gflops": gfl, "p50_ms": p50, "rounds": args.rounds,
        "round_ratios_vs_torch": round_ratios,
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    r = thr["ruvector"] / thr["sentence-transformers"]
    print(f"{len(texts):,} sentences ({tokens / len(texts):.1f} tokens each incl. [CLS]/[SEP]), batch 32, "
          f"{threads} thread(s), torch {torch.__version__}; min cosine between engines: {cos:.6f}\n")
    print("| engine | sentences/s | achieved GFLOP/s | single sentence p50 ms |")
    print("|---|---|---|---|")
    for k in best:
        print(f"| {k} | {thr[k]:,.0f} | {gfl[k]:.1f} | {p50[k]:.2f} |")
    print(f"\nruvector / sentence-transformers throughput: {r:.2f}x (target >= 1.5x); "
          f"round by round: {', '.join(f'{x:.2f}' for x in round_ratios)}")
    if "onnxruntime" in best:
        print(f"ruvector / onnxruntime throughput: "
              f"{thr['ruvector'] / thr['onnxruntime']:.2f}x")


if __name__ == "__main__":
    main()
