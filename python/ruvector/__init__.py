"""ruvector: fast vector search with a C11 engine.

    >>> import numpy as np, ruvector
    >>> idx = ruvector.FlatF32Index.build(np.random.rand(1000, 64).astype(np.float32))
    >>> hits = idx.search(np.random.rand(64).astype(np.float32), k=5)

Everything here is re-exported from the compiled extension ``ruvector._ruvector``; see
``cpu_features()`` for the SIMD kernels and thread pool in use.
"""

from ruvector._ruvector import (
    A2aError,
    ArgumentError,
    ArgumentTypeError,
    BackendError,
    BudgetExceeded,
    CacheMissError,
    CardSignatureInvalid,
    ConcurrentModificationError,
    DimensionMismatch,
    DuplicateIdError,
    EmbedError,
    EmptyIndex,
    FlatF32Index,
    FsBackend,
    IndexBusyError,
    IndexError as IndexError,  # explicit re-export (not in __all__, see below)
    LakeError,
    LakeSession,
    LocalBackend,
    NotRetainedError,
    PersistError,
    PersistFileNotFoundError,
    PolicyViolation,
    RabitqAsymIndex,
    RabitqIndex,
    RabitqPlusIndex,
    RuVectorError,
    TransportError,
    UnknownIdError,
    WitnessMismatch,
    __version__,
    cpu_features,
)
from ruvector._embed import Embedder
from ruvector._hit import Hit
from ruvector._lake import (
    BackendAdapter,
    CacheStats,
    Consistency,
    LakeHit,
    RefreshResult,
    RuLake,
    RuLakeBuilder,
    RuLakeBundle,
)
from ruvector._recommend import recommend
from ruvector._typing import AnyIndex

# ruvector.IndexError is the contract's name for index errors, but it is left out of __all__:
# `from ruvector import *` must not replace the builtin IndexError (then `except IndexError:`
# would stop catching list errors). No name in __all__ shadows a builtin (test_api_surface.py).

__all__ = [
    "A2aError",
    "AnyIndex",
    "ArgumentError",
    "ArgumentTypeError",
    "BackendAdapter",
    "BackendError",
    "BudgetExceeded",
    "CacheMissError",
    "CacheStats",
    "CardSignatureInvalid",
    "ConcurrentModificationError",
    "Consistency",
    "DimensionMismatch",
    "DuplicateIdError",
    "EmbedError",
    "Embedder",
    "EmptyIndex",
    "FlatF32Index",
    "FsBackend",
    "Hit",
    "IndexBusyError",
    "LakeError",
    "LakeHit",
    "LakeSession",
    "LocalBackend",
    "NotRetainedError",
    "PersistError",
    "PersistFileNotFoundError",
    "PolicyViolation",
    "RabitqAsymIndex",
    "RabitqIndex",
    "RabitqPlusIndex",
    "RefreshResult",
    "RuLake",
    "RuLakeBuilder",
    "RuLakeBundle",
    "RuVectorError",
    "TransportError",
    "UnknownIdError",
    "WitnessMismatch",
    "__version__",
    "cpu_features",
    "recommend",
]
