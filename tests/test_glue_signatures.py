"""help(), inspect.signature and Jupyter's `?` on the C methods: every public method of the index
classes, the Embedder, Hit and the module functions has a signature and a docstring; every
parameter a signature shows is accepted as a keyword, its defaults are the real ones, and the
hand-written stubs list the same parameters."""

from __future__ import annotations

import ast
import asyncio
import inspect
import pathlib
import pydoc
from typing import Any, Callable

import numpy as np
import pytest

import ruvector

INDEX_CLASSES = [ruvector.FlatF32Index, ruvector.RabitqIndex, ruvector.RabitqPlusIndex, ruvector.RabitqAsymIndex]
# The compiled module's stub and the inline-typed Embedder (stubtest checks both against the runtime).
STUB = ast.Module(body=[node for f in ("_ruvector.pyi", "_embed.py")
                        for node in ast.parse(pathlib.Path(ruvector.__file__).with_name(f).read_text()).body],
                  type_ignores=[])
DATA = np.random.default_rng(7).normal(size=(64, 8)).astype(np.float32)


def public_methods(cls: type) -> list[str]:
    names = [n for n in dir(cls) if not n.startswith("_") or n == "__array__"]
    return sorted(n for n in names if callable(getattr(cls, n)) and not isinstance(getattr(cls, n), type))


def normal(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Keyword-only parameters in name order (their order means nothing), the rest as given."""
    return [p for p in params if p[1] != "KEYWORD_ONLY"] + sorted(p for p in params if p[1] == "KEYWORD_ONLY")


def stub_params(class_names: list[str], method: str) -> list[tuple[str, str]] | None:
    """(name, kind) of a stub method's parameters, self/cls dropped, or None if not declared."""
    for node in STUB.body:
        if isinstance(node, ast.ClassDef) and node.name in class_names:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == method:
                    a = item.args
                    pos = [(p.arg, "POSITIONAL_OR_KEYWORD") for p in a.posonlyargs + a.args][1:]
                    return normal(pos + [(p.arg, "KEYWORD_ONLY") for p in a.kwonlyargs])
    return None


def stub_classes(cls: type) -> list[str]:
    return [cls.__name__]  # the stub declares every index class in full (they share no base)


@pytest.mark.parametrize("cls", INDEX_CLASSES, ids=lambda c: c.__name__)
def test_index_methods_have_signatures_docs_and_match_the_stubs(cls: type) -> None:
    methods = public_methods(cls)
    assert {"build", "load", "search", "search_batch", "add", "add_batch", "remove", "save"} <= set(methods)
    for name in methods:
        meth = getattr(cls, name)
        sig = inspect.signature(meth)  # raised ValueError before text signatures
        doc = meth.__doc__
        assert doc and not doc.startswith(name + "("), (cls.__name__, name, doc)  # summary, not the raw signature
        assert "--" not in doc.splitlines()[0]
        if name == "__array__":
            continue
        want = stub_params(stub_classes(cls), name)
        assert want is not None, f"{cls.__name__}.{name} missing from the stub"
        got = [(p.name, p.kind.name) for p in sig.parameters.values() if p.name != "self"]  # unbound methods
        assert normal(got) == want, (cls.__name__, name)
    assert inspect.signature(cls).parameters["dim"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


def test_help_shows_the_parameters() -> None:
    text = pydoc.plain(pydoc.render_doc(ruvector.RabitqPlusIndex.build))
    assert "build(vectors, ids=None, *, progress=None, seed=0, rerank_factor=20" in text
    assert "build(...)" not in text and "Builds an index" in text
    assert "search(self, /, query, k=10, *, rerank_factor=None, nprobe=None)" in pydoc.plain(
        pydoc.render_doc(ruvector.RabitqIndex.search)
    )
    bound = ruvector.RabitqPlusIndex(8).search  # what Jupyter's `idx.search?` shows
    assert bound.__doc__ and "nearest neighbours" in bound.__doc__
    assert str(inspect.signature(bound)) == "(query, k=10, *, rerank_factor=None, nprobe=None)"
    assert str(inspect.signature(ruvector.FlatF32Index.search)) == "(self, /, query, k=10)"
    assert str(inspect.signature(ruvector.cpu_features)) == "()"
    assert ruvector.cpu_features.__doc__ and ruvector.cpu_features.__doc__.startswith("The CPU features")
    for cls in INDEX_CLASSES[1:]:
        assert str(inspect.signature(cls)).startswith("(dim, *, seed=0, rerank_factor=")


def keyword_call(meth: Callable[..., Any], required: dict[str, Any]) -> Any:
    """Calls meth with every parameter of its signature as a keyword: required ones from the
    table, the rest with their signature defaults."""
    kwargs = {}
    for p in inspect.signature(meth).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            continue
        kwargs[p.name] = required[p.name] if p.default is inspect.Parameter.empty else p.default
    return meth(**kwargs)


@pytest.mark.parametrize("cls", INDEX_CLASSES, ids=lambda c: c.__name__)
def test_index_parameters_are_keywords_and_defaults_are_true(cls: Any, tmp_path: pathlib.Path) -> None:
    required = {"vectors": DATA, "query": DATA[3], "queries": DATA[:5], "id": 1000, "vector": DATA[1] + 1,
                "ids": [2000, 2001], "path": str(tmp_path / "x.rvx")}
    idx = keyword_call(cls.build, required)
    assert idx == cls.build(DATA)  # the signature's defaults are what build uses when they are omitted
    assert (cls(dim=8) == cls(8)) and len(cls(dim=8)) == 0
    hits = keyword_call(idx.search, required)
    assert hits == idx.search(DATA[3])
    ids, scores = keyword_call(idx.search_batch, required)
    assert ids.shape == (5, 10) and ids[3].tolist() == [h.id for h in hits]
    keyword_call(idx.add, required)
    required["vectors"] = DATA[:2] + 2
    keyword_call(idx.add_batch, required)
    assert {1000, 2000, 2001} <= {i for i in (1000, 2000, 2001) if i in idx}
    keyword_call(idx.remove, required)
    assert 1000 not in idx and len(idx) == 66
    keyword_call(idx.save, required)
    assert keyword_call(cls.load, required) == idx
    if cls in (ruvector.FlatF32Index, ruvector.RabitqPlusIndex):  # the kinds that keep originals
        assert np.array_equal(keyword_call(idx.__array__, required), np.asarray(idx))


def test_embedder_and_hit_signatures() -> None:
    emb = ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2")
    for name in public_methods(ruvector.Embedder):
        meth = getattr(ruvector.Embedder, name)
        assert meth.__doc__, name
        sig = inspect.signature(meth)
        want = stub_params(["Embedder", "_Embedder"], name)
        assert want is not None, name
        got = [(p.name, p.kind.name) for p in sig.parameters.values() if p.name not in ("self", "cls")]
        assert normal(got) == want, name
    assert set(public_methods(ruvector.Embedder)) >= {"embed", "embed_batch", "embed_batch_async", "tokenize",
                                                      "from_pretrained"}
    assert str(inspect.signature(ruvector.Embedder.embed_batch)) == "(self, /, texts, *, progress=None, truncate=True)"
    assert list(inspect.signature(ruvector.Embedder).parameters) == ["path"]
    required: dict[str, Any] = {"text": "hello world", "texts": ["hello world", "cats"]}
    one = keyword_call(emb.embed, required)
    batch = keyword_call(emb.embed_batch, required)
    assert np.array_equal(one, batch[0]) and np.array_equal(one, emb.embed("hello world"))
    assert keyword_call(emb.tokenize, required) == emb.tokenize("hello world")

    async def run() -> Any:
        return await keyword_call(emb.embed_batch_async, required)

    assert np.array_equal(asyncio.run(run()), batch)
    for name in public_methods(ruvector.Hit):
        inspect.signature(getattr(ruvector.Hit, name))
    assert list(inspect.signature(ruvector.Hit).parameters) == ["id", "score"]
    assert ruvector.Hit(id=1, score=2.0) == (1, 2.0)
    for fn in (ruvector.cpu_features, ruvector.recommend):
        assert fn.__doc__
        inspect.signature(fn)
