"""The example jobs of the File, VDF and Parquet connectors run as shipped (jobs/*.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests import file_fixtures as ff
from tests import vdf_fixtures as vf
from tests.conftest import REPO, client_for, count, run_vts
from vts.connectors.parquet.manifest import MANIFEST, parquet_files
from vts.testing.sinks import unique

JOBS = REPO / "jobs"


def test_the_files_and_export_jobs_run_as_shipped(
    tmp_path: Path, lite_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ff.write_parquet(tmp_path / "embeddings", [0, 400, 1000])
    table = unique("docs")
    for key, value in {
        "FILES_PATH": str(tmp_path / "embeddings" / "*.parquet"),
        "TABLE": table,
        "MILVUS_URL": lite_server,
        "COLLECTION": table,
        "EXPORT_PATH": str(tmp_path / "export"),
        "EXPORT_LAYOUT": "vdf",
    }.items():
        monkeypatch.setenv(key, value)
    code, _, err = run_vts("run", "-q", str(JOBS / "files_to_milvus_lite.yaml"), capsys=capsys)
    assert code == 0, err
    client = client_for(lite_server)
    try:
        assert count(client, table) == 1000
    finally:
        client.close()
    code, _, err = run_vts("run", "-q", str(JOBS / "milvus_to_parquet.yaml"), capsys=capsys)
    assert code == 0, err
    folder = tmp_path / "export" / table
    assert sum(pq.read_metadata(p).num_rows for p in parquet_files(folder)) == 1000
    assert json.loads((folder / MANIFEST).read_text())["rows"] == 1000
    assert table in json.loads((tmp_path / "export" / "VDF_META.json").read_text())["indexes"]


def test_the_vdf_job_runs_as_shipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    vf.write(tmp_path / "vdf", [vf.Namespace("wiki", "", 200), vf.Namespace("wiki", "de", 100)])
    monkeypatch.setenv("VDF_PATH", str(tmp_path / "vdf"))
    monkeypatch.setenv("MILVUS_URL", str(tmp_path / "copy.db"))
    code, _, err = run_vts("run", "-q", str(JOBS / "vdf_to_milvus_lite.yaml"), capsys=capsys)
    assert code == 0, err
    client = client_for(str(tmp_path / "copy.db"))
    try:
        assert (count(client, "wiki"), count(client, "wiki_de")) == (200, 100)
    finally:
        client.close()
