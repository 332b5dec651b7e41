"""The README's first command: the quickstart job, end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np

from tests.conftest import REPO, VTS_BIN, client_for, count, read_all
from vts import config
from vts.connectors.datagen.generate import Generator

QUICKSTART = REPO / "jobs" / "quickstart.yaml"


ROWS = 20_000  # the job's own 100 000 is `make demo`'s; a fifth proves the same in a fifth of the time


def test_quickstart_writes_every_generated_row_exactly(tmp_path: Path) -> None:
    db = tmp_path / "quickstart.db"
    env = {**os.environ, "QUICKSTART_DB": str(db), "QUICKSTART_ROWS": str(ROWS)}
    proc = subprocess.run([str(VTS_BIN), "run", str(QUICKSTART)], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for column in ("rows read", "written", "rejected", "rows/s"):
        assert column in proc.stdout
    assert f"{ROWS:,}" in proc.stdout and "building the index of quickstart" in proc.stderr

    job = config.load(QUICKSTART, environ=env)
    table = job.source.discover()[0]
    expected = Generator(table, seed=42).rows(0, ROWS).to_pylist()

    client = client_for(str(db))
    rows = read_all(client, "quickstart", ["id", "vector", "title", "meta", "tags"])
    assert len(rows) == ROWS
    assert [r["id"] for r in rows] == list(range(ROWS))
    for got, want in zip(rows, expected, strict=True):
        assert np.array_equal(np.asarray(got["vector"], dtype=np.float32), np.asarray(want["vector"], dtype=np.float32))
        assert got["title"] == want["title"]
        assert got["meta"] == json.loads(want["meta"])
        assert list(got["tags"]) == want["tags"]

    schema = client.describe_collection("quickstart")
    by_name = {f["name"]: f for f in schema["fields"]}
    assert by_name["id"]["is_primary"] and not schema["auto_id"]
    assert by_name["vector"]["params"]["dim"] == 768
    assert by_name["title"]["params"]["max_length"] == 256
    assert by_name["tags"]["params"]["max_capacity"] == 16
    assert client.describe_index("quickstart", "vector")["metric_type"] == "COSINE"
    client.close()


def test_rerun_in_upsert_mode_leaves_the_count_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "again.db"
    env = {**os.environ, "QUICKSTART_DB": str(db), "QUICKSTART_ROWS": "5000"}
    for _ in range(2):
        proc = subprocess.run(
            [str(VTS_BIN), "run", "-q", str(QUICKSTART)], env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == ""  # --quiet prints nothing on success
    client = client_for(str(db))
    assert count(client, "quickstart") == 5000
    client.close()
