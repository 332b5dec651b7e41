"""Each transform end to end into Milvus Lite: the collection's fields, every value, and the dead letters."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.transforms_helpers import ROWS, fields_of, migrate, transform
from vts.errors import VtsError


def test_sql_filters_rows_casts_and_computes_columns(tmp_path: Path) -> None:
    query = (
        "SELECT id, vector, lower(title) AS title, TRY_CAST(price AS DOUBLE) AS price, year * 2 AS twice, "
        "to_json({'year': year, 'price': price}) AS facts FROM items WHERE year >= 2000"
    )
    result, client, got, letters = migrate(tmp_path, [transform("Sql", query=query)])
    assert [r["id"] for r in got] == [2, 3, 4, 5]
    assert [(r["title"], r["price"], r["twice"]) for r in got] == [
        ("hallo welt", 20.0, 4008),
        (None, None, 4020),
        ("llama", 7.25, 4042),
        ("all well", 0.0, 4044),
    ]
    assert [r["vector"] for r in got] == [pytest.approx(ROWS[i]["vector"]) for i in (1, 2, 3, 4)]
    assert [r["facts"] for r in got] == [{"year": ROWS[i]["year"], "price": ROWS[i]["price"]} for i in (1, 2, 3, 4)]
    fields = fields_of(client, "items")
    assert list(fields) == ["id", "vector", "title", "price", "twice", "facts"]
    assert fields["facts"]["type"].name == "JSON"  # typed columns into one JSON field
    assert fields["id"]["is_primary"] and fields["vector"]["params"]["dim"] == 3
    assert fields["price"]["type"].name == "DOUBLE" and fields["twice"]["type"].name == "INT32"
    # a computed column may be NULL and has no source max_length
    assert fields["title"]["params"]["max_length"] == 65535 and fields["title"].get("nullable")
    assert letters == [] and result.stats["rows_read"] == 5 and result.stats["rows_written"] == 4


def test_sql_sends_rows_a_cast_refuses_to_the_dead_letters_with_the_reason(tmp_path: Path) -> None:
    query = "SELECT id, vector, CAST(price AS DOUBLE) AS price FROM items"
    result, _, got, letters = migrate(tmp_path, [transform("Sql", query=query)], max_error_rows=5)
    assert [(r["id"], r["price"]) for r in got] == [(1, 1.5), (2, 20.0), (4, 7.25), (5, 0.0)]
    assert [(d["row"]["id"], d["row"]["price"]) for d in letters] == [(3, "n/a")]
    assert letters[0]["reason"].startswith("Sql: Conversion Error") and "n/a" in letters[0]["reason"]
    assert result.stats["rows_rejected"] == 1


def test_rows_a_transform_refuses_count_against_max_error_rows(tmp_path: Path) -> None:
    query = "SELECT id, vector, CAST(price AS DOUBLE) AS price FROM items"
    with pytest.raises(VtsError) as err:
        migrate(tmp_path, [transform("Sql", query=query)], max_error_rows=0)
    assert err.value.code == "VTS-12" and "Conversion Error" in err.value.message


def test_jsonpath_extracts_typed_fields_and_rejects_json_that_does_not_parse(tmp_path: Path) -> None:
    columns = [
        {"src_field": "meta", "path": "$.label", "dest_field": "label", "dest_type": "string"},
        {"src_field": "meta", "path": "$.tags", "dest_field": "tags", "dest_type": "array<bigint>"},
        {"src_field": "meta", "path": "$.score", "dest_field": "score", "dest_type": "double"},
        {"src_field": "meta", "path": "$.extra", "dest_field": "extra", "dest_type": "json"},
        {"src_field": "meta", "path": "$.group", "dest_field": "group_id", "dest_type": "int"},
    ]
    _, client, got, letters = migrate(tmp_path, [transform("JsonPath", columns=columns)], max_error_rows=5)
    assert [(r["id"], r["label"], r["tags"], r["score"], r["extra"], r["group_id"]) for r in got] == [
        (1, "alpha", [1, 2], 0.5, None, 1),
        (2, "beta", [], 1.25, {"k": "v"}, 2),
        (5, None, None, None, None, None),  # no JSON at all: every key is missing
    ]
    assert {d["row"]["id"]: d["reason"].split(":")[1].strip() for d in letters} == {
        3: "Conversion Error",  # "group": "three" is not an int
        4: "Invalid Input Error",  # "not json"
    }
    fields = fields_of(client, "items")
    assert fields["tags"]["type"].name == "ARRAY" and fields["tags"]["element_type"].name == "INT64"
    assert fields["group_id"]["type"].name == "INT32" and fields["extra"]["type"].name == "JSON"
    assert fields["meta"]["type"].name == "JSON"  # the source column passes unchanged


def test_normalize_vector_writes_unit_vectors_for_an_ip_index_and_rejects_zero_vectors(tmp_path: Path) -> None:
    _, client, got, letters = migrate(tmp_path, [transform("NormalizeVector", metric_type="IP")], max_error_rows=1)
    expected = {1: [0.6, 0.8, 0.0], 2: [0.0, 0.0, 1.0], 3: [1 / math.sqrt(3)] * 3, 5: [-1.0, 0.0, 0.0]}
    assert {r["id"]: r["vector"] for r in got} == {k: pytest.approx(v, abs=1e-6) for k, v in expected.items()}
    assert [(d["row"]["id"], d["reason"]) for d in letters] == [
        (4, "NormalizeVector: 'vector' is a zero vector, which has no direction to keep")
    ]
    assert client.describe_index("items", "vector")["metric_type"] == "IP"
    assert {r["title"] for r in got} == {"Hello World", "Hallo Welt", None, "all well"}  # other columns untouched


def test_replace_changes_text_with_a_regex_or_a_literal_and_keeps_nulls(tmp_path: Path) -> None:
    chain = [
        transform("Filter", exclude_fields=["meta"]),  # row 4's meta is not JSON: the sink would refuse it
        transform("Replace", replace_field="title", pattern="l+", replacement="L", is_regex=True),
        transform("Replace", replace_field="price", pattern=".", replacement=",", replace_first=True),
    ]
    _, client, got, _ = migrate(tmp_path, chain)
    assert [(r["title"], r["price"]) for r in got] == [
        ("HeLo WorLd", "1,50"),
        ("HaLo WeLt", "20"),
        (None, "n/a"),
        ("Lama", "7,25"),
        ("aL weL", "0"),
    ]
    assert fields_of(client, "items")["title"]["params"]["max_length"] == 65535  # a replacement may lengthen it


def test_filter_and_copy_choose_columns_and_copies_are_plain_fields(tmp_path: Path) -> None:
    chain = [
        transform("Filter", exclude_fields=["meta", "price"]),
        transform("Copy", fields={"title_raw": "title", "id_copy": "id"}),
        transform("Filter", include_fields=["id", "vector", "title_raw", "id_copy"]),
    ]
    _, client, got, _ = migrate(tmp_path, chain)
    assert [(r["id"], r["title_raw"], r["id_copy"]) for r in got] == [(r["id"], r["title"], r["id"]) for r in ROWS]
    fields = fields_of(client, "items")
    assert list(fields) == ["id", "vector", "title_raw", "id_copy"]
    assert fields["title_raw"]["params"]["max_length"] == 40 and not fields["id_copy"].get("is_primary")


def test_field_mapper_and_rename_carry_the_index_to_the_renamed_vector(tmp_path: Path) -> None:
    chain = [
        transform("FieldRename", fields={"vector": "embedding"}),
        transform("NormalizeVector", fields=["embedding"], metric_type="COSINE"),
        transform("FieldMapper", field_mapper={"id": "pk", "embedding": "embedding", "year": "year"}),
    ]
    _, client, got, _ = migrate(tmp_path, chain, max_error_rows=1)
    assert [(r["pk"], r["year"]) for r in got] == [(1, 1999), (2, 2004), (3, 2010), (5, 2022)]
    assert list(fields_of(client, "items")) == ["pk", "embedding", "year"]
    assert client.describe_index("items", "embedding")["metric_type"] == "COSINE"
