"""The README's quickstart is true: its Python blocks run, in order, as written."""

from __future__ import annotations

import os
import pathlib
import re

import pytest

import ruvector

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.skipif(
    ruvector.cpu_features()["kernel"] != "avx2" or bool(os.environ.get("RUVECTOR_EXPECT_SANITIZED")),
    reason="builds 100k x 768 indexes; runs in the AVX2 pass of scripts/test.sh",
)
def test_readme_python_blocks_run(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)  # the quickstart saves index.rvx in the working directory
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
    assert (tmp_path / "index.rvx").exists()
    hits = namespace["hits"]
    assert isinstance(hits, list) and len(hits) == 10
