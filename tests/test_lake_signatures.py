"""help(), inspect.signature and Jupyter's `?` on the lake's types: every public method (C or
Python) has a signature, and its parameter names are the keywords the method really accepts."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ruvector

DIM = 3


def plausible(name: str, tmp: Path) -> Any:
    """A value of the right kind for a parameter, so calls fail (if at all) for other reasons
    than the keyword itself."""
    values: dict[str, Any] = {
        "collection": "c", "key": ("b", "c"), "dir": tmp / "d", "out_dir": tmp / "o", "path": tmp / "p",
        "query": np.zeros(DIM, np.float32), "queries": np.zeros((1, DIM), np.float32), "k": 1,
        "backend": None, "backends": None, "progress": None, "ids": [1], "vectors": np.zeros((1, DIM), np.float32),
        "value": 1, "name": "b", "root": tmp / "r",
    }
    return values[name]


def instances(tmp: Path) -> list[tuple[str, Any]]:
    backend = ruvector.LocalBackend(name="b")
    backend.upsert("c", ids=[0, 1], vectors=np.eye(2, DIM, dtype=np.float32))
    lake = ruvector.RuLake.builder().build()
    lake.register_backend(backend)
    return [("RuLake", lake), ("LocalBackend", backend), ("FsBackend", ruvector.FsBackend(name="f", root=tmp / "fs")),
            ("LakeSession", lake.session()), ("RuLakeBuilder", ruvector.RuLake.builder())]


def public_methods(obj: Any) -> list[str]:
    names = sorted(n for n in dir(type(obj)) if not n.startswith("_") and callable(getattr(obj, n)))
    return sorted(names, key=lambda n: n == "close")  # a session's close last


def test_every_public_method_has_a_signature_with_its_real_keywords(tmp_path: Path) -> None:
    checked = 0
    for label, obj in instances(tmp_path):
        for name in public_methods(obj):
            method = getattr(obj, name)
            sig = inspect.signature(method)  # raises ValueError when there is no text signature
            doc = inspect.getdoc(method) or ""
            assert doc.strip() and "--" not in doc.splitlines()[0], f"{label}.{name} has no summary"
            keywords = {p.name: plausible(p.name, tmp_path) for p in sig.parameters.values()
                        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
            # a name the method does not take is refused (so the next check means something)...
            with pytest.raises(TypeError, match="unexpected keyword|no keyword arguments|takes no arguments"):
                method(**keywords, not_a_parameter=1)
            # ...and every name in the signature is taken
            try:
                result = method(**keywords)
                if inspect.iscoroutine(result):
                    result.close()
            except TypeError as e:  # argument *values* may be refused; the names never
                assert "unexpected keyword" not in str(e) and "no keyword" not in str(e), (label, name, e)
            except Exception:
                pass
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize("cls", [ruvector.RuLake, ruvector.LocalBackend, ruvector.FsBackend])
def test_constructors_have_signatures(cls: type) -> None:
    params = inspect.signature(cls).parameters
    assert "name" in params or "rerank_factor" in params
    assert all(p.kind == p.KEYWORD_ONLY for p in params.values())


def test_rulake_constructor_keywords_match_the_builder() -> None:
    params = set(inspect.signature(ruvector.RuLake).parameters)
    setters = set(public_methods(ruvector.RuLake.builder())) - {"build"}
    assert setters | {"max_cache_entries"} == params | {"max_cache_entries"}
    assert ruvector.RuLake(reprime_fraction=0.5, rerank_factor=5) is not None
