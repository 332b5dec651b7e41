"""Every Milvus type in the registry round-trips: through its own encoders and decoders, and, where Milvus Lite
holds the type, through a real collection (insert, query back, compare)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest

from tests.conftest import client_for
from vts.connectors.milvus.bulk.parquet import parquet_schema
from vts.connectors.milvus.catalog import MilvusCatalog
from vts.connectors.milvus.options import MILVUS_TYPES, MilvusSinkOptions
from vts.connectors.milvus.rows import insert_rows
from vts.connectors.milvus.target import TargetCollection, TargetField
from vts.connectors.milvus.types import MilvusType
from vts.schema import Field, LType

DIM = 4  # vector dimension; a multiple of 8 for binary vectors is given below
TWO_ROWS: dict[MilvusType, list[Any]] = {
    MilvusType.BOOL: [True, False],
    MilvusType.INT8: [-128, 127],
    MilvusType.INT16: [-(2**15), 2**15 - 1],
    MilvusType.INT32: [-(2**31), 2**31 - 1],
    MilvusType.INT64: [-(2**63), 2**63 - 1],
    MilvusType.FLOAT: [1.5, -0.25],
    MilvusType.DOUBLE: [1e300, -2.5],
    MilvusType.VARCHAR: ["a", 'ü "quoted"'],
    MilvusType.JSON: ['{"a":1}', "[1,2]"],
    MilvusType.ARRAY: [[1, 2], [3]],
    MilvusType.FLOAT_VECTOR: [[0.5, 1.0, -2.0, 0.0], [1.0, 2.0, 3.0, 4.0]],
    MilvusType.BINARY_VECTOR: [b"\x01", b"\xff"],
    MilvusType.FLOAT16_VECTOR: [np.arange(DIM, dtype=np.float16).tobytes(), np.ones(DIM, np.float16).tobytes()],
    MilvusType.BFLOAT16_VECTOR: [b"\x80\x3f" * DIM, b"\x00\x40" * DIM],  # 1.0 and 2.0 in bfloat16
    MilvusType.INT8_VECTOR: [[1, -2, 3, -128], [127, 0, 0, 1]],
    MilvusType.SPARSE_FLOAT_VECTOR: [
        {"indices": [1, 5], "values": [0.5, 1.0]},
        {"indices": [0], "values": [2.0]},
    ],
    MilvusType.GEOMETRY: ["POINT (1 2)", "POINT (-3.5 4)"],
    MilvusType.TIMESTAMPTZ: [datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(1999, 12, 31, 23, 59, tzinfo=UTC)],
}


def _source_field(t: MilvusType) -> Field:
    """The vts field a Milvus source reads a field of type ``t`` as."""
    dim = 8 if t is MilvusType.BINARY_VECTOR else DIM
    return Field(
        "x",
        t.spec.reads_as,
        dimension=dim if t.is_vector and t is not MilvusType.SPARSE_FLOAT_VECTOR else None,
        element_type=LType.INT if t is MilvusType.ARRAY else None,
        max_capacity=8 if t is MilvusType.ARRAY else None,
    )


def _target_field(t: MilvusType, source: Field) -> TargetField:
    return TargetField(
        "x",
        t,
        "x",
        source_type=source.type,
        dim=source.dimension,
        max_length=64 if t is MilvusType.VARCHAR else None,
        element_type=MilvusType.INT32 if t is MilvusType.ARRAY else None,
        max_capacity=8 if t is MilvusType.ARRAY else None,
    )


def _collection(name: str, t: MilvusType) -> tuple[TargetCollection, pa.RecordBatch, Field]:
    source = _source_field(t)
    fields: list[TargetField] = [TargetField("id", MilvusType.INT64, "id", is_primary=True)]
    if not t.is_vector:  # Milvus needs a vector field in every collection
        fields.append(TargetField("v", MilvusType.FLOAT_VECTOR, "v", dim=2))
    fields.append(_target_field(t, source))
    target = TargetCollection(name, name, tuple(fields))
    columns = {
        "id": pa.array([1, 2], pa.int64()),
        "v": pa.array([[1.0, 0.0], [0.0, 1.0]], pa.list_(pa.float32(), 2)),
        "x": pa.array(TWO_ROWS[t], source.arrow_type()),
    }
    return target, pa.RecordBatch.from_pydict({f.source: columns[f.source] for f in fields}), source


def test_every_member_is_found_by_each_of_its_names() -> None:
    assert [t.display for t in MilvusType] == MILVUS_TYPES
    for t in MilvusType:
        assert MilvusType.named(t.value) is t
        assert MilvusType.from_display(t.display) is t
        assert MilvusType.read_as(t.spec.reads_as) is t
        assert all(MilvusType.made_from_ltype(ltype) is t for ltype in t.spec.made_from)
        assert t.datatype().name == t.value  # pymilvus knows it by the same name
    assert MilvusType.named("STRING") is MilvusType.VARCHAR  # what old servers call VarChar
    assert MilvusType.named("STRUCT") is None


def test_every_member_has_sample_rows() -> None:
    assert set(TWO_ROWS) == set(MilvusType)


@pytest.mark.parametrize("t", list(MilvusType), ids=str)
def test_a_value_written_compares_equal_as_returned_and_stages_in_its_parquet_type(t: MilvusType) -> None:
    target, batch, _ = _collection("c", t)
    rows = insert_rows(batch, target)
    assert not rows.reasons  # the validator passes every sample
    field = target.fields[-1]
    for row in rows.rows:  # as Milvus returns it: JSON parsed, everything else as sent
        returned = orjson.loads(row["x"]) if t is MilvusType.JSON else row["x"]
        assert t.spec.same(row["x"], returned, field)
    staged = t.spec.stage(batch.column("x"), field)
    assert staged.type == parquet_schema(target).field("x").type
    assert len(staged) == 2 and not staged.null_count


LITE_TYPES = [t for t in MilvusType if t.refusal(lite=True, major_minor=(2, 6)) is None]


@pytest.mark.parametrize("t", LITE_TYPES, ids=str)
def test_every_lite_type_inserts_reads_back_and_compares_equal(t: MilvusType, lite_server: str) -> None:
    name = f"types_{t.value.lower()}"
    target, batch, source = _collection(name, t)
    options = MilvusSinkOptions(url=lite_server)
    catalog = MilvusCatalog(options, {name: target})
    client = client_for(lite_server)
    try:
        if catalog.exists(name):
            catalog.drop(name)
        catalog.create(name)
        written = insert_rows(batch, target).rows
        client.insert(name, written)
        client.load_collection(name)
        got = sorted(client.query(name, filter="id > 0", output_fields=["id", "x"], consistency_level="Strong"),
                     key=lambda r: r["id"])  # fmt: skip
        assert [r["id"] for r in got] == [1, 2]
        field = target.fields[-1]
        assert all(t.spec.same(w["x"], g["x"], field) for w, g in zip(written, got))
        decoded = t.spec.decode([r["x"] for r in got], source)
        assert decoded.type == source.arrow_type()
        if t is not MilvusType.GEOMETRY:  # servers print WKT numbers their own way (same() allows for it)
            assert decoded.to_pylist() == batch.column("x").to_pylist()
    finally:
        catalog.close()
        client.close()
