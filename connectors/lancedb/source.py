"""The LanceDB source connector: discovery by Arrow type, fragment splits, readers pinned to one version.

Splits: one per fragment (a Lance table's unit of storage), ``{table}/f{id}``.
A table with fewer fragments than the parallelism has each fragment cut into
equal row ranges, ``{table}/f{id}@{start}..{stop}``. A split reads its
fragment at the table version its splits were cut at, with ``fragment.scanner(offset,
limit)``; offsets count the fragment's live rows (deleted rows are skipped by
lance), in storage order, so the ranges of one fragment cover it once.

The position after a batch is ``{"offset": n}``: the row (of the fragment) the
next batch starts at.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from vts.connector import Position, Source, Split
from vts.connectors.lancedb import types
from vts.connectors.lancedb.dataset import open_dataset, table_uris
from vts.connectors.lancedb.errors import Code, LanceDBError, wrap
from vts.connectors.lancedb.options import LanceDBOptions
from vts.schema import Field, IndexSpec, LType, TableSchema

KEY_TYPES = (LType.TINYINT, LType.SMALLINT, LType.INT, LType.BIGINT, LType.STRING)
METRICS = {"l2": "L2", "euclidean": "L2", "cosine": "COSINE", "dot": "IP", "ip": "IP", "hamming": "HAMMING"}


class LanceDBSource(Source):
    """LanceDB tables or a Lance dataset, local or on S3; fragments as splits, resumable at every batch."""

    name = "LanceDB"
    doc = (
        "LanceDB tables (a local folder or s3://) or one Lance dataset: vector and scalar columns by Arrow "
        "type; one split per fragment, every split read at one table version, resumable by row."
    )
    Options = LanceDBOptions
    options: LanceDBOptions

    def discover(self) -> list[TableSchema]:
        out = []
        for name, uri in table_uris(self.options).items():
            ds = open_dataset(self.options, name, uri)
            out.append(self._describe(name, ds))
        return out

    def _describe(self, name: str, ds: Any) -> TableSchema:
        fields = [types.field_for(f, name) for f in ds.schema]
        key = self.options.primary_key
        names = [f.name for f in fields]
        if key is not None and key not in names:
            raise LanceDBError(
                Code.INVALID_PARAM,
                f"primary_key '{key}' is not a column of table '{name}' (columns: {names})",
                hint="set 'primary_key' to one of the table's columns, or leave it out",
            )
        key = key or ("id" if "id" in names else None)
        if key is not None:
            i = names.index(key)
            if fields[i].type not in KEY_TYPES:
                raise LanceDBError(
                    Code.NOT_SUPPORT_TYPE,
                    f"table '{name}': column '{key}' ({fields[i].type}) cannot be a Milvus primary key",
                    hint="set 'primary_key' to an integer or string column",
                )
            fields[i] = fields[i].with_(primary_key=True, nullable=False)
        metrics = self._metrics(ds)
        indexes = tuple(
            IndexSpec(f.name, metric_type=self.options.metric or metrics.get(f.name) or _default_metric(f))
            for f in fields
            if f.type.is_vector
        )
        return TableSchema(name=name, fields=tuple(fields), description=f"LanceDB table {name}", indexes=indexes)

    def _metrics(self, ds: Any) -> dict[str, str]:
        """Column -> the metric of its vector index, where the table has one."""
        out: dict[str, str] = {}
        try:
            described = ds.describe_indices()
        except Exception:  # no index API or no index: the default metric applies
            return out
        for index in described:
            metric = _metric_of(index)
            for column in getattr(index, "field_names", None) or []:
                if metric:
                    out[column] = metric
        return out

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> list[Split]:
        pieces = self.options.parallelism or parallelism
        uris = table_uris(self.options)
        out: list[Split] = []
        for table in tables:
            uri = uris[table.name]
            ds = open_dataset(self.options, table.name, uri)
            frags = [(f.fragment_id, f.count_rows()) for f in ds.get_fragments()]
            frags = [(fid, rows) for fid, rows in frags if rows]
            cut = max(1, -(-pieces // max(1, len(frags))))
            for fid, rows in frags:
                size = -(-rows // cut)
                for start in range(0, rows, size):
                    stop = min(rows, start + size)
                    sid = f"{table.name}/f{fid}" if cut == 1 else f"{table.name}/f{fid}@{start}..{stop}"
                    spec = {"uri": uri, "version": ds.version, "fragment": fid, "start": start, "stop": stop}
                    out.append(Split(sid, table.name, None, stop - start, spec))
        return out

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        spec = split.spec
        start, stop = spec["start"], spec["stop"]
        if position is not None:
            if not isinstance(position, dict) or not isinstance(position.get("offset"), int):
                raise LanceDBError(Code.READ_DATA_FAIL, f"cannot resume split {split.id} from {position!r}")
            start = position["offset"]
        if start >= stop:
            return
        ds = open_dataset(self.options, table.name, spec["uri"], spec["version"])
        fragment = ds.get_fragment(spec["fragment"])
        if fragment is None:
            raise LanceDBError(
                Code.VERSION_GONE,
                f"fragment {spec['fragment']} of '{table.name}' is gone",
                hint="run the job again with --fresh",
            )
        schema = table.arrow_schema()
        where = self.options.where()
        try:
            batches = fragment.to_batches(
                columns=schema.names, offset=start, limit=stop - start, batch_size=self.options.batch_size
            )
            offset = start
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                offset += batch.num_rows
                yield _shape(batch, table, schema), {"offset": offset}
        except LanceDBError:
            raise
        except Exception as exc:
            raise wrap(exc, f"reading split {split.id}", where, table.name) from None
        if offset != stop:
            raise LanceDBError(
                Code.READ_DATA_FAIL, f"split {split.id}: read up to row {offset}, the split ends at {stop}"
            )


def _shape(batch: pa.RecordBatch, table: TableSchema, schema: pa.Schema) -> pa.RecordBatch:
    arrays = [types.cast_column(batch.column(f.name), f, schema.field(f.name).type, table.name) for f in table.fields]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _default_metric(f: Field) -> str:
    return "HAMMING" if f.type == LType.BINARY_VECTOR else "L2"


def _metric_of(index: Any) -> str | None:
    for attr in ("metric_type", "metric", "distance_type"):
        value = getattr(index, attr, None)
        if isinstance(value, str) and value.lower() in METRICS:
            return METRICS[value.lower()]
    details = getattr(index, "details", None)
    if isinstance(details, dict):
        for attr in ("metric_type", "distance_type", "metric"):
            value = details.get(attr)
            if isinstance(value, str) and value.lower() in METRICS:
                return METRICS[value.lower()]
    return None
