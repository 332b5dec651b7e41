"""Chroma -> Milvus Lite through `vts run`: every value equal; bad input -> CHROMA-xx with its exit code."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import client_for, count, free_port, read_all, run_vts, write_job
from tests.embedded_fixtures import SPACES, build_chroma, chroma_client, stored_embeddings
from vts.connectors.chroma.options import ChromaOptions
from vts.connectors.chroma.source import ChromaSource
from vts.errors import VtsError

REPO = Path(__file__).resolve().parent.parent
ROWS = 1500


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("chroma-3x") / "db"
    return path, build_chroma(path, ROWS)


def _run(tmp_path: Path, source: dict[str, Any], capsys: pytest.CaptureFixture[str], **env: Any) -> tuple[int, str]:
    job = {"env": env, "source": {"Chroma": source}, "sink": {"Milvus": {"url": str(tmp_path / "x.db")}}}
    code, out, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert "Traceback" not in out + err
    return code, " ".join(err.split())


def test_three_collections_migrate_with_every_value_equal(
    folder: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, data = folder
    code, err = _run(tmp_path, {"path": str(path), "batch_size": 400}, capsys, parallelism=3)
    assert code == 0, err
    code, out, err = run_vts("verify", str(tmp_path / "job.yaml"), capsys=capsys)
    assert code == 0 and "equal: the target holds exactly the source's rows" in out + err, out + err
    milvus = client_for(str(tmp_path / "x.db"))
    try:
        assert sorted(milvus.list_collections()) == sorted(SPACES)
        for name, space in SPACES.items():
            want = data[name]
            stored = stored_embeddings(path, name)
            assert count(milvus, name) == ROWS
            rows = read_all(milvus, name, ["*"])
            assert [r["id"] for r in rows] == sorted(want)  # every record once, none other
            for row in rows:
                rec = want[row["id"]]
                got = np.asarray(row["embedding"], np.float32)
                assert np.array_equal(got, stored[row["id"]]), row["id"]
                assert np.allclose(got, rec.embedding, rtol=1e-6, atol=0), row["id"]
                assert row["document"] == rec.document, row["id"]
                dynamic = {k: v for k, v in row.items() if k not in ("id", "embedding", "document")}
                assert dynamic == (rec.metadata or {}), (row["id"], dynamic, rec.metadata)
            desc = milvus.describe_collection(name)
            types = {f["name"]: f["type"].name for f in desc["fields"]}
            assert types == {"id": "VARCHAR", "embedding": "FLOAT_VECTOR", "document": "VARCHAR"}
            assert desc["enable_dynamic_field"]
            metric = milvus.describe_index(name, milvus.list_indexes(name)[0])["metric_type"]
            assert metric == {"cosine": "COSINE", "l2": "L2", "ip": "IP"}[space]
    finally:
        milvus.close()


def test_metadata_as_one_json_column(folder: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: Any) -> None:
    path, data = folder
    source = {"path": str(path), "collections": ["docs_l2"], "metadata_column": "metadata"}
    code, err = _run(tmp_path, source, capsys)
    assert code == 0, err
    milvus = client_for(str(tmp_path / "x.db"))
    try:
        types = {f["name"]: f["type"].name for f in milvus.describe_collection("docs_l2")["fields"]}
        assert types["metadata"] == "JSON"
        rows = read_all(milvus, "docs_l2", ["metadata"])
        assert {r["id"]: r["metadata"] for r in rows} == {k: r.metadata for k, r in data["docs_l2"].items()}
    finally:
        milvus.close()


def test_the_example_job_runs(folder: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("CHROMA_PATH", str(folder[0]))
    monkeypatch.setenv("MILVUS_URL", str(tmp_path / "copy.db"))
    assert run_vts("run", "-q", str(REPO / "jobs" / "chroma_to_milvus_lite.yaml"))[0] == 0
    milvus = client_for(str(tmp_path / "copy.db"))
    try:
        assert {n: count(milvus, n) for n in SPACES} == dict.fromkeys(SPACES, ROWS)
    finally:
        milvus.close()


def test_a_missing_folder_is_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    code, err = _run(tmp_path, {"path": str(missing)}, capsys)
    assert code == 2 and "[CHROMA-03]" in err and "does not exist" in err and "fix: set 'path'" in err
    assert not missing.exists()
    (tmp_path / "empty").mkdir()
    code, err = _run(tmp_path, {"path": str(tmp_path / "empty")}, capsys)
    assert code == 2 and "[CHROMA-03]" in err and "is not a Chroma folder (no chroma.sqlite3" in err


def test_an_unknown_collection(folder: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: Any) -> None:
    code, err = _run(tmp_path, {"path": str(folder[0]), "collections": ["docs_l2", "nope"]}, capsys)
    assert code == 1 and "[CHROMA-05]" in err and "collection 'nope' does not exist" in err
    assert "fix: check 'collections'" in err
    assert not (tmp_path / "x.db").exists() or not client_for(str(tmp_path / "x.db")).list_collections()


HOLD_LOCK = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(120)
"""


def test_a_folder_locked_by_another_process(folder: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: Any) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(folder[0] / "chroma.sqlite3")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        code, err = _run(tmp_path, {"path": str(folder[0]), "lock_timeout": 1}, capsys)
        assert time.monotonic() - started < 30  # not chromadb's 1000 s busy wait
    finally:
        holder.kill()
        holder.wait()
    assert code == 3 and "[CHROMA-04]" in err and "locked by another process" in err and "lock_timeout" in err


def test_an_unreachable_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, {"url": f"http://127.0.0.1:{free_port()}"}, capsys)
    assert code == 3 and "[CHROMA-01]" in err and "cannot reach Chroma" in err and "fix: check 'url'" in err


def test_metadata_named_like_a_column_stops_before_writing(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "clash"
    col = chroma_client(path).create_collection("clash", embedding_function=None)
    col.add(ids=["a"], embeddings=[[1.0, 2.0]], metadatas=[{"document": "oops"}])
    code, err = _run(tmp_path, {"path": str(path)}, capsys)
    assert code == 4 and "[CHROMA-08]" in err and "['document']" in err and "metadata_column" in err


def test_a_collection_changed_after_the_splits_were_cut_stops_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "moving"
    build_chroma(path, 30, {"moving": "l2"})
    source = ChromaSource(ChromaOptions(path=str(path), batch_size=10))
    tables = source.discover()
    splits = source.splits(tables, 2)
    chroma_client(path).get_collection("moving").delete(ids=["moving-00003"])
    with pytest.raises(VtsError) as info:
        list(source.read(splits[1], tables[0]))
    assert info.value.code == "CHROMA-09" and "30 records planned, 29 now" in info.value.message
    assert "--fresh" in (info.value.hint or "")


def test_options_need_one_of_path_or_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, {"path": str(tmp_path), "url": "http://127.0.0.1:8000"}, capsys)
    assert code == 2 and "[VTS-01]" in err and "exactly one of 'path'" in err
    code, err = _run(tmp_path, {"url": "127.0.0.1:8000"}, capsys)
    assert code == 2 and "http://" in err
    assert os.path.exists(tmp_path)


def test_a_folder_this_process_opened_with_other_settings(tmp_path: Path) -> None:
    import chromadb

    path = tmp_path / "other-settings"
    chromadb.PersistentClient(path=str(path)).create_collection("mine", embedding_function=None).add(
        ids=["a"], embeddings=[[0.5, 1.5]]
    )  # chromadb's default settings, not vts's
    source = ChromaSource(ChromaOptions(path=str(path)))
    tables = source.discover()
    rows = [b.to_pylist() for s in source.splits(tables, 1) for b, _ in source.read(s, tables[0])]
    assert rows == [[{"id": "a", "embedding": [0.5, 1.5], "document": None, "$meta": None}]]


def test_chromadb_exceptions_map_to_codes() -> None:
    from chromadb import errors

    from vts.connectors.chroma.errors import wrap

    auth = wrap(errors.ChromaAuthError("bad token"), "listing collections", "Chroma server http://h:1")
    assert (auth.code, auth.exit_code, auth.transient) == ("CHROMA-02", 3, False)
    limited = wrap(errors.RateLimitError("slow down"), "reading 'c'", "Chroma server http://h:1", "c")
    assert (limited.code, limited.transient) == ("CHROMA-10", True)
    missing = wrap(errors.NotFoundError("Collection [c] does not exist"), "opening", "Chroma folder f", "c")
    assert (missing.code, missing.exit_code) == ("CHROMA-05", 1)


def test_a_folder_of_an_older_chroma_is_refused_not_upgraded(
    folder: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil
    import sqlite3

    old = tmp_path / "old"
    shutil.copytree(folder[0], old)
    # what chromadb checks: the schema migrations a folder has had (an older Chroma applied fewer)
    with sqlite3.connect(old / "chroma.sqlite3") as con:
        con.execute("DELETE FROM migrations WHERE dir = 'sysdb' AND version = (SELECT max(version) FROM migrations)")
    before = _schema(old)
    code, err = _run(tmp_path, {"path": str(old)}, capsys)
    assert code == 3 and "[CHROMA-11]" in err and "older Chroma" in err and "upgrade a copy" in err
    assert _schema(old) == before  # not upgraded


def _schema(folder: Path) -> tuple[list[Any], list[Any]]:
    import sqlite3

    with sqlite3.connect(folder / "chroma.sqlite3") as con:
        tables = con.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
        return tables, con.execute("SELECT dir, version FROM migrations ORDER BY dir, version").fetchall()
