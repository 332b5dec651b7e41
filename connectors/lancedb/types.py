"""Arrow types of a Lance table -> vts logical types, and the conversion of each column to its Arrow form.

| Arrow (Lance) | vts | note |
|---|---|---|
| bool | BOOLEAN | |
| int8 / int16 / int32 / int64 | TINYINT / SMALLINT / INT / BIGINT | |
| uint8 / uint16 / uint32 | SMALLINT / INT / BIGINT | widened, exact |
| uint64 | BIGINT | a value above 2^63-1 stops the job (LANCEDB-09) |
| float16 / float32 | FLOAT | |
| float64 | DOUBLE | |
| decimal | DECIMAL (float64) | |
| string / large_string / string_view, dictionary of strings | STRING | |
| timestamp | TIMESTAMP, TIMESTAMP_TZ with a zone | microseconds (nanoseconds truncated) |
| date32 / date64 | DATE (ISO text) | |
| fixed_size_list<float16/32/64>[d] | FLOAT_VECTOR(d) | float64 narrowed to float32 (Milvus FloatVector) |
| fixed_size_list<uint8>[d] | BINARY_VECTOR(8d) | LanceDB's binary vectors |
| fixed_size_list<int8>[d] | INT8_VECTOR(d) | |
| list / large_list of a scalar | ARRAY of it | |
| struct, map, list of lists (multivectors) | JSON text | |
| binary, null, anything else | refused (LANCEDB-04) | |
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from vts.connectors.lancedb.errors import Code, LanceDBError
from vts.schema import ARROW_INTEGERS, Field, LType


def field_for(f: pa.Field, table: str) -> Field:
    """The vts field of one Arrow column (vectors are never nullable: Milvus vector fields cannot be)."""
    t = f.type
    if pa.types.is_fixed_size_list(t):
        v = t.value_type
        if pa.types.is_floating(v):
            return Field(f.name, LType.FLOAT_VECTOR, dimension=t.list_size)
        if v == pa.uint8():
            return Field(f.name, LType.BINARY_VECTOR, dimension=t.list_size * 8)
        if v == pa.int8():
            return Field(f.name, LType.INT8_VECTOR, dimension=t.list_size)
    ltype, element = _scalar(t)
    if ltype is None and (pa.types.is_list(t) or pa.types.is_large_list(t)):
        element, _ = _scalar(t.value_type)
        ltype = LType.ARRAY if element is not None and element != LType.JSON else None
    if ltype is None and (
        pa.types.is_struct(t)
        or pa.types.is_map(t)
        or pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
    ):
        ltype = LType.JSON
    if ltype is None:
        raise LanceDBError(
            Code.NOT_SUPPORT_TYPE,
            f"table '{table}': column '{f.name}' has the Arrow type {t}, which Milvus cannot hold",
            hint="drop or cast the column in LanceDB first (binary columns have no Milvus type)",
        )
    return Field(f.name, ltype, nullable=f.nullable, element_type=element if ltype == LType.ARRAY else None)


def _scalar(t: pa.DataType) -> tuple[LType | None, LType | None]:
    if pa.types.is_dictionary(t):
        return _scalar(t.value_type)
    if pa.types.is_boolean(t):
        return LType.BOOLEAN, None
    if t in ARROW_INTEGERS:
        return ARROW_INTEGERS[t], None
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return LType.FLOAT, None
    if pa.types.is_float64(t):
        return LType.DOUBLE, None
    if pa.types.is_decimal(t):
        return LType.DECIMAL, None
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return LType.STRING, None
    if pa.types.is_timestamp(t):
        return (LType.TIMESTAMP_TZ if t.tz else LType.TIMESTAMP), None
    if pa.types.is_date(t):
        return LType.DATE, None
    return None, None


def cast_column(column: pa.Array, f: Field, want: pa.DataType, table: str) -> pa.Array:
    """One column of a Lance batch in the Arrow type of its vts field."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if f.type == LType.BINARY_VECTOR:
        return _binary(column, want)
    if f.type in (LType.JSON,):
        return pa.array(
            [None if v is None else orjson.dumps(v, default=_plain).decode() for v in column.to_pylist()], pa.string()
        )
    if f.type == LType.DATE:
        return pc.strftime(column.cast(pa.timestamp("s")), "%Y-%m-%d")
    if column.type == want:
        return column
    if pa.types.is_timestamp(want):
        # Milvus keeps microseconds: nanoseconds (pandas' default unit) are truncated, as documented
        return column.cast(want, safe=False)
    try:
        return column.cast(want, safe=True)
    except (pa.ArrowInvalid, OverflowError) as exc:
        raise LanceDBError(
            Code.READ_DATA_FAIL,
            f"table '{table}': column '{f.name}' holds a value that does not fit {want} ({exc})",
            hint="cast the column in LanceDB to a type that holds every value",
        ) from None


def _binary(column: pa.Array, want: pa.DataType) -> pa.Array:
    if column.null_count:
        raise LanceDBError(Code.READ_DATA_FAIL, "a binary vector is null; Milvus vector fields cannot be null")
    values = np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.uint8)
    return pa.FixedSizeBinaryArray.from_buffers(want, len(column), [None, pa.py_buffer(values.tobytes())])


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")
