"""schema_save_mode and data_save_mode behave as the README documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import vts.connectors.milvus.sink as sink_module
from tests.conftest import client_for, count, run_vts, write_job
from vts.connectors.milvus.connection import connect as real_connect

FIELDS = [
    {"name": "id", "type": "BIGINT", "primary_key": True},
    {"name": "vector", "type": "FLOAT_VECTOR", "dimension": 8},
    {"name": "title", "type": "STRING", "max_length": 64},
]


def _job(tmp_path: Path, url: str, rows: int, id_start: int = 0, dim: int = 8, **sink: object) -> Path:
    fields = [dict(f, dimension=dim) if f["name"] == "vector" else f for f in FIELDS]
    source = {"collection": "c", "row_count": rows, "id_start": id_start, "fields": fields}
    return write_job(tmp_path / "job.yaml", {"source": {"DataGen": source}, "sink": {"Milvus": {"url": url, **sink}}})


@pytest.fixture
def url(tmp_path: Path) -> str:
    return str(tmp_path / "t.db")


def _run(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code, _, err = run_vts("run", "-q", str(path), capsys=capsys)
    return code, err


def test_create_when_not_exist_creates_then_appends(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(_job(tmp_path, url, 100), capsys)[0] == 0
    assert _run(_job(tmp_path, url, 50, id_start=1000), capsys)[0] == 0
    c = client_for(url)
    assert count(c, "c") == 150


def test_recreate_schema_drops_the_old_collection(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(_job(tmp_path, url, 100, dim=4), capsys)[0] == 0
    assert _run(_job(tmp_path, url, 30, schema_save_mode="RECREATE_SCHEMA"), capsys)[0] == 0
    c = client_for(url)
    assert count(c, "c") == 30
    dim = {f["name"]: f for f in c.describe_collection("c")["fields"]}["vector"]["params"]["dim"]
    assert dim == 8


def test_error_when_schema_not_exist_refuses_a_missing_collection(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(_job(tmp_path, url, 10, schema_save_mode="ERROR_WHEN_SCHEMA_NOT_EXIST"), capsys)
    assert code == 4  # the schema cannot be carried: nothing moved
    assert "VTS-13" in err and "`c` does not exist" in err
    assert _run(_job(tmp_path, url, 10), capsys)[0] == 0  # create it...
    code, err = _run(_job(tmp_path, url, 10, id_start=10, schema_save_mode="ERROR_WHEN_SCHEMA_NOT_EXIST"), capsys)
    assert code == 0, err  # ...then the mode writes into it
    assert count(client_for(url), "c") == 20


def test_ignore_writes_into_the_existing_collection_without_checks(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(_job(tmp_path, url, 10, schema_save_mode="IGNORE"), capsys)
    assert code == 4 and "VTS-13" in err
    assert _run(_job(tmp_path, url, 10), capsys)[0] == 0
    assert _run(_job(tmp_path, url, 10, id_start=5, schema_save_mode="IGNORE"), capsys)[0] == 0
    assert count(client_for(url), "c") == 15


def test_drop_data_empties_the_collection_but_keeps_its_schema(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(_job(tmp_path, url, 200), capsys)[0] == 0
    assert _run(_job(tmp_path, url, 20, id_start=5000, data_save_mode="DROP_DATA"), capsys)[0] == 0
    c = client_for(url)
    assert count(c, "c") == 20
    assert sorted(r["id"] for r in c.query("c", filter="", output_fields=["id"], limit=100)) == list(range(5000, 5020))
    assert c.describe_index("c", "vector")["metric_type"] == "COSINE"


def test_error_when_data_exists_refuses_a_collection_with_rows(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(_job(tmp_path, url, 0, data_save_mode="ERROR_WHEN_DATA_EXISTS"), capsys)[0] == 0  # empty: fine
    assert _run(_job(tmp_path, url, 10, data_save_mode="ERROR_WHEN_DATA_EXISTS"), capsys)[0] == 0
    code, err = _run(_job(tmp_path, url, 10, data_save_mode="ERROR_WHEN_DATA_EXISTS"), capsys)
    assert code == 1
    assert "VTS-05" in err and "already holds 10 row(s)" in err
    assert count(client_for(url), "c") == 10


@pytest.mark.parametrize("command", ["run", "check"])
def test_an_existing_collection_with_another_dimension_is_refused_before_writing_with_exit_4(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert _run(_job(tmp_path, url, 10, dim=4), capsys)[0] == 0
    code, _, err = run_vts(command, str(_job(tmp_path, url, 10, id_start=100)), capsys=capsys)
    assert code == 4  # the schema cannot be carried to the target; 2 would say the job file is wrong
    assert "VTS-14" in err and "field 'vector' has dimension 4, the source gives 8" in err
    assert count(client_for(url), "c") == 10


def test_upsert_rerun_keeps_the_count_and_insert_mode_appends(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    rpc = {"batch_insert": "insert", "insert_rows": "insert", "upsert": "upsert", "upsert_rows": "upsert"}

    class Recording:  # the real client's connection, noting which write RPC the writer makes
        def __init__(self, target: Any) -> None:
            self._target = target

        def __getattr__(self, name: str) -> Any:
            if name == "_get_connection":
                return lambda: Recording(self._target._get_connection())
            if name in rpc:
                calls.append(rpc[name])
            return getattr(self._target, name)

    monkeypatch.setattr(sink_module, "connect", lambda o: Recording(real_connect(o)))
    for _ in range(2):
        assert _run(_job(tmp_path, url, 40, write_mode="upsert"), capsys)[0] == 0
    assert count(client_for(url), "c") == 40 and set(calls) == {"upsert"}
    calls.clear()
    assert _run(_job(tmp_path, url, 40, id_start=40, write_mode="insert"), capsys)[0] == 0
    assert count(client_for(url), "c") == 80 and set(calls) == {"insert"}
