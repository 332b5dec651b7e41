"""Arrow batches -> the Parquet layout Milvus's import reads, column by column.

The layout is the one pymilvus's BulkWriter writes (and Milvus 2.3.4+
reads), derived from the target collection, never from the source:

=====================  ==========================================================
Milvus type            Parquet column
=====================  ==========================================================
Bool .. Double         bool, int8/16/32/64, float32/64
VarChar, Geometry      string (Geometry as WKT)
JSON                   string holding JSON text
Array                  list<element type>
FloatVector            list<float32> (not fixed_size_list: Milvus 2.3 rejects it)
Binary/F16/BF16Vector  list<uint8> (the raw bytes)
Int8Vector             list<int8>
SparseFloatVector      string ``{"indices": [...], "values": [...]}``
Timestamptz            string, ISO 8601
dynamic field          ``$meta`` string holding a JSON object
=====================  ==========================================================

An auto-id primary key and function outputs (BM25) are left out: Milvus fills
them. Rows Milvus would refuse are found first by
:func:`~connectors.milvus.validate.validate` (the same verdict, with the same
reasons, as the insert path) and handed back as rejects, so one bad row never
fails a whole import job; only the good rows are converted. The only per-row
Python work is the rare nested dynamic value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from connectors.milvus.target import TargetCollection, TargetField
from connectors.milvus.validate import META, validate

_SCALARS: dict[str, pa.DataType] = {
    "BOOL": pa.bool_(),
    "INT8": pa.int8(),
    "INT16": pa.int16(),
    "INT32": pa.int32(),
    "INT64": pa.int64(),
    "FLOAT": pa.float32(),
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "JSON": pa.string(),
    "GEOMETRY": pa.string(),
    "TIMESTAMPTZ": pa.string(),
    "SPARSE_FLOAT_VECTOR": pa.string(),
    "FLOAT_VECTOR": pa.list_(pa.float32()),
    "BINARY_VECTOR": pa.list_(pa.uint8()),
    "FLOAT16_VECTOR": pa.list_(pa.uint8()),
    "BFLOAT16_VECTOR": pa.list_(pa.uint8()),
    "INT8_VECTOR": pa.list_(pa.int8()),
}


def staged_fields(target: TargetCollection) -> list[TargetField]:
    """Target fields that appear in the files: not an auto id, not a function output."""
    outputs = {name for fn in target.functions for name in fn.get("output_field_names", ())}
    return [f for f in target.fields if f.source is not None and not f.auto_id and f.name not in outputs]


def parquet_schema(target: TargetCollection) -> pa.Schema:
    fields = []
    for f in staged_fields(target):
        if f.dtype == "ARRAY":
            typ = pa.list_(_SCALARS[f.element_type or "INT64"])
        elif f.dtype in _SCALARS:
            typ = _SCALARS[f.dtype]
        else:
            raise ValueError(f"field '{f.name}': Milvus type {f.dtype} cannot be bulk imported from Parquet")
        fields.append(pa.field(f.name, typ, nullable=True))
    if target.enable_dynamic_field:
        fields.append(pa.field(META, pa.string(), nullable=True))
    return pa.schema(fields)


@dataclass
class Prepared:
    batch: pa.RecordBatch  # in the Parquet layout, good rows only
    rejected: list[dict]  # source rows as Python values
    reasons: list[str]


class Converter:
    """Converts source batches of one target collection (reused for every batch of a split)."""

    def __init__(self, target: TargetCollection) -> None:
        self.target = target
        self.fields = staged_fields(target)
        self.schema = parquet_schema(target)

    def convert(self, batch: pa.RecordBatch) -> Prepared:
        verdict = validate(batch, self.target)
        good = verdict.good_rows(batch)
        columns = [_column(_plain(good.column(f.source)), f) for f in self.fields]
        if self.target.enable_dynamic_field:
            columns.append(_meta(good, self.target))
        out = pa.RecordBatch.from_arrays(columns, schema=self.schema)
        return Prepared(out, verdict.rejected_rows(batch), verdict.reasons)


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _column(arr: pa.Array, f: TargetField) -> pa.Array:
    dtype = f.dtype
    if dtype == "FLOAT_VECTOR":
        return _vector(arr, f.dim or 0, pa.float32())
    if dtype == "INT8_VECTOR":
        return _vector(arr, f.dim or 0, pa.int8())
    if dtype in ("BINARY_VECTOR", "FLOAT16_VECTOR", "BFLOAT16_VECTOR"):
        return _bytes_vector(arr, (f.dim or 0) // 8 if dtype == "BINARY_VECTOR" else 2 * (f.dim or 0))
    if dtype == "SPARSE_FLOAT_VECTOR":
        return _sparse(arr)
    if dtype == "JSON":
        return _json(arr)
    if dtype == "ARRAY":
        return pc.cast(arr, pa.list_(_SCALARS[f.element_type or "INT64"]))
    if dtype == "TIMESTAMPTZ":
        return _timestamp(arr)
    return pc.cast(arr, _SCALARS[dtype])


def _offsets(n: int, width: int) -> pa.Array:
    return pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))


def _null_mask(arr: pa.Array) -> pa.Array | None:
    return arr.is_null() if arr.null_count else None


def _vector(arr: pa.Array, dim: int, value_type: pa.DataType) -> pa.Array:
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


def _sparse(arr: pa.Array) -> pa.Array:
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


def _json(arr: pa.Array) -> pa.Array:
    if pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    if (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)) and pa.types.is_string(arr.type.value_type):
        # ARRAY<ROW> arrives as a list of JSON texts: one JSON array per row
        return pc.binary_join_element_wise("[", pc.binary_join(arr, ","), "]", "")
    if not pa.types.is_string(arr.type):
        texts = [None if v is None else orjson.dumps(v, default=str).decode() for v in arr.to_pylist()]
        return pa.array(texts, pa.string())
    return arr


def _timestamp(arr: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(arr.type):
        if arr.type.tz is None:
            arr = pc.assume_timezone(arr, "UTC")
        text = pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S.%f%z")  # tz-aware: rendered in UTC
        return text
    return pc.cast(arr, pa.string())


# -- dynamic field ------------------------------------------------------------------------------

_ESCAPES = [("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"), ("\b", "\\b"), ("\f", "\\f")]
_ESCAPES += [(chr(c), f"\\u{c:04x}") for c in range(0x20) if chr(c) not in "\n\r\t\b\f"]


def _json_string(arr: pa.Array) -> pa.Array:
    """Strings -> JSON string literals, vectorised (one pass per escaped character)."""
    for raw, escaped in _ESCAPES:
        arr = pc.replace_substring(arr, raw, escaped)
    return pc.binary_join_element_wise('"', arr, '"', "")


def _json_value(arr: pa.Array) -> pa.Array:
    """Any column -> JSON texts (null stays null, so the key is left out)."""
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _json_string(pc.cast(arr, pa.string()))
    if pa.types.is_boolean(t) or pa.types.is_integer(t):
        return pc.cast(pc.cast(arr, pa.string()), pa.string())
    if pa.types.is_floating(t):
        finite = pc.is_finite(arr)
        return pc.if_else(finite, pc.cast(arr, pa.string()), pa.scalar(None, pa.string()))
    texts = [None if v is None else orjson.dumps(v, default=str).decode() for v in arr.to_pylist()]
    return pa.array(texts, pa.string())


def _meta(batch: pa.RecordBatch, target: TargetCollection) -> pa.Array:
    """The ``$meta`` column: the source's own ``$meta`` object merged with columns kept as dynamic keys."""
    n = batch.num_rows
    pieces: list[pa.Array] = []
    if META in batch.schema.names:
        meta = _plain(batch.column(META))
        if not pa.types.is_string(meta.type):
            meta = _json_value(meta)
        # '{a}' -> 'a': a string $meta holds a JSON object (validated)
        inner = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(meta), 1, -1)
        inner = pc.if_else(pc.equal(pc.utf8_trim_whitespace(inner), ""), pa.scalar(None, pa.string()), inner)
        pieces.append(inner)
    for name in target.dynamic_sources:
        if name not in batch.schema.names:
            continue
        value = _json_value(_plain(batch.column(name)))
        key = orjson.dumps(name).decode() + ":"
        pieces.append(pc.binary_join_element_wise(key, value, ""))  # null value -> null piece -> key left out
    if not pieces:
        return pa.array(["{}"] * n, pa.string())
    body = pc.binary_join_element_wise(*pieces, ",", null_handling="skip") if len(pieces) > 1 else pieces[0]
    return pc.binary_join_element_wise("{", pc.fill_null(body, ""), "}", "")
