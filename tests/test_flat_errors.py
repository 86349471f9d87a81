"""Every bad input raises its documented class with a message naming the values — never a
crash, never a silent copy or a partial change."""

from __future__ import annotations

import numpy as np
import pytest

import ruvector


@pytest.fixture
def idx() -> ruvector.FlatF32Index:
    return ruvector.FlatF32Index.build(np.arange(40, dtype=np.float32).reshape(10, 4))


def test_wrong_dtype_is_a_type_error_with_the_fix(idx: ruvector.FlatF32Index) -> None:
    for dtype in (np.float64, np.float16, np.int32, np.uint8, np.complex64):
        with pytest.raises(ruvector.ArgumentTypeError, match=r"must be float32.*np.ascontiguousarray"):
            idx.search(np.zeros(4, dtype=dtype))
        with pytest.raises(TypeError):
            ruvector.FlatF32Index.build(np.zeros((3, 4), dtype=dtype))
    with pytest.raises(ruvector.ArgumentTypeError, match=r"query is big-endian float32 \(dtype '>f4'\); convert it to native"):
        idx.search(np.zeros(4, dtype=">f4"))  # big-endian float32 is not our byte order, and says so
    with pytest.raises(ruvector.ArgumentTypeError, match=r"vectors is big-endian float32.*np.ascontiguousarray"):
        ruvector.FlatF32Index.build(np.zeros((2, 4), dtype=">f4"))
    with pytest.raises(ruvector.ArgumentTypeError, match="ids is big-endian int64"):
        ruvector.FlatF32Index.build(np.zeros((2, 4), dtype=np.float32), ids=np.arange(2, dtype=">i8"))
    idx2 = ruvector.FlatF32Index.build(np.zeros((2, 4), dtype=">f4").astype(np.float32))  # the fix works
    assert len(idx2) == 2


def test_non_contiguous_input_is_refused_not_copied(idx: ruvector.FlatF32Index) -> None:
    m = np.zeros((8, 8), dtype=np.float32)
    with pytest.raises(ruvector.ArgumentError, match="C-contiguous"):
        idx.search(m[0, ::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        ruvector.FlatF32Index.build(m[:, :4])
    with pytest.raises(ruvector.ArgumentError, match="C-contiguous"):
        idx.search_batch(m.T[:, :4].copy(order="F"))


def test_wrong_rank(idx: ruvector.FlatF32Index) -> None:
    with pytest.raises(ruvector.ArgumentError, match=r"1-D array of shape \(dim,\), got a 2-D array of shape \(1, 4\)"):
        idx.search(np.zeros((1, 4), dtype=np.float32))
    with pytest.raises(ruvector.ArgumentError, match=r"2-D array.*got a 1-D array of shape \(4,\)"):
        idx.search_batch(np.zeros(4, dtype=np.float32))
    with pytest.raises(ruvector.ArgumentError, match="2-D"):
        ruvector.FlatF32Index.build(np.zeros((2, 2, 2), dtype=np.float32))
    with pytest.raises(ruvector.ArgumentError):
        idx.search(np.float32(1.0))  # a 0-d buffer


def test_unconvertible_objects(idx: ruvector.FlatF32Index) -> None:
    with pytest.raises(ruvector.ArgumentTypeError, match="not str"):
        idx.search("abcd")  # type: ignore[arg-type]
    with pytest.raises(ruvector.ArgumentTypeError, match="list of numbers"):
        idx.search(["a", "b", "c", "d"])  # type: ignore[list-item]
    with pytest.raises(ruvector.ArgumentTypeError):
        idx.search(None)  # type: ignore[arg-type]
    with pytest.raises(ruvector.ArgumentTypeError):
        ruvector.FlatF32Index.build([[1.0, 2.0], [3.0]])  # ragged


def test_dimension_mismatch_names_both_dims(idx: ruvector.FlatF32Index) -> None:
    with pytest.raises(ruvector.DimensionMismatch, match="query has dim 3, index has dim 4"):
        idx.search(np.zeros(3, dtype=np.float32))
    with pytest.raises(ruvector.DimensionMismatch, match="queries has dim 5, index has dim 4"):
        idx.search_batch(np.zeros((2, 5), dtype=np.float32))
    with pytest.raises(ruvector.DimensionMismatch, match="vector has dim 2, index has dim 4"):
        idx.add(id=99, vector=np.zeros(2, dtype=np.float32))
    with pytest.raises(ruvector.DimensionMismatch):
        idx.add_batch([99, 100], np.zeros((2, 7), dtype=np.float32))
    assert len(idx) == 10


def test_empty_index(idx: ruvector.FlatF32Index) -> None:
    empty = ruvector.FlatF32Index(4)
    with pytest.raises(ruvector.EmptyIndex, match="n = 0"):
        empty.search(np.zeros(4, dtype=np.float32))
    with pytest.raises(ruvector.EmptyIndex):
        empty.search_batch(np.zeros((3, 4), dtype=np.float32))
    built_empty = ruvector.FlatF32Index.build(np.zeros((0, 4), dtype=np.float32))
    assert len(built_empty) == 0 and built_empty.dim == 4
    for i in range(10):
        idx.remove(i)
    with pytest.raises(ruvector.EmptyIndex):
        idx.search(np.zeros(4, dtype=np.float32))


def test_bad_k(idx: ruvector.FlatF32Index) -> None:
    q = np.zeros(4, dtype=np.float32)
    for k in (0, -1, -(2**70), 2**63, 2**70):
        with pytest.raises(ruvector.ArgumentError, match=rf"k must be in 1\.\.9223372036854775807, not {k}$"):
            idx.search(q, k=k)
        with pytest.raises(ValueError):
            idx.search_batch(q[None], k=k)
    with pytest.raises(ruvector.ArgumentTypeError, match="k must be an integer"):
        idx.search(q, k=2.5)  # type: ignore[arg-type]
    assert len(idx.search(q, k=np.int64(3))) == 3  # NumPy integers are integers


def test_non_finite_vectors_name_the_row(idx: ruvector.FlatF32Index) -> None:
    data = np.ones((5, 4), dtype=np.float32)
    for bad in (np.nan, np.inf, -np.inf):
        data[3, 2] = bad
        with pytest.raises(ruvector.ArgumentError, match="row 3 .* column 2"):
            ruvector.FlatF32Index.build(data)
        with pytest.raises(ValueError, match="row 3"):
            idx.add_batch(np.arange(100, 105), data)
        with pytest.raises(ruvector.ArgumentError, match="non-finite"):
            idx.add(id=100, vector=data[3])
        with pytest.raises(ruvector.ArgumentError, match="non-finite"):
            idx.search(data[3])
    assert len(idx) == 10 and 100 not in idx


def test_duplicate_ids(idx: ruvector.FlatF32Index) -> None:
    v = np.zeros(4, dtype=np.float32)
    with pytest.raises(ruvector.DuplicateIdError, match="id 3 is already in the index"):
        idx.add(id=3, vector=v)
    with pytest.raises(ruvector.DuplicateIdError, match="id 50 appears twice in the batch"):
        idx.add_batch([40, 50, 60, 50], np.zeros((4, 4), dtype=np.float32))
    assert len(idx) == 10 and 40 not in idx  # all or nothing
    with pytest.raises(ValueError):
        ruvector.FlatF32Index.build(np.zeros((3, 4), dtype=np.float32), ids=[1, 2, 1])


def test_ids_validation() -> None:
    x = np.zeros((3, 2), dtype=np.float32)
    with pytest.raises(ruvector.ArgumentError, match="ids has 2 entries but vectors has 3 rows"):
        ruvector.FlatF32Index.build(x, ids=[1, 2])
    with pytest.raises(ruvector.ArgumentError, match=r"ids\[1\] does not fit"):
        ruvector.FlatF32Index.build(x, ids=[1, 2**63, 3])
    with pytest.raises(ruvector.ArgumentError, match=r"ids\[0\] does not fit"):
        ruvector.FlatF32Index.build(x, ids=np.array([2**63, 1, 2], dtype=np.uint64))
    with pytest.raises(ruvector.ArgumentTypeError, match=r"ids\[2\] must be an integer, not float"):
        ruvector.FlatF32Index.build(x, ids=[1, 2, 3.0])  # type: ignore[list-item]
    with pytest.raises(ruvector.ArgumentTypeError, match="integers .int64., got float64"):
        ruvector.FlatF32Index.build(x, ids=np.array([1.0, 2.0, 3.0]))
    # Every integer dtype converts exactly; int64 is used in place.
    for dt in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
        idx = ruvector.FlatF32Index.build(x, ids=np.array([5, 6, 7], dtype=dt))
        assert sorted(i for i, _ in idx) == [5, 6, 7]
    neg = ruvector.FlatF32Index.build(x, ids=np.array([-1, -(2**63), 2**63 - 1], dtype=np.int64))
    assert -(2**63) in neg and 2**63 - 1 in neg
    assert len(ruvector.FlatF32Index.build(x, ids=range(3))) == 3


def test_unknown_ids(idx: ruvector.FlatF32Index) -> None:
    with pytest.raises(ruvector.UnknownIdError, match="id 77 is not in the index"):
        idx.remove(77)
    with pytest.raises(KeyError):
        idx[77]
    with pytest.raises(ruvector.ArgumentTypeError):
        idx["3"]  # type: ignore[index]


def test_bad_call_shapes(idx: ruvector.FlatF32Index) -> None:
    q = np.zeros(4, dtype=np.float32)
    with pytest.raises(ruvector.ArgumentTypeError, match="unexpected keyword argument 'kk'"):
        idx.search(q, kk=3)  # type: ignore[call-arg]
    with pytest.raises(ruvector.ArgumentTypeError, match="missing required argument 'query'"):
        idx.search()  # type: ignore[call-arg]
    with pytest.raises(ruvector.ArgumentTypeError, match="multiple values for argument 'k'"):
        idx.search(q, 3, k=3)  # type: ignore[misc]
    with pytest.raises(ruvector.ArgumentTypeError, match="at most 2 positional"):
        idx.search(q, 3, 4)  # type: ignore[call-arg]
    with pytest.raises(ruvector.ArgumentTypeError, match="progress must be"):
        ruvector.FlatF32Index.build(np.zeros((2, 2), dtype=np.float32), progress="yes")  # type: ignore[arg-type]
    with pytest.raises(ruvector.ArgumentError, match="dim must be in 1..65536, not 0"):
        ruvector.FlatF32Index(0)
    with pytest.raises(ruvector.ArgumentError, match="dim must be in"):
        ruvector.FlatF32Index.build(np.zeros((3, 0), dtype=np.float32))
    with pytest.raises(ruvector.ArgumentError, match="at most 65536"):
        ruvector.FlatF32Index.build(np.zeros((1, 65537), dtype=np.float32))


def test_mutation_while_a_view_is_exported(idx: ruvector.FlatF32Index) -> None:
    view = np.asarray(idx)
    with pytest.raises(ruvector.IndexBusyError, match="exported"):
        idx.add(id=100, vector=np.zeros(4, dtype=np.float32))
    with pytest.raises(BufferError):
        idx.remove(0)
    assert len(idx) == 10 and view.shape == (10, 4)
    del view
    idx.remove(0)
    idx.add(id=100, vector=np.zeros(4, dtype=np.float32))
    assert len(idx) == 10


def test_mutation_during_iteration(idx: ruvector.FlatF32Index) -> None:
    it = iter(idx)
    next(it)
    idx.remove(5)
    with pytest.raises(ruvector.ConcurrentModificationError, match="changed during iteration"):
        next(it)
    with pytest.raises(RuntimeError):
        for _ in idx:
            idx.add(id=1000, vector=np.zeros(4, dtype=np.float32))


def test_comparison_with_other_types(idx: ruvector.FlatF32Index) -> None:
    assert idx != 3 and not (idx == "x")  # noqa: SIM201
    with pytest.raises(TypeError):
        hash(idx)
    with pytest.raises(TypeError):
        idx < idx  # type: ignore[operator]  # noqa: B015
