"""BulkWriter into the real Milvus 2.3.5 through local files (the server's default local storage).

Its own module: the S3 tests' server (tests/test_bulk_milvus.py) must be stopped first (one Milvus per namespace).
"""

from __future__ import annotations

from pathlib import Path

from tests.bulk_fixtures import unique
from tests.conftest import client_for, run_vts
from tests.services import milvus_standalone as ms
from tests.test_bulk_milvus import _check_rows, _job, _require_server


def test_100k_rows_through_local_files(tmp_path: Path) -> None:
    _require_server()
    server = ms.shared_instance()
    name = unique("bulk_local")
    folder = tmp_path / "stage"
    folder.mkdir()
    bulk = {
        "cloud_id": "local",
        "local_path": str(folder),
        "chunk_size": 2,
        "poll_interval": 0.5,
        "keep_staged_files": True,
    }
    code, _, err = run_vts("run", str(_job(tmp_path, server.uri, name, bulk)), "-q")
    assert code == 0, err
    _check_rows(client_for(server.uri), name, tmp_path)
    kept = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))
    assert kept and all(k.startswith(f"vts/{name}/_default/") for k in kept)  # keep_staged_files
