"""The Ray executor: the same job file runs its splits as Ray tasks, with checkpoints, retries and errors intact."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import client_for, count, read_all, run_vts, write_job
from vts import config, engine
from vts.executor import Event, Executor, Pipeline, Retrying, RunSettings, SplitTask
from vts.ray_errors import RayError
from vts.ray_executor import RayExecutor
from vts.testing.crashes import CrashingSink
from vts.testing.faults import FaultySink, InjectedFault

FIELDS = [
    {"name": "id", "type": "BIGINT", "primary_key": True},
    {"name": "v", "type": "FLOAT_VECTOR", "dimension": 8},
    {"name": "title", "type": "STRING", "max_length": 64},
    {"name": "meta", "type": "JSON"},
]


def _name(tmp_path: Path, what: str) -> str:
    return f"{what}_{tmp_path.name[-12:]}".replace("-", "_")


def _job(tmp_path: Path, url: str, name: str, rows: int = 3000, **env: Any) -> Path:
    job = {
        "env": {
            "parallelism": 2,
            "executor": "ray",
            "checkpoint": {"path": str(tmp_path / "cp"), "interval": 0.05},
            **env,
        },
        "source": {"DataGen": {"collection": name, "row_count": rows, "batch_size": 250, "fields": FIELDS}},
        "sink": {"Milvus": {"url": url, "batch_size": 250, "write_mode": "upsert", "data_save_mode": "DROP_DATA"}},
    }
    return write_job(tmp_path / "job.yaml", job)


class Recording(Executor):
    """The Ray executor, keeping every event the engine saw."""

    def __init__(self) -> None:
        self.inner, self.events = RayExecutor(), []

    def preflight(self, pipe: Pipeline) -> None:
        self.inner.preflight(pipe)

    def run(self, pipe: Pipeline, tasks: list[SplitTask], settings: RunSettings) -> Iterator[Event]:
        for event in self.inner.run(pipe, tasks, settings):
            self.events.append(event)
            yield event


def test_the_same_job_file_gives_identical_rows_and_reports_on_threads_and_on_ray(
    tmp_path: Path, lite_server: str, ray_cluster: str
) -> None:
    name = _name(tmp_path, "same")
    path = _job(tmp_path, lite_server, name, rows=2000)
    fields = ["id", "v", "title", "meta"]
    code, _, err = run_vts("run", "-q", "--executor", "local", "--report", str(tmp_path / "local.json"), str(path))
    assert code == 0, err
    on_threads = read_all(client_for(lite_server), name, fields)
    code, _, err = run_vts("run", "-q", "--report", str(tmp_path / "ray.json"), str(path))  # env.executor: ray
    assert code == 0, err
    on_ray = read_all(client_for(lite_server), name, fields)
    assert len(on_ray) == 2000 and on_ray == on_threads  # every row, every value (DROP_DATA emptied it first)
    local, ray_report = (json.loads((tmp_path / f).read_text()) for f in ("local.json", "ray.json"))
    assert ray_report["totals"] == local["totals"] and ray_report["totals"]["rows_written"] == 2000
    by_split = {s["split_id"]: s for s in ray_report["splits"]}
    assert sorted(by_split) == sorted(s["split_id"] for s in local["splits"]) and len(by_split) == 2
    assert all(s["done"] and s["rows_written"] == 1000 for s in by_split.values())


def test_a_worker_killed_mid_split_runs_again_from_its_checkpoint_and_rows_stay_exactly_once(
    tmp_path: Path, lite_server: str, ray_cluster: str
) -> None:
    name = _name(tmp_path, "crash")
    # a checkpoint after every batch: at 0.05 s the 500 rows before the crash could all pass before the first one
    cp = {"path": str(tmp_path / "cp"), "interval": 0.001}
    job = config.load(_job(tmp_path, lite_server, name, rows=2000, checkpoint=cp))
    crashes = tmp_path / "crashes"
    crashing = replace(job, sink=CrashingSink(job.sink, after_rows=500, crashes=str(crashes)))
    recording = Recording()
    result = engine.run(crashing, engine.RunOptions(executor=recording))
    assert len(list(crashes.iterdir())) == 1  # a worker process really died, once
    retries = [e for e in recording.events if isinstance(e, Retrying)]
    assert len(retries) == 1 and "worker died" in retries[0].reason
    assert 0 < retries[0].record.rows_written < 1000  # it started again from a checkpoint, not from the start
    assert result.stats["rows_written"] == 2000 and result.stats["retries"] == 1
    rows = read_all(client_for(lite_server), name, ["id"])
    assert [r["id"] for r in rows] == list(range(2000))


def test_a_worker_dying_every_time_ends_the_run_with_RAY_05_after_max_retries(
    tmp_path: Path, lite_server: str, ray_cluster: str
) -> None:
    name = _name(tmp_path, "dies")
    job = config.load(_job(tmp_path, lite_server, name, rows=500, parallelism=1, ray={"max_retries": 1}))
    crashes = tmp_path / "crashes"
    killer = replace(job, sink=CrashingSink(job.sink, after_rows=0, crashes=str(crashes), times=5))
    with pytest.raises(RayError) as err:
        engine.run(killer)  # the executor env.ray names, with its max_retries
    assert err.value.code == "RAY-05" and "died 2 time(s)" in str(err.value) and "max_retries=1" in str(err.value)
    assert err.value.exit_code == 1 and len(list(crashes.iterdir())) == 2


def test_a_transient_error_is_retried_inside_the_task_and_a_fatal_one_stops_the_run_with_its_code(
    tmp_path: Path, lite_server: str, ray_cluster: str
) -> None:
    name = _name(tmp_path, "faults")
    path = _job(tmp_path, lite_server, name, rows=1000, retry_backoff=0.1)
    job = config.load(path)
    transient = replace(job, sink=FaultySink(job.sink, at="write", after_rows=250, transient=True, times=1))
    result = engine.run(transient, engine.RunOptions(executor=RayExecutor()))
    assert result.stats["rows_written"] == 1000 and result.stats["retries"] == 2  # once in each task's copy
    fatal = replace(job, sink=FaultySink(job.sink, at="write", after_rows=250, transient=False, times=1))
    with pytest.raises(InjectedFault) as err:
        engine.run(fatal, engine.RunOptions(executor=RayExecutor()))
    assert err.value.code == "TEST-01" and not err.value.transient and err.value.hint == "a test asked for it"


def test_rejected_rows_reach_the_drivers_dead_letter_file(tmp_path: Path, lite_server: str, ray_cluster: str) -> None:
    name = _name(tmp_path, "rejects")
    path = _job(tmp_path, lite_server, name, rows=2000)
    raw = yaml.safe_load(path.read_text())
    raw["source"]["DataGen"]["invalid_ratio"] = 0.02
    raw["sink"]["Milvus"]["max_error_rows"] = 100
    raw["env"]["dead_letter_path"] = str(tmp_path / "dead.jsonl")
    write_job(path, raw)
    result = engine.run(config.load(path))
    letters = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert letters and len(letters) == result.stats["rows_rejected"]
    assert all(letter["reason"] and letter["split"] for letter in letters)
    assert count(client_for(lite_server), name) + len(letters) == 2000


def test_a_milvus_lite_file_target_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "target.db"
    path = _job(tmp_path, str(target), "refused")
    code, _, err = run_vts("run", str(path), capsys=capsys)
    assert code == 2 and "[RAY-03]" in err and "milvus-lite server" in err
    assert not target.exists() and not list(tmp_path.glob("cp/*"))  # no target file, no checkpoint
    code, _, err = run_vts("check", str(path), capsys=capsys)  # check refuses it the same way
    assert code == 2 and "[RAY-03]" in err and not target.exists()


def test_ray_not_installed_is_a_coded_error_naming_the_extra(
    tmp_path: Path, lite_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    path = _job(tmp_path, lite_server, _name(tmp_path, "noray"))
    code, _, err = run_vts("run", str(path), capsys=capsys)
    assert code == 2 and "[RAY-01]" in err and "vts[ray]" in err


def test_a_task_bigger_than_every_node_is_refused_with_RAY_04_before_anything_is_written(
    tmp_path: Path, lite_server: str, ray_cluster: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = _name(tmp_path, "toobig")
    path = _job(tmp_path, lite_server, name, ray={"num_cpus": 64})
    code, _, err = run_vts("run", str(path), capsys=capsys)
    assert code == 2 and "[RAY-04]" in err and "CPU=64" in err and "CPU=2" in err
    assert name not in client_for(lite_server).list_collections()


def test_a_qdrant_local_mode_folder_is_refused_naming_a_server_instead(tmp_path: Path) -> None:
    job = config.parse(
        yaml.safe_dump(
            {
                "env": {"executor": "ray"},
                "source": {"Qdrant": {"path": str(tmp_path / "qdrant"), "collection_name": "c"}},
                "sink": {"Milvus": {"url": "http://127.0.0.1:19530"}},
            }
        )
    )
    with pytest.raises(RayError) as err:
        RayExecutor(job.env.ray).check(Pipeline(job.source, job.transforms, job.sink))
    assert err.value.code == "RAY-03" and err.value.exit_code == 2
    assert "local-mode folder" in str(err.value) and "Qdrant server" in str(err.value)


def test_a_streaming_source_is_refused_on_ray_naming_the_local_executor(tmp_path: Path) -> None:
    job = config.parse(
        yaml.safe_dump(
            {
                "env": {"executor": "ray"},
                "source": {"Kafka": {"bootstrap_servers": "127.0.0.1:1", "topics": ["t"], "mode": "streaming"}},
                "sink": {"Milvus": {"url": "http://127.0.0.1:19530"}},
            }
        )
    )
    with pytest.raises(RayError) as err:
        RayExecutor(job.env.ray).check(Pipeline(job.source, job.transforms, job.sink))
    assert err.value.code == "RAY-08" and err.value.exit_code == 2 and "executor: local" in err.value.hint
