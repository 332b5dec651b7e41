"""The defects the engine contract v2 fixed, each reproduced as a user meets it."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.bulk_fixtures import UNREACHABLE_S3
from tests.conftest import client_for, count, run_vts, write_job
from tests.pgvector_fixtures import execute, unique
from vts import config, engine
from vts.testing.faults import FaultySink, InjectedFault

FIELDS = [
    {"name": "id", "type": "BIGINT", "primary_key": True},
    {"name": "vector", "type": "FLOAT_VECTOR", "dimension": 4},
]


def _datagen_job(path: Path, url: str, rows: int, **sink: Any) -> Path:
    source = {"collection": "c", "row_count": rows, "fields": FIELDS}
    return write_job(path, {"source": {"DataGen": source}, "sink": {"Milvus": {"url": url, **sink}}})


@pytest.mark.parametrize("mode", [{"data_save_mode": "DROP_DATA"}, {"schema_save_mode": "RECREATE_SCHEMA"}])
@pytest.mark.parametrize("where", ["embedded", "server"])
def test_a_failing_preflight_leaves_the_target_untouched(
    tmp_path: Path, where: str, mode: dict[str, str], request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    """Embedded Milvus Lite has no Import API; on a server, the staging area is unreachable: both fail
    `vts check` and `vts run` before the save mode deletes the 500 rows already there."""
    url = str(tmp_path / "t.db") if where == "embedded" else request.getfixturevalue("lite_server")
    assert run_vts("run", "-q", str(_datagen_job(tmp_path / "fill.yaml", url, 500, **mode)))[0] == 0
    bulk = dict(UNREACHABLE_S3) if where == "embedded" else {**UNREACHABLE_S3, "rest_url": "http://127.0.0.1:1"}
    job = _datagen_job(tmp_path / "bulk.yaml", url, 20, bulk_writer_config=bulk, **mode)
    code, out, err = run_vts("check", str(job), capsys=capsys)
    assert code != 0 and "nothing was written" not in out
    expected = "no Import API" if where == "embedded" else "127.0.0.1:1"
    assert "MILVUS-24" in err and expected in err and "Traceback" not in err, err
    code, _, err = run_vts("run", "-q", str(job), capsys=capsys)
    assert code != 0 and "MILVUS-24" in err and expected in err
    assert count(client_for(url), "c") == 500


def _pg_job(tmp_path: Path, url: str, table: str) -> Path:
    return write_job(
        tmp_path / "job.yaml",
        {
            "env": {"checkpoint": {"path": str(tmp_path / "cp"), "interval": 0.01}},
            "source": {
                "Pgvector": {
                    "url": url,
                    "table": table,
                    "incremental_column": "seq",
                    "state_path": str(tmp_path / "marks.json"),
                    "batch_size": 50,
                }
            },
            "sink": {"Milvus": {"url": str(tmp_path / "t.db"), "batch_size": 50}},
        },
    )


def _pg_table(url: str, prefix: str, rows: int) -> str:
    t = unique(prefix)
    execute(
        url,
        f"CREATE TABLE {t} (id int PRIMARY KEY, v vector(2) NOT NULL, seq bigserial)",
        f"INSERT INTO {t} (id, v) SELECT i, ARRAY[i, 0]::vector FROM generate_series(1, {rows}) i",
    )
    return t


def test_a_resumed_incremental_run_saves_its_mark(pg_url: str, tmp_path: Path) -> None:
    t = _pg_table(pg_url, "resume_mark", 400)
    path = _pg_job(tmp_path, pg_url, t)
    job = config.load(path)
    with pytest.raises(InjectedFault):  # dies after 200 rows, its checkpoint kept
        engine.run(replace(job, sink=FaultySink(job.sink, at="write", after_rows=200)))
    assert not (tmp_path / "marks.json").exists()

    resumed = engine.run(config.load(path))
    assert resumed.resumed and 200 <= resumed.stats["rows_read"] < 400  # from its last checkpoint on
    marks = json.loads((tmp_path / "marks.json").read_text())["marks"]
    assert [m["value"] for m in marks.values()] == ["400"]  # the resumed run saved the window it finished

    again = engine.run(config.load(path))
    assert again.stats["rows_read"] == 0  # nothing new: nothing is read twice
    assert count(client_for(str(tmp_path / "t.db")), t) == 400


def test_verify_after_an_incremental_run_compares_the_whole_source(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _pg_job(tmp_path, pg_url, _pg_table(pg_url, "verify_inc", 300))
    assert run_vts("run", "-q", str(path))[0] == 0
    code, out, err = run_vts("verify", "--full", str(path), capsys=capsys)
    assert code == 0, out + err
    assert "300 (all)" in out and "equal" in out


def test_report_seconds_per_split_leave_out_the_time_queued(tmp_path: Path) -> None:
    """Three splits (one per partition) one after the other: each split's seconds are its own."""
    source = {"collection": "c", "row_count": 3000, "batch_size": 200, "fields": FIELDS, "partitions": ["a", "b", "c"]}
    job = {
        "env": {"parallelism": 1},
        "source": {"DataGen": source},
        "sink": {"Milvus": {"url": str(tmp_path / "t.db")}},
    }
    report = tmp_path / "report.json"
    assert run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), "--report", str(report))[0] == 0
    data = json.loads(report.read_text())
    splits = sorted(data["splits"], key=lambda s: s["started"])
    assert len(splits) == 3
    for before, after in itertools.pairwise(splits):  # one worker: each split starts after the previous ended
        assert after["started"] >= before["started"] + before["seconds"] - 0.05, splits


def test_a_fresh_run_that_stops_at_a_check_keeps_the_interrupted_runs_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "t.db")
    path = _datagen_job(tmp_path / "job.yaml", url, 3000)
    job = config.load(path)
    with pytest.raises(InjectedFault):
        engine.run(replace(job, sink=FaultySink(job.sink, at="write", after_rows=1000)))
    (checkpoint,) = (tmp_path / ".vts-checkpoints").glob("*.json")
    interrupted = path.read_text()
    _datagen_job(path, url, 3000, bulk_writer_config=dict(UNREACHABLE_S3))  # Milvus Lite has no Import API
    code, _, err = run_vts("run", "-q", "--fresh", str(path), capsys=capsys)
    assert code != 0 and "MILVUS-24" in err
    assert checkpoint.exists(), "--fresh dropped the interrupted run's checkpoint before its checks passed"
    path.write_text(interrupted)
    code, _, err = run_vts("run", "-q", str(path), capsys=capsys)
    assert code == 0 and "resuming the interrupted run" in err
    assert count(client_for(url), "c") == 3000
