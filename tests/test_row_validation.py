"""Rows Milvus would refuse are rejected one by one, each with its reason; the rest of the batch goes on."""

from __future__ import annotations

import pyarrow as pa

from connectors.milvus.rows import convert_batch
from connectors.milvus.target import TargetCollection, TargetField
from vts.schema import SPARSE_ARROW


def _target(*fields: TargetField) -> TargetCollection:
    return TargetCollection("t", "t", (TargetField("id", "INT64", "id", is_primary=True), *fields))


def _reasons(batch: pa.RecordBatch, target: TargetCollection) -> dict[int, str]:
    got = convert_batch(batch, target)
    assert len(got.rows) + len(got.rejected) == batch.num_rows
    return {r["id"]: reason for r, reason in zip(got.rejected, got.reasons, strict=True)}


def test_bad_sparse_vectors_are_rejected_with_their_reason() -> None:
    sparse = pa.array(
        [{"indices": [1], "values": [0.5]}, None, {"indices": [], "values": []},
         {"indices": [3], "values": [-1.0]}, {"indices": [4], "values": [float("nan")]}],
        SPARSE_ARROW,
    )  # fmt: skip
    batch = pa.RecordBatch.from_arrays([pa.array(range(5), pa.int64()), sparse], names=["id", "s"])
    reasons = _reasons(batch, _target(TargetField("s", "SPARSE_FLOAT_VECTOR", "s", nullable=True)))
    assert reasons == {
        1: "field 's': null sparse vector",
        2: "field 's': empty sparse vector",
        3: "field 's': sparse weights must be finite and not negative",
        4: "field 's': sparse weights must be finite and not negative",
    }


def test_arrays_over_capacity_with_long_or_null_elements_are_rejected() -> None:
    tags = pa.array([["ab"], ["abcdefg"], ["x", None], list("abcdef"), None], pa.list_(pa.string()))
    batch = pa.RecordBatch.from_arrays([pa.array(range(5), pa.int64()), tags], names=["id", "tags"])
    field = TargetField("tags", "ARRAY", "tags", element_type="VARCHAR", max_length=5, max_capacity=4, nullable=True)
    assert _reasons(batch, _target(field)) == {
        1: "field 'tags': an element exceeds max_length 5",
        2: "field 'tags': arrays cannot hold null elements",
        3: "field 'tags': 6 elements exceed max_capacity 4",
    }


def test_non_finite_numbers_long_strings_and_nulls_in_required_fields_are_rejected() -> None:
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array(range(4), pa.int64()),
            pa.array([1.0, float("inf"), 2.0, 3.0]),
            pa.array(["ok", "ok", "données", None]),
        ],
        names=["id", "d", "s"],
    )
    target = _target(TargetField("d", "DOUBLE", "d"), TargetField("s", "VARCHAR", "s", max_length=5))
    assert _reasons(batch, target) == {
        1: "field 'd': inf is not a finite number",
        2: "field 's': 8 bytes exceed max_length 5",
        3: "field 's' is not nullable but the value is null",
    }
