"""The datagen source: reproducible rows and splits that cover every row once."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.source_conformance import check_source
from vts.connectors.datagen.options import DataGenOptions
from vts.connectors.datagen.source import DataGenSource

FIELDS = [
    {"name": "id", "type": "BIGINT", "primary_key": True},
    {"name": "v", "type": "FLOAT_VECTOR", "dimension": 5},
    {"name": "j", "type": "JSON"},
    {"name": "sp", "type": "SPARSE_FLOAT_VECTOR"},
    {"name": "n", "type": "STRING", "nullable": True, "null_ratio": 0.5},
]


def _read_all(rows: int, parallelism: int, batch_size: int, partitions: list[str] | None = None) -> pa.Table:
    src = DataGenSource(
        DataGenOptions.model_validate(
            {"row_count": rows, "batch_size": batch_size, "fields": FIELDS, "partitions": partitions or []}
        )
    )
    table = src.discover()[0]
    batches = [b for split in src.splits([table], parallelism) for b, _ in src.read(split, table)]
    return pa.Table.from_batches(batches, schema=table.arrow_schema())


@pytest.mark.parametrize(("parallelism", "batch_size"), [(1, 1000), (3, 77), (7, 4096), (50, 10)])
def test_rows_are_identical_whatever_the_splits_and_batch_size(parallelism: int, batch_size: int) -> None:
    reference = _read_all(10_001, 1, 10_001)
    assert _read_all(10_001, parallelism, batch_size).equals(reference)
    assert _read_all(10_001, parallelism, batch_size, ["a", "b", "c"]).equals(reference)


@pytest.mark.parametrize("rows", [0, 1, 2, 5])
def test_fewer_rows_than_parallelism_still_covers_each_row_once(rows: int) -> None:
    ids = _read_all(rows, 4, 3).column("id").to_pylist()
    assert ids == list(range(rows))


def test_a_reader_resumed_from_a_reported_position_neither_skips_nor_repeats() -> None:
    src = DataGenSource(DataGenOptions.model_validate({"row_count": 1000, "batch_size": 64, "fields": FIELDS}))
    table = src.discover()[0]
    split = src.splits([table], 1)[0]
    first = src.read(split, table)
    seen = [next(first) for _ in range(3)]
    first.close()
    resumed = [b for b, _ in src.read(split, table, seen[-1][1])]
    ids = [i for b, _ in seen for i in b.column("id").to_pylist()] + [
        i for b in resumed for i in b.column("id").to_pylist()
    ]
    assert ids == list(range(1000))


def test_nulls_follow_the_null_ratio() -> None:
    col = _read_all(4000, 1, 4000).column("n")
    assert 0.4 < col.null_count / len(col) < 0.6


def test_datagen_passes_the_source_conformance_suite() -> None:
    src = DataGenSource(
        DataGenOptions.model_validate(
            {"row_count": 2000, "batch_size": 300, "fields": FIELDS, "partitions": ["a", "b"]}
        )
    )
    check_source(src, key="id", expected_keys=set(range(2000)))
