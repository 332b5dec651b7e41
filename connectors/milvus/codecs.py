"""How values of each Milvus type move: Arrow -> insert rows, Arrow -> Parquet, query results -> Arrow, and
whether a value written equals the value read back.

Pure functions of values and the field's parameters; :mod:`vts.connectors.milvus.types` picks them per Milvus
type, so no other module dispatches on a type. A function here gets rows the validator passed
(:mod:`vts.connectors.milvus.validate`): a FloatVector has ``dim`` elements, a sparse vector is not null.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from vts.connectors.milvus.target import TargetField
    from vts.schema import Field

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", re.I)


def is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


# -- insert: a column of good rows -> the Python values MilvusClient.insert takes ---------------------------


def insert_plain(arr: pa.Array, f: TargetField) -> list[Any]:
    """Numbers, arrays, byte vectors (bytes), Geometry (WKT)."""
    return arr.to_pylist()


def insert_float_vector(arr: pa.Array, f: TargetField) -> list[Any]:
    return _vectors(arr, f.dim or 0, np.float32)


def insert_int8_vector(arr: pa.Array, f: TargetField) -> list[Any]:
    return _vectors(arr, f.dim or 0, np.int8)


def _vectors(arr: pa.Array, dim: int, dtype: Any) -> list[Any]:
    """One numpy row per vector, views of a single matrix; None for a null vector."""
    flat = pc.list_flatten(arr)  # null rows hold no elements; every other row has `dim` of them (validated)
    matrix = flat.to_numpy(zero_copy_only=False).astype(dtype, copy=False).reshape(len(arr) - arr.null_count, dim)
    if not arr.null_count:
        return list(matrix)
    out: list[Any] = [None] * len(arr)
    for i, row in zip(np.flatnonzero(arr.is_valid().to_numpy(zero_copy_only=False)).tolist(), matrix):
        out[i] = row
    return out


def insert_sparse(arr: pa.Array, f: TargetField) -> list[dict[int, float]]:
    """struct<indices, values> (vts's sparse layout) or map<index, value> -> {index: value} per row (none null)."""
    if pa.types.is_struct(arr.type):
        return [dict(zip(v["indices"], v["values"])) for v in arr.to_pylist()]
    return [dict(v) for v in arr.to_pylist()]


def insert_json(arr: pa.Array, f: TargetField) -> list[Any]:
    t = arr.type
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and is_text(t.value_type):
        # ARRAY<ROW> arrives as a list of JSON texts: one JSON array per row
        return [None if v is None else "[" + ",".join(v) + "]" for v in arr.to_pylist()]
    if not is_text(t):
        return [None if v is None else orjson.dumps(v, default=str).decode() for v in arr.to_pylist()]
    return arr.to_pylist()


def insert_varchar(arr: pa.Array, f: TargetField) -> list[Any]:
    text = arr if is_text(arr.type) else pc.cast(arr, pa.string())
    return text.to_pylist()


def insert_timestamptz(arr: pa.Array, f: TargetField) -> list[Any]:
    return [None if v is None else _iso(v) for v in arr.to_pylist()]


def _iso(value: Any) -> str:
    if getattr(value, "tzinfo", None) is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


# -- stage: a column of good rows -> the Parquet column Milvus's import reads -------------------------------


def stage_cast(arr: pa.Array, f: TargetField) -> pa.Array:
    if f.element_type is not None:  # Array: list<element's Parquet type>
        return pc.cast(arr, pa.list_(f.element_type.parquet))
    return pc.cast(arr, f.dtype.parquet)


def stage_float_vector(arr: pa.Array, f: TargetField) -> pa.Array:
    return _stage_vector(arr, f.dim or 0, pa.float32())


def stage_int8_vector(arr: pa.Array, f: TargetField) -> pa.Array:
    return _stage_vector(arr, f.dim or 0, pa.int8())


def stage_binary_vector(arr: pa.Array, f: TargetField) -> pa.Array:
    return _bytes_vector(arr, (f.dim or 0) // 8)


def stage_half_vector(arr: pa.Array, f: TargetField) -> pa.Array:
    return _bytes_vector(arr, 2 * (f.dim or 0))


def _offsets(n: int, width: int) -> pa.Array:
    return pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))


def _null_mask(arr: pa.Array) -> pa.Array | None:
    return arr.is_null() if arr.null_count else None


def _stage_vector(arr: pa.Array, dim: int, value_type: pa.DataType) -> pa.Array:
    """Every good row has ``dim`` elements (validated); a null vector stays null."""
    if not pa.types.is_fixed_size_list(arr.type):
        return pc.cast(arr, pa.list_(value_type))
    # fixed-size rows: the values are already laid out row after row, only the offsets are new
    filled = arr.fill_null(pa.scalar([0] * dim, arr.type)) if arr.null_count else arr
    values = pc.cast(filled.flatten(), value_type)
    return pa.ListArray.from_arrays(_offsets(len(arr), dim), values, mask=_null_mask(arr))


def _bytes_vector(arr: pa.Array, width: int) -> pa.Array:
    """Raw bytes -> list<uint8>; every good row has ``width`` bytes (validated)."""
    n = len(arr)
    if not n:  # e.g. every row refused for a fixed width other than `width`
        return pa.array([], pa.list_(pa.uint8()))
    if not pa.types.is_fixed_size_binary(arr.type):
        return _bytes_vector(pc.cast(pc.cast(arr, pa.binary()), pa.binary(width)), width)
    data = np.frombuffer(arr.buffers()[1], dtype=np.uint8)[arr.offset * width : (arr.offset + n) * width]
    return pa.ListArray.from_arrays(_offsets(n, width), pa.array(data, pa.uint8()), mask=_null_mask(arr))


def _json_numbers(values: pa.Array) -> pa.Array:
    """list<number> -> 'a,b,c' strings (Arrow prints floats in shortest round-trip form)."""
    texts = pc.cast(values.values if isinstance(values, pa.ListArray) else pc.list_flatten(values), pa.string())
    as_lists = pa.ListArray.from_arrays(values.offsets, texts)
    return pc.binary_join(as_lists, ",")


def stage_sparse(arr: pa.Array, f: TargetField) -> pa.Array:
    """-> ``{"indices": [...], "values": [...]}`` texts (null sparse vectors never get here: validated)."""
    if pa.types.is_map(arr.type):  # map<uint32, float32>
        indices = pa.ListArray.from_arrays(arr.offsets, arr.keys)
        values = pa.ListArray.from_arrays(arr.offsets, arr.items)
    else:
        indices, values = arr.field("indices"), arr.field("values")
        if arr.offset or indices.offset:  # struct children ignore the parent's slice
            indices, values = pc.struct_field(arr, "indices"), pc.struct_field(arr, "values")
    return pc.binary_join_element_wise(
        '{"indices":[', _json_numbers(indices), '],"values":[', _json_numbers(values), "]}", ""
    )


def stage_json(arr: pa.Array, f: TargetField) -> pa.Array:
    if pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    if (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)) and pa.types.is_string(arr.type.value_type):
        # ARRAY<ROW> arrives as a list of JSON texts: one JSON array per row
        return pc.binary_join_element_wise("[", pc.binary_join(arr, ","), "]", "")
    if not pa.types.is_string(arr.type):
        texts = [None if v is None else orjson.dumps(v, default=str).decode() for v in arr.to_pylist()]
        return pa.array(texts, pa.string())
    return arr


def stage_timestamptz(arr: pa.Array, f: TargetField) -> pa.Array:
    if pa.types.is_timestamp(arr.type):
        if arr.type.tz is None:
            arr = pc.assume_timezone(arr, "UTC")
        return pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S.%f%z")  # tz-aware: rendered in UTC
    return pc.cast(arr, pa.string())


# -- decode: what MilvusClient.query returns -> an Arrow column of the field's vts layout ---------------


def decode_plain(values: list[Any], f: Field) -> pa.Array:
    return pa.array(values, f.arrow_type())


def decode_float_vector(values: list[Any], f: Field) -> pa.Array:
    return _decode_dense(values, f, np.float32)


def decode_int8_vector(values: list[Any], f: Field) -> pa.Array:
    return _decode_dense(values, f, np.int8)


def _decode_dense(values: list[Any], f: Field, dtype: Any) -> pa.Array:
    if all(v is not None for v in values):
        flat = np.asarray(values, dtype=dtype).reshape(-1) if values else np.empty(0, dtype)
        return pa.FixedSizeListArray.from_arrays(pa.array(flat), f.dimension)
    return pa.array([None if v is None else list(v) for v in values], f.arrow_type())


def decode_bytes(values: list[Any], f: Field) -> pa.Array:
    return pa.array([_query_bytes(v) for v in values], f.arrow_type())


def _query_bytes(v: Any) -> bytes | None:
    if v is None:
        return None
    if isinstance(v, list):  # pymilvus returns byte vectors wrapped in a one-item list
        v = v[0]
    return bytes(v)


def decode_sparse(values: list[Any], f: Field) -> pa.Array:
    rows = [
        None if v is None else {"indices": [int(k) for k in v], "values": [float(x) for x in v.values()]}
        for v in values
    ]
    return pa.array(rows, f.arrow_type())


def decode_json(values: list[Any], f: Field) -> pa.Array:
    return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], f.arrow_type())


def decode_timestamptz(values: list[Any], f: Field) -> pa.Array:
    return pa.array([None if v is None else _instant(v) for v in values], f.arrow_type())


def _instant(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# -- same: a value vts wrote (an insert row's) against the value Milvus returns (both not null) -------------


def same_plain(want: Any, got: Any, f: TargetField) -> bool:
    return bool(want == got)


def same_float32(want: Any, got: Any, f: TargetField) -> bool:
    return bool(np.array_equal(np.asarray(want, np.float32), np.asarray(got, np.float32)))


def same_bytes(want: Any, got: Any, f: TargetField) -> bool:
    return _raw_bytes(want) == _raw_bytes(got)


def _raw_bytes(value: Any) -> bytes:
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], bytes):
        value = value[0]
    return bytes(value) if not hasattr(value, "tobytes") else value.tobytes()


def same_sparse(want: Any, got: Any, f: TargetField) -> bool:
    return {int(k): np.float32(v) for k, v in want.items()} == {int(k): np.float32(v) for k, v in got.items()}


def same_json(want: Any, got: Any, f: TargetField) -> bool:
    return bool((orjson.loads(want) if isinstance(want, str) else want) == got)


def same_instant(want: Any, got: Any, f: TargetField) -> bool:
    return _instant(want) == _instant(got)


def same_wkt(want: Any, got: Any, f: TargetField) -> bool:
    """Servers print WKT coordinates in their own number format: the shape and the numbers are compared."""
    return (
        _NUMBER.findall(str(want)) == _NUMBER.findall(str(got))
        and str(want).split("(")[0].strip() == str(got).split("(")[0].strip()
    )


def same_array(want: Any, got: Any, f: TargetField) -> bool:
    if f.element_type is not None and f.element_type.value == "FLOAT":
        return same_float32(want, got, f)
    return list(want) == list(got)
