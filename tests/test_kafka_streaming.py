"""Streaming mode: `vts run` keeps reading while messages arrive, stops cleanly on SIGTERM/SIGINT, resumes.

Each test runs the real CLI as a subprocess against Tansu and the shared
Milvus Lite server, produces while it runs, and compares the collection with
the messages produced (never with the broker's counts).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.conftest import VTS_BIN, checkpoint_state, client_for, count, read_all
from tests.kafka_fixtures import job_file, json_rows, produce, row, source_options, topic
from tests.services.tansu import Tansu
from vts import cli


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen]]:
    """Every `vts run` a test starts is gone when it ends, also when it fails half-way."""
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _start(job: Path, log: Path, started: list[subprocess.Popen]) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(VTS_BIN), "run", str(job), "--quiet"], stdout=log.open("a"), stderr=subprocess.STDOUT, cwd=job.parent
    )
    started.append(proc)
    return proc


def _wait(what: str, ok, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        assert proc.poll() is None, f"vts exited ({proc.returncode}) before {what}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log.read_text()}"
        time.sleep(0.1)


def _rows(url: str, name: str) -> int:
    c = client_for(url)
    try:
        return count(c, name) if c.has_collection(name) else 0
    finally:
        c.close()


def _all_equal(url: str, name: str, n: int) -> None:
    c = client_for(url)
    try:
        got = read_all(c, name, ["id", "title", "vec"])
    finally:
        c.close()
    assert [r["id"] for r in got] == list(range(n))
    assert all(r["title"] == row(r["id"])["title"] for r in got)


def _checkpointed(folder: Path) -> bool:
    state = checkpoint_state(folder)
    return sum(int(s.get("rows_written", 0)) for s in state.values() if isinstance(s, dict)) > 0


def _status(job: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert cli.main(["status", "--json", str(job)]) == 0
    return json.loads(capsys.readouterr().out)


def test_streaming_while_messages_arrive_then_stopped_and_resumed_misses_nothing(
    tansu: Tansu, lite_server: str, tmp_path: Path, started: list[subprocess.Popen], capsys: pytest.CaptureFixture[str]
) -> None:
    name = topic(tansu, 3)
    produce(tansu, name, json_rows(200))
    job = job_file(
        tmp_path / "job.yaml", source_options(tansu, name, mode="streaming", poll_timeout=0.2), lite_server, name
    )
    log = tmp_path / "vts.log"
    proc = _start(job, log, started)
    _wait("the first rows", lambda: _rows(lite_server, name) >= 200, proc, log)
    produce(tansu, name, json_rows(300, start=200))  # while it runs
    _wait("the rows produced while running", lambda: _rows(lite_server, name) >= 500, proc, log)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, log.read_text()
    assert "stopped" in log.read_text()

    st = _status(job, capsys)  # the stopped run's checkpoint: every row written, nothing behind
    assert st["found"] and sum(s["rows_written"] for s in st["splits"]) == 500 and st["backlog"] == 0
    assert {s["state"] for s in st["splits"]} == {"in progress"}

    produce(tansu, name, json_rows(250, start=500))  # while it is stopped
    # the lag the next run will take up (at most 250: Tansu reports a batch's base offset + 1 as the end)
    assert 0 < _status(job, capsys)["backlog"] <= 250
    proc = _start(job, log, started)
    _wait("the rows produced while stopped", lambda: _rows(lite_server, name) >= 750, proc, log)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0, log.read_text()
    _all_equal(lite_server, name, 750)
    assert cli.main(["verify", str(job), "--full"]) == 0

    # the group's offsets were committed after Milvus had the rows: 750 messages, one per offset
    c = Consumer({"bootstrap.servers": tansu.bootstrap, "group.id": f"g-{name}"})
    try:
        done = c.committed([TopicPartition(name, p) for p in range(3)], timeout=10)
    finally:
        c.close()
    assert sum(tp.offset for tp in done) == 750


def test_a_stream_killed_with_sigkill_resumes_without_missing_a_message(
    tansu: Tansu, lite_server: str, tmp_path: Path, started: list[subprocess.Popen]
) -> None:
    name = topic(tansu, 3)
    produce(tansu, name, json_rows(300))
    job = job_file(
        tmp_path / "job.yaml", source_options(tansu, name, mode="streaming", poll_timeout=0.2), lite_server, name
    )
    log = tmp_path / "vts.log"
    proc = _start(job, log, started)
    _wait("a checkpoint", lambda: _checkpointed(tmp_path / "cp"), proc, log)
    produce(tansu, name, json_rows(100, start=300))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    produce(tansu, name, json_rows(200, start=400))
    proc = _start(job, log, started)
    _wait("every row", lambda: _rows(lite_server, name) >= 600, proc, log)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, log.read_text()
    _all_equal(lite_server, name, 600)
