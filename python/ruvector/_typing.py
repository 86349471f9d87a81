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
    from typing_extensions import Buffer  # collections.abc.Buffer from Python 3.12

    from ruvector import Hit


class SupportsArray(Protocol):
    """Objects NumPy can view through ``__array__`` (torch CPU tensors, pandas objects): accepted
    where an array is, and used in place when the view is C-contiguous float32."""

    def __array__(self, *args: Any, **kwargs: Any) -> Any: ...


# Arrays (and PEP 3118 buffers: memoryview, array.array) must already be C-contiguous float32;
# lists and tuples are copied.
VectorLike = Union[npt.NDArray[np.float32], Sequence[float], SupportsArray, "Buffer"]
MatrixLike = Union[npt.NDArray[np.float32], Sequence[Sequence[float]], SupportsArray, "Buffer"]
IdsLike = Union[npt.NDArray[np.integer[Any]], Sequence[SupportsIndex], range, SupportsArray, "Buffer"]
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
