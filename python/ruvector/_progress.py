"""Progress bars for ``progress=True``: tqdm when it is installed, a plain stderr bar otherwise.

The C core calls the returned object with ``(done, total)`` from the calling thread between
chunks of work; the bar closes itself when ``done == total``.
"""

from __future__ import annotations

import sys
import time
from typing import Callable


def make_bar(desc: str) -> Callable[[int, int], None]:
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        return _PlainBar(desc)
    return _TqdmBar(tqdm, desc)


class _TqdmBar:
    def __init__(self, tqdm_cls: type, desc: str) -> None:
        self._cls = tqdm_cls
        self._desc = desc
        self._bar: object | None = None
        self._last = 0

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = self._cls(total=total, desc=self._desc, unit="vec", file=sys.stderr)
        self._bar.update(done - self._last)  # type: ignore[attr-defined]
        self._last = done
        if done >= total:
            self._bar.close()  # type: ignore[attr-defined]


class _PlainBar:
    WIDTH = 30

    def __init__(self, desc: str) -> None:
        self._desc = desc
        self._start = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        filled = int(frac * self.WIDTH)
        elapsed = time.perf_counter() - self._start
        sys.stderr.write(
            f"\r{self._desc}: [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
            f"{done}/{total} {elapsed:.1f}s"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
