"""Transform configs that cannot work: each a coded error during discovery, naming the transform and its place."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tests.conftest import run_vts, write_job
from tests.transforms_helpers import ITEMS, batches, transform
from vts import config
from vts.errors import ConfigError, ExitCode, VtsError


@pytest.mark.parametrize(
    ("name", "options", "code", "words"),
    [
        ("Sql", {"query": "SELEC id FROM items"}, "TRANSFORM-03", "syntax error"),
        ("Sql", {"query": "SELECT nope FROM items"}, "TRANSFORM-03", '"nope" not found'),
        ("Sql", {"query": "SELECT id FROM other"}, "TRANSFORM-03", "other does not exist"),
        ("Sql", {"query": "SELECT 1 AS a; DROP TABLE items"}, "TRANSFORM-03", "one SELECT"),
        ("Sql", {"query": "SELECT id, id FROM items"}, "TRANSFORM-03", "more than once"),
        ("Sql", {"query": "SELECT id, {'a': year} AS s FROM items"}, "TRANSFORM-04", "struct"),
        ("FieldRename", {"fields": {"missing": "x"}}, "TRANSFORM-02", "['missing']"),
        ("FieldRename", {"fields": {"title": "year"}}, "TRANSFORM-01", "['year'] twice"),
        ("FieldMapper", {"field_mapper": {"nope": "x"}}, "TRANSFORM-02", "['nope']"),
        ("Filter", {"include_fields": ["nope"]}, "TRANSFORM-02", "['nope']"),
        ("Copy", {"fields": {"title": "year"}}, "TRANSFORM-01", "['title'] twice"),
        ("Replace", {"replace_field": "year", "pattern": "1", "replacement": "2"}, "TRANSFORM-04", "not text"),
        ("Replace", {"replace_field": "title", "pattern": "(", "replacement": "", "is_regex": True},
         "TRANSFORM-01", "pattern '('"),
        ("JsonPath", {"columns": [{"src_field": "year", "path": "$.a", "dest_field": "a"}]}, "TRANSFORM-04",
         "not JSON"),
        ("JsonPath", {"columns": [{"src_field": "meta", "path": "$.a", "dest_field": "title"}]}, "TRANSFORM-01",
         "already taken"),
        ("JsonPath", {"columns": [{"src_field": "meta", "path": "$.v", "dest_field": "v",
                                   "dest_type": "float_vector"}]}, "TRANSFORM-01", "needs 'dimension'"),
        ("NormalizeVector", {"fields": ["title"]}, "TRANSFORM-04", "not FLOAT_VECTOR"),
        ("NormalizeVector", {"metric_type": "HAMMING"}, "TRANSFORM-01", "HAMMING"),
    ],
)  # fmt: skip
def test_a_transform_that_cannot_run_on_its_input_is_a_coded_error(
    name: str, options: dict, code: str, words: str
) -> None:
    with pytest.raises(VtsError) as err:
        transform(name, **options).schema(ITEMS)
    assert err.value.code == code, err.value
    assert words in err.value.message and err.value.message.startswith(f"{err.value.message.split(':')[0]}: {name}")
    assert err.value.exit_code in (ExitCode.INVALID_CONFIG, ExitCode.SCHEMA)


@pytest.mark.parametrize(
    ("name", "options", "words"),
    [
        ("Filter", {"include_fields": ["id"], "exclude_fields": ["title"]}, "exactly one of"),
        ("JsonPath", {"columns": [{"src_field": "meta", "path": "$.a", "dest_field": "a", "dest_type": "blob"}]},
         "unknown dest_type 'blob'"),
        ("JsonPath", {"columns": []}, "at least 1 item"),
        ("Sql", {}, "missing required option"),
    ],
)  # fmt: skip
def test_transform_options_are_validated_like_every_connector(name: str, options: dict, words: str) -> None:
    raw = {"source": {"DataGen": {}}, "transform": [{name: options}], "sink": {"Milvus": {"url": "./x.db"}}}
    with pytest.raises(ConfigError) as err:
        config.build(raw)
    assert err.value.code == "VTS-01" and words in str(err.value) and f"transform[0].{name}" in str(err.value)


def test_vts_check_names_the_failing_transform_by_its_place_in_the_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = {
        "source": {"DataGen": {"collection": "docs", "row_count": 10}},
        "transform": [
            {"FieldRename": {"fields": {"title": "name"}}},
            {"Sql": {"query": "SELECT id, vector, title FROM docs"}},
        ],
        "sink": {"Milvus": {"url": str(tmp_path / "x.db")}},
    }
    code, _, err = run_vts("check", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == ExitCode.INVALID_CONFIG
    assert "[TRANSFORM-03] transform[1] (Sql) on table 'docs': INVALID_SQL: Sql: Binder Error" in err
    assert '"title" not found' in err and "fix: its input columns are: id, vector, name" in err
    assert "Traceback" not in err and not (tmp_path / "x.db").exists()


def test_sql_output_matches_the_schema_it_announced_whatever_the_batch() -> None:
    sql = transform("Sql", query="SELECT id, year * 1.5 AS y, CAST(id AS VARCHAR) AS id_text FROM items WHERE id > 2")
    out = sql.schema(ITEMS)
    got = [sql.apply(b, ITEMS) for b in batches()]
    assert all(b.schema == out.arrow_schema() for b in got)
    assert pa.Table.from_batches(got).to_pylist() == [
        {"id": 3, "y": 3015.0, "id_text": "3"},
        {"id": 4, "y": 3031.5, "id_text": "4"},
        {"id": 5, "y": 3033.0, "id_text": "5"},
    ]
    assert [f.primary_key for f in out.fields] == [True, False, False]


def test_sql_reads_the_rows_under_the_name_its_job_gives_them() -> None:
    sql = transform("Sql", query="SELECT id FROM fake WHERE id = 1", table_name="fake")
    assert sql.apply(batches()[0], ITEMS).to_pylist() == [{"id": 1}]
