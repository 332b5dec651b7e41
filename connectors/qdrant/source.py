from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from vts.connector import Position, Source, Split
from vts.connectors.qdrant import schema, splits
from vts.connectors.qdrant.client import connect
from vts.connectors.qdrant.options import QdrantSourceOptions
from vts.connectors.qdrant.reader import read_split
from vts.schema import TableSchema


class QdrantSource(Source):
    """Qdrant collections (server or local mode); splits are id ranges, resumable at every scroll page."""

    name = "Qdrant"
    doc = (
        "Qdrant collections from a server (REST or gRPC) or a local-mode folder: dense, named and sparse "
        "vectors, payload into the dynamic field (nulls kept) or typed columns; parallel id-range splits."
    )
    Options = QdrantSourceOptions
    options: QdrantSourceOptions

    def process_bound(self) -> str | None:
        if not self.options.path:
            return None
        return (
            f"the Qdrant local-mode folder {self.options.path} can be open in one process only; "
            "run a Qdrant server on it and set 'url' (or 'host') instead of 'path'"
        )

    def discover(self) -> list[TableSchema]:
        with connect(self.options) as handle:
            names = schema.list_collections(handle, self.options)
            return [schema.describe(handle, self.options, name) for name in names]

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> list[Split]:
        pieces = self.options.parallelism or parallelism
        out: list[Split] = []
        with connect(self.options) as handle:
            for table in tables:
                total = splits.count(handle, table.name)
                cuts = splits.cut_points(handle, table.name, pieces, total)
                for start, stop, rows in splits.ranges(cuts, total):
                    sid = f"{table.name}/{_bound(start, 'first')}..{_bound(stop, 'end')}"
                    out.append(Split(sid, table.name, None, rows, {"start": start, "stop": stop}))
        return out

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        with connect(self.options) as handle:
            yield from read_split(handle, self.options, table, split.spec["start"], split.spec["stop"], position)


def _bound(value: object, default: str) -> str:
    return default if value is None else str(value)
