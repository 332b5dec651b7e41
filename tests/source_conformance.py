"""The conformance checks every source connector passes against its real service.

Use from a connector's tests::

    from tests.source_conformance import check_source
    check_source(source, key="id", expected_keys=set(range(n)))

A new source is done when it passes these (GUIDE §3): its splits cover every
row exactly once for several parallelisms; a reader resumed from any position
it reported neither skips nor repeats rows; every schema it discovers
converts to a Milvus target; batches match the discovered Arrow schema.
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from connectors.milvus.connection import ServerInfo
from connectors.milvus.convert import convert
from connectors.milvus.options import MilvusSinkOptions
from vts.connector import Source, Split
from vts.schema import TableSchema


def read_split(
    source: Source, split: Split, table: TableSchema, position: Any = None
) -> list[tuple[pa.RecordBatch, Any]]:
    reader = source.read(split, table, position)
    try:
        return list(reader)
    finally:
        reader.close()


def keys_of(batches: Iterable[pa.RecordBatch], key: str) -> list[Any]:
    return [k for b in batches for k in b.column(key).to_pylist()]


def check_splits_cover_every_row_once(
    source: Source, key: str, expected_keys: set[Any] | None = None, parallelisms: Iterable[int] = (1, 2, 4)
) -> None:
    tables = source.discover()
    by_name = {t.name: t for t in tables}
    reference: Counter[Any] | None = None
    for p in parallelisms:
        splits = source.plan(tables, p)
        ids = [s.id for s in splits]
        assert len(ids) == len(set(ids)), f"split ids repeat at parallelism {p}: {ids}"
        assert [s.id for s in source.plan(tables, p)] == ids, "split ids are not stable between two plans"
        seen: Counter[Any] = Counter()
        for split in pickle.loads(pickle.dumps(splits)):  # splits travel to workers
            table = by_name[split.table]
            for batch, _ in read_split(pickle.loads(pickle.dumps(source)), split, table):
                assert batch.schema.names == table.arrow_schema().names, (batch.schema, table.arrow_schema())
                assert batch.schema.types == table.arrow_schema().types, (batch.schema, table.arrow_schema())
                seen.update((split.table, k) for k in batch.column(key).to_pylist())
        repeated = [k for k, n in seen.items() if n > 1]
        assert not repeated, f"parallelism {p}: rows read twice: {repeated[:10]}"
        if reference is None:
            reference = seen
            if expected_keys is not None:
                assert {k for _, k in seen} == expected_keys, f"parallelism {p}: rows missing or extra"
        else:
            assert seen == reference, f"parallelism {p} reads other rows than parallelism 1"


def check_resume_from_every_position(source: Source, key: str, parallelism: int = 2) -> None:
    tables = source.discover()
    by_name = {t.name: t for t in tables}
    for split in source.plan(tables, parallelism):
        table = by_name[split.table]
        full = read_split(source, split, table)
        everything = keys_of((b for b, _ in full), key)
        consumed: list[Any] = []
        for batch, position in full:
            consumed.extend(batch.column(key).to_pylist())
            rest = keys_of((b for b, _ in read_split(source, split, table, pickle.loads(pickle.dumps(position)))), key)
            assert consumed + rest == everything, f"split {split.id}: resuming at {position!r} skips or repeats rows"


def check_schema_converts(source: Source) -> None:
    for table in source.discover():
        convert(table, MilvusSinkOptions(url="./x.db"), ServerInfo.parse("v2.6.0"))


def check_source(source: Source, key: str, expected_keys: set[Any] | None = None) -> None:
    pickle.loads(pickle.dumps(source))  # connectors hold options, not clients
    check_schema_converts(source)
    check_splits_cover_every_row_once(source, key, expected_keys)
    check_resume_from_every_position(source, key)
