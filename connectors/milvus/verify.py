"""The Milvus side of ``vts verify``: counts, keys, and rows as Milvus returns them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from vts.connectors.milvus.query import KEY_PAGE, count, key_literal, pages, whole_filter
from vts.connectors.milvus.rows import insert_rows
from vts.connectors.milvus.target import MilvusLayout, TargetCollection
from vts.connectors.milvus.types import MilvusType

FETCH = 1000


class MilvusVerifier:
    def __init__(self, client: Any, layout: MilvusLayout) -> None:
        self.client = client
        # by source table name, as `vts verify` asks; the collection may be renamed (collection_rename)
        self.targets: dict[str, TargetCollection] = dict(layout.targets)
        self._loaded: set[str] = set()

    def _target(self, table: str) -> TargetCollection:
        t = self.targets[table]
        if t.name not in self._loaded:
            self.client.load_collection(t.name)
            self._loaded.add(t.name)
        return t

    def key_columns(self, table: str) -> tuple[str, str] | None:
        pk = self.targets[table].primary
        return None if pk.source is None else (pk.source, pk.name)

    def count(self, table: str, partition: str | None) -> int:
        t = self._target(table)
        pk = t.primary
        return count(
            self.client, t.name, partition, whole_filter(pk.name, pk.dtype is MilvusType.VARCHAR, partition, None)
        )

    def keys(self, table: str) -> Iterator[list[Any]]:
        t = self._target(table)
        pk = t.primary
        varchar = pk.dtype is MilvusType.VARCHAR
        for page in pages(self.client, t.name, None, pk.name, varchar, None, None, None, [pk.name], KEY_PAGE):
            yield [row[pk.name] for row in page]

    def expected(self, table: str, batch: pa.RecordBatch) -> list[dict[str, Any]]:
        return insert_rows(batch, self._target(table)).rows

    def fetch(self, table: str, keys: list[Any]) -> dict[Any, dict[str, Any]]:
        t = self._target(table)
        pk = t.primary
        varchar = pk.dtype is MilvusType.VARCHAR
        out: dict[Any, dict[str, Any]] = {}
        for i in range(0, len(keys), FETCH):
            chunk = keys[i : i + FETCH]
            expr = f"{pk.name} in [{', '.join(key_literal(k, varchar) for k in chunk)}]"
            for row in self.client.query(t.name, filter=expr, output_fields=["*"], consistency_level="Strong"):
                out[row[pk.name]] = row
        return out

    def same(self, table: str, field: str, want: Any, got: Any) -> bool:
        f = next((x for x in self.targets[table].fields if x.name == field), None)
        if f is None:  # a dynamic key
            return _plain(want) == _plain(got)
        if want is None and f.default is not None:
            want = f.default
        if want is None or got is None:
            return want is None and got is None
        return f.dtype.spec.same(want, got, f)

    def close(self) -> None:
        self.client.close()


def _plain(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value
