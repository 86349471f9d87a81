"""Writes tests/data/*: files in ruvector's on-disk formats, kept in the repository so later
versions are tested against them (a format change that breaks old files fails the tests).

Each fixture holds data given by a formula (see tests/test_persistence.py), so its content is
checked against the formula, not against what ruvector produced.

    python tools/make_fixtures.py      # only when a new format version is introduced
"""

from __future__ import annotations

import pathlib

import numpy as np

import ruvector

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data"


def flat_v1_vectors() -> tuple[np.ndarray, np.ndarray]:
    ids = np.array([-(2**63), -5, 0, 7, 2**40, 2**63 - 1], dtype=np.int64)
    vectors = (np.arange(6 * 5, dtype=np.float32).reshape(6, 5) - 12.5) / 4
    return ids, vectors


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    ids, vectors = flat_v1_vectors()
    ruvector.FlatF32Index.build(vectors, ids=ids).save(DATA / "flat_v1.rvx")
    print("wrote", DATA / "flat_v1.rvx")


if __name__ == "__main__":
    main()
