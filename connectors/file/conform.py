"""A batch as a file holds it -> the batch ``table.arrow_schema()`` describes (on workers).

Vectors become FixedSizeList<float32>; a row whose vector has another length
keeps its own (the batch then carries list<float32>), so the sink refuses that
row with its reason instead of the whole file failing. Nested values (structs,
maps, lists of structs) become JSON text; a JSON text column of numbers such as
``"[0.1, 0.2]"`` (CSV) becomes a vector when the table says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from vts.schema import Field, LType, TableSchema


def conform(batch: pa.RecordBatch, table: TableSchema) -> pa.RecordBatch:
    columns, fields = [], []
    names = batch.schema.names
    for f in table.fields:
        want = f.arrow_type()
        # a column absent from this file's lines is null in them
        col = _column(batch.column(names.index(f.name)), f, want) if f.name in names else pa.nulls(batch.num_rows, want)
        columns.append(col)
        fields.append(pa.field(f.name, col.type, nullable=f.nullable))
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))


def _column(col: pa.Array, f: Field, want: pa.DataType) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if col.type == want:
        return col
    t = f.type
    if t in (LType.FLOAT_VECTOR, LType.INT8_VECTOR):
        return _vector(col, f.dimension or 0, want.value_type)
    if t in (LType.JSON, LType.MAP, LType.ROW):
        return _json(col)
    if t == LType.ARRAY and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return pa.array(_parsed(col), want)
    if t in (LType.DATE, LType.TIME):
        return pc.cast(col, pa.string())
    return pc.cast(col, want)


def _vector(col: pa.Array, dim: int, value_type: pa.DataType) -> pa.Array:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = pa.array(_parsed(col), pa.list_(pa.float64()))
    if pa.types.is_fixed_size_list(col.type) and col.type.list_size == dim:
        return pa.FixedSizeListArray.from_arrays(
            pc.cast(col.flatten(), value_type), dim, mask=col.is_null() if col.null_count else None
        )
    lengths = pc.list_value_length(col)
    if col.null_count == 0 and pc.all(pc.equal(lengths, dim)).as_py():
        values = pc.cast(pc.list_flatten(col), value_type)
        return pa.FixedSizeListArray.from_arrays(values, dim)
    return pc.cast(col, pa.list_(value_type))  # rows of other lengths go on, for the sink to refuse


def _parsed(col: pa.Array) -> list[Any]:
    return [None if v is None else orjson.loads(v) for v in col.to_pylist()]


def _json(col: pa.Array) -> pa.Array:
    if pa.types.is_string(col.type):
        return col
    if pa.types.is_large_string(col.type):
        return pc.cast(col, pa.string())
    texts = [None if v is None else orjson.dumps(v, default=_default).decode() for v in col.to_pylist()]
    return pa.array(texts, pa.string())


def _default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)
