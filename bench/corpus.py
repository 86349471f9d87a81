"""Real text available offline on every machine: sentences from the Python standard library's
docstrings (modules, classes, functions), deduplicated, in a fixed order."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
import warnings

SKIP = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3", "ensurepip",
        "venv", "pydoc_data", "__main__"}


def stdlib_sentences(limit: int, min_words: int = 4, extra: tuple[str, ...] = ()) -> list[str]:
    """Sentences of the standard library's docstrings, then of the `extra` installed packages'."""
    warnings.simplefilter("ignore")
    out: list[str] = []
    seen: set[str] = set()
    names = sorted(n for n in sys.stdlib_module_names if not n.startswith("_") and n not in SKIP) + list(extra)
    for name in names:
        try:
            mods = [importlib.import_module(name)]
        except Exception:
            continue
        if hasattr(mods[0], "__path__"):
            walk = pkgutil.walk_packages(mods[0].__path__, name + ".", onerror=lambda _: None) if name in extra \
                else pkgutil.iter_modules(mods[0].__path__, name + ".")
            for info in walk:
                if not any(part.startswith("_") or part in SKIP or part in ("tests", "testing", "conftest")
                           for part in info.name.split(".")):
                    try:
                        mods.append(importlib.import_module(info.name))
                    except KeyboardInterrupt:
                        raise
                    except BaseException:  # noqa: BLE001 - optional submodules fail in many ways
                        pass
        for mod in mods:
            objs = [mod] + [v for k, v in sorted(vars(mod).items()) if not k.startswith("_")]
            for obj in objs:
                members = [obj] + ([v for k, v in sorted(vars(obj).items()) if not k.startswith("_")]
                                   if inspect.isclass(obj) else [])
                for o in members:
                    doc = getattr(o, "__doc__", None)
                    if not isinstance(doc, str):
                        continue
                    for s in re.split(r"(?<=[.!?])\s+|\n\s*\n", inspect.cleandoc(doc)):
                        s = " ".join(s.split())
                        if len(s.split()) >= min_words and s not in seen:
                            seen.add(s)
                            out.append(s)
                            if len(out) >= limit:
                                return out
    return out


if __name__ == "__main__":
    print(len(stdlib_sentences(10**6, extra=("numpy", "scipy", "sklearn"))))
