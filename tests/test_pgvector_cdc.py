"""PostgreSQL change data capture (job.mode STREAMING) into Milvus Lite: snapshot, then the slot's changes.

Every test uses the session's logical-decoding PostgreSQL (``pg_logical``)
and the shared Milvus Lite server, makes changes while the job streams,
and compares the collection with the table (never with vts's own counters).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import pgvector_fixtures
from tests.conftest import VTS_BIN, client_for, read_all, write_job
from tests.pgvector_fixtures import execute, fetch, unique
from vts import cli, config, engine

DIM = 4


def _table(url: str, rows: int, name: str | None = None) -> str:
    t = name or unique("cdc")
    execute(
        url,
        f"CREATE TABLE {t} (id bigint PRIMARY KEY, title text NOT NULL, emb vector({DIM}) NOT NULL)",
        f"INSERT INTO {t} SELECT i, 'row ' || i, ARRAY[i, i + 0.5, -i, 1]::vector FROM generate_series(1, {rows}) i",
    )
    return t


def _job(path: Path, url: str, table: str, milvus: str, **source: Any) -> Path:
    return write_job(
        path,
        {
            "env": {"job.mode": "STREAMING", "checkpoint": {"path": str(path.parent / "cp"), "interval": 0.3}},
            "source": {"Pgvector": {"url": url, "table": table, "poll_interval": 0.1, **source}},
            "sink": {"Milvus": {"url": milvus}},
        },
    )


class Running:
    """`vts run`'s driver in a thread, stopped as SIGTERM stops the CLI's (``RunOptions.stop``)."""

    def __init__(self, job: Path) -> None:
        self.stop_event, self.errors, self.result = threading.Event(), [], None
        self.thread = threading.Thread(target=self._go, args=(job,), daemon=True)
        self.thread.start()

    def _go(self, job: Path) -> None:
        try:
            self.result = engine.run(config.load(job), engine.RunOptions(stop=self.stop_event))
        except BaseException as exc:
            self.errors.append(exc)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(60)
        assert not self.thread.is_alive() and not self.errors, self.errors


@pytest.fixture
def streaming() -> Iterator[Callable[[Path], Running]]:
    """Start runs; the test's end stops them cleanly and re-raises what they raised."""
    running: list[Running] = []

    def start(job: Path) -> Running:
        running.append(Running(job))
        return running[-1]

    yield start
    for r in running:
        r.stop()


def _target(milvus: str, table: str) -> dict[int, tuple[str, list[float]]]:
    c = client_for(milvus)
    try:
        if not c.has_collection(table):
            return {}
        return {
            r["id"]: (r["title"], [round(x, 3) for x in r["emb"]]) for r in read_all(c, table, ["id", "title", "emb"])
        }
    finally:
        c.close()


def _source(url: str, table: str) -> dict[int, tuple[str, list[float]]]:
    rows = fetch(url, f"SELECT id, title, emb::real[] FROM {table}")
    return {i: (title, [round(float(x), 3) for x in emb]) for i, title, emb in rows}


def _eventually(what: str, ok: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _streaming_table(
    url: str, rows: int, lite_server: str, tmp_path: Path, streaming: Callable[[Path], Running]
) -> tuple[str, Path, Running]:
    """A table of ``rows`` rows and its streaming job, running, once its snapshot is in Milvus."""
    t = _table(url, rows)
    job = _job(tmp_path / "job.yaml", url, t, lite_server)
    run = streaming(job)
    _eventually("the snapshot", lambda: len(_target(lite_server, t)) == rows)
    return t, job, run


def test_changes_while_streaming_reach_milvus_in_commit_order_and_verify_passes(
    pg_logical: Any, lite_server: str, tmp_path: Path, streaming: Callable[[Path], Running]
) -> None:
    url = pg_logical.url
    t, job, _ = _streaming_table(url, 50, lite_server, tmp_path, streaming)

    execute(url, f"INSERT INTO {t} VALUES (51, 'new', '[9,9,9,9]'), (52, 'new too', '[8,8,8,8]')")
    execute(url, f"UPDATE {t} SET emb = '[7,7,7,7]' WHERE id = 2")  # the vector
    execute(url, f"UPDATE {t} SET title = 'renamed' WHERE id = 3")  # a scalar only: the vector must survive
    execute(url, f"DELETE FROM {t} WHERE id IN (4, 51)")
    execute(  # one transaction of several statements, the last change of a key winning
        url,
        f"UPDATE {t} SET title = 'first' WHERE id = 5",
        f"DELETE FROM {t} WHERE id = 6",
        f"INSERT INTO {t} VALUES (6, 'back', '[6,6,6,6]')",
        f"UPDATE {t} SET title = 'second' WHERE id = 5",
    )
    with pgvector_fixtures.psycopg.connect(url) as conn:  # rolled back: never in the slot
        conn.execute(f"UPDATE {t} SET title = 'rolled back' WHERE id = 7")
        conn.execute(f"DELETE FROM {t} WHERE id = 8")
        conn.rollback()

    want = _source(url, t)
    _eventually("the changes", lambda: _target(lite_server, t) == want)
    got = _target(lite_server, t)
    assert got[3] == ("renamed", [3.0, 3.5, -3.0, 1.0])
    assert got[2][1] == [7.0, 7.0, 7.0, 7.0] and 4 not in got and 51 not in got and got[52][0] == "new too"
    assert got[5][0] == "second" and got[6] == ("back", [6.0, 6.0, 6.0, 6.0])
    assert got[7][0] == "row 7" and 8 in got
    assert cli.main(["verify", str(job), "--full"]) == 0


def test_a_table_without_primary_key_is_refused_before_anything_is_created(
    pg_logical: Any, lite_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = unique("nopk")
    execute(
        pg_logical.url, f"CREATE TABLE {t} (id bigint, emb vector({DIM}))", f"INSERT INTO {t} VALUES (1, '[1,2,3,4]')"
    )
    job = _job(tmp_path / "job.yaml", pg_logical.url, t, lite_server)
    for command in ("check", "run"):
        assert cli.main([command, str(job)]) == 4
        assert "PGVECTOR-13" in capsys.readouterr().err
    assert fetch(
        pg_logical.url, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE %s", [f"vts_{t}%"]
    ) == [(0,)]
    assert not fetch(pg_logical.url, "SELECT 1 FROM pg_publication WHERE pubname LIKE %s", [f"vts_{t}%"])


def test_a_server_without_logical_decoding_is_refused(
    pg: Any, lite_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = _table(pg.url, 3)
    job = _job(tmp_path / "job.yaml", pg.url, t, lite_server)
    assert cli.main(["check", str(job)]) == 2
    err = capsys.readouterr().err
    assert "PGVECTOR-11" in err and "wal_level" in err


def _status(job: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    import json

    capsys.readouterr()
    assert cli.main(["status", "--json", str(job)]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_scalar_update_keeps_an_out_of_line_vector_then_status_and_cutover_end_the_stream(
    pg_logical: Any,
    lite_server: str,
    tmp_path: Path,
    streaming: Callable[[Path], Running],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = pg_logical.url
    t = unique("toast")
    execute(  # 768-d vectors are stored out of line: an UPDATE of the title alone does not send them
        url,
        f"CREATE TABLE {t} (id bigint PRIMARY KEY, title text NOT NULL, emb vector(768) NOT NULL)",
        f"INSERT INTO {t} SELECT i, 'row ' || i, (SELECT array_agg(sin(i * k)) FROM generate_series(1, 768) k)::vector "
        "FROM generate_series(1, 5) i",
    )
    job = _job(tmp_path / "job.yaml", url, t, lite_server)
    run = streaming(job)
    _eventually("the snapshot", lambda: len(_target(lite_server, t)) == 5)
    before = _target(lite_server, t)[2][1]
    execute(url, f"UPDATE {t} SET title = 'renamed' WHERE id = 2")
    _eventually("the update", lambda: _target(lite_server, t)[2][0] == "renamed")
    assert _target(lite_server, t)[2][1] == before and len(before) == 768

    _eventually("no lag", lambda: _status(job, capsys)["backlog"] == 0)
    stream = next(s for s in _status(job, capsys)["splits"] if s["split_id"].endswith("/changes"))
    assert stream["state"] == "in progress" and stream["lag_seconds"] == 0.0
    assert stream["last_commit"] is not None and "wal_bytes" in stream["lag"]
    run.stop()  # a clean stop keeps the slot for the next run
    slot = f"SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE '{'vts_' + t}%'"
    assert fetch(url, slot) == [(1,)]

    execute(url, f"DELETE FROM {t} WHERE id = 5")  # while stopped: the cutover waits for it
    capsys.readouterr()
    assert cli.main(["cutover", str(job), "--deadline", "1"]) == 1
    assert "VTS-16" in capsys.readouterr().err  # it timed out waiting, not compared too early
    assert fetch(url, slot) == [(1,)]  # not caught up: nothing dropped
    run = streaming(job)
    assert cli.main(["cutover", str(job), "--deadline", "60"]) == 0
    assert 5 not in _target(lite_server, t)
    assert fetch(url, slot) == [(0,)]
    assert fetch(url, f"SELECT count(*) FROM pg_publication WHERE pubname LIKE '{'vts_' + t}%'") == [(0,)]
    run.thread.join(60)  # the run still streaming ends on its own: its slot is gone, as its error says
    assert [e.code for e in run.errors] == ["PGVECTOR-17"]
    run.errors.clear()


def test_a_change_committed_asynchronously_just_before_status_is_counted_behind(
    pg_logical: Any,
    lite_server: str,
    tmp_path: Path,
    streaming: Callable[[Path], Running],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """synchronous_commit=off: the commit returns before its WAL is flushed, and the slot reads flushed WAL only."""
    url = pg_logical.url
    t, job, run = _streaming_table(url, 3, lite_server, tmp_path, streaming)
    _eventually("no lag", lambda: _status(job, capsys)["backlog"] == 0)
    run.stop()
    # the WAL writer's round made long, so an asynchronous commit stays unflushed long after it returned
    execute(url, "ALTER SYSTEM SET wal_writer_delay = '2s'", autocommit=True)
    execute(url, "SELECT pg_reload_conf()")
    try:
        execute(url, "SET LOCAL synchronous_commit = off", f"DELETE FROM {t} WHERE id = 2")
        assert _status(job, capsys)["backlog"] == 1  # at once: a cutover now must wait for it
    finally:
        execute(url, "ALTER SYSTEM RESET wal_writer_delay", autocommit=True)
        execute(url, "SELECT pg_reload_conf()")


def test_pgoutput_marks_an_out_of_line_vector_an_update_left_alone_as_unchanged(pg_logical: Any) -> None:
    from vts.connectors.pgvector import pgoutput

    url, t = pg_logical.url, unique("wal")
    execute(
        url,
        f"CREATE TABLE {t} (id bigint PRIMARY KEY, title text, emb vector(768))",
        f"INSERT INTO {t} SELECT 1, 'a', (SELECT array_agg(sin(k)) FROM generate_series(1, 768) k)::vector",
        f"CREATE PUBLICATION {t} FOR TABLE {t}",
    )
    execute(url, f"SELECT pg_create_logical_replication_slot('{t}', 'pgoutput')")
    try:
        execute(url, f"UPDATE {t} SET title = 'b' WHERE id = 1", f"DELETE FROM {t} WHERE id = 1")
        peek = (
            "SELECT data FROM pg_logical_slot_peek_binary_changes(%s, NULL, NULL, 'proto_version', '1', "
            "'publication_names', %s)"
        )
        # the server runs with synchronous_commit=off: the slot sees the commit once the WAL writer flushed it
        _eventually("the commit in the slot", lambda: any(d[:1] == b"C" for (d,) in fetch(url, peek, [t, t])), 10)
        rows = fetch(url, peek, [t, t])
    finally:
        execute(url, f"SELECT pg_drop_replication_slot('{t}')", f"DROP PUBLICATION {t}")
    decoder = pgoutput.Decoder()
    txns = [txn for (data,) in rows if (txn := decoder.feed(bytes(data))) is not None]
    assert len(txns) == 1
    update, delete = txns[0].changes
    assert update.op == "update" and update.new == {"id": "1", "title": "b", "emb": pgoutput.UNCHANGED}
    assert delete.op == "delete" and delete.old == {"id": "1", "title": None, "emb": None}


# `vts run`'s driver in its own process, whose sink SIGKILLs that process once a split (whose id contains
# argv[2]) has written argv[3] rows: a crash at a known point of the snapshot or of the stream
_CRASHING_RUN = """
import signal, sys, threading
from vts import config, engine
from vts.testing.crashes import CrashingSink

job, only, after, crashes = config.load(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]


class Only(CrashingSink):
    def writer(self, layout, split, ctx):
        return super().writer(layout, split, ctx) if only in split.id else self.inner.writer(layout, split, ctx)


job.sink = Only(job.sink, after_rows=after, crashes=crashes)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
engine.run(job, engine.RunOptions(stop=stop))
"""


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen]]:
    procs: list[subprocess.Popen] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def _crashing(job: Path, split: str, after: int, procs: list[subprocess.Popen]) -> subprocess.Popen:
    procs.append(
        subprocess.Popen(
            [sys.executable, "-c", _CRASHING_RUN, str(job), split, str(after), str(job.parent / "crashes")],
            stdout=(job.parent / "crash.log").open("a"),
            stderr=subprocess.STDOUT,
        )
    )
    return procs[-1]


def _vts_run(job: Path, procs: list[subprocess.Popen]) -> subprocess.Popen:
    log = (job.parent / "run.log").open("a")
    procs.append(subprocess.Popen([str(VTS_BIN), "run", str(job), "--quiet"], stdout=log, stderr=subprocess.STDOUT))
    return procs[-1]


def _killed(proc: subprocess.Popen, job: Path) -> None:
    assert proc.wait(60) == -signal.SIGKILL, (job.parent / "crash.log").read_text()


def _resume_until_equal(job: Path, url: str, t: str, milvus: str, procs: list[subprocess.Popen]) -> None:
    proc = _vts_run(job, procs)
    want = _source(url, t)
    _eventually("the resumed run to catch up", lambda: _target(milvus, t) == want)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0, (job.parent / "run.log").read_text()
    assert cli.main(["verify", str(job), "--full"]) == 0


def test_killed_during_the_snapshot_then_resumed_ends_equal(
    pg_logical: Any, lite_server: str, tmp_path: Path, processes: list[subprocess.Popen]
) -> None:
    url = pg_logical.url
    t = _table(url, 3000)
    job = _job(tmp_path / "job.yaml", url, t, lite_server, batch_size=200)
    _killed(_crashing(job, "", 1000, processes), job)  # the stream split starts after the snapshot: not this one
    assert fetch(url, f"SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'vts_{t}%'") == [(1,)]
    execute(url, f"UPDATE {t} SET title = 'while down' WHERE id % 100 = 0", f"DELETE FROM {t} WHERE id % 7 = 0")
    execute(url, f"INSERT INTO {t} VALUES (5000, 'late', '[1,1,1,1]')")
    _resume_until_equal(job, url, t, lite_server, processes)


def test_killed_while_streaming_then_resumed_ends_equal(
    pg_logical: Any, lite_server: str, tmp_path: Path, processes: list[subprocess.Popen]
) -> None:
    url = pg_logical.url
    t = _table(url, 100)
    job = _job(tmp_path / "job.yaml", url, t, lite_server)
    proc = _crashing(job, "/changes", 30, processes)
    _eventually("the snapshot", lambda: len(_target(lite_server, t)) == 100)
    for i in range(1, 61):  # one transaction each: the stream dies part-way through them
        execute(url, f"UPDATE {t} SET title = 'v{i}', emb = '[{i},0,0,0]' WHERE id = {i}")
        if proc.poll() is not None:
            break
    _killed(proc, job)
    execute(url, f"DELETE FROM {t} WHERE id > 90", f"INSERT INTO {t} VALUES (500, 'after', '[5,5,5,5]')")
    _resume_until_equal(job, url, t, lite_server, processes)


def test_buffered_changes_are_sent_after_the_flush_interval_not_only_at_the_checkpoint(
    pg_logical: Any, lite_server: str, tmp_path: Path, streaming: Callable[[Path], Running]
) -> None:
    url = pg_logical.url
    t = _table(url, 3)
    job = write_job(
        tmp_path / "job.yaml",
        {
            "env": {"job.mode": "STREAMING", "checkpoint": {"path": str(tmp_path / "cp"), "interval": 600}},
            "source": {"Pgvector": {"url": url, "table": t, "poll_interval": 0.1}},
            "sink": {
                "Milvus": {"url": lite_server, "sink.buffer-flush.max-rows": 10000, "sink.buffer-flush.interval": 0.2}
            },
        },
    )
    streaming(job)
    _eventually("the snapshot", lambda: len(_target(lite_server, t)) == 3)  # a finished split flushes
    started = time.monotonic()
    execute(url, f"INSERT INTO {t} VALUES (4, 'soon', '[4,4,4,4]')")
    _eventually("the insert", lambda: 4 in _target(lite_server, t), timeout=30)
    assert time.monotonic() - started < 30  # long before the 600 s checkpoint would have flushed it


def test_job_mode_streaming_makes_the_kafka_and_pgvector_sources_stream() -> None:
    sink = "sink: {Milvus: {url: ./x.db}}"
    for source in (
        "Kafka: {bootstrap_servers: 127.0.0.1:9, topics: [t], primary_key: id}",
        "Pgvector: {url: 'postgresql://u@127.0.0.1/db', table: items}",
    ):
        assert not config.parse(f"source: {{{source}}}\n{sink}").source.unbounded()
        assert config.parse(f"env: {{job.mode: STREAMING}}\nsource: {{{source}}}\n{sink}").source.unbounded()


def test_cutover_abandon_drops_the_slot_and_the_next_run_starts_over_from_a_new_snapshot(
    pg_logical: Any,
    lite_server: str,
    tmp_path: Path,
    streaming: Callable[[Path], Running],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = pg_logical.url
    t, job, run = _streaming_table(url, 10, lite_server, tmp_path, streaming)
    run.stop()
    slot = f"SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE '{'vts_' + t}%'"
    assert fetch(url, slot) == [(1,)]

    assert cli.main(["cutover", "--abandon", str(job)]) == 0
    assert fetch(url, slot) == [(0,)]
    assert not _status(job, capsys)["found"]  # the checkpoint is forgotten too

    execute(url, f"UPDATE {t} SET title = 'after abandon' WHERE id = 1")
    streaming(job)
    want = _source(url, t)
    _eventually("the new snapshot", lambda: _target(lite_server, t) == want)
    assert fetch(url, slot) == [(1,)]


def test_check_of_a_streaming_job_passes_the_preflight_and_creates_no_slot(
    pg_logical: Any, lite_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = _table(pg_logical.url, 3)
    job = _job(tmp_path / "job.yaml", pg_logical.url, t, lite_server)
    assert cli.main(["check", str(job)]) == 0
    assert f"{t}/changes" in capsys.readouterr().out  # the stream split, after the snapshot's
    assert fetch(pg_logical.url, f"SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'vts_{t}%'") == [(0,)]
    assert fetch(pg_logical.url, f"SELECT count(*) FROM pg_publication WHERE pubname LIKE 'vts_{t}%'") == [(0,)]
