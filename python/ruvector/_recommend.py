"""ruvector.recommend: which index to build, from our own measurements.

The table below comes from runs on the CI machine class (2-vCPU Zen 3), upstream's clustered
data (100 centres in [-2, 2]^d, sigma 0.6), k = 10, one thread; see BENCHMARKS.md:

    index (n = 100k, d = 128)                  recall@10   QPS       bytes/vector
    FlatF32Index                               1.000       ~280      ~570
    RabitqPlusIndex (4-bit) rerank 2           0.999       ~10,500   ~660
    RabitqPlusIndex (4-bit) rerank 5           1.000       ~8,700    ~660
    RabitqAsymIndex (4-bit codes only)         0.90        ~12,000   ~140
    RabitqIndex (1-bit codes only)             0.40        ~16,000   ~95

Below ~5k vectors a flat scan costs well under a millisecond and is exact, so it wins.
Unstructured data (i.i.d. Gaussian) is much harder for every quantizer: raise rerank_factor or
use FlatF32Index there.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, SupportsIndex

if TYPE_CHECKING:
    from ruvector._ruvector import FlatF32Index, RabitqAsymIndex, RabitqIndex, RabitqPlusIndex

    _IndexClass = type[FlatF32Index] | type[RabitqIndex] | type[RabitqPlusIndex] | type[RabitqAsymIndex]

SMALL_N = 5_000


# The keyword values are ints, typed Any so that `cls.build(vectors, **kw)` type-checks for every
# class of the union (FlatF32Index.build takes none of them; the dict is empty then).
def recommend(n: SupportsIndex, dim: SupportsIndex, recall_target: float = 0.95) -> tuple[_IndexClass, dict[str, Any]]:
    """The index class and build keyword arguments for n vectors of dimension dim and a
    recall@10 target. Example: ``cls, kw = ruvector.recommend(1_000_000, 384, 0.99)`` then
    ``cls.build(vectors, **kw)``."""
    import ruvector

    try:  # NumPy integers (anything with __index__) are integers; floats and bools are not
        if isinstance(n, bool) or isinstance(dim, bool):
            raise TypeError
        n, dim = operator.index(n), operator.index(dim)
    except TypeError:
        raise ruvector.ArgumentTypeError(f"n and dim must be integers, got n={n!r}, dim={dim!r}") from None
    if n < 0 or dim < 1:
        raise ruvector.ArgumentError(f"n must be >= 0 and dim >= 1 integers, got n={n!r}, dim={dim!r}")
    if not 0.0 < recall_target <= 1.0:
        raise ruvector.ArgumentError(f"recall_target must be in (0, 1], got {recall_target!r}")
    if n <= SMALL_N or recall_target >= 0.9999:
        return ruvector.FlatF32Index, {}
    if recall_target <= 0.40:
        return ruvector.RabitqIndex, {}
    if recall_target <= 0.90:
        return ruvector.RabitqAsymIndex, {}
    rerank = 2 if recall_target <= 0.99 else 5 if recall_target <= 0.999 else 20
    params: dict[str, Any] = {"rerank_factor": rerank}
    return ruvector.RabitqPlusIndex, params
