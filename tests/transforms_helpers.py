"""Rows of a known table through transforms into Milvus Lite, the way ``vts run`` moves them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from tests.conftest import client_for, read_all
from vts import engine, registry
from vts.connector import Transform
from vts.schema import Field, IndexSpec, LType, TableSchema
from vts.testing.jobs import make_job
from vts.testing.table_source import TableSource

ITEMS = TableSchema(
    "items",
    (
        Field("id", LType.BIGINT, primary_key=True),
        Field("vector", LType.FLOAT_VECTOR, dimension=3),
        Field("title", LType.STRING, max_length=40, nullable=True),
        Field("year", LType.INT),
        Field("price", LType.STRING, max_length=10),
        Field("meta", LType.JSON, nullable=True),
    ),
    indexes=(IndexSpec("vector", metric_type="L2"),),
)

ROWS: list[dict[str, Any]] = [
    {"id": 1, "vector": [3.0, 4.0, 0.0], "title": "Hello World", "year": 1999, "price": "1.50",
     "meta": json.dumps({"group": 1, "label": "alpha", "tags": [1, 2], "score": 0.5})},
    {"id": 2, "vector": [0.0, 0.0, 2.0], "title": "Hallo Welt", "year": 2004, "price": "20",
     "meta": json.dumps({"group": 2, "label": "beta", "tags": [], "score": 1.25, "extra": {"k": "v"}})},
    {"id": 3, "vector": [1.0, 1.0, 1.0], "title": None, "year": 2010, "price": "n/a",
     "meta": json.dumps({"group": "three", "label": "gamma"})},
    {"id": 4, "vector": [0.0, 0.0, 0.0], "title": "llama", "year": 2021, "price": "7.25",
     "meta": "not json"},
    {"id": 5, "vector": [-2.0, 0.0, 0.0], "title": "all well", "year": 2022, "price": "0",
     "meta": None},
]  # fmt: skip


def batches(rows: list[dict[str, Any]] = ROWS, table: TableSchema = ITEMS, size: int = 2) -> list[pa.RecordBatch]:
    schema = table.arrow_schema()
    return [pa.RecordBatch.from_pylist(rows[i : i + size], schema=schema) for i in range(0, len(rows), size)]


def transform(name: str, **options: Any) -> Transform:
    cls = registry.resolve("transform", name, "transform")
    return cls(cls.Options.model_validate(options))


def sink(url: str, **options: Any) -> Any:
    cls = registry.resolve("sink", "Milvus", "sink")
    return cls(cls.Options.model_validate({"url": url, **options}))


def migrate(
    tmp_path: Path,
    transforms: list[Transform],
    max_error_rows: int = 0,
    table: TableSchema = ITEMS,
    rows: list[dict[str, Any]] = ROWS,
) -> tuple[engine.RunResult, Any, list[dict[str, Any]], list[dict[str, Any]]]:
    """Run the rows through ``transforms`` into a fresh Milvus Lite file.

    Returns the run, the client, every row of the target (sorted by id) and
    the dead letters.
    """
    url = str(tmp_path / "t.db")
    job = make_job(
        tmp_path, TableSource(table, batches(rows, table)), sink(url, max_error_rows=max_error_rows), transforms
    )
    result = engine.run(job)
    client = client_for(url)
    target = result.discovery.sink_tables[0]
    key = target.primary_keys[0].name if target.primary_keys else "id"
    got = read_all(client, target.name, [f.name for f in target.fields], key=key)
    dead = job.env.dead_letter_path
    letters = [json.loads(line) for line in Path(dead).read_text().splitlines()] if Path(dead).exists() else []
    return result, client, got, letters


def fields_of(client: Any, collection: str) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in client.describe_collection(collection)["fields"]}
