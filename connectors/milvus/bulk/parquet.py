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
:func:`~vts.connectors.milvus.validate.validate` (the same verdict, with the same
reasons, as the insert path) and handed back as rejects, so one bad row never
fails a whole import job; only the good rows are converted. The only per-row
Python work is the rare nested dynamic value.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from vts.connectors.milvus.target import TargetCollection, TargetField
from vts.connectors.milvus.types import MilvusType
from vts.connectors.milvus.validate import validate
from vts.schema import DYNAMIC_FIELD


def staged_fields(target: TargetCollection) -> list[TargetField]:
    """Target fields that appear in the files: not an auto id, not a function output."""
    outputs = {name for fn in target.functions for name in fn.get("output_field_names", ())}
    return [f for f in target.fields if f.source is not None and not f.auto_id and f.name not in outputs]


def parquet_schema(target: TargetCollection) -> pa.Schema:
    fields = []
    for f in staged_fields(target):
        if f.dtype is MilvusType.ARRAY:
            typ = pa.list_((f.element_type or MilvusType.INT64).parquet)
        elif f.dtype.parquet is not None:
            typ = f.dtype.parquet
        else:
            raise ValueError(f"field '{f.name}': Milvus type {f.dtype} cannot be bulk imported from Parquet")
        fields.append(pa.field(f.name, typ, nullable=True))
    if target.enable_dynamic_field:
        fields.append(pa.field(DYNAMIC_FIELD, pa.string(), nullable=True))
    return pa.schema(fields)


@dataclass
class StagedBatch:
    batch: pa.RecordBatch  # in the Parquet layout, good rows only
    rejected: list[dict]  # source rows as Python values
    reasons: list[str]


# Dense vectors are written uncompressed: embeddings hardly compress (snappy saved 0.3 % on seeded 768-d float32
# vectors) and compressing them cost vts ~1.3 CPU s per 100 000 rows, and Milvus the decompression on import.
_UNCOMPRESSED = {
    MilvusType.FLOAT_VECTOR, MilvusType.FLOAT16_VECTOR, MilvusType.BFLOAT16_VECTOR,
    MilvusType.BINARY_VECTOR, MilvusType.INT8_VECTOR,
}  # fmt: skip


class ParquetBatches:
    """Source batches of one target collection -> its Parquet layout (reused for every batch of a split)."""

    def __init__(self, target: TargetCollection) -> None:
        self.target = target
        self.fields = staged_fields(target)
        self.schema = parquet_schema(target)
        dense = {f.name for f in self.fields if f.dtype in _UNCOMPRESSED}
        # pyarrow takes per-column codecs by leaf path (a list's values are "<name>.list.element") and
        # leaves a column it does not find uncompressed
        self.compression = {
            f"{f.name}.list.element" if pa.types.is_list(f.type) else f.name: "NONE" if f.name in dense else "SNAPPY"
            for f in self.schema
        }

    def stage(self, batch: pa.RecordBatch) -> StagedBatch:
        verdict = validate(batch, self.target)
        good = verdict.good_rows(batch)
        columns = [_column(_plain(good.column(f.source)), f) for f in self.fields]
        if self.target.enable_dynamic_field:
            columns.append(_meta(good, self.target))
        out = pa.RecordBatch.from_arrays(columns, schema=self.schema)
        return StagedBatch(out, verdict.rejected_rows(batch), verdict.reasons)


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _column(arr: pa.Array, f: TargetField) -> pa.Array:
    return f.dtype.spec.stage(arr, f)


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
    if DYNAMIC_FIELD in batch.schema.names:
        meta = _plain(batch.column(DYNAMIC_FIELD))
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
