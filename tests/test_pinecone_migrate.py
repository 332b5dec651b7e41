"""Pinecone (emulator, real SDK) -> Milvus Lite server through `vts run`: every value equal, resumable, verified."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, VTS_BIN, checkpoint_state, client_for, kill_when, read_all, run_vts, write_job
from tests.pinecone_emulator import DEFAULT, Emulator, Record
from tests.pinecone_fixtures import KEY, fill, options, same_dense, same_sparse
from vts.connectors.pinecone.source import PineconeSource

NAMESPACES = {DEFAULT: 12_000, "alpha": 10_000, "beta": 8_000}


def _job(emu: Emulator, index: str, url: str, tmp_path: Path, **source: Any) -> Path:
    job = {
        "env": {"parallelism": 3, "checkpoint": {"path": str(tmp_path / "cp"), "interval": 0.3}, "retry_backoff": 0.05},
        "source": {"Pinecone": {"api_key": KEY, "index": index, "controller_host": emu.url, **source}},
        "sink": {"Milvus": {"url": url, "batch_size": 2000}},
    }
    return write_job(tmp_path / "job.yaml", job)


def _partition_count(milvus: Any, collection: str, partition: str) -> int:
    res = milvus.query(
        collection,
        filter="id != ''",
        output_fields=["count(*)"],
        partition_names=[partition],
        consistency_level="Strong",
    )
    return int(res[0]["count(*)"])


def test_30k_vectors_in_three_namespaces_through_rate_limits_arrive_with_every_value_equal(
    clean: Emulator, lite_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index, held = fill(clean, NAMESPACES)
    collection = index.name.replace("-", "_")
    clean.reset_counts()
    clean.rate_limit = 0.3
    started = time.monotonic()
    code, _, err = run_vts(
        "run", "-q", str(_job(clean, index.name, lite_server, tmp_path, max_retries=30, fetch_size=500)), capsys=capsys
    )
    assert code == 0, err
    print(f"vts run: {time.monotonic() - started:.1f}s, {clean.throttled} calls answered 429, {dict(clean.requests)}")
    assert clean.throttled > 50  # the faults did happen
    clean.rate_limit = 0.0

    milvus = client_for(lite_server)
    try:
        rows = read_all(milvus, collection, ["*"])
        by_id = {r["id"]: r for r in rows}
        assert len(by_id) == len(rows) == sum(NAMESPACES.values())
        for ns, space in held.items():
            assert _partition_count(milvus, collection, "_default" if ns == DEFAULT else ns) == len(space)
            for vid, want in space.items():
                row = by_id[vid]
                assert same_dense(row["values"], want.values), vid
                assert same_sparse(row["sparse_values"], want.sparse), vid
                dynamic = {k: v for k, v in row.items() if k not in ("id", "values", "sparse_values")}
                assert dynamic == want.metadata, (vid, dynamic, want.metadata)
        desc = milvus.describe_collection(collection)
        assert {f["name"]: f["type"].name for f in desc["fields"]} == {
            "id": "VARCHAR", "values": "FLOAT_VECTOR", "sparse_values": "SPARSE_FLOAT_VECTOR"
        }  # fmt: skip
        assert desc["enable_dynamic_field"]
        metrics = {i: milvus.describe_index(collection, i)["metric_type"] for i in milvus.list_indexes(collection)}
        assert metrics == {"values": "IP", "sparse_values": "IP"}
        milvus.drop_collection(collection)
    finally:
        milvus.close()


def test_sigkill_mid_namespace_then_resume_then_verify(
    clean: Emulator, lite_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index, held = fill(clean, {DEFAULT: 600, "alpha": 500, "beta": 400})
    collection = index.name.replace("-", "_")
    job = _job(clean, index.name, lite_server, tmp_path, batch_size=25, fetch_size=25, concurrency=2)
    clean.latency = 0.05  # slow enough that the kill lands inside a namespace (0.01: all read before it)
    cp = tmp_path / "cp"

    def mid_namespace() -> bool:
        state = checkpoint_state(cp)
        return any("token" in (s.get("position") or {}) for k, s in state.items() if k != "_commit")

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([str(VTS_BIN), "run", "-q", str(job)], stderr=subprocess.PIPE, text=True, env=env)
    assert kill_when(proc, mid_namespace, 0.1), "the run finished before it could be killed"
    positions = {k: s.get("position") for k, s in checkpoint_state(cp).items() if k != "_commit"}
    assert any(p and p.get("token") for p in positions.values()), positions
    clean.reset_counts()
    clean.latency = 0.0
    code, _, err = run_vts("run", str(job), capsys=capsys)  # in-process: the resumed run needs no kill
    assert code == 0, err
    assert "resuming the interrupted run" in err
    fetched = clean.requests["/vectors/fetch"]
    assert fetched < 1500 / 25, f"the resumed run fetched {fetched} times: it read namespaces again from the start"
    code, out, err = run_vts("verify", "--full", str(job), capsys=capsys)
    assert code == 0, out + err
    assert "equal" in out
    milvus = client_for(lite_server)
    try:
        assert {r["id"] for r in read_all(milvus, collection, ["id"])} == {i for s in held.values() for i in s}
        milvus.drop_collection(collection)
    finally:
        milvus.close()


def test_the_example_job_file_runs(
    clean: Emulator, lite_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    index, held = fill(clean, {DEFAULT: 300, "alpha": 200}, name="products")
    for name, value in {
        "PINECONE_API_KEY": KEY,
        "PINECONE_INDEX": index.name,
        "PINECONE_CONTROLLER_HOST": clean.url,
        "MILVUS_URL": lite_server,
    }.items():
        monkeypatch.setenv(name, value)
    code, _, err = run_vts("run", "-q", str(REPO / "jobs" / "pinecone_to_milvus.yaml"), capsys=capsys)
    assert code == 0, err
    milvus = client_for(lite_server)
    try:
        assert {r["id"] for r in read_all(milvus, "products", ["id"])} == {i for s in held.values() for i in s}
        milvus.drop_collection("products")
    finally:
        milvus.close()


def test_hybrid_vectors_without_sparse_values_are_reported_not_dropped(
    clean: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index, _ = fill(clean, {"alpha": 40})
    index.upsert("alpha", [Record(f"plain-{i}", [0.25] * 8, None, {"n": i}) for i in range(2)])
    target = str(tmp_path / "t.db")
    job = _job(clean, index.name, target, tmp_path)
    code, _, err = run_vts("run", "-q", str(job), capsys=capsys)
    assert code == 1 and "[VTS-12]" in err and "null sparse vector" in err
    letters = (tmp_path / "vts-dead-letters.jsonl").read_text()
    assert "plain-0" in letters and "plain-1" in letters


def test_split_prefixes_cut_namespaces_into_parallel_splits_that_read_every_vector_once(
    clean: Emulator, lite_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index, held = fill(clean, {"alpha": 300, DEFAULT: 120})
    cuts = ["alpha#000", "alpha#001", "alpha#002", "default#"]  # every id of both namespaces, none twice
    opts = options(clean, index, split_prefixes=cuts)
    source = PineconeSource(opts)
    assert len(source.splits(source.discover(), 3)) == 8  # each namespace once per prefix
    code, _, err = run_vts(
        "run", "-q", str(_job(clean, index.name, lite_server, tmp_path, split_prefixes=cuts)), capsys=capsys
    )
    assert code == 0, err
    milvus = client_for(lite_server)
    try:
        collection = index.name.replace("-", "_")
        got = [r["id"] for r in read_all(milvus, collection, ["id"])]
        milvus.drop_collection(collection)
    finally:
        milvus.close()
    assert sorted(got) == sorted(i for space in held.values() for i in space)


def test_split_prefixes_that_miss_ids_fail_the_run_with_pinecone_05_naming_the_namespace(
    clean: Emulator, lite_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index, _ = fill(clean, {"alpha": 300, DEFAULT: 40})
    job = _job(clean, index.name, lite_server, tmp_path, split_prefixes=["alpha#000", "default#"])
    code, _, err = run_vts("run", "-q", str(job), capsys=capsys)
    assert code == 1 and "[PINECONE-05]" in err and "'alpha'" in err and "100 vectors read" in err
    assert "split_prefixes" in err and "Traceback" not in err
    overlapping = _job(clean, index.name, lite_server, tmp_path, split_prefixes=["alpha#", "alpha#00"])
    code, _, err = run_vts("check", str(overlapping), capsys=capsys)
    assert code == 2 and "split_prefixes" in err and "'alpha#' starts 'alpha#00'" in err
