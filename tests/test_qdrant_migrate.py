"""Qdrant (local mode) -> Milvus Lite through `vts run`: every value equal, nulls kept."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import client_for, count, read_all, run_vts, write_job
from tests.qdrant_fixtures import Spec, build
from vts.connectors.qdrant import client as qclient

HALF = 25_000
SPECS = [Spec("q_ints", HALF), Spec("q_uuids", HALF, ids="uuid")]
VECTORS = ["text", "image", "keywords"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[Any, Any]]]:
    path = tmp_path_factory.mktemp("qdrant-50k")
    return path, build(path, SPECS)


def _same_vector(got: Any, want: list[float]) -> bool:
    return np.array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))


def _same_sparse(got: dict[Any, Any], want: Any) -> bool:
    expect = {int(i): np.float32(v) for i, v in zip(want.indices, want.values)}
    return {int(k): np.float32(v) for k, v in got.items()} == expect


def test_50k_points_migrate_with_every_value_equal(
    folder: tuple[Path, dict[str, dict[Any, Any]]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, points = folder
    target = str(tmp_path / "x.db")
    job = {
        "env": {"parallelism": 3},
        "source": {"Qdrant": {"path": str(path), "collections": [s.name for s in SPECS], "batch_size": 2000}},
        "sink": {"Milvus": {"url": target, "batch_size": 5000}},
    }
    started = time.monotonic()
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == 0, err
    print(f"vts run: {time.monotonic() - started:.1f}s")

    milvus = client_for(target)
    try:
        for spec in SPECS:
            want = points[spec.name]
            assert count(milvus, spec.name) == spec.rows
            rows = read_all(milvus, spec.name, ["*"])
            ids = [r["id"] for r in rows]
            assert len(ids) == len(set(ids)) and set(ids) == set(want)  # every point once, none other
            for row in rows:
                p = want[row["id"]]
                assert _same_vector(row["text"], p.vector["text"]), row["id"]
                assert _same_vector(row["image"], p.vector["image"]), row["id"]
                assert _same_sparse(row["keywords"], p.vector["keywords"]), row["id"]
                dynamic = {k: v for k, v in row.items() if k not in ("id", *VECTORS)}
                assert dynamic == (p.payload or {}), (row["id"], dynamic, p.payload)
            desc = milvus.describe_collection(spec.name)
            types = {f["name"]: f["type"].name for f in desc["fields"]}
            assert types == {
                "id": "INT64" if spec.ids == "int" else "VARCHAR",
                "text": "FLOAT_VECTOR",
                "image": "FLOAT_VECTOR",
                "keywords": "SPARSE_FLOAT_VECTOR",
            }
            assert desc["enable_dynamic_field"]
            metrics = {i: milvus.describe_index(spec.name, i)["metric_type"] for i in milvus.list_indexes(spec.name)}
            assert metrics == {"text": "COSINE", "image": "IP", "keywords": "IP"}
        # nulls stay null, at the top level and nested
        some = next(p for p in points["q_ints"].values() if p.payload and p.payload.get("maybe"))
        got = milvus.query("q_ints", filter=f"id == {some.id}", output_fields=["nothing", "maybe"])[0]
        assert got["nothing"] is None
        assert got["maybe"] == some.payload["maybe"]
    finally:
        milvus.close()


def test_typed_payload_fields_into_milvus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = Spec("q_typed", 1500, payload="typed")
    path = tmp_path / "qdrant"
    want = build(path, [spec])["q_typed"]
    target = str(tmp_path / "x.db")
    typed = ["price", "count", "flag", "title", "tags", "other"]
    job = {
        "env": {"parallelism": 2},
        "source": {"Qdrant": {"path": str(path), "collection_name": "q_typed", "payload_fields": typed}},
        "sink": {"Milvus": {"url": target}},
    }
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == 0, err
    qclient.close_idle()
    milvus = client_for(target)
    try:
        desc = {f["name"]: f for f in milvus.describe_collection("q_typed")["fields"]}
        assert {n: desc[n]["type"].name for n in typed} == {
            "price": "DOUBLE", "count": "INT64", "flag": "BOOL", "title": "VARCHAR", "tags": "ARRAY", "other": "VARCHAR",
        }  # fmt: skip
        assert all(desc[n].get("nullable") for n in typed)
        rows = read_all(milvus, "q_typed", ["*"])
        assert len(rows) == spec.rows
        for row in rows:
            payload = want[row["id"]].payload
            for key in typed:
                assert row[key] == payload.get(key), (row["id"], key, row[key], payload.get(key))
            assert row["meta"] == payload["meta"]  # not listed: dynamic field
    finally:
        milvus.close()
