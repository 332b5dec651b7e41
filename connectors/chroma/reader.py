"""Reading one split: ``get(offset, limit)`` pages -> Arrow batches, with a resumable position.

Why offsets are safe here (chromadb 1.5.9, ``rust/segment/src/sqlite_metadata.rs``,
``SqliteMetadataReader::get``): a local or single-node Chroma answers ``get`` with
``SELECT ... FROM embeddings WHERE segment_id = ? ORDER BY embeddings.id ASC
LIMIT ? OFFSET ?``, ``embeddings.id`` being the integer row id every record
receives when it is added. The order is total and fixed for a collection that is
not written to, so the ranges ``[start, stop)`` of one run's splits cover every
record once. A record added later gets a higher id (it lands after every
split's range); a delete shifts the records behind it. Either changes the count,
which each reader checks against the count the splits were cut from, before
and after reading (CHROMA-09), so a moving collection stops the job instead of
skipping or doubling records.

The position after a batch is ``{"offset": n}``, the offset of the next record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from vts.connectors.chroma.client import call
from vts.connectors.chroma.errors import ChromaError, Code
from vts.connectors.chroma.options import ChromaOptions
from vts.connectors.chroma.schema import COLUMNS, EMBEDDING, META
from vts.schema import TableSchema

INCLUDE = ["embeddings", "documents", "metadatas"]


def read_split(
    col: Any, options: ChromaOptions, table: TableSchema, spec: dict[str, Any], position: Any = None
) -> Iterator[tuple[pa.RecordBatch, Any]]:
    name = table.name
    start, stop, total = spec["start"], spec["stop"], spec["total"]
    if position is not None:
        if not isinstance(position, dict) or not isinstance(position.get("offset"), int):
            raise ChromaError(Code.READ_DATA_FAIL, f"cannot resume a split of '{name}' from {position!r}")
        start = position["offset"]
    _same_count(col, options, name, total)
    schema = table.arrow_schema()
    offset = start
    while offset < stop:
        limit = min(options.batch_size, stop - offset)
        page = call(
            options,
            f"reading '{name}' at offset {offset}",
            col.get,
            offset=offset,
            limit=limit,
            include=INCLUDE,
            collection=name,
        )
        got = len(page["ids"])
        if got != limit:
            _same_count(col, options, name, total)
            raise ChromaError(Code.READ_DATA_FAIL, f"'{name}': {got} records at offset {offset}, {limit} expected")
        offset += got
        yield _batch(page, schema, table), {"offset": offset}
    _same_count(col, options, name, total)


def _same_count(col: Any, options: ChromaOptions, name: str, total: int) -> None:
    now = call(options, f"counting '{name}'", col.count, collection=name)
    if now != total:
        raise ChromaError(
            Code.COLLECTION_CHANGED,
            f"collection '{name}' changed while it was read: {total} records planned, {now} now",
            hint="stop writes to the collection during the migration, then run the job again with --fresh",
        )


def _batch(page: dict[str, Any], schema: pa.Schema, table: TableSchema) -> pa.RecordBatch:
    dim = schema.field(EMBEDDING).type.list_size
    embeddings = np.asarray(page["embeddings"], dtype=np.float32)
    if embeddings.ndim != 2 or embeddings.shape[1] != dim:
        raise ChromaError(
            Code.READ_DATA_FAIL,
            f"collection '{table.name}' holds embeddings of another dimension than {dim} (shape {embeddings.shape})",
        )
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(embeddings.reshape(-1), pa.float32()), dim)
    metadata = [_metadata(m, table, rid) for m, rid in zip(page["metadatas"], page["ids"])]
    arrays = [pa.array(page["ids"], pa.string()), vectors, pa.array(page["documents"], pa.string())]
    arrays.append(pa.array(metadata, pa.string()))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _metadata(meta: dict[str, Any] | None, table: TableSchema, rid: str) -> str | None:
    if not meta:
        return None
    if table.enable_dynamic_field and table.fields[-1].name == META:
        clash = sorted(set(COLUMNS).intersection(meta))
        if clash:
            raise ChromaError(
                Code.METADATA_CONFLICT,
                f"collection '{table.name}': record '{rid}' has metadata key(s) {clash} named like a column, "
                "which the target's dynamic field cannot hold beside it",
                hint="set 'metadata_column: metadata' to keep the metadata as one JSON column",
            )
    try:
        return orjson.dumps(meta, default=_plain).decode()
    except TypeError as exc:
        raise ChromaError(
            Code.NOT_SUPPORT_TYPE, f"collection '{table.name}': record '{rid}': metadata value not carried ({exc})"
        ) from None


def _plain(value: Any) -> Any:
    # chromadb 1.x metadata may hold a SparseVector (a dataclass of indices and values)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
