"""House rules that a compiler does not check (msgspec-style source lint)."""

from __future__ import annotations

import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Every folder under src/ but the CPython glue is core (src/base, src/index, src/lake, src/embed,
# a future src/a2a, ...), subfolders included: a new subsystem is linted the day it lands.
CORE_DIRS = sorted(str(d.relative_to(ROOT)) for d in (ROOT / "src").iterdir() if d.is_dir() and d.name != "python")


def sources(*dirs: str) -> list[pathlib.Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.[ch]"))


def test_every_core_folder_is_linted() -> None:
    assert {"src/base", "src/index", "src/lake", "src/embed"} <= set(CORE_DIRS)
    for d in CORE_DIRS:
        assert sources(d), f"{d} has no C sources"


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


# ---- the glue's GIL releases and buffer views (src/python) ----------------------------------------
# A small C reader, not a parser: comments and literals are blanked (offsets kept), preprocessor
# lines too for the brace structure, and functions are the top-level `{...}` that follow a `)`.


def strip_c(text: str) -> str:
    """text with comments, string and char literals blanked to spaces (newlines and offsets kept)."""
    out = []
    for m in re.finditer(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|.', text, re.S):
        tok = m.group(0)
        if len(tok) > 1 and tok[0] in "/\"'":
            keep = tok[0] + tok[-1] if tok[0] in "\"'" else ""
            body = re.sub(r"[^\n]", " ", tok[1:-1] if keep else tok)
            tok = keep[:1] + body + keep[1:]
        out.append(tok)
    return "".join(out)


def blank_preprocessor(code: str) -> str:
    return re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", lambda m: re.sub(r"[^\n]", " ", m.group(0)), code, flags=re.M)


def match_close(code: str, i: int) -> int:
    """Index of the bracket closing the one at code[i]."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opener, closer, depth = code[i], pairs[code[i]], 0
    for j in range(i, len(code)):
        if code[j] == opener:
            depth += 1
        elif code[j] == closer:
            depth -= 1
            if depth == 0:
                return j
    raise AssertionError(f"unbalanced {opener!r} at offset {i}")


def split_args(s: str) -> list[str]:
    args, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return args + [cur.strip()] if cur.strip() else args


class Function:
    def __init__(self, code: str, body: int, end: int) -> None:
        self.code, self.body, self.end = code, body, end  # body: offset of its "{", end: of its "}"
        head = code[:body].rstrip()  # ends with the ")" closing the parameter list
        po = len(head) - 1
        depth = 0
        while True:
            depth += {")": 1, "(": -1}.get(code[po], 0)
            if depth == 0:
                break
            po -= 1
        self.name = re.findall(r"(\w+)\s*$", code[:po])[-1]
        self.param_list = [re.findall(r"(\w+)\s*(?:\[\s*\])?$", a)[-1]
                           for a in split_args(code[po + 1:len(head) - 1]) if re.search(r"\w", a) and a != "void"]
        self.params = set(self.param_list)
        self.depth = [0] * (end - body + 1)  # brace depth at each offset of the body, 1 inside it
        d = 0
        for k in range(body, end + 1):
            if code[k] == "{":
                d += 1
            self.depth[k - body] = d
            if code[k] == "}":
                d -= 1

    def d(self, i: int) -> int:
        return self.depth[i - self.body]

    def line(self, i: int) -> int:
        return self.code[:i].count("\n") + 1


def functions(code: str) -> list[Function]:
    found, depth, i = [], 0, 0
    while i < len(code):
        ch = code[i]
        if ch == "{" and depth == 0 and code[:i].rstrip().endswith(")"):
            end = match_close(code, i)
            found.append(Function(code, i, end))
            i = end + 1
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        i += 1
    return found


def glue_code(p: pathlib.Path) -> str:
    return blank_preprocessor(strip_c(p.read_text()))


def gil_free_regions(code: str) -> list[tuple[int, int]]:
    """(start, end) of the code run with the GIL released: Py_BEGIN_ALLOW_THREADS ..
    Py_END_ALLOW_THREADS, and the argument of RV_NOGIL(...) (module.h), whose do/while(0) a
    break or continue would leave as surely as a return."""
    regions = []
    for m in re.finditer(r"\bPy_BEGIN_ALLOW_THREADS\b", code):
        end = code.find("Py_END_ALLOW_THREADS", m.end())
        assert end > 0, "Py_BEGIN_ALLOW_THREADS without Py_END_ALLOW_THREADS"
        regions.append((m.end(), end))
    for m in re.finditer(r"\bRV_NOGIL\s*\(", code):
        regions.append((m.end(), match_close(code, m.end() - 1)))
    return regions


def gil_violations(path: pathlib.Path) -> list[str]:
    code = strip_c(path.read_text())  # with the preprocessor lines: module.h defines RV_NOGIL
    bad = []
    for start, end in gil_free_regions(code):
        region = code[start:end]
        exits = re.findall(r"\b(?:return|goto|Py_RETURN_\w+)\b", region)
        if not re.search(r"\b(?:for|while|do|switch)\b", region):
            exits += re.findall(r"\b(?:break|continue)\b", region)
        if exits:
            bad.append(f"{path.name}:{code[:start].count(chr(10)) + 1}: {exits[0]} inside a GIL-free region "
                       f"(it would leave without Py_END_ALLOW_THREADS)")
    return bad


# What takes a buffer view into its target argument (argument index), and what gives it back,
# by family. args.c's helpers take one (or a NumPy reference) into an rv_py_matrix / rv_py_ids;
# they are checked as GetBuffer users themselves, and their callers as users of the helper.
# derive() adds every function that acquires into (or releases) a pointer parameter's struct,
# e.g. rv_py_search_args and lake_type.c's rv_call_parse / rv_call_args_release.
Acquirers = dict[str, tuple[int, str]]
Releasers = dict[str, set[str]]
BASE_ACQUIRERS: Acquirers = {"PyObject_GetBuffer": (1, "view"), "rv_py_matrix_get": (-1, "matrix"),
                             "rv_py_ids_get": (-1, "ids")}
BASE_RELEASERS: Releasers = {"view": {"PyBuffer_Release", "rv_py_matrix_release", "rv_py_ids_release"},
                             "matrix": {"rv_py_matrix_release"}, "ids": {"rv_py_ids_release"}}
CALL = r"\b(?!(?:if|while|for|switch|return|sizeof)\b)\w+\s*\([^;{}]*\)\s*;"


def stmt_start(code: str, i: int, floor: int) -> int:
    """Offset of the first character of the statement holding offset i."""
    j = i
    while j > floor and code[j - 1] not in ";{}":
        j -= 1
    while code[j].isspace():
        j += 1
    return j


def stmt_end(code: str, i: int) -> int:
    """Offset just past the statement starting at i (an if/else with its body, a block, or up to ;)."""
    while code[i].isspace():
        i += 1
    if code[i] == "{":
        return match_close(code, i) + 1
    m = re.match(r"(?:if|while|for|switch)\s*\(", code[i:])
    if m:
        j = stmt_end(code, match_close(code, i + m.end() - 1) + 1)
        k = j
        while code[k].isspace():
            k += 1
        if code[i:i + 2] == "if" and re.match(r"else\b", code[k:]):
            return stmt_end(code, k + 4)
        return j
    if re.match(r"else\b", code[i:]):
        return stmt_end(code, i + 4)
    if re.match(r"do\b", code[i:]):
        j = stmt_end(code, i + 2)
        return code.index(";", j) + 1
    depth = 0
    while True:
        ch = code[i]
        depth += {"(": 1, ")": -1, "[": 1, "]": -1}.get(ch, 0)
        if ch == "{" and depth == 0:
            i = match_close(code, i)
        elif ch == ";" and depth == 0:
            return i + 1
        i += 1


def releases(call: str, target: str, releasers: set[str]) -> bool:
    """Whether the call text releases target (or the struct holding it, for a helper)."""
    m = re.match(r"(\w+)\s*\((.*)\)\s*;?\s*$", call.strip(), re.S)
    if not m or m.group(1) not in releasers:
        return False
    arg = split_args(m.group(2))[0].lstrip("&").replace(" ", "") if split_args(m.group(2)) else ""
    base = re.split(r"->|\.", target)[0]
    return arg == target or (m.group(1) != "PyBuffer_Release" and arg == base)


def label_releases(fn: Function, label: str, target: str, releasers: set[str]) -> bool:
    m = re.search(rf"^[ \t]*{label}[ \t]*:(?!:)", fn.code[fn.body:fn.end], re.M)
    if not m:
        return False
    start = fn.body + m.end()
    stop = re.compile(r"\b(?:return|Py_RETURN_\w+)\b").search(fn.code, start, fn.end)
    cleanup = fn.code[start:stop.start() if stop else fn.end]
    return any(releases(c.group(0), target, releasers) for c in re.finditer(CALL, cleanup))


def derive(files: list[pathlib.Path]) -> tuple[Acquirers, Releasers]:
    """BASE_ACQUIRERS and BASE_RELEASERS plus the functions that pass them on: one that acquires
    into a struct rooted at its pointer parameter P acquires into P for its callers; one that
    releases P's struct releases P."""
    acq, rel = dict(BASE_ACQUIRERS), {k: set(v) for k, v in BASE_RELEASERS.items()}
    fns = [fn for p in files for fn in functions(glue_code(p))]
    changed = True
    while changed:
        changed = False
        for fn in fns:
            params = fn.param_list
            text = fn.code[fn.body:fn.end]
            for name, (argno, fam) in list(acq.items()):
                for call in re.finditer(rf"\b{name}\s*\(", text):
                    paren = fn.body + call.end() - 1
                    target = split_args(fn.code[paren + 1:match_close(fn.code, paren)])[argno].lstrip("&")
                    root = re.split(r"->|\.", target.replace(" ", ""))[0]
                    if root in params and fn.name not in acq and fn.name != name:
                        acq[fn.name] = (params.index(root), fam)
                        changed = True
            for fam, names in list(rel.items()):
                for c in re.finditer(CALL, text):
                    m = re.match(r"(\w+)\s*\((.*)\)", c.group(0), re.S)
                    if m and m.group(1) in names and fn.name not in names:
                        args = split_args(m.group(2))
                        root = re.split(r"->|\.", args[0].lstrip("&").replace(" ", ""))[0] if args else ""
                        if root in params and fn.name not in acq:
                            names.add(fn.name)
                            changed = True
    return acq, rel


def buffer_violations(path: pathlib.Path, acquirers: Acquirers, releasers_of: Releasers) -> list[str]:
    """Every view taken (PyObject_GetBuffer, or a helper that takes one) is given back on every
    path out of the function that took it. The documented heuristic:

    - a failing acquire (the if that tests it, or its assignment) needs nothing;
    - from there the view is held until a release of it in the straight-line code of the block
      that took it (or an enclosing one); if that block ends in a return or goto, it is held only
      to that exit, else the else-branches that follow are skipped (they never took it);
    - while it is held, a return must come after a release in its own block, or hand the view to
      the caller: `return 0` (or the acquire's own status) when the target belongs to a pointer
      parameter (`m->view`, `*ids`), which the caller then releases through the helper;
    - every goto taken while it is held must reach a label whose cleanup (up to its return)
      releases it, and falling off the function's end while it is held is an error.

    Ownership handed to a struct that another function frees (lake_type.c's rv_call_args) is
    not followed: that is a pointer parameter, so it ends at the handoff."""
    code = glue_code(path)
    bad: list[str] = []
    for fn in functions(code):
        text = code[fn.body:fn.end]
        for name, (argno, family) in acquirers.items():
            releasers = releasers_of[family]
            for call in re.finditer(rf"\b{name}\s*\(", text):
                at = fn.body + call.start()
                paren = fn.body + call.end() - 1
                args = split_args(code[paren + 1:match_close(code, paren)])
                target = args[argno].lstrip("&").replace(" ", "")
                handed = re.split(r"->|\.", target)[0] in fn.params
                where = f"{path.name}:{fn.line(at)} ({fn.name}, {name} into {target})"
                s = stmt_start(code, at, fn.body + 1)
                status = re.match(r"(?:\w+\s+)*?(\w+)\s*=[^=]", code[s:at])
                pos = stmt_end(code, s)
                held = fn.d(at)
                released_at: list[int] = []
                ok_returns = {"0"} | ({status.group(1)} if status else set())
                while True:
                    m = re.compile(r"[{}]|\b(?:return|Py_RETURN_\w+)\b[^;]*;|\bgoto\s+(\w+)\s*;|" + CALL
                                   ).search(code, pos, fn.end + 1)
                    if not m:
                        break
                    tok, pos = m.group(0), m.end()
                    depth = fn.d(m.start())
                    if tok == "{":
                        continue
                    if tok == "}":
                        released_at = [r for r in released_at if r < depth]
                        if depth == held:  # the block that took the view closes
                            last = code[stmt_start(code, code.rindex(";", 0, m.start()), fn.body + 1):m.start()]
                            if code[:m.start()].rstrip().endswith(";") and re.match(r"(?:return|goto|Py_RETURN_)\b",
                                                                                      last):
                                break  # it ended in an exit: the view is not held after it
                            if m.start() == fn.end:
                                bad.append(f"{where}: the function can end while the view is held")
                                break
                            k = m.end()
                            while re.match(r"\s*else\b", code[k:]):
                                k = stmt_end(code, code.index("else", k) + 4)
                            pos, held = k, held - 1
                        continue
                    if tok.startswith(("return", "Py_RETURN_")):
                        value = tok[6:].strip(" ;") if tok.startswith("return") else tok
                        if released_at or (handed and value in ok_returns):
                            continue
                        bad.append(f"{where}: line {fn.line(m.start())} `{tok}` returns while the view is held")
                        continue
                    if m.group(1):
                        if not released_at and not label_releases(fn, m.group(1), target, releasers):
                            bad.append(f"{where}: line {fn.line(m.start())} goto {m.group(1)}, whose cleanup "
                                       f"does not release it")
                        continue
                    if releases(tok, target, releasers):
                        if depth <= held:
                            break  # released in straight-line code: done
                        released_at.append(depth)
    return bad


def test_no_exit_from_a_gil_free_region() -> None:
    files = sources("src/python")
    assert any("RV_NOGIL(" in p.read_text() for p in files)
    bad = [v for p in files for v in gil_violations(p)]
    assert not bad, "\n".join(bad)


def test_every_buffer_view_is_released_on_every_path() -> None:
    files = [p for p in sources("src/python") if p.suffix == ".c"]
    assert any("PyObject_GetBuffer(" in p.read_text() for p in files)
    acquirers, releasers = derive(files)
    assert {"rv_py_search_args", "rv_call_parse"} <= set(acquirers) and "rv_call_args_release" in releasers["matrix"]
    bad = [v for p in files for v in buffer_violations(p, acquirers, releasers)]
    assert not bad, "\n".join(bad)


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
