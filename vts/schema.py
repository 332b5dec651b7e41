"""vts's logical schema: what a source discovers and a sink converts.

Logical types follow SeaTunnel's so the Milvus mapping reads the
same as VTS's. Each type has one Arrow representation (``arrow_type``), which
is what readers put in their RecordBatches:

- vectors: FixedSizeList<float32>[dim]; binary vectors FixedSizeBinary[dim/8];
  float16/bfloat16 FixedSizeBinary[2*dim]; int8 vectors FixedSizeList<int8>.
- sparse vectors: struct<indices: list<uint32>, values: list<float32>>.
- JSON, MAP and ROW: a string holding JSON text (what Milvus's Parquet import
  and insert both accept, and it keeps Arrow free of open-ended structs).
- DATE/TIME: strings; TIMESTAMP(_TZ): timestamp[us] (UTC for _TZ); GEOMETRY: WKT.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import pyarrow as pa


class LType(StrEnum):
    BOOLEAN = "BOOLEAN"
    TINYINT = "TINYINT"
    SMALLINT = "SMALLINT"
    INT = "INT"
    BIGINT = "BIGINT"
    FLOAT = "FLOAT"
    DOUBLE = "DOUBLE"
    DECIMAL = "DECIMAL"
    STRING = "STRING"
    JSON = "JSON"
    MAP = "MAP"
    ROW = "ROW"
    ARRAY = "ARRAY"
    FLOAT_VECTOR = "FLOAT_VECTOR"
    BINARY_VECTOR = "BINARY_VECTOR"
    FLOAT16_VECTOR = "FLOAT16_VECTOR"
    BFLOAT16_VECTOR = "BFLOAT16_VECTOR"
    INT8_VECTOR = "INT8_VECTOR"
    SPARSE_FLOAT_VECTOR = "SPARSE_FLOAT_VECTOR"
    TIMESTAMP = "TIMESTAMP"
    TIMESTAMP_TZ = "TIMESTAMP_TZ"
    DATE = "DATE"
    TIME = "TIME"
    GEOMETRY = "GEOMETRY"

    @property
    def is_vector(self) -> bool:
        return self.name.endswith("_VECTOR")

    @property
    def is_integer(self) -> bool:
        return self in (LType.TINYINT, LType.SMALLINT, LType.INT, LType.BIGINT)


# The column of JSON objects whose keys a source keeps outside its declared fields (Milvus's dynamic field; a
# Chroma, Pinecone or Qdrant source's metadata); a sink with dynamic fields spreads its keys into each row.
DYNAMIC_FIELD = "$meta"

SPARSE_ARROW = pa.struct([pa.field("indices", pa.list_(pa.uint32())), pa.field("values", pa.list_(pa.float32()))])

# Arrow integers as vts integers: unsigned ones take the next wider type, so every value fits; uint64 has none
# wider and reads as BIGINT (a value past 2**63-1 is the reading connector's coded error)
ARROW_INTEGERS: dict[pa.DataType, LType] = {
    pa.int8(): LType.TINYINT,
    pa.int16(): LType.SMALLINT,
    pa.int32(): LType.INT,
    pa.int64(): LType.BIGINT,
    pa.uint8(): LType.SMALLINT,
    pa.uint16(): LType.INT,
    pa.uint32(): LType.BIGINT,
    pa.uint64(): LType.BIGINT,
}

_SCALAR_ARROW: dict[LType, pa.DataType] = {
    LType.BOOLEAN: pa.bool_(),
    LType.TINYINT: pa.int8(),
    LType.SMALLINT: pa.int16(),
    LType.INT: pa.int32(),
    LType.BIGINT: pa.int64(),
    LType.FLOAT: pa.float32(),
    LType.DOUBLE: pa.float64(),
    LType.DECIMAL: pa.float64(),
    LType.STRING: pa.string(),
    LType.JSON: pa.string(),
    LType.MAP: pa.string(),
    LType.ROW: pa.string(),
    LType.TIMESTAMP: pa.timestamp("us"),
    LType.TIMESTAMP_TZ: pa.timestamp("us", tz="UTC"),
    LType.DATE: pa.string(),
    LType.TIME: pa.string(),
    LType.GEOMETRY: pa.string(),
    LType.SPARSE_FLOAT_VECTOR: SPARSE_ARROW,
}


@dataclass(frozen=True)
class Field:
    """One column as the source knows it."""

    name: str
    type: LType
    nullable: bool = False
    default: Any = None
    primary_key: bool = False
    auto_id: bool = False
    partition_key: bool = False
    max_length: int | None = None
    dimension: int | None = None
    element_type: LType | None = None
    max_capacity: int | None = None
    description: str = ""
    # Connector-specific details a like-for-like sink may keep (analyzers, ...).
    params: dict[str, Any] = field(default_factory=dict)

    def arrow_type(self) -> pa.DataType:
        t = self.type
        if t in _SCALAR_ARROW:
            return _SCALAR_ARROW[t]
        if t == LType.ARRAY:
            if self.element_type is None:
                raise ValueError(f"field {self.name!r}: ARRAY needs an element_type")
            return pa.list_(Field(self.name, self.element_type).arrow_type())
        dim = self.dimension or 0
        if t == LType.FLOAT_VECTOR:
            return pa.list_(pa.float32(), dim)
        if t == LType.INT8_VECTOR:
            return pa.list_(pa.int8(), dim)
        if t == LType.BINARY_VECTOR:
            return pa.binary(dim // 8)
        if t in (LType.FLOAT16_VECTOR, LType.BFLOAT16_VECTOR):
            return pa.binary(dim * 2)
        raise ValueError(f"field {self.name!r}: no Arrow type for {t}")

    def with_(self, **changes: Any) -> Field:
        return replace(self, **changes)


@dataclass(frozen=True)
class IndexSpec:
    field: str
    index_type: str = "AUTOINDEX"
    metric_type: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    name: str | None = None


@dataclass(frozen=True)
class TableSchema:
    """A table/collection as discovered on the source (driver side)."""

    name: str
    fields: tuple[Field, ...]
    description: str = ""
    enable_dynamic_field: bool = False
    partitions: tuple[str, ...] = ()
    indexes: tuple[IndexSpec, ...] = ()
    properties: dict[str, Any] = field(default_factory=dict)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def primary_keys(self) -> list[Field]:
        return [f for f in self.fields if f.primary_key]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(f.name, f.arrow_type(), nullable=f.nullable) for f in self.fields])

    def with_(self, **changes: Any) -> TableSchema:
        return replace(self, **changes)
