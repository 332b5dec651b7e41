"""Milvus -> Milvus across the real Milvus 2.3.5 standalone and Milvus Lite, both ways."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from tests.conftest import read_all, run_vts, write_job

ROWS = 50_000
DIM = 16


def _schema() -> Any:
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True, description="migrated across versions")
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("title", DataType.VARCHAR, max_length=80)
    s.add_field("meta", DataType.JSON)
    s.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=6)
    s.add_field("score", DataType.FLOAT)
    return s


def _fill(c: MilvusClient, name: str) -> None:
    rng = random.Random(11)
    idx = c.prepare_index_params()
    idx.add_index("v", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    c.create_collection(name, schema=_schema(), index_params=idx, consistency_level="Strong")
    for p in ("p1", "p2"):
        c.create_partition(name, p)
    parts = ["_default", "p1", "p2"]
    for start in range(0, ROWS, 10_000):
        rows = []
        for i in range(start, start + 10_000):
            row = {
                "id": i * 2 + 1,
                "v": [rng.random() for _ in range(DIM)],
                "title": f"row {i} ünïcode",
                "meta": {"i": i, "nested": {"even": i % 2 == 0}},
                "tags": list(range(i % 7 % 6)),
                "score": rng.random(),
            }
            if i % 3 == 0:
                row["extra"] = f"dyn-{i}"
            rows.append(row)
        for j, p in enumerate(parts):
            c.insert(name, rows[j::3], partition_name=p)
    c.flush(name)
    c.load_collection(name)


def _fields(c: MilvusClient, name: str) -> list[tuple]:
    out = []
    for f in c.describe_collection(name)["fields"]:
        params = {k: int(v) for k, v in f.get("params", {}).items() if k in ("dim", "max_length", "max_capacity")}
        out.append((f["name"], f["type"].name, params, f.get("element_type"), bool(f.get("is_primary"))))
    return out


def _compare(src: MilvusClient, dst: MilvusClient, a: str, b: str) -> None:
    got, want = read_all(dst, b, ["*"]), read_all(src, a, ["*"])
    assert len(got) == len(want) == ROWS
    for g, w in zip(got, want, strict=True):
        assert set(g) == set(w), (g.keys(), w.keys())
        for key in w:
            if key == "v":
                assert np.array_equal(np.asarray(g[key], np.float32), np.asarray(w[key], np.float32))
            elif key == "score":
                assert np.float32(g[key]) == np.float32(w[key])
            else:
                assert g[key] == w[key], (key, g["id"])
    assert _fields(dst, b) == _fields(src, a)
    assert sorted(dst.list_partitions(b)) == sorted(src.list_partitions(a)) == ["_default", "p1", "p2"]
    for p in ("p1", "p2"):
        q = dict(filter="id > 0", output_fields=["count(*)"], partition_names=[p], consistency_level="Strong")
        assert dst.query(b, **q)[0]["count(*)"] == src.query(a, **q)[0]["count(*)"]
    ia, ib = src.describe_index(a, "v"), dst.describe_index(b, "v")
    assert (ia["index_type"], ia["metric_type"]) == (ib["index_type"], ib["metric_type"]) == ("HNSW", "L2")
    da, db = src.describe_collection(a), dst.describe_collection(b)
    assert da["enable_dynamic_field"] == db["enable_dynamic_field"]
    if "lite" not in str(dst.get_server_version()).lower().split("-")[0]:  # Milvus Lite keeps no description
        assert da["description"] == db["description"]


def test_milvus_235_to_milvus_lite_keeps_every_row_and_the_schema(
    milvus235: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"m_{uuid.uuid4().hex[:8]}"
    server = MilvusClient(uri=milvus235.uri, token=milvus235.token)
    _fill(server, name)
    lite = tmp_path / "lite.db"
    job = {
        "env": {"parallelism": 2, "checkpoint": {"path": str(tmp_path / "cp")}},
        "source": {
            "Milvus": {"url": milvus235.uri, "token": milvus235.token, "collections": [name], "batch_size": 4000}
        },
        "sink": {"Milvus": {"url": str(lite), "batch_size": 2000}},
    }
    code, _, err = run_vts("run", "-q", "--verify", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == 0, err
    _compare(server, MilvusClient(str(lite)), name, name)
    server.drop_collection(name)


def test_milvus_lite_to_milvus_235_keeps_every_row_and_the_schema(
    milvus235: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"m_{uuid.uuid4().hex[:8]}"
    lite_path = tmp_path / "src.db"
    lite = MilvusClient(str(lite_path))
    _fill(lite, name)
    lite.close()
    job = {
        "env": {"parallelism": 2, "checkpoint": {"path": str(tmp_path / "cp")}},
        "source": {"Milvus": {"url": str(lite_path), "load_collection": True}},
        "sink": {"Milvus": {"url": milvus235.uri, "token": milvus235.token, "consistency_level": "Strong"}},
    }
    path = write_job(tmp_path / "job.yaml", job)
    code, _, err = run_vts("run", "-q", str(path), capsys=capsys)
    assert code == 0, err
    code, out, err = run_vts("verify", "--full", str(path), capsys=capsys)
    assert code == 0, out + err
    server = MilvusClient(uri=milvus235.uri, token=milvus235.token)
    _compare(MilvusClient(str(lite_path)), server, name, name)
    server.drop_collection(name)


def test_a_collection_vts_creates_is_loaded_and_indexed_when_the_run_returns(
    milvus235: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """vts does not wait for the load while it copies: the run's end does (a 10-row copy is quicker than the load)."""
    name = f"l_{uuid.uuid4().hex[:8]}"
    job = {
        "source": {"DataGen": {"collection": name, "row_count": 10, "fields": [
            {"name": "id", "type": "BIGINT", "primary_key": True},
            {"name": "v", "type": "FLOAT_VECTOR", "dimension": 4}]}},
        "sink": {"Milvus": {"url": milvus235.uri, "token": milvus235.token}},
    }  # fmt: skip
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == 0, err
    server = MilvusClient(uri=milvus235.uri, token=milvus235.token)
    assert server.get_load_state(name)["state"].name == "Loaded"
    assert server.describe_index(name, "v")["index_type"] == "AUTOINDEX"
    q = server.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
    assert q[0]["count(*)"] == 10
    server.drop_collection(name)


def test_a_field_milvus_235_cannot_hold_is_refused_before_any_data_moves(
    milvus235: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"n_{uuid.uuid4().hex[:8]}"
    job = {
        "source": {"DataGen": {"collection": name, "row_count": 100, "fields": [
            {"name": "id", "type": "BIGINT", "primary_key": True},
            {"name": "v", "type": "FLOAT_VECTOR", "dimension": 4},
            {"name": "note", "type": "STRING", "nullable": True}]}},
        "sink": {"Milvus": {"url": milvus235.uri, "token": milvus235.token}},
    }  # fmt: skip
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == 4
    assert "MILVUS-07" in err and "field 'note'" in err and "nullable" in err and "v2.3.5" in err
    assert not MilvusClient(uri=milvus235.uri, token=milvus235.token).has_collection(name)


def test_wrong_credentials_are_refused_with_milvus_16_and_the_token_is_not_shown(
    milvus235: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = {
        "source": {"DataGen": {"row_count": 10}},
        "sink": {"Milvus": {"url": milvus235.uri, "token": "root:NotThePassword42"}},
    }
    code, out, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == 3
    assert "MILVUS-16" in err and "credentials" in err and "fix: check 'token'" in err
    assert "NotThePassword42" not in out + err
