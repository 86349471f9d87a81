"""House rules that a compiler does not check (msgspec-style source lint)."""

from __future__ import annotations

import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORE_DIRS = ["src/base", "src/index", "src/lake", "src/embed"]


def sources(*dirs: str) -> list[pathlib.Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.[ch]"))


def test_core_never_includes_python() -> None:
    files = sources(*CORE_DIRS)
    assert files
    for p in files:
        assert not re.search(r'#include\s*[<"](Python|numpy)', p.read_text()), p


def test_one_file_knows_curl_and_one_knows_openssl() -> None:
    owners = {"curl/": "src/base/http.c", "openssl/": "src/base/hash.c"}
    for p in sources("src"):
        for header, owner in owners.items():
            if re.search(r'#include\s*[<"]' + header, p.read_text()):
                assert p.relative_to(ROOT).as_posix() == owner, f"{p} includes {header}: go through {owner}"


def test_every_buffer_is_released_and_every_gil_release_is_paired() -> None:
    for p in sources("src/python"):
        text = p.read_text()
        if "PyObject_GetBuffer(" in text:
            assert "PyBuffer_Release(" in text, f"{p}: a buffer is taken but never released"
        assert text.count("Py_BEGIN_ALLOW_THREADS") == text.count("Py_END_ALLOW_THREADS"), p


def test_core_has_no_printing_or_exiting() -> None:
    banned = re.compile(r"(?<![\w.])(printf|fprintf|puts|abort|exit|assert)\s*\(")
    for p in sources(*CORE_DIRS):
        text = re.sub(r"/\*.*?\*/", "", p.read_text(), flags=re.S)
        assert not banned.search(text), f"{p}: {banned.search(text)}"


def test_every_public_function_is_documented() -> None:
    for header in (ROOT / "include/ruvector").glob("*.h"):
        lines = header.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"^(rv_status|void|bool|size_t|uint\d+_t|const char \*|rv_index_kind|unsigned)\s*\**rv_\w+\(", line):
                above = "\n".join(lines[max(0, i - 3):i])
                grouped = i > 0 and re.match(r"^\w.*rv_\w+\(", lines[i - 1])
                assert "*/" in above or grouped, f"{header.name}:{i + 1} undocumented: {line}"


@pytest.mark.skipif(not os.environ.get("RUVECTOR_EXPECT_SANITIZED"), reason="only in the sanitizer pass")
def test_sanitized_build_is_the_one_under_test() -> None:
    import ruvector

    maps = pathlib.Path("/proc/self/maps").read_text()
    assert "libasan" in maps and "libubsan" in maps, ruvector.__file__
