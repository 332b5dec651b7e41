"""BulkWriter + SIGKILL: killed while uploading Parquet to S3 and while importing, resumed, never doubled.

Its own module: it needs the Milvus 2.3.5 whose object store is the moto server (one Milvus per namespace).
"""

# ruff: noqa: F811  (pytest fixtures imported from other test modules are used as parameters)
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from pathlib import Path
from typing import Any

from tests.bulk_fixtures import datagen, s3, unique  # noqa: F401
from tests.conftest import VTS_BIN, write_job
from tests.test_bulk_milvus import BUCKET, _count, milvus_on_s3  # noqa: F401

ROWS = 200_000


def _state(tmp_path: Path) -> dict[str, Any]:
    files = list((tmp_path / "cp").glob("*.json"))
    return json.loads(files[0].read_text())["state"] if files else {}


def test_sigkill_during_uploads_and_import_then_resume_imports_every_row_once(
    tmp_path: Path, milvus_on_s3: Any, s3: Any
) -> None:
    name = unique("bulk_kill")
    job = {
        "env": {"parallelism": 2, "checkpoint": {"path": str(tmp_path / "cp"), "interval": 0.2}},
        "source": {"DataGen": datagen(ROWS, collection=name, batch_size=4000)},
        "sink": {
            "Milvus": {
                "url": milvus_on_s3.uri,
                "index": {"index_type": "AUTOINDEX", "metric_type": "L2"},
                "bulk_writer_config": {
                    "cloud_id": "aws", "minio_url": s3.endpoint, "access_key": s3.access_key,
                    "secret_key": s3.secret_key, "bucket_name": BUCKET, "prefix": "kill", "chunk_size": 1,
                    "poll_interval": 0.3,
                },
            }
        },
    }  # fmt: skip
    path = write_job(tmp_path / "job.yaml", job)
    rng = random.Random(3)
    kills: list[str] = []
    finished = False
    for attempt in range(20):
        log = (tmp_path / f"run{attempt}.log").open("w")
        proc = subprocess.Popen([str(VTS_BIN), "--log-level", "INFO", "run", "-q", str(path)], stderr=log, text=True)
        delay = 0.5 if attempt == 0 else rng.uniform(1.0, 2.5)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            state = _state(tmp_path)
            splits = [s for k, s in state.items() if k != "_commit"]
            if "_commit" in state:
                kills.append("import")
            elif any(not s.get("done") and "position" in s for s in splits):
                kills.append("upload")
            else:
                kills.append("start")
            if len(kills) >= 5 and "upload" in kills and "import" in kills:
                break
            continue
        proc.wait()
        assert proc.returncode == 0, (tmp_path / f"run{attempt}.log").read_text()
        finished = True
        break
    if not finished:
        done = subprocess.run([str(VTS_BIN), "run", "-q", str(path)], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    assert len(kills) >= 5 and "upload" in kills and "import" in kills, kills

    from pymilvus import MilvusClient

    client = MilvusClient(milvus_on_s3.uri)
    assert _count(client, name, ROWS) == ROWS  # every row, none twice
    verify = subprocess.run([str(VTS_BIN), "verify", "--full", str(path)], capture_output=True, text=True, timeout=600)
    assert verify.returncode == 0, verify.stdout + verify.stderr
