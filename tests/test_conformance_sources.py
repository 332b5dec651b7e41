"""Every built-in source passes the shipped source suite (vts.testing.sources) against its real service."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from pymilvus import MilvusClient

from tests.pgvector_fixtures import execute, unique
from tests.qdrant_fixtures import Spec, build
from tests.test_milvus_source import _collection
from vts import config
from vts.connector import Source
from vts.connectors.datagen.options import DataGenOptions
from vts.connectors.datagen.source import DataGenSource
from vts.connectors.milvus.source import MilvusSource
from vts.connectors.milvus.source_options import MilvusSourceOptions
from vts.connectors.pgvector.options import PgvectorOptions
from vts.connectors.pgvector.source import PgvectorSource
from vts.connectors.qdrant.options import QdrantSourceOptions
from vts.connectors.qdrant.source import QdrantSource
from vts.errors import ConfigError
from vts.testing.sources import SourceSuite


@pytest.fixture(scope="module")
def lite_collection(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Any]]:
    url = str(tmp_path_factory.mktemp("milvus-src") / "src.db")
    c = MilvusClient(url)
    keys = _collection(c, "parts", 600, partitions=("a", "b"))
    c.close()
    return url, keys


@pytest.fixture(scope="module")
def table(pg_url: str) -> str:
    t = unique("suite")
    execute(
        pg_url,
        f"CREATE TABLE {t} (id int PRIMARY KEY, v vector(3) NOT NULL, at timestamptz NOT NULL)",
        f"INSERT INTO {t} SELECT i, ARRAY[i, 1, 2]::vector, '2024-01-01'::timestamptz + i * interval '1 min' "
        "FROM generate_series(1, 900) i",
        f"ANALYZE {t}",
    )
    return t


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[Any]]:
    path = tmp_path_factory.mktemp("qdrant-suite")
    points = build(path, [Spec("suite", 500, ids="uuid")])
    return path, set(points["suite"])


class TestDataGenSourceConformance(SourceSuite):
    @pytest.fixture
    def source(self) -> Source:
        fields = [
            {"name": "id", "type": "BIGINT", "primary_key": True},
            {"name": "v", "type": "FLOAT_VECTOR", "dimension": 4},
            {"name": "n", "type": "INT", "nullable": True, "null_ratio": 0.3},
        ]
        return DataGenSource(DataGenOptions.model_validate({"row_count": 700, "batch_size": 97, "fields": fields}))

    @pytest.fixture
    def expected_keys(self) -> set[Any]:
        return set(range(700))

    def test_errors_carry_their_code_across_processes(self) -> None:  # type: ignore[override]
        # DataGen reaches no service: its errors are the job file's, raised before discover
        job = "source: {DataGen: {fields: [{name: v, type: FLOAT_VECTOR}]}}\nsink: {Milvus: {url: ./t.db}}"
        with pytest.raises(ConfigError) as info:
            config.parse(job)
        clone = pickle.loads(pickle.dumps(info.value))
        assert (type(clone), clone.code, str(clone)) == (type(info.value), info.value.code, str(info.value))


class TestMilvusSourceConformance(SourceSuite):
    key = "pk"

    @pytest.fixture
    def source(self, lite_collection: tuple[str, list[Any]]) -> Source:
        return MilvusSource(MilvusSourceOptions(url=lite_collection[0], load_collection=True, batch_size=64))

    @pytest.fixture
    def expected_keys(self, lite_collection: tuple[str, list[Any]]) -> set[Any]:
        return set(lite_collection[1])

    @pytest.fixture
    def failing_source(self) -> Source:
        return MilvusSource(MilvusSourceOptions(url="http://127.0.0.1:1", timeout=2))


class TestPgvectorSourceConformance(SourceSuite):
    """An incremental job: the splits' state carries a high-water mark that finish must save."""

    @pytest.fixture
    def source(self, pg_url: str, table: str, tmp_path: Path) -> Source:
        opts = PgvectorOptions(
            url=pg_url, table=table, batch_size=128, incremental_column="at", state_path=str(tmp_path / "marks.json")
        )
        return PgvectorSource(opts)

    @pytest.fixture
    def expected_keys(self) -> set[Any]:
        return set(range(1, 901))

    @pytest.fixture
    def failing_source(self, pg_url: str, table: str) -> Source:
        return PgvectorSource(
            PgvectorOptions(url=pg_url.replace(pg_url.split(":")[-1].split("/")[0], "1"), table=table)
        )


class TestQdrantSourceConformance(SourceSuite):
    @pytest.fixture
    def source(self, folder: tuple[Path, set[Any]]) -> Source:
        return QdrantSource(QdrantSourceOptions(path=str(folder[0]), collection_name="suite", batch_size=61))

    @pytest.fixture
    def expected_keys(self, folder: tuple[Path, set[Any]]) -> set[Any]:
        return folder[1]

    @pytest.fixture
    def failing_source(self, folder: tuple[Path, set[Any]]) -> Source:
        return QdrantSource(QdrantSourceOptions(path=str(folder[0]), collection_name="absent"))
