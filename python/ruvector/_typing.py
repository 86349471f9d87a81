"""The structural type every ruvector index satisfies (``isinstance(idx, ruvector.AnyIndex)``).

The index classes are concrete and share no base class; this runtime-checkable Protocol names
what they have in common so user code can accept any of them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol, Sequence, SupportsIndex, Union, runtime_checkable

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ruvector import Hit

VectorLike = Union[npt.NDArray[np.float32], Sequence[float]]
MatrixLike = Union[npt.NDArray[np.float32], Sequence[Sequence[float]]]
IdsLike = Union[npt.NDArray[np.integer[Any]], Sequence[SupportsIndex], range]
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


@runtime_checkable
class AnyIndex(Protocol):
    """What every ruvector index offers: search, mutation, persistence and sizes."""

    @property
    def dim(self) -> int: ...

    @property
    def memory_bytes(self) -> int: ...

    def __len__(self) -> int: ...

    def search(self, query: VectorLike, k: SupportsIndex = 10) -> list[Hit]: ...

    def search_batch(
        self, queries: MatrixLike, k: SupportsIndex = 10
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...

    def add(self, id: SupportsIndex, vector: VectorLike) -> None: ...

    def add_batch(self, ids: IdsLike, vectors: MatrixLike, *, progress: Any = None) -> None: ...

    def remove(self, id: SupportsIndex) -> None: ...

    def save(self, path: PathLike) -> None: ...
