"""The CLI as a user meets it: check, connectors, reports, transforms, no tracebacks."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VTS_BIN, client_for, read_all, run_vts, write_job
from vts import cli
from vts.errors import ExitCode


def _job(tmp_path: Path, **extra: object) -> Path:
    job = {
        "env": {"parallelism": 3},
        "source": {
            "DataGen": {
                "collection": "docs",
                "row_count": 1000,
                "fields": [
                    {"name": "id", "type": "BIGINT", "primary_key": True},
                    {"name": "embedding", "type": "FLOAT_VECTOR", "dimension": 8},
                    {"name": "body", "type": "STRING", "max_length": 100},
                ],
            }
        },
        "sink": {"Milvus": {"url": str(tmp_path / "cli.db"), "token": "root:s3cr3t-token"}},
        **extra,
    }
    return write_job(tmp_path / "job.yaml", job)


def test_check_prints_splits_and_target_schema_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_vts("check", str(_job(tmp_path)), capsys=capsys)
    assert code == 0, err
    assert "docs/_default/0-333" in out and "docs/_default/666-1000" in out
    assert re.search(
        r"embedding\s+│ FLOAT_VECTOR dimension=8\s+│ embedding\s+│ FLOAT_VECTOR dim=8", out
    )  # side by side
    assert "VARCHAR max_length=100" in out
    assert "index on embedding: AUTOINDEX COSINE" in out
    assert "nothing was written" in out
    assert "s3cr3t-token" not in out + err
    assert "docs" not in client_for(str(tmp_path / "cli.db")).list_collections()


def test_connectors_lists_every_connector_with_options_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_vts("connectors", capsys=capsys)
    assert code == 0
    for text in ("DataGen (source)", "Milvus (sink)", "FieldRename (transform)", "schema_save_mode",
                 "CREATE_SCHEMA_WHEN_NOT_EXIST", "token (secret)"):  # fmt: skip
        assert text in out, text
    assert re.search(r"^    batch_size +1000 +Rows per Insert/Upsert call\.$", out, re.M)
    assert re.search(r"^    rate_limit_backoff +60\.0 ", out, re.M)
    code, out, _ = run_vts("connectors", "milvus", capsys=capsys)
    assert "DataGen" not in out and "Milvus (sink)" in out


COMMANDS = [[], ["run"], ["check"], ["verify"], ["status"], ["connectors"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "vts")
def test_help_shows_examples_that_parse_and_every_exit_code(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([*command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    examples = text.split("examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert 2 <= len(examples) <= 3
    for line in examples:
        argv = [a for a in shlex.split(line.split("  # ", 1)[0]) if "=" not in a]  # VAR=value prefixes
        assert argv[0] == "vts", line
        args = cli._parser().parse_args(argv[1:])  # an example that does not parse exits 2
        assert [args.command] == command or not command, line
    table = text.split("exit codes:\n", 1)[1]
    for code in ExitCode:
        assert re.search(rf"^ +{int(code)}  \S", table, re.M), code
    assert "nothing was contacted" in table and "no data moved" in table


def test_report_has_per_split_counts_and_timings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "run.json"
    code, out, err = run_vts("run", "--report", str(report), str(_job(tmp_path)), capsys=capsys)
    assert code == 0, err
    data = json.loads(report.read_text())
    assert data["totals"]["rows_written"] == 1000 and data["totals"]["rows_rejected"] == 0
    assert sorted(s["rows_written"] for s in data["splits"]) == [333, 333, 334]
    assert all(s["seconds"] > 0 for s in data["splits"])
    assert "1,000" in out  # summary
    assert "migrating" in err  # progress bar
    assert "s3cr3t-token" not in out + err + report.read_text()


def test_transforms_rename_and_select_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _job(
        tmp_path,
        transform=[
            {"FieldRename": {"fields": {"embedding": "vector"}}},
            {"FieldMapper": {"field_mapper": {"id": "pk", "vector": "vector"}}},
        ],
    )
    code, _, err = run_vts("run", "-q", str(path), capsys=capsys)
    assert code == 0, err
    c = client_for(str(tmp_path / "cli.db"))
    assert [f["name"] for f in c.describe_collection("docs")["fields"]] == ["pk", "vector"]
    assert [r["pk"] for r in read_all(c, "docs", ["pk"], key="pk")] == list(range(1000))


def test_a_failure_reaches_the_terminal_as_one_coded_line_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: {DataGen: {}}\nsink: {Milvus: {url: 'http://127.0.0.1:1', token: 'root:hunter22'}}\n")
    proc = subprocess.run([str(VTS_BIN), "run", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    assert "MILVUS-16" in proc.stderr and "fix:" in proc.stderr
    assert "Traceback" not in proc.stderr and "hunter22" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("level", ["debug", "INFO", "Warning"])
def test_log_level_is_accepted_in_any_case(level: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_vts("--log-level", level, "connectors", capsys=capsys)
    assert code == 0, err
    assert "Milvus" in out
