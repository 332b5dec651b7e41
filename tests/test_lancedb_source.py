"""LanceDB -> Milvus Lite through `vts run`: a table of two fragments, every value equal; bad input -> LANCEDB-xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from tests.conftest import client_for, count, read_all, run_vts, write_job
from tests.embedded_fixtures import build_lance, lance_table
from vts.connectors.lancedb.options import LanceDBOptions
from vts.connectors.lancedb.source import LanceDBSource

REPO = Path(__file__).resolve().parent.parent
PER_FRAGMENT = 1200


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, pa.Table]:
    uri = str(tmp_path_factory.mktemp("lance-2frag") / "db")
    return uri, build_lance(uri, PER_FRAGMENT)


def _run(tmp_path: Path, source: dict[str, Any], capsys: pytest.CaptureFixture[str], **env: Any) -> tuple[int, str]:
    job = {"env": env, "source": {"LanceDB": source}, "sink": {"Milvus": {"url": str(tmp_path / "x.db")}}}
    code, out, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert "Traceback" not in out + err
    return code, " ".join(err.split())


def test_two_fragments_migrate_with_every_value_equal(
    db: tuple[str, pa.Table], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri, want = db
    source = LanceDBSource(LanceDBOptions(uri=uri))
    assert [s.id for s in source.splits(source.discover(), 1)] == ["items/f0", "items/f1"]  # a split per fragment
    code, err = _run(tmp_path, {"uri": uri, "batch_size": 500}, capsys, parallelism=2)
    assert code == 0, err
    code, out, err = run_vts("verify", str(tmp_path / "job.yaml"), capsys=capsys)
    assert code == 0 and "equal: the target holds exactly the source's rows" in out + err, out + err
    milvus = client_for(str(tmp_path / "x.db"))
    try:
        assert count(milvus, "items") == 2 * PER_FRAGMENT
        desc = milvus.describe_collection("items")
        fields = {f["name"]: f for f in desc["fields"]}
        assert {n: f["type"].name for n, f in fields.items()} == {
            "id": "INT64", "vector": "FLOAT_VECTOR", "title": "VARCHAR", "small": "INT8", "count": "INT64",
            "price": "DOUBLE", "ratio": "FLOAT", "flag": "BOOL", "tags": "ARRAY", "attrs": "JSON", "at": "TIMESTAMPTZ",
        }  # fmt: skip
        assert fields["id"]["is_primary"]
        metric = milvus.describe_index("items", milvus.list_indexes("items")[0])["metric_type"]
        assert metric == "L2"  # no LanceDB index: LanceDB's default metric
        rows = read_all(milvus, "items", ["*"])
        expected = want.to_pylist()
        assert [r["id"] for r in rows] == [r["id"] for r in expected]  # every row once, none other
        for got, row in zip(rows, expected):
            assert np.array_equal(np.asarray(got["vector"], np.float32), np.asarray(row["vector"], np.float32))
            for name in ("title", "small", "count", "price", "flag", "tags", "attrs"):
                assert got[name] == row[name], (row["id"], name, got[name], row[name])
            assert got["ratio"] == pytest.approx(row["ratio"], rel=0, abs=0)
            assert _instant(got["at"]) == row["at"].timestamp()
    finally:
        milvus.close()


def _instant(value: Any) -> float:
    from datetime import datetime

    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def test_a_vector_index_gives_its_metric(tmp_path: Path) -> None:
    import lancedb
    from lancedb.index import IvfPq

    table = lancedb.connect(str(tmp_path / "db")).create_table("indexed", lance_table(0, 300))
    table.create_index("vector", config=IvfPq(distance_type="cosine", num_partitions=2, num_sub_vectors=2))
    (schema,) = LanceDBSource(LanceDBOptions(uri=str(tmp_path / "db"))).discover()
    assert [(i.field, i.metric_type) for i in schema.indexes] == [("vector", "COSINE")]
    (schema,) = LanceDBSource(LanceDBOptions(uri=str(tmp_path / "db"), metric="IP")).discover()
    assert [(i.field, i.metric_type) for i in schema.indexes] == [("vector", "IP")]


def test_rows_written_after_the_splits_were_cut_are_not_read(tmp_path: Path) -> None:
    import lancedb

    uri = str(tmp_path / "db")
    build_lance(uri, 40)
    source = LanceDBSource(LanceDBOptions(uri=uri, batch_size=7))
    tables = source.discover()
    splits = source.splits(tables, 3)
    table = lancedb.connect(uri).open_table("items")
    table.add(lance_table(1000, 1010))
    table.delete("id < 5")  # the version the splits were cut at still holds them
    ids = [i for s in splits for b, _ in source.read(s, tables[0]) for i in b.column("id").to_pylist()]
    assert sorted(ids) == list(range(80))


def test_deleted_rows_are_skipped_and_counted_out(tmp_path: Path) -> None:
    import lancedb

    uri = str(tmp_path / "db")
    build_lance(uri, 30)
    lancedb.connect(uri).open_table("items").delete("id % 4 = 0")
    source = LanceDBSource(LanceDBOptions(uri=uri, batch_size=4))
    tables = source.discover()
    ids = [
        i for s in source.splits(tables, 4) for b, _ in source.read(s, tables[0]) for i in b.column("id").to_pylist()
    ]
    assert sorted(ids) == [i for i in range(60) if i % 4]


def test_one_dataset_folder(db: tuple[str, pa.Table]) -> None:
    source = LanceDBSource(LanceDBOptions(uri=f"{db[0]}/items.lance"))
    tables = source.discover()
    assert [t.name for t in tables] == ["items"]
    assert sum(b.num_rows for s in source.splits(tables, 2) for b, _ in source.read(s, tables[0])) == 2 * PER_FRAGMENT


def test_the_example_job_runs(db: tuple[str, pa.Table], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANCEDB_URI", db[0])
    monkeypatch.setenv("MILVUS_URL", str(tmp_path / "copy.db"))
    assert run_vts("run", "-q", str(REPO / "jobs" / "lancedb_to_milvus_lite.yaml"))[0] == 0
    milvus = client_for(str(tmp_path / "copy.db"))
    try:
        assert count(milvus, "items") == 2 * PER_FRAGMENT
    finally:
        milvus.close()


def test_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, {"uri": str(tmp_path / "nope")}, capsys)
    assert code == 2 and "[LANCEDB-01]" in err and "does not exist" in err and "fix: set 'uri'" in err
    assert not (tmp_path / "nope").exists()
    (tmp_path / "plain").mkdir()
    code, err = _run(tmp_path, {"uri": str(tmp_path / "plain")}, capsys)
    assert code == 1 and "[LANCEDB-03]" in err and "holds no tables" in err
    (tmp_path / "fake.lance").mkdir()
    code, err = _run(tmp_path, {"uri": str(tmp_path / "fake.lance")}, capsys)
    assert code == 2 and "[LANCEDB-01]" in err and "is not a Lance dataset" in err


def test_an_unknown_table(db: tuple[str, pa.Table], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, {"uri": db[0], "tables": ["items", "nope"]}, capsys)
    assert code == 1 and "[LANCEDB-02]" in err and "['nope'] do not exist" in err and "['items']" in err


def test_a_column_milvus_cannot_hold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import lancedb

    uri = str(tmp_path / "db")
    lancedb.connect(uri).create_table("blobs", pa.table({"id": [1], "raw": pa.array([b"\x00"], pa.binary())}))
    code, err = _run(tmp_path, {"uri": uri}, capsys)
    assert code == 4 and "[LANCEDB-04]" in err and "column 'raw'" in err and "binary" in err


def test_an_unknown_primary_key(db: tuple[str, pa.Table], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, {"uri": db[0], "primary_key": "nope"}, capsys)
    assert code == 2 and "[LANCEDB-05]" in err and "primary_key 'nope' is not a column" in err


def test_a_table_on_s3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from tests.services.moto_s3 import MotoS3

    # moto's request log goes through the root logger, where an earlier in-process `vts` call left a
    # handler on a stderr pytest has since closed: keep it out of the output this test reads
    requests_log = logging.getLogger("werkzeug")
    level = requests_log.level
    requests_log.setLevel(logging.ERROR)
    try:
        _on_s3(tmp_path, capsys, MotoS3)
    finally:
        requests_log.setLevel(level)


def _on_s3(tmp_path: Path, capsys: pytest.CaptureFixture[str], MotoS3: Any) -> None:
    with MotoS3() as s3:
        s3.create_bucket("lance")
        storage = {
            "aws_access_key_id": s3.access_key,
            "aws_secret_access_key": s3.secret_key,
            "aws_endpoint": s3.endpoint,
            "aws_region": s3.region,
            "allow_http": "true",
        }
        want = build_lance("s3://lance/db", 150, storage_options=storage)
        code, err = _run(tmp_path, {"uri": "s3://lance/db", "storage_options": storage}, capsys, parallelism=2)
        assert code == 0, err
        milvus = client_for(str(tmp_path / "x.db"))
        try:
            rows = read_all(milvus, "items", ["id", "title"])
            assert [(r["id"], r["title"]) for r in rows] == [(r["id"], r["title"]) for r in want.to_pylist()]
        finally:
            milvus.close()
        wrong = {**storage, "aws_secret_access_key": "not-the-secret-key"}
        code, err = _run(tmp_path, {"uri": "s3://lance/db", "storage_options": wrong}, capsys)
        assert code == 3 and "[LANCEDB-07]" in err and "refused the credentials" in err
        assert "not-the-secret-key" not in err
