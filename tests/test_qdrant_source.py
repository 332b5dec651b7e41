"""The Qdrant source against qdrant-client's local mode: conformance, schema mapping, splits, resume."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import pytest

from tests.qdrant_fixtures import Spec, build
from tests.source_conformance import check_source, read_split
from vts.connectors.qdrant import client as qclient
from vts.connectors.qdrant.options import QdrantSourceOptions
from vts.connectors.qdrant.schema import infer_type
from vts.connectors.qdrant.source import QdrantSource
from vts.schema import LType

SPECS = [
    Spec("ints", 1200),
    Spec("uuids", 1200, ids="uuid"),
    Spec("mixed", 900, ids="mixed"),
    Spec("unnamed", 500, unnamed=(8, "Euclid"), sparse=[], payload="none"),
    Spec("typed", 600, payload="typed"),
]
ODD = [
    Spec("manhattan", 10, unnamed=(4, "Manhattan"), sparse=[]),
    Spec("multi", 40, dense={"text": (8, "Cosine")}, multi={"colbert": 4}, sparse=[]),
    Spec("empty", 0),
]
TYPED = ["price", "count", "flag", "title", "tags", "meta", "other"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[Any, Any]]]:
    path = tmp_path_factory.mktemp("qdrant-small")
    return path, build(path, SPECS)


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qdrant-odd")
    build(path, ODD)
    return path


def source(path: Path, **options: Any) -> QdrantSource:
    return QdrantSource(QdrantSourceOptions(path=str(path), **options))


@pytest.mark.parametrize("name", ["ints", "uuids", "mixed", "unnamed", "typed"])
def test_conformance(folder: tuple[Path, dict[str, dict[Any, Any]]], name: str) -> None:
    path, points = folder
    extra = {"payload_fields": TYPED} if name == "typed" else {}
    src = source(path, collection_name=name, batch_size=97, **extra)
    keys = {str(k) if name == "mixed" else k for k in points[name]}
    check_source(src, key="id", expected_keys=keys)


def test_schema_mapping(folder: tuple[Path, dict[str, dict[Any, Any]]]) -> None:
    path, _ = folder
    tables = {t.name: t for t in source(path).discover()}
    assert sorted(tables) == sorted(s.name for s in SPECS)  # no collection named: all of them
    ints = tables["ints"]
    assert [(f.name, f.type, f.dimension) for f in ints.fields] == [
        ("id", LType.BIGINT, None),
        ("text", LType.FLOAT_VECTOR, 16),
        ("image", LType.FLOAT_VECTOR, 8),
        ("keywords", LType.SPARSE_FLOAT_VECTOR, None),
        ("$meta", LType.JSON, None),
    ]
    assert ints.primary_keys[0].name == "id" and ints.enable_dynamic_field
    assert {(i.field, i.index_type, i.metric_type) for i in ints.indexes} == {
        ("text", "AUTOINDEX", "COSINE"),
        ("image", "AUTOINDEX", "IP"),
        ("keywords", "SPARSE_INVERTED_INDEX", "IP"),
    }
    uuids = tables["uuids"].field("id")
    assert (uuids.type, uuids.max_length) == (LType.STRING, 36)
    assert tables["mixed"].field("id").type == LType.STRING
    unnamed = tables["unnamed"]
    assert unnamed.names == ["id", "vector", "$meta"]
    assert [(i.field, i.metric_type) for i in unnamed.indexes] == [("vector", "L2")]


def test_payload_fields_typed_from_samples(folder: tuple[Path, dict[str, dict[Any, Any]]]) -> None:
    path, _ = folder
    table = source(path, collection_name="typed", payload_fields=TYPED, sample_size=200).discover()[0]
    got = {f.name: (f.type, f.element_type, f.nullable) for f in table.fields if f.name in TYPED}
    assert got == {
        "price": (LType.DOUBLE, None, True),
        "count": (LType.BIGINT, None, True),
        "flag": (LType.BOOLEAN, None, True),
        "title": (LType.STRING, None, True),
        "tags": (LType.ARRAY, LType.STRING, True),
        "meta": (LType.JSON, None, True),
        "other": (LType.STRING, None, True),
    }
    assert table.names[-1] == "$meta"


def test_payload_include_and_column(folder: tuple[Path, dict[str, dict[Any, Any]]]) -> None:
    path, points = folder
    src = source(path, collection_name="ints", payload_include=["n", "nothing"], payload_column="payload")
    table = src.discover()[0]
    assert table.names[-1] == "payload" and not table.enable_dynamic_field
    split = src.splits([table], 1)[0]
    rows = [r for b, _ in read_split(src, split, table) for r in b.to_pylist()]
    import json

    for row in rows:
        want = {k: v for k, v in points["ints"][row["id"]].payload.items() if k in ("n", "nothing")}
        assert json.loads(row["payload"]) == want
    none = source(path, collection_name="ints", payload_include=[]).discover()[0]
    assert "$meta" not in none.names


def test_infer_type() -> None:
    assert infer_type([1, 2, None]) == (LType.BIGINT, None)
    assert infer_type([1, 2.5]) == (LType.DOUBLE, None)
    assert infer_type([True, 1]) == (LType.JSON, None)
    assert infer_type([[1, 2], []]) == (LType.ARRAY, LType.BIGINT)
    assert infer_type([[1, None]]) == (LType.JSON, None)
    assert infer_type([{"a": 1}]) == (LType.JSON, None)
    assert infer_type(["a", 1]) == (LType.JSON, None)
    assert infer_type([2**64]) == (LType.DOUBLE, None)


def test_splits_are_balanced_id_ranges(folder: tuple[Path, dict[str, dict[Any, Any]]]) -> None:
    path, _ = folder
    src = source(path, collection_name="uuids")
    tables = src.discover()
    splits = src.splits(tables, 4)
    assert [s.estimated_rows for s in splits] == [300, 300, 300, 300]
    assert splits[0].spec["start"] is None and splits[-1].spec["stop"] is None
    assert [s.id for s in splits] == [s.id for s in pickle.loads(pickle.dumps(src)).splits(tables, 4)]
    assert len(source(path, collection_name="uuids", parallelism=3).splits(tables, 8)) == 3


def test_resume_position_is_json_and_final(folder: tuple[Path, dict[str, dict[Any, Any]]]) -> None:
    import json

    path, _ = folder
    src = source(path, collection_name="mixed", batch_size=250)
    table = src.discover()[0]
    split = src.splits([table], 1)[0]
    out = read_split(src, split, table)
    positions = [p for _, p in out]
    assert all(json.loads(json.dumps(p)) == p for p in positions)
    assert positions[-1] == {"offset": None}
    assert read_split(src, split, table, positions[-1]) == []


def test_manhattan_is_l2_with_warning(odd: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="vts.qdrant"):
        table = source(odd, collection_name="manhattan").discover()[0]
    assert [(i.field, i.metric_type) for i in table.indexes] == [("vector", "L2")]
    assert "Manhattan" in caplog.text


def test_multivector_refused_or_json(odd: Path) -> None:
    from vts.connectors.qdrant.errors import QdrantError

    with pytest.raises(QdrantError) as info:
        source(odd, collection_name="multi").discover()
    assert info.value.code == "QDRANT-05" and "colbert" in info.value.message and info.value.exit_code == 4
    assert source(odd, collection_name="multi", vectors=["text"]).discover()[0].names == ["id", "text", "$meta"]
    src = source(odd, collection_name="multi", multivector="json")
    table = src.discover()[0]
    assert table.field("colbert").type == LType.JSON
    batch = read_split(src, src.splits([table], 1)[0], table)[0][0]
    import json

    first = json.loads(batch.column("colbert")[0].as_py())
    assert len(first) == 2 and len(first[0]) == 4


def test_empty_collection(odd: Path) -> None:
    src = source(odd, collection_name="empty")
    table = src.discover()[0]
    splits = src.splits([table], 4)
    assert len(splits) == 1 and read_split(src, splits[0], table) == []


def test_local_client_is_shared_and_released(folder: tuple[Path, dict[str, dict[Any, Any]]]) -> None:
    """Local mode: one client per folder per process, shared by concurrent readers, then released."""
    import threading

    path, points = folder
    src = source(path, collection_name="ints", batch_size=50)
    table = src.discover()[0]
    seen: list[int] = []
    errors: list[BaseException] = []

    def work(split: Any) -> None:
        try:
            for batch, _ in read_split(src, split, table):
                seen.extend(batch.column("id").to_pylist())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in src.splits([table], 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(seen) == sorted(points["ints"])
    qclient.close_idle()
    from qdrant_client import QdrantClient

    QdrantClient(path=str(path)).close()  # the folder lock was released
