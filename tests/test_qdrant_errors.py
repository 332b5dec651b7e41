"""Bad input -> QDRANT-xx errors through the CLI: a message naming problem and fix, an exit code, no traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VTS_BIN, free_port, run_vts, write_job
from tests.qdrant_fixtures import AuthStub, Spec, build

SECRET = "s3cret-key-0123456789"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qdrant-errors")
    build(path, [Spec("ints", 50)])
    return path


def _run(tmp_path: Path, source: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    job = {"source": {"Qdrant": source}, "sink": {"Milvus": {"url": str(tmp_path / "x.db")}}}
    code, out, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert "Traceback" not in out + err
    return code, " ".join(err.split())


def test_missing_collection(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, {"path": str(folder), "collection_name": "nope"}, capsys)
    assert code == 1
    assert "[QDRANT-03]" in err and "collection 'nope' does not exist" in err and "fix: check 'collection_name" in err


def test_unknown_vector_name(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, {"path": str(folder), "collection_name": "ints", "vectors": ["text", "txt"]}, capsys)
    assert code == 2
    assert "[QDRANT-04]" in err and "no vector named 'txt'" in err
    assert "its vectors are: text, image, keywords" in err


@pytest.mark.parametrize(("key", "status"), [(SECRET, 401), (SECRET, 403), (None, 401)])
def test_wrong_api_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str | None, status: int) -> None:
    with AuthStub("the-right-key", wrong_key_status=status) as stub:
        source: dict[str, Any] = {"url": stub.url, "collection_name": "ints"}
        if key:
            source["api_key"] = key
        code, err = _run(tmp_path, source, capsys)
        assert stub.requests, "the client never reached the stub"
    assert code == 3
    assert "[QDRANT-02]" in err and "refused the credentials" in err and "fix: check 'api_key'" in err
    assert f"HTTP {401 if key is None else status}" in err
    assert SECRET not in err


def test_wrong_api_key_in_a_terminal(tmp_path: Path) -> None:
    """Through a real process, as a user sees it: one error line and a fix, no traceback, no key."""
    with AuthStub("the-right-key", wrong_key_status=403) as stub:
        job = {
            "source": {"Qdrant": {"url": stub.url, "api_key": SECRET, "collection_name": "ints"}},
            "sink": {"Milvus": {"url": str(tmp_path / "x.db")}},
        }
        path = write_job(tmp_path / "job.yaml", job)
        proc = subprocess.run([str(VTS_BIN), "run", "-q", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "QDRANT-02" in proc.stderr and "Traceback" not in proc.stderr and SECRET not in proc.stderr


def test_unreachable_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, err = _run(tmp_path, {"url": url, "collection_name": "ints", "timeout": 5}, capsys)
    assert code == 3
    assert "[QDRANT-01]" in err and f"cannot reach Qdrant at {url}" in err and "fix: check 'url'" in err


def test_local_folder_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    code, err = _run(tmp_path, {"path": str(missing)}, capsys)
    assert code == 2 and "[QDRANT-07]" in err and "does not exist" in err
    assert not missing.exists()  # a source never creates the folder it reads


def test_local_folder_locked_by_another_client(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qdrant_client import QdrantClient

    path = tmp_path / "locked"
    build(path, [Spec("ints", 5)])
    holder = QdrantClient(path=str(path))
    try:
        code, err = _run(tmp_path, {"path": str(path)}, capsys)
    finally:
        holder.close()
    assert code == 3 and "[QDRANT-08]" in err and "open in another process" in err


def test_payload_key_named_like_a_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qdrant_client import QdrantClient, models

    path = tmp_path / "clash"
    client = QdrantClient(path=str(path))
    client.create_collection("c", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    client.upsert("c", [models.PointStruct(id=1, vector=[1.0, 2.0], payload={"vector": "oops", "a": 1})])
    client.close()
    code, err = _run(tmp_path, {"path": str(path)}, capsys)
    assert code == 4 and "[QDRANT-09]" in err and "['vector']" in err and "payload_column" in err


def test_conflicting_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, {"url": "http://127.0.0.1:1", "path": str(tmp_path)}, capsys)
    assert code == 2 and "[VTS-01]" in err and "exactly one of 'url', 'host' or 'path'" in err
    code, err = _run(tmp_path, {"path": str(tmp_path), "batch_size": 0}, capsys)
    assert code == 2 and "batch_size" in err
