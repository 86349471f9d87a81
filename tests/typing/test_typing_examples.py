"""The typing examples beside this file, checked both ways (msgspec's tests/typing idea, with
typing_extensions.assert_type in place of reveal_type comments):

- statically: `mypy --strict` over the examples must pass, so every assert_type holds (mypy
  reports a mismatch as an error) and every `type: ignore` is needed (warn_unused_ignores), which
  is how examples_errors.py shows the bases the stub does NOT claim;
- at run time: each example function is run against the installed ruvector and asserts the
  concrete types the stub promises (dtypes, list/tuple/int/float, exception bases).

stubtest (scripts/test.sh) compares names and signatures with the runtime; these examples cover
what it cannot see: return types."""

from __future__ import annotations

import pathlib

import pytest
from mypy import api

import examples_embed
import examples_errors
import examples_index
import examples_lake

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLES = sorted(HERE.glob("examples_*.py"))


def test_mypy_strict_passes_on_the_examples(tmp_path: pathlib.Path) -> None:
    assert [p.name for p in EXAMPLES] == ["examples_embed.py", "examples_errors.py", "examples_index.py",
                                          "examples_lake.py"]
    stdout, stderr, code = api.run(["--strict", "--config-file", str(HERE.parent.parent / "pyproject.toml"),
                                    "--cache-dir", str(tmp_path / "mypy-cache"), *map(str, EXAMPLES)])
    assert code == 0 and stdout.startswith("Success"), stdout + stderr


@pytest.mark.parametrize("fn", [examples_index.flat_index, examples_index.rabitq_indexes,
                                examples_index.any_index_and_recommend, examples_index.cpu_features,
                                examples_lake.searches, examples_lake.async_searches, examples_lake.adapter,
                                examples_embed.embedder], ids=lambda f: f.__name__)
def test_examples_hold_at_run_time(fn: object) -> None:
    assert callable(fn)
    fn()


def test_examples_that_take_a_directory(tmp_path: pathlib.Path) -> None:
    examples_lake.bundles(tmp_path)
    examples_errors.runtime_bases(tmp_path)
