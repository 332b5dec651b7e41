"""Rows Milvus would refuse are rejected one by one, with the same reason on the insert and the bulk path.

Both converters (``rows.insert_rows`` for Insert/Upsert, ``bulk.parquet.ParquetBatches`` for staged Parquet)
run the one validator; every test here feeds both and checks they agree on which rows go, why, and what the
rest become.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest

from tests.milvus_bad_rows import CASES, TARGET, bad_rows
from vts.connectors.milvus.bulk.parquet import ParquetBatches
from vts.connectors.milvus.rows import insert_rows
from vts.connectors.milvus.target import TargetCollection, TargetField
from vts.connectors.milvus.validate import validate
from vts.schema import DYNAMIC_FIELD, SPARSE_ARROW


def _target(*fields: TargetField, dynamic: bool = False) -> TargetCollection:
    return TargetCollection(
        "t", "t", (TargetField("id", "INT64", "id", is_primary=True), *fields), enable_dynamic_field=dynamic
    )


def _batch(**columns: pa.Array) -> pa.RecordBatch:
    n = len(next(iter(columns.values())))
    return pa.RecordBatch.from_arrays([pa.array(range(n), pa.int64()), *columns.values()], names=["id", *columns])


def _both(batch: pa.RecordBatch, target: TargetCollection) -> dict[int, str]:
    """Run both converters; assert they refuse the same source rows for the same reasons; return them by id."""
    inserted = insert_rows(batch, target)
    staged = ParquetBatches(target).stage(batch)
    refused = {r["id"] for r in inserted.rejected}
    source = [r for r in batch.to_pylist() if r["id"] in refused]
    assert repr(inserted.rejected) == repr(staged.rejected) == repr(source)  # the source rows as given (NaN too)
    assert inserted.reasons == staged.reasons
    assert len(inserted.rows) == staged.batch.num_rows == batch.num_rows - len(refused)
    return {r["id"]: why for r, why in zip(inserted.rejected, inserted.reasons, strict=True)}


# -- what each path made of the good rows, in the source's own terms ------------------------------


def _sparse_pairs(value: Any) -> dict[int, float]:
    if isinstance(value, str):  # the bulk path's {"indices": [...], "values": [...]} text
        value = orjson.loads(value)
    if isinstance(value, list):  # a map<index, weight> source: (index, weight) pairs
        return {int(k): float(v) for k, v in value}
    if "indices" in value:
        return dict(zip(value["indices"], value["values"], strict=True))
    return {int(k): float(v) for k, v in value.items()}


def _normal(row: dict[str, Any], target: TargetCollection) -> dict[str, Any]:
    """A source row, an insert row or a staged row, in one form: lists, {index: weight}, parsed JSON."""
    dtypes = {f.name: f.dtype for f in target.fields}
    out: dict[str, Any] = {}
    meta = row.get(DYNAMIC_FIELD)
    meta = dict(orjson.loads(meta) if isinstance(meta, str) else meta or {})
    for key, value in row.items():
        if key == DYNAMIC_FIELD:
            continue
        if key not in dtypes:  # the insert path spreads $meta's keys into the row
            meta[key] = value
            continue
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif value is not None and dtypes[key] == "SPARSE_FLOAT_VECTOR":
            value = _sparse_pairs(value)
        elif isinstance(value, str) and dtypes[key] == "JSON":
            value = orjson.loads(value)
        out[key] = value
    if target.enable_dynamic_field:
        out[DYNAMIC_FIELD] = meta  # an empty or null $meta: {} on every path
    return out


def _values_pass_intact(batch: pa.RecordBatch, target: TargetCollection, refused: set[int]) -> None:
    source = [_normal(r, target) for r in batch.to_pylist() if r["id"] not in refused]
    inserted = [_normal(r, target) for r in insert_rows(batch, target).rows]
    staged = [_normal(r, target) for r in ParquetBatches(target).stage(batch).batch.to_pylist()]
    assert inserted == source
    assert staged == source


# -- the canned bad rows --------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_each_canned_bad_row_is_refused_for_the_same_reason_on_both_paths(case: str) -> None:
    target, batch, expected = bad_rows([case])
    assert _both(batch, target) == expected
    _values_pass_intact(batch, target, set(expected))


def test_all_canned_bad_rows_at_once_leave_exactly_the_good_rows() -> None:
    target, batch, expected = bad_rows()
    assert _both(batch, target) == expected
    _values_pass_intact(batch, target, set(expected))


def test_the_verdict_marks_bad_rows_in_row_order() -> None:
    target, batch, expected = bad_rows()
    verdict = validate(batch, target)
    assert np.flatnonzero(verdict.bad).tolist() == sorted(expected)
    assert verdict.reasons == [expected[i] for i in sorted(expected)]
    assert verdict.good_rows(batch).column("id").to_pylist() == [i for i in range(batch.num_rows) if i not in expected]


def test_a_batch_without_bad_rows_is_left_whole() -> None:
    target, batch, _ = bad_rows([])
    verdict = validate(batch, target)
    assert not verdict.bad.any() and verdict.reasons == []
    assert verdict.good_rows(batch) is batch and verdict.rejected_rows(batch) == []
    _values_pass_intact(batch, target, set())


def test_an_empty_batch_converts_to_nothing_on_both_paths() -> None:
    target, batch, _ = bad_rows()
    assert _both(batch.slice(0, 0), target) == {}


def test_a_missing_source_column_is_an_error_not_a_reject() -> None:
    _, batch, _ = bad_rows([])
    with pytest.raises(KeyError, match="source column 'title' for field 'title'"):
        validate(batch.drop_columns(["title"]), TARGET)


# -- vectors --------------------------------------------------------------------------------------


def test_a_fixed_size_vector_column_of_another_dimension_refuses_every_row() -> None:
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(6, np.float32)), 3)
    target = _target(TargetField("v", "FLOAT_VECTOR", "v", dim=4))
    assert _both(_batch(v=vectors), target) == {i: "field 'v': dimension 3, target expects 4" for i in range(2)}


def test_huge_finite_vector_values_pass_although_their_sum_overflows() -> None:
    vectors = pa.array([[3e38, 3e38], [1.0, math.inf], [-3e38, -3e38]], pa.list_(pa.float32(), 2))
    batch = _batch(v=vectors)
    target = _target(TargetField("v", "FLOAT_VECTOR", "v", dim=2))
    assert _both(batch, target) == {1: "field 'v': vector holds NaN or infinity"}
    _values_pass_intact(batch, target, {1})


def test_null_vectors_in_a_nullable_field_stay_null_on_both_paths() -> None:
    vectors = pa.array([[1.0, 2.0], None, [3.0, 4.0]], pa.list_(pa.float32(), 2))
    batch = _batch(v=vectors, w=vectors.cast(pa.list_(pa.float32())))
    target = _target(*(TargetField(n, "FLOAT_VECTOR", n, dim=2, nullable=True) for n in "vw"))
    assert _both(batch, target) == {}
    _values_pass_intact(batch, target, set())


def test_int8_vectors_fed_wider_numbers_must_hold_int8_integers() -> None:
    vectors = pa.array([[1, -128], [127, 128], [0, -129]], pa.list_(pa.int64(), 2))
    floats = pa.array([[1.0, 2.0], [1.5, 0.0], [math.nan, 0.0]], pa.list_(pa.float32(), 2))
    target = _target(TargetField("v", "INT8_VECTOR", "v", dim=2), TargetField("f", "INT8_VECTOR", "f", dim=2))
    why = "vector values must be integers from -128 to 127"
    batch = _batch(v=vectors, f=pa.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], pa.list_(pa.float32(), 2)))
    assert _both(batch, target) == {1: f"field 'v': {why}", 2: f"field 'v': {why}"}
    batch = _batch(v=pa.array([[1, 2]] * 3, pa.list_(pa.int8(), 2)), f=floats)
    assert _both(batch, target) == {1: f"field 'f': {why}", 2: f"field 'f': {why}"}
    _values_pass_intact(batch, target, {1, 2})


def test_byte_vectors_need_their_width_and_half_floats_must_be_finite() -> None:
    f16 = np.array([[1, 2], [1, np.inf], [np.nan, 0], [3, 4]], np.float16)
    bf16_bits = np.array([[0x3F80, 0x4000], [0x7F80, 0], [0x3F80, 0x7FC0], [0, 0]], "<u2")  # 1, 2 / inf / NaN
    batch = _batch(
        b=pa.array([b"\x0f", b"\x0f\x00", b"\x01", None], pa.binary()),
        h=pa.array([row.tobytes() for row in f16], pa.binary(4)),
        g=pa.array([row.tobytes() for row in bf16_bits], pa.binary()),
    )
    target = _target(
        TargetField("b", "BINARY_VECTOR", "b", dim=8, nullable=True),
        TargetField("h", "FLOAT16_VECTOR", "h", dim=2),
        TargetField("g", "BFLOAT16_VECTOR", "g", dim=2),
    )
    assert _both(batch, target) == {
        1: "field 'b': 2 bytes, dimension 8 needs 1",
        2: "field 'h': vector holds NaN or infinity",
    }
    assert _both(batch.slice(2), target) == {2: "field 'h': vector holds NaN or infinity"}
    batch = _batch(g=pa.array([row.tobytes() for row in bf16_bits], pa.binary()))
    assert _both(batch, _target(TargetField("g", "BFLOAT16_VECTOR", "g", dim=2))) == {
        1: "field 'g': vector holds NaN or infinity",
        2: "field 'g': vector holds NaN or infinity",
    }


def test_a_fixed_width_byte_column_of_another_width_refuses_every_row() -> None:
    batch = _batch(b=pa.array([b"ab", b"cd"], pa.binary(2)))
    target = _target(TargetField("b", "BINARY_VECTOR", "b", dim=8))
    assert _both(batch, target) == dict.fromkeys(range(2), "field 'b': 2 bytes, dimension 8 needs 1")


def test_byte_vectors_pass_as_their_bytes() -> None:
    batch = _batch(b=pa.array([b"\x01\x02", None, b"\xff\x00"], pa.binary(2)))
    target = _target(TargetField("b", "BINARY_VECTOR", "b", dim=16, nullable=True))
    assert _both(batch, target) == {}
    assert [r["b"] for r in insert_rows(batch, target).rows] == [b"\x01\x02", None, b"\xff\x00"]
    staged = ParquetBatches(target).stage(batch).batch.column("b").to_pylist()
    assert staged == [[1, 2], None, [255, 0]]


# -- sparse vectors -------------------------------------------------------------------------------


def test_null_sparse_vectors_are_refused_even_in_a_nullable_field() -> None:
    # the insert path cannot carry one, so the bulk path does not stage one either
    sparse = pa.array([{"indices": [1], "values": [0.5]}, None], SPARSE_ARROW)
    target = _target(TargetField("s", "SPARSE_FLOAT_VECTOR", "s", nullable=True))
    assert _both(_batch(s=sparse), target) == {1: "field 's': null sparse vector"}


def test_sparse_vectors_as_maps_are_checked_like_structs() -> None:
    sparse = pa.array([[(1, 0.5), (4, 1.0)], [(3, -1.0)], [], None, [(2, 0.25)]], pa.map_(pa.uint32(), pa.float32()))
    target = _target(TargetField("s", "SPARSE_FLOAT_VECTOR", "s"))
    batch = _batch(s=sparse)
    expected = {
        1: "field 's': sparse weights must be finite and not negative",
        2: "field 's': empty sparse vector",
        3: "field 's' is not nullable but the value is null",
    }
    assert _both(batch, target) == expected
    assert _both(batch.slice(1), target) == expected  # a slice keeps its rows' offsets
    _values_pass_intact(batch, target, set(expected))


def test_unsorted_distinct_sparse_indices_pass_and_repeats_anywhere_in_a_row_are_refused() -> None:
    sparse = pa.array(
        [{"indices": [7, 2, 5], "values": [1.0, 2.0, 3.0]}, {"indices": [4, 1, 4], "values": [1.0, 2.0, 3.0]},
         {"indices": [3], "values": [1.0]}, {"indices": [3], "values": [1.0]}],
        SPARSE_ARROW,
    )  # fmt: skip
    target = _target(TargetField("s", "SPARSE_FLOAT_VECTOR", "s"))
    batch = _batch(s=sparse)  # rows 2 and 3 share index 3, which is fine: a repeat counts within a row
    assert _both(batch, target) == {1: "field 's': sparse index 4 repeats"}
    _values_pass_intact(batch, target, {1})


# -- scalars --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        (pa.array([1, 128, -129, None], pa.int64()), "INT8", {1: "128", 2: "-129"}),
        (pa.array([1, 40000, -40000], pa.int32()), "INT16", {1: "40000", 2: "-40000"}),
        (pa.array([1, 2**31], pa.int64()), "INT32", {1: "2147483648"}),
        (pa.array([7, 2**63], pa.uint64()), "INT64", {1: "9223372036854775808"}),
        (pa.array([1.5, 3e38, 1e39, -1e39, None]), "FLOAT", {2: "1e+39", 3: "-1e+39"}),
    ],
)
def test_values_beyond_a_narrower_target_type_are_refused(values: pa.Array, dtype: str, expected: dict) -> None:
    target = _target(TargetField("x", dtype, "x", nullable=True))
    assert _both(_batch(x=values), target) == {
        i: f"field 'x': {shown} is out of range for {dtype}" for i, shown in expected.items()
    }


def test_varchar_length_is_counted_in_utf8_bytes() -> None:
    batch = _batch(s=pa.array(["abcde", "ééé", "ab"]), k=pa.array(["x", "y", "z"], pa.large_string()))
    target = _target(TargetField("s", "VARCHAR", "s", max_length=5), TargetField("k", "VARCHAR", "k", max_length=1))
    assert _both(batch, target) == {1: "field 's': 6 bytes exceed max_length 5"}
    _values_pass_intact(batch, target, {1})


def test_arrays_of_narrow_integers_must_fit_their_element_type() -> None:
    batch = _batch(a=pa.array([[1, 2], [300], [], None], pa.list_(pa.int64())))
    target = _target(TargetField("a", "ARRAY", "a", element_type="INT8", max_capacity=4, nullable=True))
    assert _both(batch, target) == {1: "field 'a': an element is out of range for INT8"}
    _values_pass_intact(batch, target, {1})


def test_a_list_of_json_texts_becomes_one_json_array_and_must_parse() -> None:
    rows = pa.array([['{"a": 1}', "2"], ['{"a"'], ["3", None], None], pa.list_(pa.string()))
    target = _target(TargetField("r", "JSON", "r", nullable=True))
    reasons = _both(_batch(r=rows), target)
    assert reasons[1].startswith("field 'r': invalid JSON (") and set(reasons) == {1, 2}
    assert reasons[2] == "field 'r': a list of JSON texts holds a null"
    assert [r["r"] for r in insert_rows(_batch(r=rows), target).rows] == ['[{"a": 1},2]', None]
    staged = ParquetBatches(target).stage(_batch(r=rows)).batch.column("r").to_pylist()
    assert staged == ['[{"a": 1},2]', None]
