"""The BufferBatchWriter facing a throttling Milvus: nothing lost, nothing doubled.

The same for a partition the server does not see yet (Milvus 2.3.5, just
after a concurrent writer created it). A fault-injecting layer sits between
the writer and a real Milvus Lite client (in place of the writer's
Payload.send): it refuses some Insert/Upsert calls the way Milvus does, before
they reach the server, and passes the others through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pymilvus.exceptions import MilvusException

import vts.connectors.milvus.payload as payload_module
import vts.connectors.milvus.writer as writer_module
from tests.conftest import client_for, read_all, run_vts, write_job

ROWS = 6000


def refusing(refuse: Callable[[int, int], str | None], log: list[tuple[int, str]]) -> Callable[..., Any]:
    """A Payload.send that ``refuse(rows, calls so far)`` fails, with its message, before it reaches the server."""
    real_send = payload_module.Payload.send

    def send(self: payload_module.Payload, rows: list[dict], partition: str) -> None:
        error = refuse(len(rows), len(log))
        log.append((len(rows), error or "ok"))
        if error:
            raise MilvusException(code=8, message=error)
        real_send(self, rows, partition)

    return send


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[int, int], str | None]], list[tuple[int, str]]]:
    sleeps: list[float] = []
    monkeypatch.setattr(writer_module, "sleep", sleeps.append)

    def install(refuse: Callable[[int, int], str | None]) -> list[tuple[int, str]]:
        log: list[tuple[int, str]] = []
        monkeypatch.setattr(payload_module.Payload, "send", refusing(refuse, log))
        return log

    install.sleeps = sleeps  # type: ignore[attr-defined]
    return install


def _job(tmp_path: Path, env: dict[str, Any] | None = None, partitions: list[str] | None = None, **sink: Any) -> Path:
    source = {
        "collection": "rl",
        "row_count": ROWS,
        "partitions": partitions or [],
        "batch_size": 1000,
        "fields": [
            {"name": "id", "type": "BIGINT", "primary_key": True},
            {"name": "v", "type": "FLOAT_VECTOR", "dimension": 8},
        ],
    }
    options = {"url": str(tmp_path / "rl.db"), "batch_size": 1000, "rate_limit_backoff": 0.25, "grow_after": 3, **sink}
    job = {"env": env or {}, "source": {"DataGen": source}, "sink": {"Milvus": options}}
    return write_job(tmp_path / "job.yaml", job)


def _ids(tmp_path: Path) -> list[int]:
    client = client_for(str(tmp_path / "rl.db"))
    ids = [r["id"] for r in read_all(client, "rl", ["id"])]
    client.close()
    return ids


def test_throttled_batches_halve_then_grow_back_and_every_row_lands_once(
    tmp_path: Path, calls: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # The server refuses batches over 250 rows during the first 6 calls, then recovers.
    log = calls(lambda n, i: "rate limit exceeded[rate=1000]" if n > 250 and i < 6 else None)
    code, _, err = run_vts("run", "-q", "--report", str(tmp_path / "r.json"), str(_job(tmp_path)), capsys=capsys)
    assert code == 0, err
    assert _ids(tmp_path) == list(range(ROWS))

    sent = [n for n, outcome in log if outcome == "ok"]
    assert sum(sent) == ROWS  # nothing written twice, nothing lost
    assert [n for n, outcome in log[:3]] == [1000, 500, 250]  # halved twice...
    assert max(sent) == 1000 and sent.index(1000) > sent.index(250)  # ...then grew back to batch_size
    assert calls.sleeps and set(calls.sleeps) == {0.25}
    report = json.loads((tmp_path / "r.json").read_text())
    refused = sum(outcome != "ok" for _, outcome in log)
    assert report["splits"][0]["rate_limit_events"] == refused
    assert report["totals"]["rows_written"] == ROWS


def test_message_too_large_is_handled_like_a_rate_limit(
    tmp_path: Path, calls: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    log = calls(lambda n, i: "grpc: received message larger than max (8000000 vs. 4194304)" if n > 300 else None)
    code, _, err = run_vts("run", "-q", str(_job(tmp_path)), capsys=capsys)
    assert code == 0, err
    assert _ids(tmp_path) == list(range(ROWS))
    assert max(n for n, outcome in log if outcome == "ok") <= 300


def test_a_server_that_never_recovers_gives_milvus_17_at_two_rows(
    tmp_path: Path, calls: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    log = calls(lambda n, i: "rate limit exceeded")
    no_split_retry = {"retry_attempts": 0}  # the writer's own retries only (a split retry would halve again)
    code, _, err = run_vts("run", "-q", str(_job(tmp_path, no_split_retry, rate_limit_backoff=0)), capsys=capsys)
    assert code == 1
    assert "MILVUS-17" in err and "WRITE_DATA_FAIL" in err and "rate limit exceeded" in err
    assert "batch_size" in err  # the fix names what to change
    assert log[-1][0] <= 2 and all(n > 2 for n, _ in log[:-1])  # halved down to 2 rows, then gave up
    assert all(outcome != "ok" for _, outcome in log)


def test_a_write_still_throttled_at_two_rows_is_retried_from_the_split_checkpoint_and_lands_once(
    tmp_path: Path, calls: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1000, 500, ... 3, then 1 row refused: the writer gives up (MILVUS-17, transient); the server then recovers
    log = calls(lambda n, i: "rate limit exceeded[rate=1000]" if i < 10 else None)
    env = {"retry_attempts": 1, "retry_backoff": 0.01}
    job = _job(tmp_path, env, rate_limit_backoff=0)
    code, _, err = run_vts("run", "-q", "--report", str(tmp_path / "r.json"), str(job), capsys=capsys)
    assert code == 0, err
    assert [n for n, _ in log[:10]] == [1000, 500, 250, 125, 62, 31, 15, 7, 3, 1]
    assert _ids(tmp_path) == list(range(ROWS))
    assert sum(n for n, outcome in log if outcome == "ok") == ROWS  # nothing written twice
    (split,) = json.loads((tmp_path / "r.json").read_text())["splits"]
    assert split["retries"] == 1 and split["rate_limit_events"] >= 9  # one split retry, beside the writer's halvings


def test_other_errors_fail_at_once_without_retrying(
    tmp_path: Path, calls: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    log = calls(lambda n, i: "the field 'v' is broken" if i == 2 else None)
    code, _, err = run_vts("run", "-q", "--report", str(tmp_path / "r.json"), str(_job(tmp_path)), capsys=capsys)
    assert code == 1
    assert "MILVUS-17" in err and "the field 'v' is broken" in err
    assert [n for n, _ in log].count(1000) == len(log)  # no halving
    assert not calls.sleeps
    report = json.loads((tmp_path / "r.json").read_text())  # written for a failed run too: how far it got
    assert report["totals"]["rows_read"] >= 2000 and report["totals"]["rows_written"] == 0  # none checkpointed


def _partitioned_job(tmp_path: Path) -> Path:
    return _job(tmp_path, {"retry_attempts": 0}, partitions=["p0", "p1", "p2"])


def test_a_partition_the_server_does_not_see_yet_is_retried_and_every_row_lands_once(
    tmp_path: Path, calls: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Milvus 2.3.5's answer, seen when a concurrent writer had just created the partition
    log = calls(lambda n, i: "partition not found[partition=p1]" if i in (1, 2) else None)
    code, _, err = run_vts("run", "-q", str(_partitioned_job(tmp_path)), capsys=capsys)
    assert code == 0, err
    assert sorted(_ids(tmp_path)) == list(range(ROWS))
    assert sum(n for n, outcome in log if outcome == "ok") == ROWS  # nothing written twice
    assert calls.sleeps == list(writer_module.PARTITION_WAITS[:2])


def test_a_partition_refused_after_every_wait_fails_with_milvus_17_and_the_partition_named(
    tmp_path: Path, calls: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    calls(lambda n, i: "partition not found[partition=p0]")
    code, _, err = run_vts("run", "-q", str(_partitioned_job(tmp_path)), capsys=capsys)
    assert code == 1
    assert "MILVUS-17" in err and "partition p0" in err and "dropped during the run" in err
    assert calls.sleeps[: len(writer_module.PARTITION_WAITS)] == list(writer_module.PARTITION_WAITS)


def test_a_partition_dropped_during_the_run_fails_at_once_without_waiting(
    tmp_path: Path, calls: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pymilvus import MilvusClient

    dropped: list[bool] = []  # set from the second call on: the server no longer lists any partition
    real_has = MilvusClient.has_partition
    monkeypatch.setattr(MilvusClient, "has_partition", lambda c, *a, **kw: not dropped and real_has(c, *a, **kw))

    def refuse(n: int, i: int) -> str | None:
        if i == 1:
            dropped.append(True)
        return "partition not found[partition=p0]" if dropped else None

    calls(refuse)
    code, _, err = run_vts("run", "-q", str(_partitioned_job(tmp_path)), capsys=capsys)
    assert code == 1
    assert "MILVUS-17" in err and "dropped during the run" in err
    assert re.search(r"to rl partition p\d", err)
    assert not calls.sleeps  # not waited for, and not created again
