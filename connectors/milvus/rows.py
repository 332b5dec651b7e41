"""Arrow batches -> Milvus insert rows.

:func:`~connectors.milvus.validate.validate` first picks out the rows Milvus
would refuse (the same verdict, with the same reasons, as the bulk path), so
a bad row is rejected with its reason and the rest of the batch is written.
The good rows are converted column-wise (numpy views for vectors, one
``to_pylist`` per scalar column); rows are assembled once at the end because
that is the payload MilvusClient takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from connectors.milvus.target import TargetCollection, TargetField
from connectors.milvus.validate import META, validate


@dataclass
class Converted:
    rows: list[dict[str, Any]]
    rejected: list[dict[str, Any]]  # the source rows, as Python values
    reasons: list[str]


def convert_batch(batch: pa.RecordBatch, target: TargetCollection) -> Converted:
    verdict = validate(batch, target)
    good = verdict.good_rows(batch)
    columns = {f.name: _column(_plain(good.column(f.source)), f) for f in target.fields if f.source is not None}
    dynamic = {name: good.column(name).to_pylist() for name in target.dynamic_sources if name in good.schema.names}
    meta = good.column(META).to_pylist() if target.enable_dynamic_field and META in good.schema.names else None

    names = list(columns)
    rows = []
    for i, values in enumerate(zip(*columns.values())):
        row = dict(zip(names, values))
        if meta is not None and meta[i]:
            extra = orjson.loads(meta[i]) if isinstance(meta[i], str) else meta[i]
            for key, value in extra.items():
                row.setdefault(key, value)
        for key, col in dynamic.items():
            if col[i] is not None:
                row[key] = col[i]
        rows.append(row)
    return Converted(rows, verdict.rejected_rows(batch), verdict.reasons)


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _column(arr: pa.Array, f: TargetField) -> list[Any]:
    dtype = f.dtype
    if dtype == "FLOAT_VECTOR":
        return _vectors(arr, f.dim or 0, np.float32)
    if dtype == "INT8_VECTOR":
        return _vectors(arr, f.dim or 0, np.int8)
    if dtype == "SPARSE_FLOAT_VECTOR":
        return _sparse(arr)
    if dtype == "JSON":
        return _json(arr)
    if dtype == "VARCHAR":
        text = arr if _is_text(arr.type) else pc.cast(arr, pa.string())
        return text.to_pylist()
    if dtype == "TIMESTAMPTZ":
        return [None if v is None else _iso(v) for v in arr.to_pylist()]
    return arr.to_pylist()  # numbers, arrays, byte vectors (bytes), Geometry (WKT)


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


def _sparse(arr: pa.Array) -> list[dict[int, float]]:
    """struct<indices, values> (vts's sparse layout) or map<index, value> -> {index: value} per row (none null)."""
    if pa.types.is_struct(arr.type):
        return [dict(zip(v["indices"], v["values"])) for v in arr.to_pylist()]
    return [dict(v) for v in arr.to_pylist()]


def _json(arr: pa.Array) -> list[Any]:
    t = arr.type
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and _is_text(t.value_type):
        # ARRAY<ROW> arrives as a list of JSON texts: one JSON array per row
        return [None if v is None else "[" + ",".join(v) + "]" for v in arr.to_pylist()]
    if not _is_text(t):
        return [None if v is None else orjson.dumps(v, default=str).decode() for v in arr.to_pylist()]
    return arr.to_pylist()


def _iso(value: Any) -> str:
    if getattr(value, "tzinfo", None) is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()
