"""ruvector demo: semantic search over the Python standard library's own documentation.

Collects the docstrings of the standard library (available offline on every machine), embeds
them with all-MiniLM-L6-v2 running in ruvector's C engine (no PyTorch), indexes them in a
RabitqPlusIndex, and answers natural-language questions — "RAG in 5 lines" at a real size.
Run it with `bash scripts/demo.sh` (sets everything up first) or directly:

    .venv/bin/python examples/demo.py [--max-docs 20000] [--question "how do I ..."]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys
import time
import warnings

import numpy as np

import ruvector

SKIP = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3", "ensurepip",
        "venv", "pydoc_data", "__main__", "xxsubtype", "xxlimited", "xxlimited_35"}

QUESTIONS = [
    "How do I read rows from a CSV file?",
    "compress bytes with gzip",
    "parse command line options",
    "compute a SHA-256 hash of some data",
    "run a shell command and capture its output",
    "wait for several coroutines at once",
    "how many days are between two dates",
    "make a temporary directory that is deleted afterwards",
]


def first_paragraph(doc: str) -> str:
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


def stdlib_docs(limit: int) -> list[tuple[str, str]]:
    """(qualified name, first paragraph of its docstring) for stdlib modules, classes, functions."""
    warnings.simplefilter("ignore")  # importing everything wakes up deprecation warnings
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    names = sorted(n for n in sys.stdlib_module_names if not n.startswith("_") and n not in SKIP)
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                mod = importlib.import_module(name)
            except Exception:
                continue
        subs = [mod]
        if hasattr(mod, "__path__"):
            for info in pkgutil.iter_modules(mod.__path__, name + "."):
                if info.name.split(".")[-1].startswith("_") or any(s in info.name for s in SKIP):
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        subs.append(importlib.import_module(info.name))
                    except Exception:
                        continue
        for m in subs:
            items = [(m.__name__, m)] + [(f"{m.__name__}.{k}", v) for k, v in sorted(vars(m).items())
                                           if not k.startswith("_") and (inspect.isclass(v) or inspect.isroutine(v))
                                           and getattr(v, "__module__", None) == m.__name__]
            for qual, obj in items:
                doc = getattr(obj, "__doc__", None)
                if isinstance(doc, str) and len(doc) > 30 and qual not in seen:
                    text = first_paragraph(doc)
                    if len(text) > 30:
                        seen.add(qual)
                        out.append((qual, text))
                        if len(out) >= limit:
                            return out
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-docs", type=int, default=20_000)
    ap.add_argument("--question", action="append", help="ask your own (repeatable)")
    args = ap.parse_args()
    f = ruvector.cpu_features()
    print(f"ruvector {ruvector.__version__}: kernel={f['kernel']} threads={f['threads']}")

    t = time.perf_counter()
    docs = stdlib_docs(args.max_docs)
    print(f"collected {len(docs):,} docstrings from the standard library in {time.perf_counter() - t:.1f}s")

    t = time.perf_counter()
    emb = ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2")
    print(f"loaded {emb!r} in {time.perf_counter() - t:.2f}s")

    t = time.perf_counter()
    vectors = emb.embed_batch([f"{name}: {text}" for name, text in docs])
    dt = time.perf_counter() - t
    print(f"embedded {len(docs):,} texts in {dt:.1f}s ({len(docs) / dt:,.0f} texts/s)")

    t = time.perf_counter()
    idx = ruvector.RabitqPlusIndex.build(vectors, seed=42, rerank_factor=20)
    print(f"indexed in {time.perf_counter() - t:.2f}s -> {idx!r}")

    flat = ruvector.FlatF32Index.build(vectors)  # the exact answer, to show the index agrees
    for q in args.question or QUESTIONS:
        t = time.perf_counter()
        qv = emb.embed(q)
        t_embed = time.perf_counter() - t
        t = time.perf_counter()
        hits = idx.search(qv, k=5)
        t_search = time.perf_counter() - t
        exact = [h.id for h in flat.search(qv, k=5)]
        agree = len(set(exact) & {h.id for h in hits})
        print(f"\nQ: {q}   (embed {t_embed * 1e3:.1f} ms, search {t_search * 1e3:.2f} ms, {agree}/5 of the exact top 5)")
        for h in hits:
            name, text = docs[h.id]
            cos = 1 - h.score / 2  # unit vectors: squared L2 = 2 - 2 cos
            print(f"  {cos:.3f}  {name}: {text[:90]}{'...' if len(text) > 90 else ''}")
    lat = []
    for q in QUESTIONS * 25:
        qv = emb.embed(q)
        t = time.perf_counter()
        idx.search(qv, k=10)
        lat.append(time.perf_counter() - t)
    print(f"\nsearch latency over {len(lat)} queries: p50 {np.percentile(lat, 50) * 1e3:.3f} ms, "
          f"p99 {np.percentile(lat, 99) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
