"""The File source end to end through `vts run` into Milvus Lite (every value equal), and its coded errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests import file_fixtures as ff
from tests.conftest import client_for, read_all, run_vts, write_job

SCALARS = ["title", "year", "score", "tags"]


def _run(
    tmp_path: Path, source: dict[str, Any], capsys: pytest.CaptureFixture[str], **env: Any
) -> tuple[int, str, str]:
    job = {
        "env": {"parallelism": 2, **env},
        "source": {"File": source},
        "sink": {"Milvus": {"url": str(tmp_path / "x.db"), "batch_size": 500}},
    }
    return run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)


def _milvus_rows(tmp_path: Path, collection: str) -> list[dict[str, Any]]:
    client = client_for(str(tmp_path / "x.db"))
    try:
        return read_all(client, collection, ["*"])
    finally:
        client.close()


def _assert_rows(rows: list[dict[str, Any]], ids: list[int], fields: list[str], key_of=lambda i: i) -> None:
    assert [r["id"] for r in rows] == sorted(key_of(i) for i in ids), "rows lost, doubled or other"
    by_id = {r["id"]: r for r in rows}
    for i in ids:
        got, want = by_id[key_of(i)], ff.expected(i)
        assert np.array_equal(np.asarray(got["vector"], np.float32), want["vector"]), i
        for name in fields:
            value = json.loads(got[name]) if isinstance(got[name], str) and name == "meta" else got[name]
            assert value == want[name], (i, name, value, want[name])


def test_parquet_files_matched_by_a_glob_arrive_with_every_value_equal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    ff.write_parquet(data, [0, 400, 900, 1200], row_group=150)
    (data / "README.txt").write_text("not data")  # beside the files; the glob leaves it out
    code, _, err = _run(tmp_path, {"path": str(data / "part-*.parquet"), "table": "docs", "split_mb": 0.01}, capsys)
    assert code == 0, err
    _assert_rows(_milvus_rows(tmp_path, "docs"), list(range(1200)), [*SCALARS, "meta"])


def test_jsonl_split_by_byte_ranges_arrives_with_every_value_equal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = ff.write_jsonl(tmp_path / "data" / "docs.jsonl", 0, 1000)
    code, _, err = _run(tmp_path, {"path": str(path), "split_mb": 0.05, "batch_size": 200}, capsys)
    assert code == 0, err
    _assert_rows(_milvus_rows(tmp_path, "docs"), list(range(1000)), [*SCALARS, "meta"])


def test_npy_vectors_with_an_ids_file_arrive_with_every_value_equal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vectors, ids = ff.write_npy(tmp_path / "data", 0, 1200)
    source = {"path": str(vectors), "ids_path": str(ids), "table": "emb", "split_mb": 0.01}
    code, _, err = _run(tmp_path, source, capsys)
    assert code == 0, err
    rows = _milvus_rows(tmp_path, "emb")
    _assert_rows(rows, list(range(1200)), [], key_of=lambda i: i * 10)


def test_csv_with_vectors_as_json_text_arrives_with_every_value_equal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    path = ff.write_csv(tmp_path / "data" / "docs.csv", 0, 300)
    code, _, err = _run(tmp_path, {"path": str(path)}, capsys)
    assert code == 0, err
    _assert_rows(_milvus_rows(tmp_path, "docs"), list(range(300)), ["title", "year", "score"])


# -- bad input: each its code, its exit status, and no traceback -----------------------------------


def _fails(tmp_path: Path, source: dict[str, Any], capsys: pytest.CaptureFixture[str], code: str, status: int) -> str:
    got, _, err = _run(tmp_path, source, capsys)
    assert got == status, err
    assert f"[{code}]" in err and "Traceback" not in err, err
    assert not (tmp_path / "x.db").exists(), "the target was touched before the source's checks passed"
    return err


def test_a_missing_path_is_file_01(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(tmp_path, {"path": str(tmp_path / "nowhere.parquet")}, capsys, "FILE-01", 2)
    assert "nowhere.parquet" in err


def test_a_glob_matching_nothing_is_file_02(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ff.write_parquet(tmp_path / "data", [0, 10])
    err = _fails(tmp_path, {"path": str(tmp_path / "data" / "*.jsonl")}, capsys, "FILE-02", 2)
    assert "*.jsonl" in err


def test_a_schema_that_changes_between_files_is_file_03_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = ff.write_parquet(tmp_path / "data", [0, 10, 20])
    changed = pq.read_table(second).set_column(3, "year", pa.array([str(y) for y in range(10)]))
    pq.write_table(changed, second)
    err = _fails(tmp_path, {"path": str(tmp_path / "data")}, capsys, "FILE-03", 4)
    assert first.name in err and second.name in err and "year" in err


def test_a_corrupt_parquet_file_is_file_04_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, second = ff.write_parquet(tmp_path / "data", [0, 10, 20])
    second.write_bytes(second.read_bytes()[:-40])  # a torn footer, as a copy cut short leaves it
    err = _fails(tmp_path, {"path": str(tmp_path / "data" / "*.parquet")}, capsys, "FILE-04", 1)
    assert second.name in err


def test_a_json_line_with_a_key_the_sample_never_saw_stops_the_run_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = ff.write_jsonl(tmp_path / "data" / "docs.jsonl", 0, 50)
    with path.open("a") as f:
        f.write(json.dumps({"id": 50, "vector": [0.5] * ff.DIM, "late_key": "x"}) + "\n")
    got, _, err = _run(tmp_path, {"path": str(path), "sample_rows": 10}, capsys)
    assert got == 4 and "[FILE-03]" in err and "late_key" in err and "sample_rows" in err, err


def test_field_schema_naming_no_column_is_file_09(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ff.write_parquet(tmp_path / "data", [0, 10])
    source = {"path": str(tmp_path / "data"), "field_schema": [{"field_name": "nope", "data_type": "VarChar"}]}
    err = _fails(tmp_path, source, capsys, "FILE-09", 2)
    assert "nope" in err


def test_float64_vectors_are_carried_as_float32_and_the_log_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = np.arange(50)
    wide = ff.vectors(ids).astype(np.float64) + 1e-12  # digits float32 cannot keep
    (tmp_path / "data").mkdir()
    pq.write_table(pa.table({"id": ids, "vector": [list(v) for v in wide]}), tmp_path / "data" / "wide.parquet")
    code, _, err = _run(tmp_path, {"path": str(tmp_path / "data" / "wide.parquet")}, capsys)
    assert code == 0, err
    assert "vector column(s) vector hold float64 values" in err and "carried as float32" in err, err
    rows = _milvus_rows(tmp_path, "wide")
    assert all(np.array_equal(np.asarray(r["vector"], np.float32), wide[r["id"]].astype(np.float32)) for r in rows)
