"""REST import (Milvus 2.4+ /v2/vectordb/jobs/import/create) against a strict local endpoint.

No Milvus 2.4 can run here: tests/bulk_fixtures.StrictImportEndpoint validates
requests as Milvus 2.4's handler does and "imports" by reading the staged
files. The sink's schema side runs on the Milvus Lite server (conftest).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bulk_fixtures import Staged, StrictImportEndpoint, datagen, unique
from tests.conftest import run_vts, write_job
from vts.connectors.milvus.bulk import importer
from vts.connectors.milvus.errors import MilvusError
from vts.retry import RetryPolicy

TOKEN = "root:Milvus"


@pytest.fixture
def stage(tmp_path: Path) -> Path:
    folder = tmp_path / "stage"
    folder.mkdir()
    return folder


@pytest.fixture
def endpoint(stage: Path) -> Iterator[StrictImportEndpoint]:
    with StrictImportEndpoint(read_file=lambda path: Path(path).read_bytes(), token=TOKEN) as ep:
        yield ep


def _bulk(stage: Path, endpoint: StrictImportEndpoint, **kw) -> dict:
    return {
        "cloud_id": "local",
        "local_path": str(stage),
        "import_method": "rest",
        "rest_url": endpoint.url,
        "rest_token": TOKEN,
        "poll_interval": 0.05,
        "chunk_size": 0.2,
        **kw,
    }


def test_vts_run_imports_through_rest(tmp_path: Path, lite_server: str, stage: Path, endpoint) -> None:
    name = unique("rest")
    endpoint.collections[name] = {"fields": ["id", "vector", "title"]}
    job = {
        "env": {"parallelism": 2, "checkpoint": {"path": str(tmp_path / "cp")}},
        "source": {"DataGen": datagen(20_000, collection=name)},
        "sink": {"Milvus": {"url": lite_server, "bulk_writer_config": _bulk(stage, endpoint)}},
    }
    report = tmp_path / "report.json"
    code, _, _ = run_vts("run", str(write_job(tmp_path / "job.yaml", job)), "-q", "--report", str(report))
    assert code == 0
    assert json.loads(report.read_text())["totals"]["rows_written"] == 20_000  # importedRows, as reported
    creates = [b for p, b in endpoint.requests if p.endswith("/create")]
    assert len(creates) == 1  # one job for the collection, every staged file in it
    (body,) = creates
    assert body["collectionName"] == name and "partitionName" not in body
    assert len(body["files"]) > 2 and all(len(g) == 1 and Path(g[0]).is_absolute() for g in body["files"])
    assert any(p.endswith("/get_progress") for p, _ in endpoint.requests)
    assert not list(stage.rglob("*.parquet"))  # cleaned after the import


def _staged(tmp_path: Path, lite_server: str, stage: Path, endpoint, **kw) -> tuple[Staged, list]:
    name = unique("rest")
    endpoint.collections[name] = {"fields": ["id", "vector", "title"]}
    st = Staged(
        tmp_path,
        datagen(3000, collection=name),
        {"url": lite_server, "bulk_writer_config": _bulk(stage, endpoint, **kw)},
    )
    return st, st.stage()


def test_progress_polls_answered_503_are_retried_and_the_import_completes(
    tmp_path: Path, lite_server: str, stage: Path, endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "POLL_RETRY", RetryPolicy(attempts=3, base=0.01, cap=0.05))
    st, infos = _staged(tmp_path, lite_server, stage, endpoint)
    endpoint.busy["get_progress"] = 3  # as many as the policy retries: one more would fail the commit
    assert st.sink.commit(st.layout, infos) == 3000
    assert endpoint.busy["get_progress"] == 0
    assert sum(p.endswith("/create") for p, _ in endpoint.requests) == 1


def test_progress_polls_failing_beyond_the_retries_fail_the_commit_with_the_status(
    tmp_path: Path, lite_server: str, stage: Path, endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "POLL_RETRY", RetryPolicy(attempts=2, base=0.01, cap=0.05))
    st, infos = _staged(tmp_path, lite_server, stage, endpoint)
    endpoint.busy["get_progress"] = 3
    with pytest.raises(MilvusError) as err:
        st.sink.commit(st.layout, infos)
    assert err.value.code == "MILVUS-26" and "HTTP 503" in err.value.message and err.value.transient
    assert sum(p.endswith("/get_progress") for p, _ in endpoint.requests) == 3  # the first try and 2 retries


def test_an_import_request_answered_503_is_not_sent_again(
    tmp_path: Path, lite_server: str, stage: Path, endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the answer to a create can be lost after the job was made; sending it again could import the files twice
    monkeypatch.setattr(importer, "POLL_RETRY", RetryPolicy(attempts=3, base=0.01, cap=0.05))
    st, infos = _staged(tmp_path, lite_server, stage, endpoint)
    endpoint.busy["create"] = 1
    with pytest.raises(MilvusError) as err:
        st.sink.commit(st.layout, infos)
    assert err.value.code == "MILVUS-26" and "HTTP 503" in err.value.message
    assert [p for p, _ in endpoint.requests] == ["/v2/vectordb/jobs/import/create"]


def test_rest_failed_job(tmp_path: Path, lite_server: str, stage: Path, endpoint) -> None:
    st, infos = _staged(tmp_path, lite_server, stage, endpoint)
    endpoint.fail_reason = "failed to parse parquet: bad page header"
    with pytest.raises(MilvusError) as err:
        st.sink.commit(st.layout, infos)
    assert err.value.code == "MILVUS-26" and "bad page header" in err.value.message
    assert list(stage.rglob("*.parquet"))  # kept after a failure


def test_rest_completed_with_failed_rows(tmp_path: Path, lite_server: str, stage: Path, endpoint) -> None:
    st, infos = _staged(tmp_path, lite_server, stage, endpoint)
    endpoint.lose_rows = 7
    with pytest.raises(MilvusError) as err:
        st.sink.commit(st.layout, infos)
    assert err.value.code == "MILVUS-27" and "7 of 3,000 staged row(s) were not imported" in err.value.message


@pytest.mark.parametrize(("limit", "code"), [(6, "MILVUS-28"), (7, None)])
def test_rest_max_error_rows(tmp_path: Path, lite_server: str, stage: Path, endpoint, limit: int, code) -> None:
    st, infos = _staged(tmp_path, lite_server, stage, endpoint, max_error_rows=limit)
    endpoint.lose_rows = 7
    if code:
        with pytest.raises(MilvusError) as err:
            st.sink.commit(st.layout, infos)
        assert err.value.code == code and "more than max_error_rows=6" in err.value.message
    else:
        assert st.sink.commit(st.layout, infos) == 3000 - 7  # only what the server reports imported


def test_rest_wrong_token(tmp_path: Path, lite_server: str, stage: Path, endpoint) -> None:
    st, infos = _staged(tmp_path, lite_server, stage, endpoint, rest_token="root:wrong")
    with pytest.raises(MilvusError) as err:
        st.sink.commit(st.layout, infos)
    assert err.value.code == "MILVUS-16" and "refused the credentials" in err.value.message


def test_rest_unknown_collection_is_refused(tmp_path: Path, lite_server: str, stage: Path, endpoint) -> None:
    st, infos = _staged(tmp_path, lite_server, stage, endpoint)
    endpoint.collections.clear()
    with pytest.raises(MilvusError) as err:
        st.sink.commit(st.layout, infos)
    assert err.value.code == "MILVUS-26" and "collection not found" in err.value.message
