"""Incremental runs: each run moves exactly the rows inserted or updated since the last successful one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import client_for, read_all, run_vts, write_job
from tests.pgvector_fixtures import execute, unique


def _job(tmp_path: Path, url: str, t: str, column: str, **sink: Any) -> Path:
    return write_job(
        tmp_path / "job.yaml",
        {
            "env": {"parallelism": 2},
            "source": {
                "Pgvector": {
                    "url": url,
                    "table": t,
                    "incremental_column": column,
                    "state_path": str(tmp_path / "state.json"),
                    "batch_size": 100,
                }
            },
            "sink": {"Milvus": {"url": str(tmp_path / "t.db"), **sink}},
        },
    )


def _run(path: Path) -> dict[str, int]:
    code, out, err = run_vts("run", str(path), "--report", str(path.with_suffix(".report.json")))
    assert code == 0, err + out
    return json.loads(path.with_suffix(".report.json").read_text())["totals"]


def test_incremental_runs_move_only_new_and_changed_rows(pg_url: str, tmp_path: Path) -> None:
    t = unique("inc")
    execute(
        pg_url,
        f"""CREATE TABLE {t} (id int PRIMARY KEY, v vector(2) NOT NULL, note text,
            updated_at timestamptz NOT NULL DEFAULT '2024-01-01')""",
        f"INSERT INTO {t} (id, v, note) SELECT i, ARRAY[i, 0]::vector, 'v1' FROM generate_series(1, 1000) i",
    )
    job = _job(tmp_path, pg_url, t, "updated_at")
    assert _run(job)["rows_read"] == 1000

    assert _run(job)["rows_read"] == 0  # nothing changed: nothing moves

    execute(
        pg_url,
        f"UPDATE {t} SET note = 'v2', v = ARRAY[id, 2]::vector, updated_at = '2024-01-02' WHERE id % 100 = 0",
        f"INSERT INTO {t} (id, v, note, updated_at) SELECT i, ARRAY[i, 0]::vector, 'new', '2024-01-03' "
        "FROM generate_series(1001, 1050) i",
    )
    assert _run(job)["rows_read"] == 10 + 50

    client = client_for(str(tmp_path / "t.db"))
    rows = {r["id"]: r for r in read_all(client, t, ["id", "v", "note"])}
    assert len(rows) == 1050  # updates replaced rows (upsert): no duplicates
    assert rows[100]["note"] == "v2" and rows[100]["v"] == [100.0, 2.0]
    assert rows[101]["note"] == "v1" and rows[1050]["note"] == "new"
    client.close()
    marks = json.loads((tmp_path / "state.json").read_text())["marks"]
    assert [m["value"] for m in marks.values()] == ["2024-01-03 00:00:00+00"]


def test_a_failed_run_keeps_the_old_mark(pg_url: str, tmp_path: Path) -> None:
    t = unique("incfail")
    execute(
        pg_url,
        f"CREATE TABLE {t} (id int PRIMARY KEY, v vector(2) NOT NULL, seq bigserial)",
        f"INSERT INTO {t} (id, v) SELECT i, ARRAY[i, 0]::vector FROM generate_series(1, 300) i",
    )
    assert _run(_job(tmp_path, pg_url, t, "seq"))["rows_read"] == 300
    execute(pg_url, f"INSERT INTO {t} (id, v) SELECT i, ARRAY[i, 0]::vector FROM generate_series(301, 400) i")
    # the sink refuses the data (the collection exists and must not hold rows): the run fails before finish()
    failing = _job(tmp_path, pg_url, t, "seq", data_save_mode="ERROR_WHEN_DATA_EXISTS")
    code, _, _ = run_vts("run", "-q", str(failing))
    assert code != 0
    assert _run(_job(tmp_path, pg_url, t, "seq"))["rows_read"] == 100  # the failed run's rows move now


@pytest.mark.parametrize("corrupt", ["{not json", '{"version": 99, "marks": {}}'])
def test_unreadable_state_is_a_coded_error(
    pg_url: str,
    tmp_path: Path,
    corrupt: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    t = unique("incstate")
    execute(pg_url, f"CREATE TABLE {t} (id int PRIMARY KEY, v vector(2) NOT NULL)")
    (tmp_path / "state.json").write_text(corrupt)
    code, _, err = run_vts("run", "-q", str(_job(tmp_path, pg_url, t, "id")), capsys=capsys)
    assert code == 1 and "PGVECTOR-10" in err and "state" in err and "Traceback" not in err
