"""The Parquet sink: Milvus Lite -> Parquet -> Milvus 2.3.5's Import API -> `vts verify` equal; resume; VDF layout."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests import file_fixtures as ff
from tests.conftest import client_for, read_all, run_vts, write_job
from vts import engine
from vts.connectors.file.options import FileSourceOptions
from vts.connectors.file.source import FileSource
from vts.connectors.milvus.connection import ConnectionOptions, connect
from vts.connectors.milvus.options import MilvusSinkOptions
from vts.connectors.parquet import load
from vts.connectors.parquet.manifest import MANIFEST, parquet_files
from vts.connectors.parquet.options import ParquetSinkOptions
from vts.connectors.parquet.sink import ParquetSink
from vts.connectors.vdf.options import VdfSourceOptions
from vts.connectors.vdf.source import VdfSource
from vts.errors import VtsError
from vts.testing.faults import FaultySource
from vts.testing.jobs import make_job
from vts.testing.sinks import unique

ROWS = 2000
DIM = 8


def _lite_collection(url: str, name: str, rows: int) -> dict[int, dict[str, Any]]:
    """A Milvus Lite collection a Milvus 2.3 can hold too (no nullable fields, one vector field)."""
    from pymilvus import DataType, MilvusClient

    client = client_for(url)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("title", DataType.VARCHAR, max_length=64)
    schema.add_field("year", DataType.INT32)
    schema.add_field("score", DataType.DOUBLE)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=8, max_length=16)
    schema.add_field("meta", DataType.JSON)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=index)
    ids = np.arange(rows)
    vectors = ff.vectors(ids)
    data = [
        {
            "id": int(i),
            "vector": vectors[i].tolist(),
            "title": f"títle {i}",
            "year": 1990 + int(i) % 30,
            "score": int(i) / 7,
            "tags": [f"t{i % 3}"] * (int(i) % 3),
            "meta": {"n": int(i), "words": ["a", "b"][: int(i) % 3]},
        }
        for i in ids
    ]
    for lo in range(0, rows, 1000):
        client.insert(name, data[lo : lo + 1000])
    client.close()
    return {r["id"]: r for r in data}


def _export_job(tmp_path: Path, url: str, name: str, export: Path, **sink: Any) -> Path:
    job = {
        "env": {"parallelism": 2},
        "source": {"Milvus": {"url": url, "collections": [name], "batch_size": 700}},
        "sink": {"Parquet": {"path": str(export), "milvus_version": "2.3", "chunk_size": 0.3, **sink}},
    }
    return write_job(tmp_path / "export.yaml", job)


def test_milvus_lite_exported_to_parquet_imports_into_milvus_235_and_verifies_equal(
    tmp_path: Path, milvus235: Any, lite_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name, export = unique("docs"), tmp_path / "export"
    _lite_collection(lite_server, name, ROWS)
    t0 = time.monotonic()
    code, _, err = run_vts("run", "-q", str(_export_job(tmp_path, lite_server, name, export)), capsys=capsys)
    t1 = time.monotonic()
    assert code == 0, err
    files = parquet_files(export / name)
    print(f"export: {len(files)} files")
    assert len(files) >= 2, "the export is not several files"
    assert sum(pq.read_metadata(p).num_rows for p in files) == ROWS

    # the far side: nothing but the files, their manifest and the BulkWriter's commit step
    target = MilvusSinkOptions(url=milvus235.uri, token=milvus235.token, schema_save_mode="RECREATE_SCHEMA")
    assert load.load(export, target, poll_interval=0.3) == ROWS
    t2 = time.monotonic()

    verify = {
        "source": {"Milvus": {"url": lite_server, "collections": [name]}},
        "sink": {"Milvus": {"url": milvus235.uri, "token": milvus235.token}},
    }
    code, out, err = run_vts("verify", "--full", str(write_job(tmp_path / "verify.yaml", verify)), capsys=capsys)
    assert code == 0, out + err
    print(f"export {t1 - t0:.1f}s, import {t2 - t1:.1f}s, verify {time.monotonic() - t2:.1f}s")
    client = connect(ConnectionOptions(url=milvus235.uri, token=milvus235.token))
    try:
        described = client.describe_collection(name)
        fields = {f["name"]: f for f in described["fields"]}
        assert fields["title"]["params"]["max_length"] == 64 and fields["vector"]["params"]["dim"] == DIM
        assert {client.describe_index(name, i)["metric_type"] for i in client.list_indexes(name)} == {"IP"}
    finally:
        client.close()


def test_vts_verify_compares_an_export_with_its_source_and_finds_a_lost_row(
    tmp_path: Path, lite_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name, export = unique("docs"), tmp_path / "export"
    _lite_collection(lite_server, name, 500)
    job = _export_job(tmp_path, lite_server, name, export)
    code, _, err = run_vts("run", "-q", str(job), capsys=capsys)
    assert code == 0, err
    code, out, err = run_vts("verify", "--full", str(job), capsys=capsys)
    assert code == 0 and "equal" in out, out + err
    (first, *_) = parquet_files(export / name)
    table = pq.read_table(first)
    pq.write_table(table.slice(1), first)  # one row lost
    code, out, err = run_vts("verify", "--full", str(job), capsys=capsys)
    assert code != 0 and "keys missing in target" in out, out + err


def test_the_loader_says_so_when_the_export_did_not_finish(tmp_path: Path) -> None:
    (tmp_path / "export" / "docs").mkdir(parents=True)
    (tmp_path / "export" / "docs" / MANIFEST).write_text(json.dumps({"format": "vts-parquet/1", "collection": {}}))
    with pytest.raises(VtsError) as err:
        load.load(tmp_path / "export", MilvusSinkOptions(url="http://127.0.0.1:1"))
    assert err.value.code == "PARQUET-03" and "did not finish" in err.value.message


def test_the_loader_refuses_a_copy_cut_short(tmp_path: Path) -> None:
    ff.write_parquet(tmp_path / "data", [0, 300])
    export = tmp_path / "export"
    engine.run(
        make_job(
            tmp_path / "job", _parquet_source(tmp_path / "data"), ParquetSink(ParquetSinkOptions(path=str(export)))
        )
    )
    (first,) = parquet_files(export / "docs")
    first.write_bytes(first.read_bytes()[:-100])
    with pytest.raises(VtsError) as err:
        load.load(export, MilvusSinkOptions(url="http://127.0.0.1:1"))
    assert err.value.code == "PARQUET-03" and first.name in err.value.message


def test_the_loader_says_so_when_there_is_no_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load.main([str(tmp_path), "--url", "http://127.0.0.1:1"]) == 2
    assert "[PARQUET-02]" in capsys.readouterr().err


def _parquet_source(folder: Path) -> FileSource:
    return FileSource(FileSourceOptions(path=str(folder / "*.parquet"), table="docs", batch_size=100))


def _ids(folder: Path) -> list[int]:
    return sorted(k for p in parquet_files(folder) for k in pq.read_table(p, columns=["id"])["id"].to_pylist())


def test_a_resumed_export_replaces_the_files_of_its_split_and_holds_every_row_once(tmp_path: Path) -> None:
    ff.write_parquet(tmp_path / "data", [0, 1000, 2000], row_group=100)
    export = tmp_path / "export"
    sink = ParquetSink(ParquetSinkOptions(path=str(export), row_group_mb=0.001, chunk_size=0.02))
    faulty = FaultySource(_parquet_source(tmp_path / "data"), after_batches=6, transient=False)
    with pytest.raises(VtsError):
        engine.run(make_job(tmp_path / "job", faulty, sink, interval=0.001))
    assert faulty.budget.left == 0 and 0 < len(_ids(export / "docs")) < 2000, "the fault did not cut the run short"
    engine.run(make_job(tmp_path / "job", _parquet_source(tmp_path / "data"), sink, interval=0.001))
    assert _ids(export / "docs") == list(range(2000)), "the resumed run lost or doubled rows"
    doc = json.loads((export / "docs" / MANIFEST).read_text())
    assert doc["rows"] == 2000 and len(doc["files"]) == len(parquet_files(export / "docs"))


def test_the_vdf_layout_reads_back_through_the_vdf_source_with_every_value_equal(tmp_path: Path) -> None:
    ff.write_parquet(tmp_path / "data", [0, 500], row_group=100)
    export = tmp_path / "export"
    sink = ParquetSink(ParquetSinkOptions(path=str(export), layout="vdf"))
    engine.run(make_job(tmp_path / "job", _parquet_source(tmp_path / "data"), sink))
    meta = json.loads((export / "VDF_META.json").read_text())
    assert meta["indexes"]["docs"][0]["dimensions"] == ff.DIM and meta["indexes"]["docs"][0]["data_path"] == "docs"
    back = VdfSource(VdfSourceOptions(path=str(export)))
    (table,) = back.discover()
    rows = [r for s in back.splits([table], 1) for b, _ in back.read(s, table) for r in b.to_pylist()]
    assert sorted(r["id"] for r in rows) == list(range(500))
    for r in rows:
        want = ff.expected(r["id"])
        assert np.array_equal(np.asarray(r["vector"], np.float32), want["vector"])
        assert (r["title"], r["year"], r["score"], r["tags"]) == (
            want["title"],
            want["year"],
            want["score"],
            want["tags"],
        )
        assert json.loads(r["meta"]) == want["meta"]


def test_parquet_files_written_by_the_sink_migrate_into_milvus_lite_through_the_file_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ff.write_parquet(tmp_path / "data", [0, 800], row_group=100)
    export = tmp_path / "export"
    engine.run(
        make_job(
            tmp_path / "job", _parquet_source(tmp_path / "data"), ParquetSink(ParquetSinkOptions(path=str(export)))
        )
    )
    job = {
        "source": {"File": {"path": str(export / "docs" / "**" / "*.parquet"), "table": "docs"}},
        "sink": {"Milvus": {"url": str(tmp_path / "x.db")}},
    }
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == 0, err
    client = client_for(str(tmp_path / "x.db"))
    try:
        rows = read_all(client, "docs", ["*"])
    finally:
        client.close()
    assert [r["id"] for r in rows] == list(range(800))
    assert all(np.array_equal(np.asarray(r["vector"], np.float32), ff.expected(r["id"])["vector"]) for r in rows)
