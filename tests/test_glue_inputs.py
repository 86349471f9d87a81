"""Friction at the boundary: array-likes (torch CPU tensors, __array__ objects, memoryview and
array.array buffers), byte order, missing files, constructor misuse, DimensionMismatch as a
ValueError, invalid RUVECTOR_NUM_THREADS, and progress bars that name their phase."""

from __future__ import annotations

import array
import errno
import os
import pathlib
import subprocess
import sys
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import ruvector
from ruvector import _progress
from conftest import assert_exact_knn

DATA = np.random.default_rng(11).normal(size=(300, 16)).astype(np.float32)
IDS = np.arange(300, dtype=np.int64)


def child_env() -> dict[str, str]:
    """The environment for a child interpreter importing ruvector: ours (in the sanitizer pass the
    ASan runtime must stay preloaded for the sanitized extension), with our sys.path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    return env


TORCH_CHECK = r"""
import numpy as np, torch, ruvector, sys
data = np.random.default_rng(11).normal(size=(300, 16)).astype(np.float32)
t = torch.from_numpy(data.copy())
idx = ruvector.FlatF32Index.build(t)                      # a torch CPU tensor, no conversion asked
assert idx == ruvector.FlatF32Index.build(data)
q = torch.from_numpy(data[7].copy())
assert [h.id for h in idx.search(q, k=3)] == [h.id for h in idx.search(data[7], k=3)]
ids, _ = idx.search_batch(t[:5], k=2)
assert ids[:, 0].tolist() == [0, 1, 2, 3, 4]
idx.add(id=1000, vector=torch.ones(16))
idx.add_batch(torch.arange(2000, 2003), torch.zeros(3, 16))  # integer tensors as ids too
assert 1000 in idx and 2002 in idx
rq = ruvector.RabitqPlusIndex.build(t, ids=torch.arange(300) * 2, seed=3)
assert rq == ruvector.RabitqPlusIndex.build(data, ids=np.arange(300) * 2, seed=3)
def err(f):
    try:
        f()
    except Exception as e:
        return type(e), str(e)
    raise AssertionError("no error")
cls, msg = err(lambda: idx.search(torch.zeros(16, dtype=torch.float64)))
assert issubclass(cls, ruvector.ArgumentTypeError) and "got float64" in msg and "x.float()" in msg, msg
cls, msg = err(lambda: idx.search(torch.zeros(32)[::2]))
assert issubclass(cls, ruvector.ArgumentError) and "not C-contiguous" in msg and "np.ascontiguousarray" in msg, msg
print("ok")
"""


def test_torch_cpu_tensors_are_accepted() -> None:
    # in a child, so that importing torch cannot disturb the rest of the session. (A tensor that
    # requires grad makes torch throw a C++ exception, which the sanitizer pass's preloaded ASan
    # runtime cannot intercept; the failing-__array__ path is covered by Broken below.)
    r = subprocess.run([sys.executable, "-c", TORCH_CHECK], env=child_env(), capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-3000:]


class ArrayLike:
    """A minimal __array__ exporter (as pandas and xarray objects are)."""

    def __init__(self, a: npt.NDArray[Any]) -> None:
        self.a = a
        self.calls = 0

    def __array__(self, dtype: Any = None, copy: Any = None) -> npt.NDArray[Any]:
        self.calls += 1
        return self.a


def test_array_interface_objects_are_accepted_and_used_in_place() -> None:
    obj = ArrayLike(DATA)
    idx = ruvector.FlatF32Index.build(obj, ids=ArrayLike(IDS))
    assert idx == ruvector.FlatF32Index.build(DATA) and obj.calls == 1
    hits = idx.search(ArrayLike(DATA[9]), k=4)
    assert_exact_knn(DATA, IDS, DATA[9], np.array([h.id for h in hits]), np.array([h.score for h in hits]), 4)
    with pytest.raises(ruvector.ArgumentTypeError, match=r"must be float32, got float64 \(from a ArrayLike\)"):
        idx.search(ArrayLike(DATA[9].astype(np.float64)))
    with pytest.raises(ruvector.ArgumentError, match=r"not C-contiguous"):
        idx.search_batch(ArrayLike(np.asfortranarray(DATA[:4])))
    with pytest.raises(ruvector.ArgumentTypeError, match=r"big-endian float32"):
        idx.search(ArrayLike(DATA[9].astype(">f4")))

    class Broken:
        def __array__(self, dtype: Any = None, copy: Any = None) -> npt.NDArray[Any]:
            raise RuntimeError("cannot export")

    with pytest.raises(ruvector.ArgumentTypeError, match=r"could not be read as an array.*x.detach\(\).cpu\(\).numpy\(\)") as info:
        idx.search(Broken())
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(ruvector.ArgumentTypeError, match="or an object with __array__"):
        idx.search(object())  # type: ignore[arg-type]


def test_buffers_memoryview_and_array_array() -> None:
    idx = ruvector.FlatF32Index.build(memoryview(DATA.tobytes()).cast("f", shape=[300, 16]))
    assert idx == ruvector.FlatF32Index.build(DATA)
    q = array.array("f", DATA[21].tolist())
    assert idx.search(q, k=1)[0].id == 21
    assert idx.search(memoryview(q), k=1)[0].id == 21
    idx.add_batch(array.array("q", [900, 901]), memoryview(DATA[:2].tobytes()).cast("f", shape=[2, 16]))
    assert 900 in idx and 901 in idx
    with pytest.raises(ruvector.ArgumentTypeError, match="must be float32, got float64"):
        idx.search(array.array("d", DATA[21].tolist()))
    with pytest.raises(ruvector.ArgumentError, match="2-D array"):
        ruvector.FlatF32Index.build(array.array("f", [1.0, 2.0]))


def test_big_endian_input_says_so_with_the_fix() -> None:
    idx = ruvector.FlatF32Index.build(DATA)
    for what, call in (("query", lambda a: idx.search(a[0])), ("vectors", ruvector.FlatF32Index.build),
                       ("queries", idx.search_batch)):
        with pytest.raises(ruvector.ArgumentTypeError) as info:
            call(DATA.astype(">f4"))
        msg = str(info.value)
        assert msg.startswith(f"{what} is big-endian float32") and "got float32" not in msg
        assert "np.ascontiguousarray(x, dtype=np.float32)" in msg
    fixed = np.ascontiguousarray(DATA.astype(">f4"), dtype=np.float32)  # the fix the message names
    assert ruvector.FlatF32Index.build(fixed) == idx
    with pytest.raises(ruvector.ArgumentTypeError, match="big-endian float64"):
        idx.search(DATA[0].astype(">f8"))


@pytest.mark.parametrize("cls", [ruvector.FlatF32Index, ruvector.RabitqPlusIndex], ids=lambda c: c.__name__)
def test_missing_file_is_also_a_file_not_found_error(cls: Any, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "absent.rvx"
    with pytest.raises(FileNotFoundError) as info:
        cls.load(path)
    e = info.value
    assert isinstance(e, ruvector.PersistError) and isinstance(e, ruvector.PersistFileNotFoundError)
    assert e.errno == errno.ENOENT and e.filename == str(path) and str(path) in str(e)
    with pytest.raises(ruvector.PersistError):
        cls.load(tmp_path / "no-dir" / "x.rvx")
    (tmp_path / "garbage.rvx").write_bytes(b"not an index")
    with pytest.raises(ruvector.PersistError) as bad:
        cls.load(tmp_path / "garbage.rvx")
    assert not isinstance(bad.value, FileNotFoundError)  # only a missing file is one


def test_dimension_mismatch_is_also_a_value_error() -> None:
    idx = ruvector.FlatF32Index.build(DATA)
    with pytest.raises(ValueError, match="query has dim 3, index has dim 16"):
        idx.search(np.zeros(3, dtype=np.float32))
    assert issubclass(ruvector.DimensionMismatch, ruvector.IndexError)


def test_constructor_misuse_names_the_factories() -> None:
    for cls in (ruvector.FlatF32Index, ruvector.RabitqIndex, ruvector.RabitqPlusIndex, ruvector.RabitqAsymIndex):
        name = cls.__name__
        with pytest.raises(ruvector.ArgumentTypeError) as info:
            cls()  # type: ignore[call-arg]
        msg = str(info.value)
        assert f"{name}.build(vectors)" in msg and f"{name}(dim)" in msg and f"{name}.load(path)" in msg
        for factory in ("build", "load"):
            assert callable(getattr(cls, factory))  # every name the message gives exists
    with pytest.raises(ruvector.ArgumentTypeError, match=r'Embedder.from_pretrained\("all-MiniLM-L6-v2"\)'):
        ruvector.Embedder()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="from_pretrained"):
        ruvector.Embedder()  # type: ignore[call-arg]


THREADS = "import ruvector; print(ruvector.cpu_features()['threads'])"


@pytest.mark.parametrize("value", ["abc", "0", "-3", "257", "4x", " 4", "-18446744073709551615", "1.5"])
def test_invalid_num_threads_warns_with_the_value_and_the_default(value: str) -> None:
    env = child_env()
    env.pop("RUVECTOR_NUM_THREADS", None)
    default = subprocess.run([sys.executable, "-c", THREADS], env=env, capture_output=True, text=True, check=True)
    env["RUVECTOR_NUM_THREADS"] = value
    r = subprocess.run([sys.executable, "-W", "always::RuntimeWarning", "-c", THREADS], env=env,
                       capture_output=True, text=True, check=True)
    n = default.stdout.strip()
    assert r.stdout.strip() == n  # the default really is used
    assert "RuntimeWarning" in r.stderr and f"RUVECTOR_NUM_THREADS={value!r}" in r.stderr, r.stderr
    assert f"using the default, {n} threads" in r.stderr


def test_valid_num_threads_is_silent() -> None:
    env = child_env()
    env["RUVECTOR_NUM_THREADS"] = "3"
    r = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", THREADS], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "3", r.stderr


def test_progress_bars_name_their_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int, int, str | None]] = []

    class Recorder:
        def __init__(self, desc: str) -> None:
            self.desc = desc

        def __call__(self, done: int, total: int, phase: str | None = None) -> None:
            seen.append((self.desc, done, total, phase))

    monkeypatch.setattr(_progress, "make_bar", Recorder)
    data = np.random.default_rng(2).normal(size=(3000, 16)).astype(np.float32)
    ruvector.RabitqPlusIndex.build(data, seed=1, progress=True)
    phases = [p for _, _, _, p in seen]
    assert phases[0] == "k-means" and phases[-1] == "encode"
    first_encode = phases.index("encode")
    assert set(phases[:first_encode]) == {"k-means"} and set(phases[first_encode:]) == {"encode"}
    assert all(done == 0 for _, done, _, p in seen if p == "k-means") and seen[-1][1:3] == (3000, 3000)
    seen.clear()
    ruvector.FlatF32Index.build(data, progress=True)
    assert {p for *_, p in seen} == {"build"} and seen[-1][1:3] == (3000, 3000)
    # a user callable keeps the (done, total) form
    calls: list[tuple[int, int]] = []
    ruvector.RabitqIndex.build(data, seed=1, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (3000, 3000) and calls[0] == (0, 3000)


def test_plain_bar_prints_the_phase(capsys: pytest.CaptureFixture[str]) -> None:
    bar = _progress._PlainBar("encode")
    bar(0, 10, "k-means")
    bar(0, 10, "k-means")
    bar(5, 10, "encode")
    bar(10, 10, "encode")
    err = capsys.readouterr().err
    assert "k-means: iteration 2" in err and "encode: [" in err and "10/10" in err
    assert err.index("k-means") < err.index("encode")
