"""PostgreSQL change data capture (job.mode STREAMING) into Milvus Lite: snapshot, then the slot's changes.

Every test uses the session's logical-decoding PostgreSQL (``pg_logical``)
and the shared Milvus Lite server, makes changes while the job streams,
and compares the collection with the table (never with vts's own counters).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import pgvector_fixtures
from tests.conftest import client_for, read_all, write_job
from tests.pgvector_fixtures import execute, fetch, unique
from vts import cli, config, engine

pg, pg_logical = pgvector_fixtures.pg, pgvector_fixtures.pg_logical
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


@pytest.fixture
def streaming() -> Iterator[Callable[[Path], threading.Event]]:
    """Start `vts run`'s driver in a thread; the test's end stops it cleanly and re-raises what it raised."""
    running: list[tuple[threading.Thread, threading.Event, list[BaseException]]] = []

    def start(job: Path) -> threading.Event:
        stop, errors = threading.Event(), []

        def go() -> None:
            try:
                engine.run(config.load(job), engine.RunOptions(stop=stop))
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=go, daemon=True)
        thread.start()
        running.append((thread, stop, errors))
        return stop

    yield start
    for thread, stop, errors in running:
        stop.set()
        thread.join(60)
        assert not errors, errors


def _target(milvus: str, table: str) -> dict[int, tuple[str, list[float]]]:
    c = client_for(milvus)
    try:
        if not c.has_collection(table):
            return {}
        return {r["id"]: (r["title"], [round(x, 3) for x in r["emb"]]) for r in read_all(c, table, ["id", "title", "emb"])}
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


def test_changes_while_streaming_reach_milvus_in_commit_order_and_verify_passes(
    pg_logical: Any, lite_server: str, tmp_path: Path, streaming: Callable[[Path], threading.Event]
) -> None:
    url = pg_logical.url
    t = _table(url, 50)
    job = _job(tmp_path / "job.yaml", url, t, lite_server)
    streaming(job)
    _eventually("the snapshot", lambda: len(_target(lite_server, t)) == 50)

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
    execute(pg_logical.url, f"CREATE TABLE {t} (id bigint, emb vector({DIM}))", f"INSERT INTO {t} VALUES (1, '[1,2,3,4]')")
    job = _job(tmp_path / "job.yaml", pg_logical.url, t, lite_server)
    for command in ("check", "run"):
        assert cli.main([command, str(job)]) == 4
        assert "PGVECTOR-13" in capsys.readouterr().err
    assert fetch(pg_logical.url, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE %s", [f"vts_{t}%"]) == [
        (0,)
    ]
    assert not fetch(pg_logical.url, "SELECT 1 FROM pg_publication WHERE pubname LIKE %s", [f"vts_{t}%"])


def test_a_server_without_logical_decoding_is_refused(
    pg: Any, lite_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = _table(pg.url, 3)
    job = _job(tmp_path / "job.yaml", pg.url, t, lite_server)
    assert cli.main(["check", str(job)]) == 2
    err = capsys.readouterr().err
    assert "PGVECTOR-11" in err and "wal_level" in err
