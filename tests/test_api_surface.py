"""The public surface the contract (03-api-surface.md) fixes: names, hierarchy, version, CPU probe,
and the M1 snippet with FlatF32Index in place of RabitqPlusIndex."""

from __future__ import annotations

import ast
import builtins
import pathlib
import re

import numpy as np
import pytest

import ruvector

CONTRACT_HIERARCHY = {
    "RuVectorError": Exception,
    "IndexError": "RuVectorError",
    "DimensionMismatch": "IndexError",
    "EmptyIndex": "IndexError",
    "PersistError": "IndexError",
    "LakeError": "RuVectorError",
    "BackendError": "LakeError",
    "CacheMissError": "LakeError",
    "WitnessMismatch": "LakeError",
    "A2aError": "RuVectorError",
    "CardSignatureInvalid": "A2aError",
    "PolicyViolation": "A2aError",
    "BudgetExceeded": "A2aError",
    "TransportError": "A2aError",
    "EmbedError": "RuVectorError",
}


@pytest.mark.parametrize("name,parent", CONTRACT_HIERARCHY.items())
def test_contract_error_hierarchy(name: str, parent: object) -> None:
    cls = getattr(ruvector, name)
    base: type = getattr(ruvector, parent) if isinstance(parent, str) else Exception
    assert isinstance(cls, type) and issubclass(cls, base)
    assert cls.__bases__[0] is base  # the exact parent, not just an ancestor
    assert cls.__module__ == "ruvector"


def test_contract_hierarchy_is_complete() -> None:
    assert len(CONTRACT_HIERARCHY) == 15
    for name in CONTRACT_HIERARCHY:
        assert issubclass(getattr(ruvector, name), ruvector.RuVectorError)
    # ruvector.IndexError is ours, not the builtin (which means "sequence index out of range").
    ours: type = ruvector.IndexError
    assert ours is not builtins.IndexError
    assert not issubclass(ruvector.IndexError, builtins.IndexError)


@pytest.mark.parametrize(
    "name,builtin",
    [
        ("ArgumentError", ValueError),
        ("ArgumentTypeError", TypeError),
        ("DuplicateIdError", ValueError),
        ("UnknownIdError", KeyError),
        ("NotRetainedError", LookupError),
        ("IndexBusyError", BufferError),
        ("ConcurrentModificationError", RuntimeError),
        ("DimensionMismatch", ValueError),
        ("PersistFileNotFoundError", FileNotFoundError),
    ],
)
def test_argument_errors_are_also_builtins(name: str, builtin: type) -> None:
    cls = getattr(ruvector, name)
    assert issubclass(cls, ruvector.RuVectorError) and issubclass(cls, builtin)


def test_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.post\d+)?", ruvector.__version__)
    meson = (pathlib.Path(__file__).parent.parent / "meson.build").read_text()
    assert f"version: '{ruvector.__version__}'" in meson


def test_cpu_features() -> None:
    f = ruvector.cpu_features()
    assert f["kernel"] in ("avx2", "scalar")
    if f["kernel"] == "avx2":
        assert f["avx2"] and f["fma"] and f["os_saves_ymm"]
    assert 1 <= f["threads"] <= 256
    assert isinstance(f["note"], str)


def test_stubs_cover_the_public_surface() -> None:
    """The package is typed from its own sources: __init__.py (no __init__.pyi to drift from it)
    re-exports what _ruvector.pyi declares for the compiled module, and the Python-level modules
    are typed inline. stubtest (scripts/test.sh) compares all of it with the runtime; this checks
    what stubtest cannot see: the compiled classes say __module__ == "ruvector", so stubtest takes
    them for imports and never reports one the stub leaves out."""
    pkg = pathlib.Path(ruvector.__file__).parent
    assert not (pkg / "__init__.pyi").exists() and (pkg / "py.typed").exists()
    tree = ast.parse((pkg / "_ruvector.pyi").read_text())
    declared = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
    runtime = {n for n in dir(ruvector._ruvector) if not (n.startswith("__") and n.endswith("__"))}
    assert runtime - declared == set()
    assert "__version__" in declared


def test_contract_m1_snippet_with_flat_index(tmp_path: pathlib.Path) -> None:
    """03-api-surface.md § M1 as written (smaller n), FlatF32Index for RabitqPlusIndex."""
    vectors = np.random.randn(2_000, 768).astype(np.float32)
    idx = ruvector.FlatF32Index.build(vectors)
    query = np.random.randn(768).astype(np.float32)
    hits = idx.search(query, k=10)
    for h in hits:
        assert isinstance(h.id, int) and isinstance(h.score, float)
    assert len(idx) == 2_000 and idx.dim == 768
    assert idx.memory_bytes >= 2_000 * 768 * 4
    idx.save(str(tmp_path / "index.rbpx"))
    idx2 = ruvector.FlatF32Index.load(str(tmp_path / "index.rbpx"))
    assert idx2 == idx
    idx.add(id=100_001, vector=np.random.randn(768).astype(np.float32))
    assert len(idx) == 2_001 and idx2 != idx
    d = ((vectors - query) ** 2).sum(axis=1)
    assert [h.id for h in hits] == list(np.argsort(d, kind="stable")[:10])


def test_any_index_protocol() -> None:
    idx = ruvector.FlatF32Index(4)
    assert isinstance(idx, ruvector.AnyIndex)
    assert not isinstance(object(), ruvector.AnyIndex)


def test_hit_is_a_named_tuple() -> None:
    idx = ruvector.FlatF32Index.build(np.eye(3, dtype=np.float32), ids=[7, 8, 9])
    hit = idx.search(np.array([1, 0, 0], dtype=np.float32), k=1)[0]
    ident, score = hit
    assert (ident, score) == (7, 0.0) == (hit.id, hit.score)
    assert isinstance(hit, tuple) and type(hit).__name__ == "Hit"
    assert repr(hit) == "Hit(id=7, score=0.0)"
    assert ruvector.Hit(7, 0.0) == hit and ruvector.Hit(id=1, score=2.0).score == 2.0


def test_no_exported_name_shadows_a_builtin() -> None:
    """`from ruvector import *` must not replace builtins: ruvector.IndexError (the contract's
    name) stays reachable as an attribute but is not in __all__."""
    assert not set(ruvector.__all__) & set(dir(builtins))
    ours: type = ruvector.IndexError
    assert "IndexError" not in ruvector.__all__ and ours is not builtins.IndexError
    namespace: dict[str, object] = {}
    exec("from ruvector import *\ntry:\n    [][1]\nexcept IndexError:\n    caught = True", namespace)
    assert namespace["caught"] is True and namespace.get("IndexError", builtins.IndexError) is builtins.IndexError
    for name in ruvector.__all__:
        assert hasattr(ruvector, name), name
