"""The executor interface holds: workers in other processes run a real job with no connector changed.

A minimal process executor, written against ``vts.executor.Executor`` in a few lines,
runs each split in a spawned process that sends its events (and its error) back through a
queue: the job's checkpoint, counters and coded errors come out as with the thread pool.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import client_for, count, write_job
from vts import config, engine
from vts.executor import Event, Executor, Pipeline, RunSettings, SplitTask, Worker
from vts.rejects import RejectLog
from vts.testing.faults import FaultySink, InjectedFault


def _work(pipe: Pipeline, task: SplitTask, settings: RunSettings, out: Any) -> None:
    rejects = RejectLog(settings.dead_letters, settings.max_error_rows)
    worker = Worker(pipe, settings, rejects, threading.Event(), lambda event: out.put(("event", event)))
    try:
        worker.run_split(task)
        out.put(("done", None))
    except BaseException as exc:
        out.put(("error", exc))


class ProcessExecutor(Executor):
    def run(self, pipe: Pipeline, tasks: list[SplitTask], settings: RunSettings) -> Iterator[Event]:
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        procs = [ctx.Process(target=_work, args=(pipe, t, settings, out)) for t in tasks]
        for p in procs:
            p.start()
        try:
            finished = 0
            while finished < len(procs):
                try:
                    kind, payload = out.get(timeout=300)
                except queue.Empty:
                    raise TimeoutError("no word from the worker processes") from None
                if kind == "event":
                    yield payload
                elif kind == "error":
                    raise payload
                else:
                    finished += 1
        finally:
            for p in procs:
                if p.is_alive():
                    p.terminate()
                p.join()


def _job(tmp_path: Path, url: str, name: str) -> Path:
    source = {
        "collection": name,
        "row_count": 3000,
        "batch_size": 250,
        "fields": [
            {"name": "id", "type": "BIGINT", "primary_key": True},
            {"name": "v", "type": "FLOAT_VECTOR", "dimension": 8},
        ],
    }
    job = {
        "env": {"parallelism": 2, "checkpoint": {"path": str(tmp_path / "cp"), "interval": 0.01}},
        "source": {"DataGen": source},
        "sink": {"Milvus": {"url": url, "batch_size": 250}},
    }
    return write_job(tmp_path / "job.yaml", job)


def test_a_job_runs_on_worker_processes_with_checkpoints_and_counts(tmp_path: Path, lite_server: str) -> None:
    path = _job(tmp_path, lite_server, f"procs_{tmp_path.name[-12:]}".replace("-", "_"))
    result = engine.run(config.load(path), engine.RunOptions(executor=ProcessExecutor()))
    assert result.stats["rows_written"] == 3000 and all(s.done for s in result.stats.splits)
    assert len(result.stats.splits) == 2 and all(s.started is not None for s in result.stats.splits)
    assert count(client_for(lite_server), config.load(path).source.options.collection) == 3000


def test_a_coded_error_crosses_the_process_and_the_run_resumes(tmp_path: Path, lite_server: str) -> None:
    name = f"procerr_{tmp_path.name[-12:]}".replace("-", "_")
    path = _job(tmp_path, lite_server, name)
    job = config.load(path)
    faulty = replace(job, sink=FaultySink(job.sink, at="write", after_rows=1000, times=2))
    with pytest.raises(InjectedFault) as err:
        engine.run(faulty, engine.RunOptions(executor=ProcessExecutor()))
    assert err.value.code == "TEST-01" and not err.value.transient  # pickled in the worker, raised on the driver
    resumed = engine.run(config.load(path), engine.RunOptions(executor=ProcessExecutor()))
    assert resumed.resumed and resumed.rows_before > 0  # the workers' checkpoints reached the driver's file
    assert count(client_for(lite_server), name) == 3000
