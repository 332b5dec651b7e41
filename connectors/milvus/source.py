"""The Milvus source: every collection of a database (or a chosen few), split as VTS does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from vts.connector import Position, Source, Split
from vts.connectors.milvus.connection import connect, lite_file_bound
from vts.connectors.milvus.discover import describe
from vts.connectors.milvus.errors import Code, MilvusError, wrap
from vts.connectors.milvus.reader import read_split
from vts.connectors.milvus.source_options import MilvusSourceOptions
from vts.connectors.milvus.splits import table_splits
from vts.schema import TableSchema


class MilvusSource(Source):
    name = "Milvus"
    doc = "Milvus or Milvus Lite collections, split per partition and by primary-key range; resumable."
    Options = MilvusSourceOptions
    options: MilvusSourceOptions

    def process_bound(self) -> str | None:
        if not self.options.is_lite_file:
            return None
        return lite_file_bound(self.options.url)

    def discover(self) -> list[TableSchema]:
        if self.options.is_lite_file and not Path(self.options.url).exists():
            # opening a missing Lite file creates an empty one: a mistyped path would read as "no collections"
            raise MilvusError(
                Code.INIT_CLIENT_ERROR,
                f"there is no Milvus Lite file at {self.options.url} to read from",
                hint="check the source's 'url': the path of an existing .db file (or a server's http:// URL)",
            )
        client = connect(self.options)
        try:
            names = self._collections(client)
            tables = [describe(client, n) for n in names]
            for t in tables:
                missing = [p for p in self.options.partitions if p not in t.partitions]
                if self.options.partitions and len(missing) == len(self.options.partitions):
                    raise MilvusError(
                        Code.SHOW_PARTITION_ERROR,
                        f"collection '{t.name}' has none of the partitions {self.options.partitions}",
                        hint=f"its partitions are: {', '.join(t.partitions) or '(partition key: none to choose)'}",
                    )
                self._ensure_loaded(client, t.name)
            return tables
        finally:
            client.close()

    def _collections(self, client: Any) -> list[str]:
        try:
            existing = client.list_collections()
        except Exception as exc:
            raise wrap(
                exc, Code.SHOW_COLLECTIONS_ERROR, f"listing collections of database {self.options.database}"
            ) from None
        if not self.options.collections:
            if not existing:
                raise MilvusError(
                    Code.DATABASE_NO_COLLECTIONS,
                    f"database '{self.options.database}' at {self.options.url} has no collections",
                    hint="check 'url' and 'database'",
                )
            return sorted(existing)
        missing = [c for c in self.options.collections if c not in existing]
        if missing:
            raise MilvusError(
                Code.COLLECTION_NOT_FOUND,
                f"source collection(s) {', '.join(missing)} not found in database '{self.options.database}'",
                hint=f"existing collections: {', '.join(sorted(existing)) or '(none)'}",
            )
        return list(self.options.collections)

    def _ensure_loaded(self, client: Any, name: str) -> None:
        state = str(client.get_load_state(name).get("state", ""))
        if "NotLoad" not in state:
            return
        if not self.options.load_collection:
            raise MilvusError(
                Code.COLLECTION_NOT_LOADED,
                f"source collection '{name}' is not loaded",
                hint="load it (client.load_collection) or set 'load_collection: true' on the source",
            )
        try:
            client.load_collection(name)
        except Exception as exc:
            raise wrap(
                exc,
                Code.COLLECTION_NOT_LOADED,
                f"loading {name}",
                hint="a collection needs an index before it can load",
            ) from None

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> list[Split]:
        pieces = self.options.parallelism or parallelism
        client = connect(self.options)
        try:
            return [
                s for t in tables for s in table_splits(client, t, self.options.partitions, pieces, self.options.filter)
            ]
        finally:
            client.close()

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        client = connect(self.options)
        try:
            yield from read_split(client, self.options, split, table, position)
        finally:
            client.close()
