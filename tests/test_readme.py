"""The README's quickstart is true: its Python blocks run, in order, as written."""

from __future__ import annotations

import pathlib
import re

import pytest

from conftest import full_size_only

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


@full_size_only
def test_readme_python_blocks_run(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)  # the quickstart saves index.rvx in the working directory
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
    assert (tmp_path / "index.rvx").exists()
    hits = namespace["hits"]  # the last block's: the embedder finds the cat sentence first
    assert isinstance(hits, list) and len(hits) == 2 and hits[0].id == 0
    assert (tmp_path / "bundle" / "table.rulake.json").exists() and (tmp_path / "cache" / "index.rvx").exists()
