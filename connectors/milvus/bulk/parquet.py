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
them. Rows Milvus would refuse (nulls in a non-nullable field, NaN in a
vector, a VarChar over max_length, an invalid JSON text...) are found with
vectorised checks and handed back as rejects, so one bad row never fails a
whole import job. The only per-row Python work is JSON validation (one
``orjson.loads`` per value) and the rare nested dynamic value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from connectors.milvus.rows import META
from connectors.milvus.target import TargetCollection, TargetField

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
        n = batch.num_rows
        bad = np.zeros(n, dtype=bool)
        reasons: dict[int, str] = {}

        def reject(mask: np.ndarray, why: str | list[str]) -> None:
            for i in np.flatnonzero(mask & ~bad):
                reasons[int(i)] = why if isinstance(why, str) else why[int(i)]
            bad[:] |= mask

        columns: list[pa.Array] = []
        for f in self.fields:
            if f.source not in batch.schema.names:
                raise KeyError(f"source column '{f.source}' for field '{f.name}' is missing from the batch")
            columns.append(_column(_plain(batch.column(f.source)), f, reject))
        if self.target.enable_dynamic_field:
            columns.append(_meta(batch, self.target, reject))

        out = pa.RecordBatch.from_arrays(columns, schema=self.schema)
        if not bad.any():
            return Prepared(out, [], [])
        keep = pa.array(~bad)
        rows = batch.filter(pa.array(bad)).to_pylist()
        return Prepared(out.filter(keep), rows, [reasons[int(i)] for i in np.flatnonzero(bad)])


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _mask(arr: pa.Array) -> np.ndarray:
    """A boolean Array (nulls as False) as numpy."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _column(arr: pa.Array, f: TargetField, reject) -> pa.Array:
    if arr.null_count and not (f.nullable or f.default is not None):
        reject(_mask(arr.is_null()), f"field '{f.name}' is not nullable but the value is null")
    dtype = f.dtype
    if dtype == "FLOAT_VECTOR":
        return _vector(arr, f, reject, pa.float32(), check_finite=True)
    if dtype == "INT8_VECTOR":
        return _vector(arr, f, reject, pa.int8(), check_finite=False)
    if dtype in ("BINARY_VECTOR", "FLOAT16_VECTOR", "BFLOAT16_VECTOR"):
        return _bytes_vector(arr, f, reject)
    if dtype == "SPARSE_FLOAT_VECTOR":
        return _sparse(arr, f, reject)
    if dtype == "JSON":
        return _json(arr, f, reject)
    if dtype == "ARRAY":
        return _array(arr, f, reject)
    if dtype == "TIMESTAMPTZ":
        return _timestamp(arr)
    out = pc.cast(arr, _SCALARS[dtype])
    if dtype == "VARCHAR" and f.max_length is not None:
        lengths = pc.fill_null(pc.binary_length(out), 0).to_numpy(zero_copy_only=False)
        over = lengths > f.max_length
        if over.any():
            reject(over, f"field '{f.name}': value exceeds max_length {f.max_length} bytes")
    elif dtype in ("FLOAT", "DOUBLE") and len(out):
        values = out.to_numpy(zero_copy_only=False)
        finite = np.isfinite(np.nan_to_num(values, nan=np.inf)) | _mask(out.is_null())
        if not finite.all():
            reject(~finite, f"field '{f.name}': value is not a finite number")
    return out


def _offsets(n: int, width: int) -> pa.Array:
    return pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))


def _vector(arr: pa.Array, f: TargetField, reject, value_type: pa.DataType, check_finite: bool) -> pa.Array:
    n, dim = len(arr), f.dim or 0
    if pa.types.is_fixed_size_list(arr.type):
        if arr.type.list_size != dim:
            reject(np.ones(n, dtype=bool), f"field '{f.name}': dimension {arr.type.list_size}, target expects {dim}")
            return pa.nulls(n, pa.list_(value_type))
        filled = arr.fill_null(pa.scalar([0] * dim, arr.type)) if arr.null_count else arr
        values = pc.cast(filled.flatten(), value_type)
        lengths_ok = np.ones(n, dtype=bool)
    else:  # variable-length lists: every row must have the dimension
        lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
        lengths_ok = lengths == dim
        if not lengths_ok.all():
            reject(~lengths_ok & ~_mask(arr.is_null()), f"field '{f.name}': dimension differs from {dim}")
        # rebuild fixed-width rows (bad rows zero-filled; they are filtered out afterwards)
        flat = pc.cast(pc.list_flatten(arr), value_type).to_numpy(zero_copy_only=False)
        matrix = np.zeros((n, dim), dtype=flat.dtype)
        if lengths_ok.any():
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            rows = np.flatnonzero(lengths_ok)
            idx = starts[rows, None] + np.arange(dim)[None, :]
            matrix[rows] = flat[idx]
        values = pa.array(matrix.reshape(-1))
    if check_finite and n:
        matrix = values.to_numpy(zero_copy_only=False).reshape(n, dim)
        finite = np.isfinite(matrix).all(axis=1) | ~lengths_ok
        if not finite.all():
            reject(~finite, f"field '{f.name}': vector holds NaN or infinity")
    return pa.ListArray.from_arrays(_offsets(n, dim), values)


def _bytes_vector(arr: pa.Array, f: TargetField, reject) -> pa.Array:
    n = len(arr)
    width = (f.dim or 0) // 8 if f.dtype == "BINARY_VECTOR" else 2 * (f.dim or 0)
    if pa.types.is_fixed_size_binary(arr.type) and arr.type.byte_width == width:
        data = np.frombuffer(arr.buffers()[1], dtype=np.uint8)[arr.offset * width : (arr.offset + n) * width]
        if arr.null_count:
            data = data.copy()
        return pa.ListArray.from_arrays(_offsets(n, width), pa.array(data, pa.uint8()))
    lengths = pc.fill_null(pc.binary_length(pc.cast(arr, pa.binary())), -1).to_numpy(zero_copy_only=False)
    ok = lengths == width
    if not ok.all():
        reject(~ok & ~_mask(arr.is_null()), f"field '{f.name}': byte length differs from {width} (dimension {f.dim})")
    fixed = pc.if_else(pa.array(ok), pc.cast(arr, pa.binary()), pa.scalar(b"\0" * width))
    return _bytes_vector(pc.cast(fixed, pa.binary(width)), f, reject)


def _json_numbers(values: pa.Array) -> pa.Array:
    """list<number> -> 'a,b,c' strings (Arrow prints floats in shortest round-trip form)."""
    texts = pc.cast(values.values if isinstance(values, pa.ListArray) else pc.list_flatten(values), pa.string())
    as_lists = pa.ListArray.from_arrays(values.offsets, texts)
    return pc.binary_join(as_lists, ",")


def _sparse(arr: pa.Array, f: TargetField, reject) -> pa.Array:
    if pa.types.is_map(arr.type):  # map<uint32, float32>
        indices = pa.ListArray.from_arrays(arr.offsets, arr.keys)
        values = pa.ListArray.from_arrays(arr.offsets, arr.items)
    else:
        indices, values = arr.field("indices"), arr.field("values")
        if arr.offset or indices.offset:  # struct children ignore the parent's slice
            indices, values = pc.struct_field(arr, "indices"), pc.struct_field(arr, "values")
    empty = pc.fill_null(pc.list_value_length(indices), 0).to_numpy(zero_copy_only=False) == 0
    if empty.any():
        reject(empty & ~_mask(arr.is_null()), f"field '{f.name}': empty sparse vector")
    text = pc.binary_join_element_wise(
        '{"indices":[', _json_numbers(indices), '],"values":[', _json_numbers(values), "]}", ""
    )
    if arr.null_count:
        text = pc.if_else(arr.is_null(), pa.scalar(None, pa.string()), text)
    return text


def _validate_json(texts: pa.Array, name: str, reject) -> None:
    reasons: list[str] = [""] * len(texts)
    bad = np.zeros(len(texts), dtype=bool)
    for i, v in enumerate(texts.to_pylist()):
        if v is None:
            continue
        try:
            orjson.loads(v)
        except orjson.JSONDecodeError as exc:
            bad[i] = True
            reasons[i] = f"field '{name}': invalid JSON ({exc})"
    if bad.any():
        reject(bad, reasons)


def _json(arr: pa.Array, f: TargetField, reject) -> pa.Array:
    if pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    if (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)) and pa.types.is_string(arr.type.value_type):
        # ARRAY<ROW> arrives as a list of JSON texts: one JSON array per row
        joined = pc.binary_join_element_wise("[", pc.binary_join(arr, ","), "]", "")
        _validate_json(joined, f.name, reject)
        return joined
    if not pa.types.is_string(arr.type):
        texts = [None if v is None else orjson.dumps(v, default=str).decode() for v in arr.to_pylist()]
        return pa.array(texts, pa.string())
    _validate_json(arr, f.name, reject)
    return arr


def _array(arr: pa.Array, f: TargetField, reject) -> pa.Array:
    elem = _SCALARS[f.element_type or "INT64"]
    cap = f.max_capacity or 4096
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
    if (lengths > cap).any():
        reject(lengths > cap, f"field '{f.name}': more than max_capacity {cap} elements")
    flat = pc.list_flatten(arr)
    if flat.null_count:
        parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
        has_null = np.zeros(len(arr), dtype=bool)
        has_null[parents[_mask(flat.is_null())]] = True
        reject(has_null, f"field '{f.name}': arrays cannot hold null elements")
    if f.element_type == "VARCHAR" and f.max_length and len(flat):
        parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
        long = pc.fill_null(pc.binary_length(pc.cast(flat, pa.string())), 0).to_numpy(zero_copy_only=False)
        over = np.zeros(len(arr), dtype=bool)
        over[parents[long > f.max_length]] = True
        if over.any():
            reject(over, f"field '{f.name}': an element exceeds max_length {f.max_length}")
    return pc.cast(arr, pa.list_(elem))


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


def _meta(batch: pa.RecordBatch, target: TargetCollection, reject) -> pa.Array:
    """The ``$meta`` column: the source's own ``$meta`` object merged with columns kept as dynamic keys."""
    n = batch.num_rows
    pieces: list[pa.Array] = []
    if META in batch.schema.names:
        meta = _plain(batch.column(META))
        if not pa.types.is_string(meta.type):
            meta = _json_value(meta)
        else:
            _validate_json(meta, META, reject)
        inner = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(meta), 1, -1)  # '{a}' -> 'a'
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
