"""A Chroma or LanceDB run stopped by a fatal error resumes from its checkpoint and ends equal to the source."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_vts, write_job
from tests.embedded_fixtures import build_chroma, build_lance
from vts import config, engine
from vts.testing.faults import FaultySink, InjectedFault


def _stop_then_resume(
    tmp_path: Path, source: dict[str, Any], rows: int, stop_after: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """``stop_after``: rows one split's writer takes before the sink fails."""
    job = write_job(
        tmp_path / "job.yaml",
        {
            # a checkpoint after every batch: at 0.05 s, 300 rows could all be written before the first one
            "env": {"parallelism": 1, "checkpoint": {"path": str(tmp_path / "cp"), "interval": 0.001}},
            "source": source,
            "sink": {"Milvus": {"url": str(tmp_path / "x.db"), "batch_size": 100}},
        },
    )
    loaded = config.load(job)
    with pytest.raises(InjectedFault):
        engine.run(replace(loaded, sink=FaultySink(loaded.sink, at="write", after_rows=stop_after)))
    (cp,) = (tmp_path / "cp").glob("*.json")
    done = sum(s.get("rows_written", 0) for s in json.loads(cp.read_text())["state"].values())
    assert 0 < done < rows, done
    code, _, err = run_vts("run", str(job), capsys=capsys)
    assert code == 0 and "resuming the interrupted run" in err, err
    code, out, err = run_vts("verify", "--full", str(job), capsys=capsys)
    assert code == 0, out + err


def test_a_chroma_run_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_chroma(tmp_path / "chroma", 600, {"resumed": "cosine"})
    _stop_then_resume(tmp_path, {"Chroma": {"path": str(tmp_path / "chroma"), "batch_size": 50}}, 600, 300, capsys)


def test_a_lancedb_run_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_lance(str(tmp_path / "lance"), 300)
    _stop_then_resume(tmp_path, {"LanceDB": {"uri": str(tmp_path / "lance"), "batch_size": 50}}, 600, 150, capsys)
