"""Routing: source partitions created on demand, a static partition, a partition key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import client_for, run_vts, write_job

FIELDS = [
    {"name": "id", "type": "BIGINT", "primary_key": True},
    {"name": "v", "type": "FLOAT_VECTOR", "dimension": 4},
    {"name": "tenant", "type": "BIGINT"},
]


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: dict, **sink: object) -> str:
    url = str(tmp_path / "p.db")
    job = {
        "env": {"parallelism": 2},
        "source": {"DataGen": {"collection": "p", "row_count": 900, "batch_size": 100, "fields": FIELDS, **source}},
        "sink": {"Milvus": {"url": url, "batch_size": 128, **sink}},
    }
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == 0, err
    return url


def _ids_in(client, partition: str) -> list[int]:  # type: ignore[no-untyped-def]
    # queries need a loaded collection, and vts keeps a Lite target released while it writes (no index builds)
    client.load_collection("p")
    rows = client.query(
        "p", filter="", output_fields=["id"], partition_names=[partition], limit=16384, consistency_level="Strong"
    )
    return sorted(r["id"] for r in rows)


def test_source_partitions_are_created_on_demand_and_keep_their_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _run(tmp_path, capsys, {"partitions": ["eu", "us", "asia"]})
    c = client_for(url)
    assert set(c.list_partitions("p")) == {"_default", "eu", "us", "asia"}
    assert _ids_in(c, "eu") == list(range(0, 300))
    assert _ids_in(c, "us") == list(range(300, 600))
    assert _ids_in(c, "asia") == list(range(600, 900))
    assert _ids_in(c, "_default") == []


def test_a_static_partition_name_receives_every_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = _run(tmp_path, capsys, {"partitions": ["eu", "us"]}, partition_name="archive")
    c = client_for(url)
    assert "archive" in c.list_partitions("p")
    assert _ids_in(c, "archive") == list(range(900))


def test_a_partition_key_is_kept_and_milvus_routes_the_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fields = [dict(f, partition_key=True) if f["name"] == "tenant" else f for f in FIELDS]
    url = _run(tmp_path, capsys, {"fields": fields}, partition_num=8)
    c = client_for(url)
    described = {f["name"]: f for f in c.describe_collection("p")["fields"]}
    assert described["tenant"].get("is_partition_key")
    c.load_collection("p")
    rows = c.query("p", filter="", output_fields=["id"], limit=16384, consistency_level="Strong")
    assert sorted(r["id"] for r in rows) == list(range(900))
