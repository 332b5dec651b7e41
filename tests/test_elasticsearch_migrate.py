"""Elasticsearch / OpenSearch (emulator) -> Milvus Lite through `vts run`: every value equal, once from an
ES 8 index (vectors in _source) and once from an ES 9.2 index (vectors only when asked for), and from an
OpenSearch knn_vector index; the PIT closed at the end; the sparse vocabulary written and used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import client_for, count, read_all, run_vts, write_job
from tests.es_emulator import Emulator
from tests.es_fixtures import ES_MAPPING, create_es_index, create_os_index, doc_id, es_doc, os_doc
from vts.connectors.elasticsearch.values import timestamp

ROWS = 1000
FIELDS = [n for n in ES_MAPPING["properties"] if n != "b"]  # Milvus Lite has no binary vectors


@pytest.fixture(scope="module", params=["8.15.0", "9.2.0"])
def es(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    with Emulator(version=request.param) as emulator:
        create_es_index(emulator.url, "docs", ROWS, shards=3)
        yield emulator


def _job(tmp_path: Path, source: dict[str, Any], target: str) -> Path:
    job = {
        "env": {"parallelism": 3},
        "source": source,
        "sink": {"Milvus": {"url": target, "batch_size": 1000}},
    }
    return write_job(tmp_path / "job.yaml", job)


def _epoch_us(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1_000_000)
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC).timestamp() * 1_000_000)


def test_every_document_arrives_with_every_value_equal(
    es: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = str(tmp_path / "x.db")
    source = {
        "Elasticsearch": {
            "hosts": [es.url],
            "index": "docs",
            "source": FIELDS,
            "batch_size": 250,
            "sparse_vocabulary_path": str(tmp_path / "{index}.{field}.json"),
        }
    }
    code, _, err = run_vts("run", "-q", str(_job(tmp_path, source, target)), capsys=capsys)
    assert code == 0, err
    assert es.open_contexts() == 0, "the run left a point in time open"
    vocab = json.loads((tmp_path / "docs.sp.json").read_text())["tokens"]
    milvus = client_for(target)
    try:
        assert count(milvus, "docs") == ROWS
        rows = read_all(milvus, "docs", ["*"], key="_id")
        assert [r["_id"] for r in rows] == [doc_id(i) for i in range(ROWS)]
        for i, row in enumerate(rows):
            want = es_doc(i)
            assert row["title"] == want["title"] and row["body"] == want["body"] and row["n"] == want["n"]
            assert row["price"] == want.get("price") and row["flag"] == want["flag"]
            assert _epoch_us(row["at"]) == _epoch_us(timestamp(want["at"], None)), (i, row["at"], want["at"])
            assert _epoch_us(row["day"]) == _epoch_us(timestamp(want["day"], "yyyy-MM-dd"))
            tags = want["tags"] if isinstance(want["tags"], list) else [want["tags"]]
            assert row["tags"] == tags
            assert row["meta"] == want["meta"] and row["comments"] == want["comments"]
            assert np.array_equal(np.asarray(row["emb"], np.float32), np.asarray(want["emb"], np.float32)), i
            assert [int(x) for x in row["q"]] == want["q"]
            assert {int(k): np.float32(v) for k, v in row["sp"].items()} == {
                vocab[t]: np.float32(w) for t, w in want["sp"].items()
            }, i
        desc = milvus.describe_collection("docs")
        types = {f["name"]: f["type"].name for f in desc["fields"]}
        assert types["_id"] == "VARCHAR" and types["emb"] == "FLOAT_VECTOR" and types["sp"] == "SPARSE_FLOAT_VECTOR"
        assert types["at"] == "TIMESTAMPTZ" and types["tags"] == "ARRAY" and types["meta"] == "JSON"
        metrics = {i: milvus.describe_index("docs", i)["metric_type"] for i in milvus.list_indexes("docs")}
        assert metrics == {"emb": "COSINE", "q": "IP", "sp": "IP"}
    finally:
        milvus.close()


def test_an_opensearch_knn_index_arrives_with_every_value_equal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator(flavor="opensearch", version="2.19.0") as os_:
        create_os_index(os_.url, "knn", 500)
        target = str(tmp_path / "x.db")
        source = {"OpenSearch": {"hosts": [os_.url], "index": "knn", "batch_size": 100}}
        code, _, err = run_vts("run", "-q", str(_job(tmp_path, source, target)), capsys=capsys)
        assert code == 0, err
        assert os_.open_contexts() == 0
    milvus = client_for(target)
    try:
        rows = read_all(milvus, "knn", ["*"], key="_id")
        assert [r["_id"] for r in rows] == [doc_id(i) for i in range(500)]
        for i, row in enumerate(rows):
            want = os_doc(i)
            assert np.array_equal(np.asarray(row["v"], np.float32), np.asarray(want["v"], np.float32))
            assert [int(x) for x in row["vb"]] == want["vb"] and row["n"] == i and row["title"] == want["title"]
        metrics = {i: milvus.describe_index("knn", i)["metric_type"] for i in milvus.list_indexes("knn")}
        assert metrics == {"v": "IP", "vb": "L2"}
    finally:
        milvus.close()


def test_the_example_job_runs_against_the_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import REPO

    with Emulator(version="9.2.0") as e:
        mapping = {"properties": {k: v for k, v in ES_MAPPING["properties"].items() if k != "b"}}
        create_es_index(e.url, "docs", 300, mapping=mapping)
        monkeypatch.setenv("ES_URL", e.url)
        monkeypatch.setenv("MILVUS_URL", str(tmp_path / "copy.db"))
        code, _, err = run_vts("run", "-q", str(REPO / "jobs" / "elasticsearch_to_milvus.yaml"), capsys=capsys)
        assert code == 0, err
    milvus = client_for(str(tmp_path / "copy.db"))
    try:
        assert count(milvus, "docs") == 300
    finally:
        milvus.close()


def test_sigkill_mid_copy_then_resume_then_verify_ends_equal(tmp_path: Path, lite_server: str) -> None:
    """vts in its own process, killed with SIGKILL while copying; run again, it resumes from its checkpoint
    (the splits' PIT still alive, each split after its last sort values); `vts verify --full` says equal."""
    import subprocess

    from tests.conftest import VTS_BIN, checkpoint_state, kill_when

    rows = 5000  # 1000 copied in ~0.3 s on an idle machine: the whole run ended before the kill 0.3 s in
    collection = f"es_kill_{tmp_path.name[-12:]}".replace("-", "_")
    with Emulator(version="9.2.0") as e:
        create_es_index(e.url, collection, rows, shards=2)  # (collection_rename trips vts verify: see the report)
        job = {
            "env": {"parallelism": 2, "checkpoint": {"path": str(tmp_path / "cp"), "interval": 0.2}},
            "source": {"Elasticsearch": {"hosts": [e.url], "index": collection, "source": FIELDS, "batch_size": 50}},
            "sink": {"Milvus": {"url": lite_server, "batch_size": 200}},
        }
        path = write_job(tmp_path / "job.yaml", job)

        def copying() -> bool:
            return any("position" in s for k, s in checkpoint_state(tmp_path / "cp").items() if k != "_commit")

        import time

        t0 = time.monotonic()
        proc = subprocess.Popen([str(VTS_BIN), "run", "-q", str(path)], stderr=subprocess.PIPE, text=True)
        assert kill_when(proc, copying, 0.3), "the run finished before it could be killed"
        again = subprocess.run([str(VTS_BIN), "run", "-q", str(path)], capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stderr
        assert "resuming the interrupted run" in again.stderr
        print(f"killed+resumed {time.monotonic() - t0:.1f}s")
        verify = subprocess.run([str(VTS_BIN), "verify", str(path)], capture_output=True, text=True, timeout=600)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "equal" in verify.stdout
        print(f"verified {time.monotonic() - t0:.1f}s")
    milvus = client_for(lite_server)
    try:
        assert count(milvus, collection) == rows
        milvus.drop_collection(collection)
    finally:
        milvus.close()
