"""`vts status` reports an interrupted run from its checkpoint, and says so when there is none."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import run_vts, write_job
from vts import config, engine
from vts.testing.faults import FaultySink, InjectedFault


def _job(tmp_path: Path) -> Path:
    source = {
        "collection": "c",
        "row_count": 3000,
        "batch_size": 500,
        "fields": [
            {"name": "id", "type": "BIGINT", "primary_key": True},
            {"name": "vector", "type": "FLOAT_VECTOR", "dimension": 4},
        ],
    }
    raw = {
        "env": {"parallelism": 2},
        "source": {"DataGen": source},
        "sink": {"Milvus": {"url": str(tmp_path / "t.db")}},
    }
    return write_job(tmp_path / "job.yaml", raw)


def test_status_of_an_interrupted_run_shows_each_split_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _job(tmp_path)
    job = config.load(path)
    with pytest.raises(InjectedFault):
        engine.run(replace(job, sink=FaultySink(job.sink, at="write", after_rows=1000)))
    (checkpoint,) = (tmp_path / ".vts-checkpoints").glob("*.json")
    before = checkpoint.read_text()

    code, out, err = run_vts("status", "--json", str(path), capsys=capsys)
    assert code == 0, err
    st = json.loads(out)
    assert st["found"] and len(st["splits"]) >= 2
    assert {s["table"] for s in st["splits"]} == {"c"}
    assert not all(s["state"] == "done" for s in st["splits"])
    assert sum(s["rows_written"] for s in st["splits"]) < 3000
    assert st["backlog"] is None  # DataGen cannot tell; only a stream's source (Kafka) does
    code, out, _ = run_vts("status", str(path), capsys=capsys)
    assert code == 0 and "vts status" in out and ("in progress" in out or "waiting" in out)
    assert checkpoint.read_text() == before  # status only reads the checkpoint

    code, _, err = run_vts("run", "-q", str(path), capsys=capsys)  # the resumed run finishes and removes it
    assert code == 0, err
    code, out, _ = run_vts("status", str(path), capsys=capsys)
    assert code == 0 and "no running or interrupted run of this job" in out
