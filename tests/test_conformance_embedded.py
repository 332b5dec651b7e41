"""The Chroma and LanceDB sources pass the shipped source suite against the real libraries (and Chroma's server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.embedded_fixtures import build_chroma, build_lance
from tests.services.chroma_server import ChromaServer
from vts.connector import Source
from vts.connectors.chroma.options import ChromaOptions
from vts.connectors.chroma.source import ChromaSource
from vts.connectors.lancedb.options import LanceDBOptions
from vts.connectors.lancedb.source import LanceDBSource
from vts.testing.sources import SourceSuite


@pytest.fixture(scope="module")
def chroma_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    path = tmp_path_factory.mktemp("chroma-suite") / "db"
    data = build_chroma(path, 230, {"suite_a": "cosine", "suite_b": "l2"})
    return path, {k for records in data.values() for k in records}


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, set[str]]]:
    path = tmp_path_factory.mktemp("chroma-server-suite") / "db"
    data = build_chroma(path, 170, {"served": "ip"})
    with ChromaServer(path, free_port()) as server:
        yield server.url, set(data["served"])


@pytest.fixture(scope="module")
def lance_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, set[int]]:
    uri = str(tmp_path_factory.mktemp("lance-suite") / "db")
    rows = build_lance(uri, 150)
    return uri, set(rows.column("id").to_pylist())


class TestChromaFolderSourceConformance(SourceSuite):
    @pytest.fixture
    def source(self, chroma_folder: tuple[Path, set[str]]) -> Source:
        return ChromaSource(ChromaOptions(path=str(chroma_folder[0]), batch_size=47))

    @pytest.fixture
    def expected_keys(self, chroma_folder: tuple[Path, set[str]]) -> set[Any]:
        return set(chroma_folder[1])

    @pytest.fixture
    def failing_source(self, chroma_folder: tuple[Path, set[str]]) -> Source:
        return ChromaSource(ChromaOptions(path=str(chroma_folder[0]), collections=["absent"]))


class TestChromaServerSourceConformance(SourceSuite):
    @pytest.fixture
    def source(self, chroma_server: tuple[str, set[str]]) -> Source:
        return ChromaSource(ChromaOptions(url=chroma_server[0], batch_size=39))

    @pytest.fixture
    def expected_keys(self, chroma_server: tuple[str, set[str]]) -> set[Any]:
        return set(chroma_server[1])

    @pytest.fixture
    def failing_source(self) -> Source:
        return ChromaSource(ChromaOptions(url=f"http://127.0.0.1:{free_port()}"))


class TestLanceDBSourceConformance(SourceSuite):
    @pytest.fixture
    def source(self, lance_db: tuple[str, set[int]]) -> Source:
        return LanceDBSource(LanceDBOptions(uri=lance_db[0], batch_size=41))

    @pytest.fixture
    def expected_keys(self, lance_db: tuple[str, set[int]]) -> set[Any]:
        return set(lance_db[1])

    @pytest.fixture
    def failing_source(self, lance_db: tuple[str, set[int]]) -> Source:
        return LanceDBSource(LanceDBOptions(uri=lance_db[0], tables=["absent"]))
