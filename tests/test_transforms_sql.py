"""The Sql transform on batches: vectors it only passes on skip DuckDB, and come back the same rows'."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.transforms_helpers import ITEMS, ROWS, batches, transform


def _run(query: str) -> list[dict]:
    sql = transform("Sql", query=query)
    out = sql.schema(ITEMS)
    got = [sql.apply(b, ITEMS) for b in batches(size=3)]
    assert all(b.schema == out.arrow_schema() for b in got)
    return pa.Table.from_batches(got).to_pylist()


def test_vectors_passed_on_keep_their_rows_through_filters_renames_and_star() -> None:
    by_id = {r["id"]: r["vector"] for r in ROWS}
    got = _run("SELECT vector AS v2, id, vector FROM items WHERE year > 2000 ORDER BY id DESC")
    assert [(r["id"], r["v2"], r["vector"]) for r in got] == [
        (i, by_id[i], by_id[i])
        for i in (3, 2, 5, 4)  # ORDER BY sorts within each batch of 3
    ]
    got = _run("SELECT * EXCLUDE (meta) FROM items WHERE id IN (1, 5)")
    assert [(r["id"], r["vector"]) for r in got] == [(1, by_id[1]), (5, by_id[5])]


def test_vectors_the_query_reads_go_through_duckdb() -> None:
    got = _run("SELECT id, vector, list_sum(vector) AS total FROM items WHERE vector[1] <> 0")
    assert [(r["id"], r["vector"], r["total"]) for r in got] == [
        (1, [3.0, 4.0, 0.0], pytest.approx(7.0)),
        (3, [1.0, 1.0, 1.0], pytest.approx(3.0)),
        (5, [-2.0, 0.0, 0.0], pytest.approx(-2.0)),
    ]


def test_a_computed_vector_is_a_float_vector_of_its_length() -> None:
    sql = transform("Sql", query="SELECT id, [vector[1] * 2, vector[2] * 2]::FLOAT[2] AS half FROM items")
    field = sql.schema(ITEMS).field("half")
    assert (field.type.value, field.dimension) == ("FLOAT_VECTOR", 2)
    assert sql.apply(batches()[0], ITEMS).to_pylist() == [{"id": 1, "half": [6.0, 8.0]}, {"id": 2, "half": [0.0, 0.0]}]
