"""``vts run`` on Ray as a user runs it: another process, an unreachable cluster, a driver killed and run again."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, VTS_BIN, checkpoint_state, client_for, count, free_port, kill_when, read_all, run_vts
from tests.test_ray_executor import _job, _name
from vts import config, engine


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0"}


def test_an_unreachable_cluster_ends_the_run_with_RAY_02_and_exit_3_before_anything_is_written(
    tmp_path: Path, lite_server: str, ray_cluster: str
) -> None:
    name = _name(tmp_path, "unreach")
    path = _job(tmp_path, lite_server, name, rows=100)
    closed = free_port()
    for address in (f"127.0.0.1:{closed}",):
        proc = subprocess.run(
            [str(VTS_BIN), "run", "--ray-address", address, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            env=_env(),
        )
        assert proc.returncode == 3, proc.stderr
        assert f"[RAY-02] CLUSTER_UNREACHABLE: cannot connect to the Ray cluster at '{address}'" in proc.stderr
        assert "fix: check 'env.ray.address'" in proc.stderr and "Traceback" not in proc.stderr
    assert name not in client_for(lite_server).list_collections()  # nothing created, nothing dropped


def test_a_ray_client_address_is_refused_with_RAY_07_naming_what_works(
    tmp_path: Path, lite_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _job(tmp_path, lite_server, _name(tmp_path, "client"), rows=100)
    code, _, err = run_vts("run", "--ray-address", "ray://127.0.0.1:10001", str(path), capsys=capsys)
    assert code == 2 and "[RAY-07]" in err and "Ray Client" in err and "address: auto" in err


def test_the_driver_killed_mid_copy_then_run_again_resumes_from_its_checkpoint(
    tmp_path: Path, lite_server: str, ray_cluster: str
) -> None:
    name = _name(tmp_path, "driver")
    rows = 30000  # 6000 were all written within the 0.2 s before the kill on an idle machine
    path = _job(tmp_path, lite_server, name, rows=rows)
    cp = tmp_path / "cp"

    def copying() -> bool:
        state = checkpoint_state(cp)
        return any(s.get("rows_written") for k, s in state.items() if k != "_commit")

    proc = subprocess.Popen(
        [str(VTS_BIN), "run", "-q", "--ray-address", ray_cluster, str(path)],
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert kill_when(proc, copying, 0.2), "the run ended before it could be killed mid-copy"
    before = checkpoint_state(cp)
    assert before and not all(s.get("done") for k, s in before.items() if k != "_commit")
    result = engine.run(config.load(path))  # on this process's Ray: the session's instance
    assert result.resumed and result.rows_before > 0 and result.stats["rows_written"] == rows - result.rows_before
    ids = [r["id"] for r in read_all(client_for(lite_server), name, ["id"])]
    assert ids == list(range(rows))  # every row once (upsert rewrites what the killed run left unrecorded)
    assert checkpoint_state(cp) == {}


def test_the_example_job_runs_on_ray(
    tmp_path: Path, lite_server: str, ray_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _name(tmp_path, "example")
    for key, value in {"MILVUS_URL": lite_server, "RAY_DEMO_COLLECTION": name, "RAY_DEMO_ROWS": "2000"}.items():
        monkeypatch.setenv(key, value)
    code, _, err = run_vts("run", "-q", "--report", "report.json", str(REPO / "jobs" / "datagen_on_ray.yaml"))
    assert code == 0, err
    assert count(client_for(lite_server), name) == 2000
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["totals"]["rows_written"] == 2000 and len(report["splits"]) == 2
