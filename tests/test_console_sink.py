"""The Console sink: every row on stdout as a JSON line, for debugging a job; nothing written anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_vts, write_job


def _job(tmp_path: Path, **console: object) -> Path:
    job = {
        "source": {"DataGen": {"collection": "docs", "row_count": 7, "fields": [
            {"name": "id", "type": "BIGINT", "primary_key": True},
            {"name": "v", "type": "FLOAT_VECTOR", "dimension": 2},
        ]}},
        "transform": [{"Sql": {"query": "SELECT id, v, id * 10 AS tens FROM docs"}}],
        "sink": {"Console": console},
    }  # fmt: skip
    return write_job(tmp_path / "console.yaml", job)


def test_console_prints_every_row_as_the_transforms_leave_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_vts("run", str(_job(tmp_path)), capsys=capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert sorted(r["id"] for r in rows) == list(range(7))
    assert all(r["tens"] == r["id"] * 10 and len(r["v"]) == 2 and r["table"] == "docs" for r in rows)
    assert "docs -> stdout: 7 row(s)" in out
    assert "vts verify" not in out  # nothing to read back: the summary does not suggest it


def test_console_limit_prints_fewer_rows_but_counts_them_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_vts("run", str(_job(tmp_path, limit=3)), capsys=capsys)
    assert code == 0, err
    assert len([line for line in out.splitlines() if line.startswith("{")]) == 3
    assert "docs -> stdout: 7 row(s)" in out


def test_vts_check_shows_the_schema_the_console_would_print(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_vts("check", str(_job(tmp_path)), capsys=capsys)
    assert code == 0, err
    assert "docs: id BIGINT, v FLOAT_VECTOR, tens BIGINT -> stdout" in out
