"""BulkWriter + SIGKILL: killed while uploading Parquet to S3 and while importing, resumed, never doubled.

Its own module: it needs the Milvus 2.3.5 whose object store is the moto server (one Milvus per namespace).
"""

# ruff: noqa: F811  (milvus_on_s3 is test_bulk_milvus.py's module fixture, used here as a parameter)
from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

from tests.bulk_fixtures import datagen, s3_config, unique
from tests.conftest import VTS_BIN, checkpoint_state, kill_when, write_job
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
        "env": {"parallelism": 1, "checkpoint": {"path": str(tmp_path / "cp"), "interval": 0.2}},
        "source": {"DataGen": datagen(ROWS, collection=name, batch_size=4000)},
        "sink": {
            "Milvus": {
                "url": milvus_on_s3.uri,
                "index": {"index_type": "AUTOINDEX", "metric_type": "L2"},
                "bulk_writer_config": s3_config(s3, BUCKET, prefix="kill", chunk_size=1, poll_interval=0.3),
            }
        },
    }  # fmt: skip
    path = write_job(tmp_path / "job.yaml", job)
    cp = tmp_path / "cp"

    def uploading() -> bool:  # a split has made Parquet files durable and goes on
        return any("position" in s and not s.get("done") for k, s in checkpoint_state(cp).items() if k != "_commit")

    def importing() -> bool:  # the commit has journaled an import request
        return bool(checkpoint_state(cp).get("_commit"))

    rng = random.Random(3)
    schedule = ["start", "upload", "upload", "upload", "import", "import"]
    kills: list[str] = []
    finished = False
    for phase in schedule:
        proc = subprocess.Popen([str(VTS_BIN), "run", "-q", str(path)], stderr=subprocess.PIPE, text=True)
        ready = {"start": lambda: True, "upload": uploading, "import": importing}[phase]
        after = 0.4 if phase == "start" else rng.uniform(0.0, 0.3)
        if kill_when(proc, ready, after):
            kills.append(phase)
            continue
        proc.wait()  # it got past that phase and finished: a new run would be a new job
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
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
