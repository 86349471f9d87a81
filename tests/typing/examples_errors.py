"""Typing examples for the exception hierarchy: each class is usable as every base it really
has (a function returning the base type-checks only if the stub says so), and the bases it does
not have are refused (`type: ignore` comments that `mypy --strict` would report as unused if the
stub claimed more). The runtime side is asserted when test_typing_examples.py runs the
functions."""

from __future__ import annotations

import builtins
from pathlib import Path

from typing_extensions import assert_type

import ruvector


def as_builtins(
    unknown: ruvector.UnknownIdError,
    dim: ruvector.DimensionMismatch,
    arg: ruvector.ArgumentError,
    argtype: ruvector.ArgumentTypeError,
    dup: ruvector.DuplicateIdError,
    retained: ruvector.NotRetainedError,
    busy: ruvector.IndexBusyError,
    changed: ruvector.ConcurrentModificationError,
    missing: ruvector.PersistFileNotFoundError,
) -> list[Exception]:
    k: KeyError = unknown
    v: list[ValueError] = [dim, arg, dup]
    t: TypeError = argtype
    lk: LookupError = retained
    b: BufferError = busy
    r: RuntimeError = changed
    f: FileNotFoundError = missing
    p: ruvector.PersistError = missing
    return [k, *v, t, lk, b, r, f, p]


def contract_tree(
    dim: ruvector.DimensionMismatch,
    witness: ruvector.WitnessMismatch,
    miss: ruvector.CacheMissError,
    embed: ruvector.EmbedError,
    budget: ruvector.BudgetExceeded,
) -> list[ruvector.RuVectorError]:
    i: ruvector.IndexError = dim
    lake: list[ruvector.LakeError] = [witness, miss]
    a2a: ruvector.A2aError = budget
    return [i, *lake, a2a, embed]


def refused(e: ruvector.IndexError, fs: ruvector.FsBackend) -> None:
    not_builtin: builtins.IndexError = e  # type: ignore[assignment]
    not_local: ruvector.LocalBackend = fs  # type: ignore[assignment]
    del not_builtin, not_local


def runtime_bases(tmp: Path) -> None:
    try:
        ruvector.FlatF32Index(4).remove(7)
    except KeyError as exc:
        assert_type(exc, KeyError)
        assert isinstance(exc, ruvector.UnknownIdError) and isinstance(exc, ruvector.IndexError)
    else:
        raise AssertionError("remove of an unknown id did not raise")
    try:
        ruvector.FlatF32Index.load(tmp / "missing.rvx")
    except ruvector.PersistFileNotFoundError as exc:
        assert isinstance(exc, FileNotFoundError) and isinstance(exc, ruvector.PersistError)
    else:
        raise AssertionError("load of a missing file did not raise")
    assert not issubclass(ruvector.IndexError, builtins.IndexError)
    assert not issubclass(ruvector.FsBackend, ruvector.LocalBackend)
    assert ruvector.FsBackend.__bases__ == (object,) == ruvector.LocalBackend.__bases__
