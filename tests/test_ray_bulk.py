"""The BulkWriter on Ray: workers stage Parquet files, the driver alone calls Milvus 2.3.5's bulk insert.

Its own module: it needs the real Milvus 2.3.5 with its default local storage (one Milvus per namespace).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bulk_fixtures import unique
from tests.conftest import client_for, read_all, run_vts, write_job
from tests.services import milvus_standalone as ms
from tests.test_bulk_milvus import _require_server


def test_the_bulk_writer_gives_identical_rows_on_threads_and_on_ray(
    tmp_path: Path, ray_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _require_server()
    server = ms.shared_instance()
    stage = tmp_path / "stage"
    stage.mkdir()
    job = {
        "env": {"parallelism": 2, "checkpoint": {"path": str(tmp_path / "cp")}},
        "source": {
            "DataGen": {
                "collection": "${BULK_COLLECTION}",
                "row_count": 3000,
                "batch_size": 500,
                "fields": [
                    {"name": "id", "type": "BIGINT", "primary_key": True},
                    {"name": "v", "type": "FLOAT_VECTOR", "dimension": 8},
                    {"name": "title", "type": "STRING", "max_length": 64},
                ],
            }
        },
        "sink": {
            "Milvus": {
                "url": server.uri,
                "index": {"index_type": "AUTOINDEX", "metric_type": "L2"},
                "bulk_writer_config": {"cloud_id": "local", "local_path": str(stage), "poll_interval": 0.5},
            }
        },
    }
    path = write_job(tmp_path / "job.yaml", job)
    rows = {}
    for executor in ("local", "ray"):
        name = unique(f"bulk_{executor}")
        monkeypatch.setenv("BULK_COLLECTION", name)
        report = tmp_path / f"{executor}.json"
        code, _, err = run_vts("run", "-q", "--executor", executor, "--report", str(report), str(path))
        assert code == 0, err
        totals = json.loads(report.read_text())["totals"]
        assert totals["rows_staged"] == 3000 and totals["rows_written"] == 3000  # written: what the import loaded
        rows[executor] = read_all(client_for(server.uri), name, ["id", "v", "title"])
    assert len(rows["ray"]) == 3000 and rows["ray"] == rows["local"]
