"""The Parquet sink's side of ``vts verify``: counts, keys and rows read back from the files.

Values are compared as the Milvus sink's verifier compares them (the files
hold what an import would load), after undoing the import layout: JSON and
sparse vectors are JSON text in the files, dynamic keys sit in ``$meta``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vts.connectors.milvus.target import TargetCollection
from vts.connectors.milvus.verify import MilvusVerifier
from vts.connectors.parquet.manifest import parquet_files
from vts.schema import DYNAMIC_FIELD


class ParquetVerifier(MilvusVerifier):
    def __init__(self, root: Path, targets: dict[str, TargetCollection]) -> None:
        self.root = root
        self.targets = {t.name: t for t in targets.values()} | dict(targets)  # by target and by source name

    def _target(self, name: str) -> TargetCollection:
        return self.targets[name]

    def _files(self, table: str, partition: str | None = None) -> list[Path]:
        folder = self.root / self.targets[table].name
        return parquet_files(folder / partition if partition else folder)

    def count(self, table: str, partition: str | None) -> int:
        return sum(pq.read_metadata(p).num_rows for p in self._files(table, partition))

    def keys(self, table: str) -> Iterator[list[Any]]:
        pk = self.targets[table].primary.name
        for path in self._files(table):
            yield pq.read_table(path, columns=[pk])[pk].to_pylist()

    def fetch(self, table: str, keys: list[Any]) -> dict[Any, dict[str, Any]]:
        target = self.targets[table]
        pk = target.primary.name
        wanted = pa.array(keys)
        out: dict[Any, dict[str, Any]] = {}
        for path in self._files(table):
            t = pq.read_table(path)
            for row in t.filter(pc.is_in(t[pk], value_set=wanted.cast(t[pk].type))).to_pylist():
                out[row[pk]] = _as_milvus_returns(row, target)
        return out

    def close(self) -> None:
        pass


def _as_milvus_returns(row: dict[str, Any], target: TargetCollection) -> dict[str, Any]:
    for f in target.fields:
        value = row.get(f.name)
        if value is None:
            continue
        if f.dtype == "JSON":
            row[f.name] = orjson.loads(value)
        elif f.dtype == "SPARSE_FLOAT_VECTOR":
            sparse = orjson.loads(value)
            row[f.name] = dict(zip(sparse["indices"], sparse["values"]))
    meta = row.pop(DYNAMIC_FIELD, None)
    if meta:
        row.update(orjson.loads(meta))
    return row
