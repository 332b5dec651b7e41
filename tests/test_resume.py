"""Nothing lost, nothing doubled: SIGKILL and resume, transient failures, dead letters, verify."""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pymilvus.exceptions import MilvusException

import vts.connectors.milvus.sink as sink_module
import vts.connectors.milvus.source as source_module
from tests.conftest import VTS_BIN, checkpoint_state, client_for, count, kill_when, run_vts, write_job
from vts import config, engine
from vts.connectors.milvus.connection import connect as real_connect
from vts.testing.faults import FaultySink, InjectedFault

ROWS = 200_000


def _job(
    tmp_path: Path, rows: int = ROWS, url: str | None = None, token: str = "", collection: str = "r", **env: Any
) -> Path:
    job = {
        "env": {
            "parallelism": 2,
            "checkpoint": {"path": str(tmp_path / "cp"), "interval": 0.3},
            "retry_backoff": 0.05,
            **env,
        },
        "source": {
            "DataGen": {
                "collection": collection,
                "row_count": rows,
                "batch_size": 2000,
                "fields": [
                    {"name": "id", "type": "BIGINT", "primary_key": True},
                    {"name": "v", "type": "FLOAT_VECTOR", "dimension": 8},
                    {"name": "title", "type": "STRING", "max_length": 64},
                ],
            }
        },
        "sink": {"Milvus": {"url": url or str(tmp_path / "t.db"), "token": token, "batch_size": 2000}},
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    return write_job(tmp_path / "job.yaml", job)


def _checkpoint(tmp_path: Path) -> dict[str, Any] | None:
    files = list((tmp_path / "cp").glob("*.json"))
    return json.loads(files[0].read_text()) if files else None


@pytest.mark.parametrize("server", ["lite_server", "milvus235"])
def test_sigkill_at_five_moments_then_resume_ends_equal_to_the_source(
    tmp_path: Path, server: str, request: pytest.FixtureRequest
) -> None:
    # The target runs in its own process, as in production: killing vts must not take the database with it.
    # (An embedded Milvus Lite file lives inside the vts process and is not crash-safe; see the README.)
    if server == "lite_server":
        url, token = request.getfixturevalue("lite_server"), ""
    else:
        srv = request.getfixturevalue("milvus235")
        url, token = srv.uri, srv.token
    collection = f"kill_{tmp_path.name[-20:]}".replace("-", "_")
    job = _job(tmp_path, url=url, token=token, collection=collection)
    cp = tmp_path / "cp"

    def copying() -> bool:  # a split has recorded a position: we are in the middle of the copy
        return any("position" in s for k, s in checkpoint_state(cp).items() if k != "_commit")

    rng = random.Random(7)
    kills, runs = [], 0
    while True:
        runs += 1
        proc = subprocess.Popen([str(VTS_BIN), "run", "-q", str(job)], stderr=subprocess.PIPE, text=True)
        if not kills:
            landed = kill_when(proc, lambda: True, 0.4)  # during start-up, before any checkpoint
            phase = "start"
        elif len(kills) < 6:
            landed = kill_when(proc, copying, rng.uniform(0.05, 0.6))  # mid-copy, mostly mid-batch
            phase = "copy"
        else:
            landed = False
        if landed:
            kills.append(phase)
            continue
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert "resuming the interrupted run" in err
        break
    assert kills.count("copy") >= 5, kills
    assert checkpoint_state(cp) == {}  # a finished job forgets its checkpoint

    verify = subprocess.run([str(VTS_BIN), "verify", "--full", str(job)], capture_output=True, text=True, timeout=600)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "equal" in verify.stdout and "200,000 (all)" in verify.stdout
    from vts.connectors.milvus.connection import ConnectionOptions, connect

    # vts's connect: a server that just turned a connection away ("Too many pings") is asked again
    target = connect(ConnectionOptions(url=url, token=token))
    assert count(target, collection) == ROWS
    target.drop_collection(collection)


def test_verify_names_missing_extra_and_changed_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = _job(tmp_path, rows=3000)
    assert run_vts("run", "-q", str(job), capsys=capsys)[0] == 0
    c = client_for(str(tmp_path / "t.db"))
    c.delete("r", filter="id in [5, 6]")
    c.upsert("r", [{"id": 7, "v": [0.0] * 8, "title": "changed"}, {"id": 99999, "v": [1.0] * 8, "title": "stray"}])
    c.close()
    code, out, err = run_vts("verify", "--full", str(job), capsys=capsys)
    assert code == 1 and "VTS-09" in err
    assert "missing: 5, 6" in out and "only in target: 99999" in out
    assert "key 7:" in out and "title = 'changed'" in out


class _Flaky:
    """Passes calls to a real client; the calls ``fail(n)`` names raise ``error``."""

    def __init__(self, client: Any, fail: Any, error: str, counter: list[int]) -> None:
        self._client, self._fail, self._error, self._n = client, fail, error, counter

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name == "_get_connection":  # the insert writer's calls go through the client's connection
            return lambda: _Flaky(attr(), self._fail, self._error, self._n)
        if name not in ("upsert", "insert", "batch_insert", "query"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._n[0] += 1
            if self._fail(self._n[0]):
                raise MilvusException(code=2, message=self._error)
            return attr(*args, **kwargs)

        return call


def test_transient_sink_and_source_failures_are_retried_and_the_data_ends_equal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _job(tmp_path / "a", rows=20_000)
    calls = [0]
    monkeypatch.setattr(
        sink_module,
        "connect",
        lambda o: _Flaky(real_connect(o), lambda n: n in (3, 7, 8), "UNAVAILABLE: connection reset by peer", calls),
    )
    code, _, err = run_vts("run", "-q", "--report", str(tmp_path / "r.json"), str(first), capsys=capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "r.json").read_text())["totals"]["retries"] == 3
    assert run_vts("verify", "--full", str(first), capsys=capsys)[0] == 0

    # Milvus -> Milvus with the source dropping its connection now and then
    second = tmp_path / "b"
    second.mkdir()
    job = {
        "env": {"parallelism": 2, "checkpoint": {"path": str(second / "cp"), "interval": 0.2}, "retry_backoff": 0.05},
        "source": {"Milvus": {"url": str(tmp_path / "a" / "t.db"), "load_collection": True, "batch_size": 1500}},
        "sink": {"Milvus": {"url": str(second / "copy.db")}},
    }
    path = write_job(second / "job.yaml", job)
    monkeypatch.setattr(sink_module, "connect", real_connect)
    reads = [0]
    monkeypatch.setattr(
        source_module,
        "connect",
        # three drops in all, as the sink's above: with every 6th call failing, a split left alone once the other
        # had finished could fail a 4th time before its next checkpoint and use up its 3 retries (about 1 run in 3)
        lambda o: _Flaky(real_connect(o), lambda n: n in (3, 6, 10), "failed to connect: connection reset", reads),
    )
    code, _, err = run_vts("run", "-q", str(path), capsys=capsys)
    assert code == 0, err
    assert err.count("transient, so retrying") == 3 and reads[0] > 10, err
    monkeypatch.setattr(source_module, "connect", real_connect)
    assert count(client_for(str(second / "copy.db")), "r") == 20_000
    assert run_vts("verify", "--full", str(path), capsys=capsys)[0] == 0


def _failing(job: Path, after_rows: int) -> None:
    """Run the job with its sink failing fatally once ``after_rows`` rows reached a writer."""
    loaded = config.load(job)
    with pytest.raises(InjectedFault):
        engine.run(replace(loaded, sink=FaultySink(loaded.sink, at="write", after_rows=after_rows)))


def test_a_fatal_error_stops_and_leaves_a_checkpoint_that_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a checkpoint after every batch: at 0.3 s, the 16 000 rows before the fault could all pass before the first one
    job = _job(tmp_path, rows=30_000, parallelism=1, checkpoint={"path": str(tmp_path / "cp"), "interval": 0.001})
    _failing(job, after_rows=16_000)
    state = _checkpoint(tmp_path)
    assert state is not None and 0 < sum(s.get("rows_written", 0) for s in state["state"].values()) < 30_000

    code, _, err = run_vts("run", str(job), capsys=capsys)
    assert code == 0, err
    assert "resuming the interrupted run" in err
    assert run_vts("verify", "--full", str(job), capsys=capsys)[0] == 0


def test_a_changed_job_file_refuses_to_resume_until_fresh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = _job(tmp_path, rows=10_000, parallelism=1)
    _failing(job, after_rows=4000)
    job.write_text(job.read_text().replace("row_count: 10000", "row_count: 12000"))
    code, _, err = run_vts("run", "-q", str(job), capsys=capsys)
    assert code == 2 and "VTS-08" in err and "changed since the interrupted run" in err and "--fresh" in err
    code, _, err = run_vts("run", "-q", "--fresh", str(job), capsys=capsys)
    assert code == 0, err
    assert count(client_for(str(tmp_path / "t.db")), "r") == 12_000


@pytest.mark.parametrize(("limit", "ok"), [(1000, True), (5, False)])
def test_one_percent_bad_rows_go_to_dead_letters_and_max_error_rows_decides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], limit: int, ok: bool
) -> None:
    dead = tmp_path / "dead.jsonl"
    job = {
        "env": {"dead_letter_path": str(dead), "checkpoint": {"path": str(tmp_path / "cp")}},
        "source": {"DataGen": {"collection": "d", "row_count": 20_000, "invalid_ratio": 0.01,
                               "fields": [{"name": "id", "type": "BIGINT", "primary_key": True},
                                          {"name": "v", "type": "FLOAT_VECTOR", "dimension": 4}]}},
        "sink": {"Milvus": {"url": str(tmp_path / "d.db"), "max_error_rows": limit}},
    }  # fmt: skip
    code, out, err = run_vts(
        "run", "--report", str(tmp_path / "r.json"), str(write_job(tmp_path / "j.yaml", job)), capsys=capsys
    )
    lines = [json.loads(line) for line in dead.read_text().splitlines()]
    assert all(line["reason"] == "field 'v': vector holds NaN or infinity" and line["split"] for line in lines)
    if ok:
        assert code == 0, err
        report = json.loads((tmp_path / "r.json").read_text())["totals"]
        assert 150 < len(lines) == report["rows_rejected"] < 250
        assert report["rows_written"] + report["rows_rejected"] == 20_000
        assert count(client_for(str(tmp_path / "d.db")), "d") == 20_000 - len(lines)
        assert f"{len(lines):,} rejected row(s)" in out
    else:
        assert code == 1 and "VTS-12" in err and "max_error_rows=5" in err and str(dead) in err
        assert len(lines) > 5


def test_checkpoints_can_live_in_s3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], s3: Any
) -> None:
    s3.create_bucket("vts-state")
    job = _job(tmp_path, rows=10_000, parallelism=1)
    job.write_text(
        job.read_text().replace(
            f"path: {tmp_path / 'cp'}", f"path: s3://vts-state/checkpoints\n    s3_endpoint: {s3.endpoint}"
        )
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    calls = [0]
    monkeypatch.setattr(sink_module, "connect", lambda o: _Flaky(real_connect(o), lambda n: n == 4, "boom", calls))
    assert run_vts("run", "-q", str(job), capsys=capsys)[0] == 1
    assert [k for k in s3.keys("vts-state") if k.startswith("checkpoints/job-")]

    monkeypatch.setattr(sink_module, "connect", real_connect)
    code, _, err = run_vts("run", str(job), capsys=capsys)
    assert code == 0, err
    assert "resuming the interrupted run recorded in s3://vts-state/checkpoints/job-" in err
    assert not s3.keys("vts-state")  # forgotten once the job finished
    assert count(client_for(str(tmp_path / "t.db")), "r") == 10_000

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    code, _, err = run_vts("run", "-q", str(job), capsys=capsys)
    assert code == 1 and "VTS-11" in err and "s3://vts-state/checkpoints/job-" in err and "wrong-secret" not in err
