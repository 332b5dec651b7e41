"""What `vts run` tells a user at the end: where the rows went, what was rejected, one rate, what to run next."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_vts, write_job
from vts.connectors.milvus.connection import ServerInfo
from vts.connectors.milvus.mapping import map_table
from vts.connectors.milvus.options import MilvusSinkOptions
from vts.connectors.milvus.sink import MilvusLayout, MilvusSink
from vts.schema import Field, LType, TableSchema


def _job(tmp_path: Path) -> Path:
    source = {
        "collection": "docs",
        "row_count": 4000,
        "invalid_ratio": 0.01,
        "partitions": ["en", "fr"],
        "fields": [
            {"name": "id", "type": "BIGINT", "primary_key": True},
            {"name": "v", "type": "FLOAT_VECTOR", "dimension": 4},
        ],
    }
    job = {
        "env": {"parallelism": 2, "dead_letter_path": str(tmp_path / "rejects.jsonl")},
        "source": {"DataGen": source},
        "sink": {"Milvus": {"url": str(tmp_path / "t.db"), "max_error_rows": 1000}},
    }
    return write_job(tmp_path / "job.yaml", job)


def test_the_summary_names_the_target_partitions_rejects_and_the_next_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = _job(tmp_path)
    code, out, err = run_vts("run", str(job), "--report", str(tmp_path / "r.json"), capsys=capsys)
    assert code == 0, err
    rejected = len((tmp_path / "rejects.jsonl").read_text().splitlines())
    assert 0 < rejected < 100
    line = next(x for x in out.splitlines() if x.startswith("docs -> "))
    assert f"collection docs at {tmp_path / 't.db'}: {4000 - rejected:,} row(s)" in line
    en, fr = (int(n.replace(",", "")) for n in re.findall(r"partition (?:en|fr) ([\d,]+)", line))
    assert en + fr == 4000 - rejected
    assert f"{rejected:,} rejected row(s) with reasons in {tmp_path / 'rejects.jsonl'}" in out
    assert f"next: vts verify {job}" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["targets"] == {"docs": f"collection docs at {tmp_path / 't.db'}"}
    assert report["dead_letters"] == str(tmp_path / "rejects.jsonl")


def test_the_bar_and_the_summary_show_one_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_vts("run", str(_job(tmp_path)), capsys=capsys)
    assert code == 0, err
    bar = re.findall(r"([\d,]+) rows/s", err)[-1]  # the bar's last frame
    header, row = [x for x in out.splitlines() if "│" in x or "┃" in x][:2]
    columns = [c.strip() for c in header.strip("┃").split("┃")]
    values = [c.strip() for c in row.strip("│").split("│")]
    assert dict(zip(columns, values))["rows/s"] == bar


def test_quiet_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_vts("run", "-q", str(_job(tmp_path)), capsys=capsys)
    assert code == 0 and out == "" and err == ""


def test_the_target_url_is_shown_without_its_password() -> None:
    table = TableSchema("t", (Field("id", LType.BIGINT, primary_key=True), Field("v", LType.FLOAT_VECTOR, dimension=2)))
    sink = MilvusSink(MilvusSinkOptions(url="https://admin:s3cret-pw@milvus.example:19530"))
    server = ServerInfo.parse("v2.5.0")
    layout = MilvusLayout(server, {"t": map_table(table, sink.options, server)})
    assert sink.describe_targets(layout) == {"t": "collection t at https://admin:***@milvus.example:19530"}
