"""BulkWriter into the real Milvus 2.3.5 (gRPC bulk insert): through S3 (moto as the server's store) and local files.

Runs inside the suite's loopback-only network namespace (tests/services/milvus_standalone.py).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.bulk_fixtures import Staged, datagen, s3_config, source_table, unique
from tests.conftest import client_for, run_vts, write_job
from tests.services import milvus_standalone as ms
from vts.connectors.milvus.errors import MilvusError
from vts.testing.sinks import prepare

ROWS = 100_000
BUCKET = "milvus-bulk"


def _require_server() -> None:
    try:
        ms.find_milvus_server()
    except FileNotFoundError as exc:
        reason = str(exc)
    else:
        reason = None if ms.in_private_netns() and ms.loopback_up() else "not in a loopback-only network namespace"
    if reason:
        if os.environ.get("VTS_REQUIRE_MILVUS_STANDALONE") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def milvus_on_s3(s3) -> Iterator[ms.MilvusStandalone]:
    """Milvus 2.3.5 whose object store is the moto server (bucket BUCKET)."""
    _require_server()
    if BUCKET not in {b["Name"] for b in s3.client().list_buckets()["Buckets"]}:
        s3.create_bucket(BUCKET)
    config = {
        "common.storageType": "minio",
        "minio.address": "127.0.0.1",
        "minio.port": str(s3.port),
        "minio.bucketName": BUCKET,
        "minio.accessKeyID": s3.access_key,
        "minio.secretAccessKey": s3.secret_key,
        "minio.rootPath": "milvus-data",
    }
    with ms.MilvusStandalone(extra_config=config) as server:
        yield server


def _count(client: Any, name: str, want: int, timeout: float = 60) -> int:
    """Rows can take seconds to show after an import completes: refresh the load and poll."""
    deadline, n = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        client.load_collection(name, refresh=True)
        n = int(client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"])
        if n >= want:
            return n
        time.sleep(0.5)
    return n


def _job(tmp_path: Path, url: str, name: str, bulk: dict[str, Any], rows: int = ROWS) -> Path:
    spec = datagen(rows, collection=name, batch_size=5000)
    job = {
        "env": {
            "parallelism": 2,
            "checkpoint": {"path": str(tmp_path / "cp")},
            "dead_letter_path": str(tmp_path / "dead.jsonl"),
        },
        "source": {"DataGen": spec},
        "sink": {
            "Milvus": {
                "url": url,
                "index": {"index_type": "AUTOINDEX", "metric_type": "L2"},
                "bulk_writer_config": bulk,
            }
        },
    }
    return write_job(tmp_path / "job.yaml", job)


def _check_rows(client: Any, name: str, tmp_path: Path, rows: int = ROWS) -> None:
    assert _count(client, name, rows) == rows
    want = source_table(Staged(tmp_path, datagen(rows, collection=name, batch_size=5000), {}).source)
    ids = [0, 1, rows // 2, rows - 1]
    got = {
        r["id"]: r for r in client.query(name, filter=f"id in {ids}", output_fields=["*"], consistency_level="Strong")
    }
    for i in ids:
        assert got[i]["title"] == want.column("title")[i].as_py()
        assert np.allclose(got[i]["vector"], want.column("vector")[i].as_py())


def test_100k_rows_through_s3(tmp_path: Path, milvus_on_s3, s3) -> None:
    name = unique("bulk_s3")
    bulk = s3_config(s3, BUCKET, prefix="vts-stage", chunk_size=2, poll_interval=0.5)
    report = tmp_path / "report.json"
    code, _, err = run_vts("run", str(_job(tmp_path, milvus_on_s3.uri, name, bulk)), "-q", "--report", str(report))
    assert code == 0, err
    totals = json.loads(report.read_text())["totals"]
    assert totals["rows_staged"] == ROWS and totals["rows_written"] == ROWS  # written = what the import loaded
    _check_rows(client_for(milvus_on_s3.uri), name, tmp_path)
    assert s3.keys(BUCKET, f"vts-stage/{name}/") == {}  # staged files removed after the import


# -- failure paths (the real server's verdicts) --------------------------------------------------------


def _staged(tmp_path: Path, server: Any, s3, name: str, **bulk: Any) -> Staged:
    cfg = s3_config(s3, BUCKET, **{"chunk_size": 0.1, "poll_interval": 0.3, **bulk})
    st = Staged(tmp_path, datagen(6000, collection=name), {"url": server.uri, "bulk_writer_config": cfg})
    st.layout = prepare(st.sink, st.tables)
    return st


def test_partly_failed_import(tmp_path: Path, milvus_on_s3, s3) -> None:
    name = unique("bulk_part")
    st = _staged(tmp_path, milvus_on_s3, s3, name)
    infos = st.stage()
    files = infos[0]["files"]
    assert len(files) >= 3
    s3.client().delete_object(Bucket=BUCKET, Key=files[1]["key"])  # e.g. a lifecycle rule removed it
    with pytest.raises(MilvusError) as err:
        st.sink.commit(st.layout, infos)
    assert err.value.code == "MILVUS-27"
    lost = files[1]["rows"]
    assert f"{lost:,} of 6,000 staged row(s) were not imported" in err.value.message
    assert files[1]["key"] in err.value.message and "does not exist" in err.value.message
    assert _count(client_for(milvus_on_s3.uri), name, 6000 - lost, timeout=20) == 6000 - lost
    assert files[0]["key"] in s3.keys(BUCKET)  # kept for inspection after a failure

    # the same verdict with a tolerance: below it the run passes, above it MILVUS-28
    st.sink.options.bulk_writer_config.__dict__["max_error_rows"] = lost - 1  # frozen model: test-only poke
    s3.client().delete_object(Bucket=BUCKET, Key=files[1]["key"])
    with pytest.raises(MilvusError) as err:
        st.sink.commit(st.layout, [{**infos[0], "files": files[1:2]}, {"collection": name, "files": []}])
    assert err.value.code == "MILVUS-26"  # every file of the job failed: the import failed
    with pytest.raises(MilvusError) as err:
        st.sink.commit(st.layout, [{**infos[0], "files": files[1:3]}])
    assert err.value.code == "MILVUS-28" and f"more than max_error_rows={lost - 1}" in err.value.message
    st.sink.options.bulk_writer_config.__dict__["max_error_rows"] = lost
    assert st.sink.commit(st.layout, [{**infos[0], "files": files[1:3]}]) == files[2]["rows"]


def test_import_failed_when_files_are_not_in_the_servers_bucket(
    tmp_path: Path,
    milvus_on_s3,
    s3,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A classic misconfiguration: staging to a bucket the server does not read. vts run exits with MILVUS-26."""
    other = unique("other").replace("_", "-")
    s3.create_bucket(other)
    name = unique("bulk_fail")
    bulk = s3_config(s3, other, poll_interval=0.3)
    report = tmp_path / "report.json"
    code, out, err = run_vts(
        "run", str(_job(tmp_path, milvus_on_s3.uri, name, bulk, rows=2000)), "--report", str(report), capsys=capsys
    )
    assert code == 1
    text = out + err
    assert "MILVUS-26" in text and "import into" in text and "The specified key does not exist" in text
    assert "minio.bucketName" in text  # the fix names the cause
    totals = json.loads(report.read_text())["totals"]  # the failed run's report claims no row written
    assert totals["rows_written"] == 0 and totals["rows_staged"] == 2000
    assert len(s3.keys(other, f"vts/{name}/")) == 2  # staged files kept for inspection
