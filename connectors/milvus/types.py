"""The Milvus field types vts knows: one member of :class:`MilvusType` each, carrying all vts knows of it.

A member's value is pymilvus's ``DataType`` name (``VARCHAR``), so it compares equal to that string,
pickles and goes into JSON as it. Its :class:`TypeSpec` says:

=================  ==========================================================================
display            the name a user writes in ``field_schema`` (``VarChar``, ``FloatVector``)
reads_as           the vts type a source field of this type becomes (Milvus source)
made_from          the vts types the schema mapping writes as this type (Milvus sink)
parquet            the Arrow type of its column in the Parquet files the Import API reads
insert / stage     a column of good rows -> insert values / -> that Parquet column
decode             values ``MilvusClient.query`` returns -> an Arrow column (``reads_as`` layout)
same               whether a value vts wrote equals the value Milvus returns (``vts verify``)
since / lite       the oldest Milvus server that holds it; whether Milvus Lite does
element            whether an Array may hold it
metric             the default index metric of a vector type
=================  ==========================================================================

Adding a Milvus type is adding a member here (and, if Milvus refuses some of its values, a check in
:mod:`vts.connectors.milvus.validate`); ``tests/test_milvus_types.py`` checks that every member round-trips.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pyarrow as pa

from vts.connectors.milvus import codecs as c
from vts.schema import LType


@dataclass(frozen=True)
class TypeSpec:
    display: str
    reads_as: LType
    made_from: tuple[LType, ...]
    parquet: pa.DataType | None  # None: an Array, whose column is a list of its element's type
    insert: Callable[[pa.Array, Any], list[Any]] = c.insert_plain
    stage: Callable[[pa.Array, Any], pa.Array] = c.stage_cast
    decode: Callable[[list[Any], Any], pa.Array] = c.decode_plain
    same: Callable[[Any, Any, Any], bool] = c.same_plain
    since: tuple[int, int] = (2, 3)
    lite: bool = True
    element: bool = False
    metric: str | None = None


def _vector(display: str, ltype: LType, parquet: pa.DataType, **kw: Any) -> TypeSpec:
    return TypeSpec(display, ltype, (ltype,), parquet, metric=kw.pop("metric", "COSINE"), **kw)


class MilvusType(StrEnum):
    spec: TypeSpec

    def __new__(cls, value: str, spec: TypeSpec) -> MilvusType:
        member = str.__new__(cls, value)
        member._value_ = value
        member.spec = spec
        return member

    BOOL = "BOOL", TypeSpec("Bool", LType.BOOLEAN, (LType.BOOLEAN,), pa.bool_(), element=True)
    INT8 = "INT8", TypeSpec("Int8", LType.TINYINT, (LType.TINYINT,), pa.int8(), element=True)
    INT16 = "INT16", TypeSpec("Int16", LType.SMALLINT, (LType.SMALLINT,), pa.int16(), element=True)
    INT32 = "INT32", TypeSpec("Int32", LType.INT, (LType.INT,), pa.int32(), element=True)
    INT64 = "INT64", TypeSpec("Int64", LType.BIGINT, (LType.BIGINT,), pa.int64(), element=True)
    FLOAT = "FLOAT", TypeSpec("Float", LType.FLOAT, (LType.FLOAT,), pa.float32(), same=c.same_float32, element=True)
    DOUBLE = "DOUBLE", TypeSpec("Double", LType.DOUBLE, (LType.DOUBLE, LType.DECIMAL), pa.float64(), element=True)
    VARCHAR = (
        "VARCHAR",
        TypeSpec(
            "VarChar",
            LType.STRING,
            (LType.STRING, LType.DATE, LType.TIME),
            pa.string(),
            insert=c.insert_varchar,
            element=True,
        ),
    )
    JSON = (
        "JSON",
        TypeSpec(
            "JSON",
            LType.JSON,
            (LType.JSON, LType.MAP, LType.ROW),
            pa.string(),
            insert=c.insert_json,
            stage=c.stage_json,
            decode=c.decode_json,
            same=c.same_json,
        ),
    )
    ARRAY = "ARRAY", TypeSpec("Array", LType.ARRAY, (LType.ARRAY,), None, same=c.same_array)
    FLOAT_VECTOR = (
        "FLOAT_VECTOR",
        _vector(
            "FloatVector",
            LType.FLOAT_VECTOR,
            pa.list_(pa.float32()),  # not fixed_size_list: Milvus 2.3 rejects it
            insert=c.insert_float_vector,
            stage=c.stage_float_vector,
            decode=c.decode_float_vector,
            same=c.same_float32,
        ),
    )
    BINARY_VECTOR = (
        "BINARY_VECTOR",
        _vector(
            "BinaryVector",
            LType.BINARY_VECTOR,
            pa.list_(pa.uint8()),
            stage=c.stage_binary_vector,
            decode=c.decode_bytes,
            same=c.same_bytes,
            lite=False,
            metric="HAMMING",
        ),
    )
    FLOAT16_VECTOR = (
        "FLOAT16_VECTOR",
        _vector(
            "Float16Vector",
            LType.FLOAT16_VECTOR,
            pa.list_(pa.uint8()),
            stage=c.stage_half_vector,
            decode=c.decode_bytes,
            same=c.same_bytes,
            since=(2, 4),
            lite=False,
        ),
    )
    BFLOAT16_VECTOR = (
        "BFLOAT16_VECTOR",
        _vector(
            "BFloat16Vector",
            LType.BFLOAT16_VECTOR,
            pa.list_(pa.uint8()),
            stage=c.stage_half_vector,
            decode=c.decode_bytes,
            same=c.same_bytes,
            since=(2, 4),
            lite=False,
        ),
    )
    INT8_VECTOR = (
        "INT8_VECTOR",
        _vector(
            "Int8Vector",
            LType.INT8_VECTOR,
            pa.list_(pa.int8()),
            insert=c.insert_int8_vector,
            stage=c.stage_int8_vector,
            decode=c.decode_int8_vector,
            same=c.same_float32,
            since=(2, 6),
            lite=False,
        ),
    )
    SPARSE_FLOAT_VECTOR = (
        "SPARSE_FLOAT_VECTOR",
        _vector(
            "SparseFloatVector",
            LType.SPARSE_FLOAT_VECTOR,
            pa.string(),  # {"indices": [...], "values": [...]}
            insert=c.insert_sparse,
            stage=c.stage_sparse,
            decode=c.decode_sparse,
            same=c.same_sparse,
            since=(2, 4),
            metric="IP",
        ),
    )
    GEOMETRY = (
        "GEOMETRY",
        TypeSpec("Geometry", LType.GEOMETRY, (LType.GEOMETRY,), pa.string(), same=c.same_wkt, since=(2, 6)),
    )
    TIMESTAMPTZ = (
        "TIMESTAMPTZ",
        TypeSpec(
            "Timestamptz",
            LType.TIMESTAMP_TZ,
            (LType.TIMESTAMP, LType.TIMESTAMP_TZ),
            pa.string(),  # ISO 8601
            insert=c.insert_timestamptz,
            stage=c.stage_timestamptz,
            decode=c.decode_timestamptz,
            same=c.same_instant,
            since=(2, 6),
        ),
    )

    @property
    def is_vector(self) -> bool:
        return self.spec.metric is not None

    @property
    def display(self) -> str:
        return self.spec.display

    @property
    def parquet(self) -> pa.DataType | None:
        return self.spec.parquet

    def datatype(self) -> Any:  # -> pymilvus.DataType
        from pymilvus import DataType

        return DataType[self.value]

    def refusal(self, lite: bool, major_minor: tuple[int, int]) -> str | None:
        """Why a server (Milvus Lite, or a server of this version) cannot hold a field of this type."""
        if lite and not self.spec.lite:
            return f"{self.value} is not supported by Milvus Lite"
        if major_minor < self.spec.since:
            return f"{self.value} needs Milvus {self.spec.since[0]}.{self.spec.since[1]}+"
        return None

    @classmethod
    def named(cls, name: str) -> MilvusType | None:
        """The member for a pymilvus ``DataType`` name; ``STRING`` is what old servers call VarChar."""
        return _ALIASES.get(name) or cls.__members__.get(name)

    @classmethod
    def from_display(cls, display: str) -> MilvusType:
        return _BY_DISPLAY[display]

    @classmethod
    def made_from_ltype(cls, ltype: LType) -> MilvusType | None:
        """The type the schema mapping writes a vts type as; None when Milvus has no equivalent."""
        return _BY_LTYPE.get(ltype)

    @classmethod
    def read_as(cls, ltype: LType) -> MilvusType | None:
        """The Milvus type a source field read as ``ltype`` came from (the Milvus source's tables only)."""
        return _BY_READS_AS.get(ltype)


_ALIASES = {"STRING": MilvusType.VARCHAR}
_BY_DISPLAY = {t.display: t for t in MilvusType}
_BY_LTYPE = {ltype: t for t in MilvusType for ltype in t.spec.made_from}
_BY_READS_AS = {t.spec.reads_as: t for t in MilvusType}
DISPLAY_NAMES = tuple(t.display for t in MilvusType)  # what field_schema accepts, in this order
