"""Progress bars for ``progress=True``: tqdm when it is installed, a plain stderr bar otherwise.

The C core calls the returned object with ``(done, total, phase)`` from the calling thread
between chunks of work. ``phase`` labels the bar ("k-means", "encode", "embed", ...): a new
phase closes the previous bar and opens one of its own. A phase whose reports all say
``done == 0`` (k-means training reports once per iteration, with no count of its own) shows
the iterations so far instead of a fraction. A bar closes itself when ``done == total``.
User callables passed as ``progress=`` keep the two-argument ``(done, total)`` form.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable


def make_bar(desc: str) -> Callable[[int, int, str], None]:
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        return _PlainBar(desc)
    return _TqdmBar(tqdm, desc)


class _TqdmBar:
    def __init__(self, tqdm_cls: type, desc: str) -> None:
        self._cls = tqdm_cls
        self._phase = desc
        self._bar: Any = None  # a tqdm bar or None (tqdm has no type hints)
        self._last = 0

    def __call__(self, done: int, total: int, phase: str | None = None) -> None:
        phase = phase or self._phase
        if self._bar is not None and phase != self._phase:
            self._bar.close()
            self._bar = None
        self._phase = phase
        if done == 0 and total:  # an iteration of a phase that has no count (k-means)
            if self._bar is None:
                self._bar = self._cls(desc=phase, unit="iter", file=sys.stderr)
            self._bar.update(1)
            return
        if self._bar is None:
            self._bar = self._cls(total=total, desc=phase, unit="it", file=sys.stderr)
            self._last = 0
        self._bar.update(done - self._last)
        self._last = done
        if done >= total:
            self._bar.close()
            self._bar = None


class _PlainBar:
    WIDTH = 30

    def __init__(self, desc: str) -> None:
        self._phase = desc
        self._start = time.perf_counter()
        self._iters = 0
        self._open = False

    def __call__(self, done: int, total: int, phase: str | None = None) -> None:
        phase = phase or self._phase
        if phase != self._phase:
            if self._open:
                sys.stderr.write("\n")
            self._phase, self._start, self._iters, self._open = phase, time.perf_counter(), 0, False
        elapsed = time.perf_counter() - self._start
        self._open = True
        if done == 0 and total:  # an iteration of a phase that has no count (k-means)
            self._iters += 1
            sys.stderr.write(f"\r{phase}: iteration {self._iters} {elapsed:.1f}s")
        else:
            frac = done / total if total else 1.0
            filled = int(frac * self.WIDTH)
            sys.stderr.write(
                f"\r{phase}: [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                f"{done}/{total} {elapsed:.1f}s"
            )
            if done >= total:
                sys.stderr.write("\n")
                self._open = False
        sys.stderr.flush()
