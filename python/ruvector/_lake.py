"""RuLake's small Python pieces: enums, result tuples, the builder, the BackendAdapter ABC and
RuLakeBundle. The cache, the backends' storage and every search live in the C core
(``ruvector._ruvector``); nothing here computes."""

from __future__ import annotations

import abc
import asyncio
import collections.abc
import enum
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generator, Generic, NamedTuple, Sequence, SupportsIndex, TypeVar

from ruvector import _ruvector

if TYPE_CHECKING:
    from ruvector._typing import MatrixLike, PathLike, VectorLike


class Consistency(enum.IntEnum):
    """How often a primed key is re-checked against its backend. An int enum: typos fail at
    attribute lookup, and plain ints or strings are refused by the builder."""

    FRESH = 0
    """Ask the backend for its current witness on every search."""
    EVENTUAL = 1
    """Re-check at most every ``eventual_ttl_ms``."""
    STALE = 2
    """Never re-check a primed key (upstream's Frozen); only ``invalidate_cache`` or
    ``refresh_from_bundle_dir`` force a re-pull."""


class RefreshResult(enum.IntEnum):
    """What ``RuLake.refresh_from_bundle_dir`` found."""

    UP_TO_DATE = 0
    INVALIDATED = 1
    BUNDLE_MISSING = 2


def _enum_name(self: enum.IntEnum) -> str:
    return f"{type(self).__name__}.{self.name}"


# repr and str show the member's name (RefreshResult.UP_TO_DATE), not "<...: 0>" or "0"; they
# still compare and hash as their ints
for _enum in (Consistency, RefreshResult):
    _enum.__repr__ = _enum_name  # type: ignore[method-assign,assignment]
    _enum.__str__ = _enum_name  # type: ignore[method-assign,assignment]
    _enum.__format__ = (  # type: ignore[method-assign]
        lambda self, spec: _enum_name(self) if not spec else format(int(self), spec)  # type: ignore[arg-type]
    )


class LakeHit(NamedTuple):
    """One RuLake search result: where it came from, the vector's id, and the exact squared L2
    distance to the query (smaller is closer)."""

    backend: str
    collection: str
    id: int
    score: float


class CacheStats(NamedTuple):
    """Cache counters (global, per backend or per (backend, collection) key). Hits and misses
    count freshness checks: one per search_one/search_batch, one per shard of a federated
    search. A stale key brought up to date in place counts a miss but no prime or pull; a
    background re-prime counts a prime and a pull."""

    hits: int
    misses: int
    primes: int
    invalidations: int
    evictions: int
    shared_hits: int
    warm_installs: int
    pulls: int
    total_prime_ms: float
    last_prime_ms: float

    @property
    def hit_rate(self) -> float | None:
        total = self.hits + self.misses
        return self.hits / total if total else None

    @property
    def avg_prime_ms(self) -> float | None:
        return self.total_prime_ms / self.primes if self.primes else None


for _cls in (Consistency, RefreshResult, LakeHit, CacheStats):
    _cls.__module__ = "ruvector"


class BackendAdapter(abc.ABC):
    """Subclass to serve vectors from your own store. RuLake calls these methods from its C
    worker threads with the GIL held, possibly from several threads at once.

    ``generation(collection)`` must change whenever the collection's data changes (an int or a
    str); ``pull(collection)`` returns ``(ids, vectors)``: int64-compatible ids of shape (n,) and
    a float array of shape (n, dim). Override ``dim(collection)`` when you can tell the dim
    without a pull (publish_bundle uses it)."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """A unique backend name (also the scheme of the data_ref in bundles)."""

    @abc.abstractmethod
    def list_collections(self) -> Sequence[str]:
        """The collections this backend holds."""

    @abc.abstractmethod
    def pull(self, collection: str) -> tuple[Any, Any]:
        """The whole collection as (ids, vectors)."""

    @abc.abstractmethod
    def generation(self, collection: str) -> int | str:
        """An opaque version token that changes on every write to the collection."""

    def dim(self, collection: str) -> int | None:
        """The collection's dim if known without pulling, else None."""
        return None

    def data_ref(self, collection: str) -> str | None:
        """Where the data lives (part of the witness). None means ``"{name}://{collection}"``.
        Two keys whose backends report the same data_ref and generation share one cache
        entry."""
        return None


# {option: (default, min, max)}: the DEFAULT/MIN/MAX triples of ruvector/lake.h, exported by
# the extension so the builder and the C glue check the same ranges.
_LIMITS: dict[str, tuple[float, float, float]] = _ruvector._lake_limits


class RuLakeBuilder:
    """Collects RuLake options; ``build()`` makes the lake. Each setter checks its value at
    once and returns the builder, so the calls chain."""

    def __init__(self) -> None:
        self._options: dict[str, Any] = {}

    def _int(self, name: str, value: int, low: int, high: int) -> RuLakeBuilder:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _ruvector.ArgumentTypeError(f"{name} must be an int, not {type(value).__name__}")
        if not low <= value <= high:
            raise _ruvector.ArgumentError(f"{name} must be in {low}..{high}, not {value}")
        self._options[name] = value
        return self

    def _limited(self, name: str, value: int) -> RuLakeBuilder:
        _, low, high = _LIMITS[name]
        return self._int(name, value, int(low), int(high))

    def rerank_factor(self, value: int) -> RuLakeBuilder:
        """Candidates reranked per hit, 1..1024 (default 20); part of the witness."""
        return self._limited("rerank_factor", value)

    def rotation_seed(self, value: int) -> RuLakeBuilder:
        """The RaBitQ rotation seed, 0..2**63-1 (default 42); part of the witness."""
        return self._limited("rotation_seed", value)

    def max_cache_entries(self, value: int) -> RuLakeBuilder:
        """At most this many cached indexes (least recently used go first; default unbounded)."""
        return self._limited("max_cache_entries", value)

    def max_cache_bytes(self, value: int) -> RuLakeBuilder:
        """At most this many bytes of cached indexes (LRU; default unbounded)."""
        return self._limited("max_cache_bytes", value)

    def eventual_ttl_ms(self, value: int) -> RuLakeBuilder:
        """Under Consistency.EVENTUAL, re-check a key at most this often (default 1000 ms)."""
        return self._limited("eventual_ttl_ms", value)

    def consistency(self, value: Consistency) -> RuLakeBuilder:
        """Consistency.FRESH (default), EVENTUAL or STALE; plain ints and strings are refused."""
        if not isinstance(value, Consistency):
            raise _ruvector.ArgumentTypeError(
                f"consistency must be ruvector.Consistency.FRESH, .EVENTUAL or .STALE, not {value!r}"
            )
        self._options["consistency"] = value
        return self

    def pull_on_miss(self, value: bool) -> RuLakeBuilder:
        """False: a search that would need a backend pull raises CacheMissError (default True)."""
        if not isinstance(value, bool):
            raise _ruvector.ArgumentTypeError(f"pull_on_miss must be a bool, not {type(value).__name__}")
        self._options["pull_on_miss"] = value
        return self

    def reprime_fraction(self, value: float) -> RuLakeBuilder:
        """Incremental updates: a stale key whose backend can say what changed (LocalBackend,
        FsBackend) has the changes applied to its cached index in place; once the rows changed
        since the last full prime exceed ``value`` x its rows, the key is also re-primed in the
        background while the updated entry serves. 0.0 turns incremental updates off (every
        change re-primes, as a BackendAdapter always does). Default 0.1, range 0.0..1.0."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _ruvector.ArgumentTypeError(f"reprime_fraction must be a float, not {type(value).__name__}")
        _, low, high = _LIMITS["reprime_fraction"]
        if not low <= value <= high:
            raise _ruvector.ArgumentError(f"reprime_fraction must be in {low}..{high}, not {value}")
        self._options["reprime_fraction"] = float(value)
        return self

    def cache_dir(self, path: str | os.PathLike[str]) -> RuLakeBuilder:
        """Where sessions save entries and misses warm from (default none)."""
        self._options["cache_dir"] = os.fspath(path)
        return self

    def build(self) -> RuLake:
        """The RuLake with the options set so far."""
        return RuLake(**self._options)


_T = TypeVar("_T")


class _LakeCall(collections.abc.Coroutine[Any, Any, _T], Generic[_T]):
    """What the *_async methods return: a coroutine around the asyncio future the C core
    resolves from its worker pool, so ``await``, ``asyncio.create_task`` and ``gather`` all take
    it (a bare Future is not a coroutine, and create_task refuses one). The search is already
    queued when the method returns. Cancelling the task (or closing the coroutine) cancels the
    future, and the core drops the result; no thread is started per call."""

    __slots__ = ("_fut", "_it")

    def __init__(self, fut: asyncio.Future[_T]) -> None:
        self._fut = fut
        self._it: Generator[Any, None, _T] | None = None

    def _iter(self) -> Generator[Any, None, _T]:
        if self._it is None:
            self._it = self._fut.__await__()
        return self._it

    def __await__(self) -> Generator[Any, None, _T]:
        return self._iter()

    def send(self, value: Any) -> Any:
        return self._iter().send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        if isinstance(val if val is not None else typ, asyncio.CancelledError) or typ is asyncio.CancelledError:
            self._fut.cancel()  # cancelled before or while waiting: the core drops the result
        if val is None and tb is None:
            return self._iter().throw(typ)
        return self._iter().throw(typ, val, tb)

    def close(self) -> None:
        self._fut.cancel()
        if self._it is not None:
            self._it.close()

    def cancel(self) -> bool:
        """Cancels the search's future (as Future.cancel); awaiting then raises CancelledError."""
        return self._fut.cancel()

    def cancelled(self) -> bool:
        return self._fut.cancelled()

    def done(self) -> bool:
        return self._fut.done()

    def __repr__(self) -> str:
        return f"<ruvector lake call {self._fut!r}>"


class RuLake(_ruvector._RuLake):
    __doc__ = _ruvector._RuLake.__doc__

    def __init__(
        self,
        *,
        rerank_factor: int = 20,
        rotation_seed: int = 42,
        max_cache_entries: int | None = None,
        max_cache_bytes: int | None = None,
        consistency: Consistency = Consistency.FRESH,
        eventual_ttl_ms: int = 1000,
        pull_on_miss: bool = True,
        cache_dir: PathLike | None = None,
        reprime_fraction: float = 0.1,
    ) -> None:
        """The lake with these options (RuLake.builder() sets the same ones by name)."""
        super().__init__(
            rerank_factor=rerank_factor, rotation_seed=rotation_seed, max_cache_entries=max_cache_entries,
            max_cache_bytes=max_cache_bytes, consistency=consistency, eventual_ttl_ms=eventual_ttl_ms,
            pull_on_miss=pull_on_miss, cache_dir=cache_dir, reprime_fraction=reprime_fraction,
        )

    # The core's methods return its asyncio futures; these return coroutines around them (not
    # Futures), hence the override ignores.
    def search_one_async(  # type: ignore[override]
        self, collection: str, query: VectorLike, k: SupportsIndex = 10, *, backend: str | None = None
    ) -> _LakeCall[list[LakeHit]]:
        """search_one on the worker pool: a coroutine for ``await`` or ``asyncio.create_task``."""
        return _LakeCall(super().search_one_async(collection, query, k, backend=backend))

    def search_batch_async(  # type: ignore[override]
        self, collection: str, queries: MatrixLike, k: SupportsIndex = 10, *, backend: str | None = None
    ) -> _LakeCall[list[list[LakeHit]]]:
        """search_batch on the worker pool: a coroutine for ``await`` or ``asyncio.create_task``."""
        return _LakeCall(super().search_batch_async(collection, queries, k, backend=backend))

    def search_federated_async(  # type: ignore[override]
        self, collection: str, query: VectorLike, k: SupportsIndex = 10, *, backends: Sequence[str] | None = None
    ) -> _LakeCall[list[LakeHit]]:
        """search_federated on the worker pool: a coroutine for ``await`` or
        ``asyncio.create_task``."""
        return _LakeCall(super().search_federated_async(collection, query, k, backends=backends))

    @staticmethod
    def builder() -> RuLakeBuilder:
        """A builder with the defaults: rerank_factor 20, rotation_seed 42, no cache caps,
        Consistency.FRESH, eventual_ttl_ms 1000, pull_on_miss True, no cache_dir,
        reprime_fraction 0.1."""
        return RuLakeBuilder()


@dataclass(frozen=True)
class RuLakeBundle:
    """A ``table.rulake.json`` sidecar (upstream format_version 2): a collection's identity and
    version, and the SHAKE-256 witness over them."""

    format_version: int
    data_ref: str
    dim: int
    rotation_seed: int
    rerank_factor: int
    generation: int | str
    rvf_witness: str
    pii_policy: str | None = None
    lineage_id: str | None = None
    memory_class: str | None = None

    @staticmethod
    def witness_of(data_ref: str, dim: int, rotation_seed: int, rerank_factor: int, generation: int | str) -> str:
        """The witness (64 lowercase hex chars) for these fields."""
        return _ruvector._witness(data_ref, dim, rotation_seed, rerank_factor, generation)

    def verify(self) -> bool:
        """Whether rvf_witness matches the fields."""
        return self.rvf_witness == RuLakeBundle.witness_of(
            self.data_ref, self.dim, self.rotation_seed, self.rerank_factor, self.generation
        )

    @classmethod
    def read(cls, dir: str | os.PathLike[str]) -> RuLakeBundle:
        """Reads and verifies ``dir/table.rulake.json``; raises WitnessMismatch if the witness
        does not verify, LakeError if the file is malformed."""
        return cls(**_ruvector._bundle_read(os.fspath(dir)))


for _cls2 in (RuLake, RuLakeBuilder, RuLakeBundle, BackendAdapter):
    _cls2.__module__ = "ruvector"
