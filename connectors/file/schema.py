"""Arrow types of the files -> vts's logical fields, with the job's ``field_schema`` overrides.

=================================  ===================================================
Arrow type in the file             logical type
=================================  ===================================================
bool, int8..int64, uint8..uint32   BOOLEAN, TINYINT..BIGINT (unsigned: the next wider)
float16/32, float64                FLOAT, DOUBLE
string, large_string               STRING (a CSV column of JSON number lists of one length: FLOAT_VECTOR)
fixed_size_list<float*>[d]         FLOAT_VECTOR(d) (float64 kept as float32: Milvus's FloatVector is float32)
list<float*> of one length d       FLOAT_VECTOR(d) (the length from the sample; other lengths: ARRAY<DOUBLE>)
fixed_size_list<int8>[d]           INT8_VECTOR(d)
list<bool/int/float/string>        ARRAY of that element
struct, map, list<struct>          JSON (the value as JSON text)
timestamp (tz), date, time         TIMESTAMP(_TZ), DATE, TIME
decimal                            DECIMAL
=================================  ===================================================

A string's ``max_length`` is left unset (the sink's ``default_max_length``,
65 535) unless ``field_schema`` sets one: a sample cannot prove the longest
value.
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from vts.connectors.file.errors import Code, FileSourceError
from vts.connectors.milvus.types import MilvusType
from vts.schema import ARROW_INTEGERS, Field, LType

log = logging.getLogger("vts.file")

# field_schema names a Milvus type; the file is read as the vts type a Milvus field of that type reads as
MILVUS_NAMES: dict[str, LType] = {t.display: t.spec.reads_as for t in MilvusType}


def _scalar(t: pa.DataType) -> LType | None:
    if pa.types.is_boolean(t):
        return LType.BOOLEAN
    if t in ARROW_INTEGERS:
        return ARROW_INTEGERS[t]  # uint64 values past 2**63 fail the cast on read with a coded error
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return LType.FLOAT
    if pa.types.is_float64(t):
        return LType.DOUBLE
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return LType.STRING
    if pa.types.is_timestamp(t):
        return LType.TIMESTAMP_TZ if t.tz else LType.TIMESTAMP
    if pa.types.is_date(t):
        return LType.DATE
    if pa.types.is_time(t):
        return LType.TIME
    if pa.types.is_decimal(t):
        return LType.DECIMAL
    return None


def _lengths(column: pa.Array | pa.ChunkedArray | None) -> set[int]:
    if column is None or len(column) == 0:
        return set()
    return {n for n in pc.unique(pc.list_value_length(column)).to_pylist() if n is not None}


def infer(name: str, t: pa.DataType, sample: pa.Array | pa.ChunkedArray | None, where: str) -> Field:
    """A logical field for column ``name`` of Arrow type ``t``; ``sample`` gives list lengths (vectors)."""
    scalar = _scalar(t)
    if scalar is not None:
        return Field(name, scalar, nullable=True)
    if pa.types.is_null(t):
        return Field(name, LType.STRING, nullable=True)  # JSON lines where every sampled value is null
    if pa.types.is_fixed_size_list(t):
        v = t.value_type
        if pa.types.is_floating(v):
            return Field(name, LType.FLOAT_VECTOR, dimension=t.list_size)
        if pa.types.is_int8(v):
            return Field(name, LType.INT8_VECTOR, dimension=t.list_size)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        v = t.value_type
        if pa.types.is_floating(v):
            lengths = _lengths(sample)
            if len(lengths) == 1 and next(iter(lengths)) > 0:
                return Field(name, LType.FLOAT_VECTOR, dimension=next(iter(lengths)))
        element = _scalar(v)
        if element is not None and element not in (LType.TIMESTAMP, LType.TIMESTAMP_TZ, LType.DATE, LType.TIME):
            return Field(name, LType.ARRAY, element_type=element, nullable=True)
        if pa.types.is_struct(v) or pa.types.is_map(v) or pa.types.is_list(v):
            return Field(name, LType.JSON, nullable=True)
    if pa.types.is_struct(t) or pa.types.is_map(t):
        return Field(name, LType.JSON, nullable=True)
    raise FileSourceError(
        Code.NOT_SUPPORT_TYPE,
        f"column '{name}' of {where} has type {t}, which no Milvus field holds",
        hint=f"leave the column out of the files, or give it a type in field_schema ({{field_name: {name}, "
        "data_type: ...}})",
    )


def apply_overrides(fields: list[Field], overrides: list[Any], primary_key: str | None, where: str) -> list[Field]:
    by_name = {f.name: f for f in fields}
    for o in overrides:
        if o.field_name not in by_name:
            raise FileSourceError(
                Code.INVALID_PARAM,
                f"field_schema names '{o.field_name}', which {where} has no column of",
                hint=f"columns: {', '.join(by_name)}",
            )
        f = by_name[o.field_name]
        changes: dict[str, Any] = {}
        if o.data_type:
            changes["type"] = MILVUS_NAMES[o.data_type]
        if o.element_type:
            changes["element_type"] = MILVUS_NAMES[o.element_type]
        for key, attr in (("dimension", "dimension"), ("max_length", "max_length"), ("max_capacity", "max_capacity")):
            if getattr(o, key) is not None:
                changes[attr] = getattr(o, key)
        if o.is_nullable is not None:
            changes["nullable"] = o.is_nullable
        if o.is_primary_key is not None:
            changes["primary_key"] = o.is_primary_key
        by_name[o.field_name] = f.with_(**changes)
    out = list(by_name.values())
    if not any(f.primary_key for f in out):
        key = primary_key or ("id" if "id" in by_name else None)
        if primary_key and primary_key not in by_name:
            raise FileSourceError(
                Code.INVALID_PARAM,
                f"primary_key '{primary_key}' is not a column of {where}",
                hint=f"columns: {', '.join(by_name)}",
            )
        if key is not None:
            out = [f.with_(primary_key=True, nullable=False) if f.name == key else f for f in out]
    for f in out:
        if f.primary_key and f.type not in (LType.BIGINT, LType.INT, LType.SMALLINT, LType.TINYINT, LType.STRING):
            raise FileSourceError(
                Code.NOT_SUPPORT_TYPE,
                f"primary key '{f.name}' of {where} is {f.type}; Milvus keys are Int64 or VarChar",
                hint="pick another column with primary_key, or cast it in field_schema",
            )
        if f.type.is_vector and f.type != LType.SPARSE_FLOAT_VECTOR and not f.dimension:
            raise FileSourceError(
                Code.NOT_SUPPORT_TYPE,
                f"vector column '{f.name}' of {where} has no single length to make its dimension",
                hint=f"set it in field_schema: {{field_name: {f.name}, data_type: FloatVector, dimension: N}}",
            )
    return out


def float64_vectors(fields: list[Field], arrow: pa.Schema) -> list[str]:
    """Vector columns stored as float64: carried as float32, the precision Milvus keeps (said once in the log)."""
    out = []
    for f in fields:
        if f.type == LType.FLOAT_VECTOR and f.name in arrow.names:
            t = arrow.field(f.name).type
            if (pa.types.is_list(t) or pa.types.is_fixed_size_list(t) or pa.types.is_large_list(t)) and (
                pa.types.is_float64(t.value_type)
            ):
                out.append(f.name)
    return out
