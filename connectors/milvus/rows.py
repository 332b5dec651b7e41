"""Arrow batches -> Milvus insert rows.

:func:`~vts.connectors.milvus.validate.validate` first picks out the rows Milvus
would refuse (the same verdict, with the same reasons, as the bulk path), so
a bad row is rejected with its reason and the rest of the batch is written.
The good rows are converted column-wise (by each type's insert encoder,
:mod:`vts.connectors.milvus.types`); rows are assembled once at the end because
that is the payload MilvusClient takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from vts.connectors.milvus.target import TargetCollection, TargetField
from vts.connectors.milvus.validate import validate
from vts.schema import DYNAMIC_FIELD


@dataclass
class InsertRows:
    rows: list[dict[str, Any]]
    rejected: list[dict[str, Any]]  # the source rows, as Python values
    reasons: list[str]


def insert_rows(batch: pa.RecordBatch, target: TargetCollection) -> InsertRows:
    verdict = validate(batch, target)
    good = verdict.good_rows(batch)
    columns = {f.name: _column(_plain(good.column(f.source)), f) for f in target.fields if f.source is not None}
    dynamic = {name: good.column(name).to_pylist() for name in target.dynamic_sources if name in good.schema.names}
    meta = (
        good.column(DYNAMIC_FIELD).to_pylist()
        if target.enable_dynamic_field and DYNAMIC_FIELD in good.schema.names
        else None
    )

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
    return InsertRows(rows, verdict.rejected_rows(batch), verdict.reasons)


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _column(arr: pa.Array, f: TargetField) -> list[Any]:
    return f.dtype.spec.insert(arr, f)
