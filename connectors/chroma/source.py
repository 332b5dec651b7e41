"""The Chroma source connector: discovery, offset-range splits, readers."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from vts.connector import Position, Source, Split
from vts.connectors.chroma import schema
from vts.connectors.chroma.client import call, collection, connect
from vts.connectors.chroma.options import ChromaOptions
from vts.connectors.chroma.reader import read_split
from vts.schema import TableSchema


class ChromaSource(Source):
    """Chroma collections (a folder or a server); splits are offset ranges of get(), resumable at every page."""

    name = "Chroma"
    doc = (
        "Chroma collections from a PersistentClient folder or a Chroma server: ids, embeddings, documents, "
        "metadata into the dynamic field; the collection's space as the index metric; parallel offset splits."
    )
    Options = ChromaOptions
    options: ChromaOptions

    def discover(self) -> list[TableSchema]:
        with connect(self.options) as client:
            return [schema.describe(client, self.options, n) for n in schema.collection_names(client, self.options)]

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> list[Split]:
        pieces = self.options.parallelism or parallelism
        out: list[Split] = []
        with connect(self.options) as client:
            for table in tables:
                col = collection(client, self.options, table.name)
                total = call(self.options, f"counting '{table.name}'", col.count, collection=table.name)
                size = max(1, -(-total // pieces))
                for start in range(0, max(total, 1), size):
                    stop = min(total, start + size)
                    spec = {"start": start, "stop": stop, "total": total}
                    out.append(Split(f"{table.name}/{start}..{stop}", table.name, None, stop - start, spec))
        return out

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        with connect(self.options) as client:
            col = collection(client, self.options, table.name)
            yield from read_split(col, self.options, table, split.spec, position)
