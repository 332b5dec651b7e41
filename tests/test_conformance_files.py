"""The File source (each format) and the VDF source pass the shipped source suite (vts.testing.sources)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import file_fixtures as ff
from tests import vdf_fixtures as vf
from vts.connector import Source
from vts.connectors.file.options import FileSourceOptions
from vts.connectors.file.source import FileSource
from vts.connectors.vdf.options import VdfSourceOptions
from vts.connectors.vdf.source import VdfSource
from vts.testing.sources import SourceSuite

ROWS = 300


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("file-suite")
    ff.write_parquet(root / "parquet", [0, 130, ROWS], row_group=40)
    ff.write_jsonl(root / "jsonl" / "a.jsonl", 0, ROWS)
    ff.write_npy(root / "npy", 0, ROWS)
    (root / "csv").mkdir()
    ff.write_csv(root / "csv" / "a.csv", 0, ROWS)
    vf.write(root / "vdf", [vf.Namespace("idx", "", 120), vf.Namespace("idx", "ns", 90, metric="Dot")])
    return root


class _FileSuite(SourceSuite):
    @pytest.fixture
    def failing_source(self, data: Path) -> Source:
        return FileSource(FileSourceOptions(path=str(data / "absent" / "*.parquet")))

    @pytest.fixture
    def expected_keys(self) -> set[int]:
        return set(range(ROWS))


class TestFileParquetConformance(_FileSuite):
    @pytest.fixture
    def source(self, data: Path) -> Source:  # several row groups per split, batches that cut row groups
        return FileSource(FileSourceOptions(path=str(data / "parquet" / "*.parquet"), split_mb=0.005, batch_size=27))


class TestFileJsonlConformance(_FileSuite):
    @pytest.fixture
    def source(self, data: Path, monkeypatch: pytest.MonkeyPatch) -> Source:
        from vts.connectors.file.formats import jsonl

        monkeypatch.setattr(jsonl, "BLOCK", 4096)  # byte ranges and reads that cut lines, on small data
        return FileSource(FileSourceOptions(path=str(data / "jsonl" / "a.jsonl"), split_mb=0.01, batch_size=33))


class TestFileCsvConformance(_FileSuite):
    @pytest.fixture
    def source(self, data: Path) -> Source:
        return FileSource(FileSourceOptions(path=str(data / "csv" / "a.csv"), batch_size=41))


class TestFileNpyConformance(_FileSuite):
    @pytest.fixture
    def source(self, data: Path) -> Source:
        return FileSource(FileSourceOptions(path=str(data / "npy" / "vectors.npy"), split_mb=0.002, batch_size=19))


class TestVdfConformance(SourceSuite):
    @pytest.fixture
    def source(self, data: Path) -> Source:
        return VdfSource(VdfSourceOptions(path=str(data / "vdf"), batch_size=17))

    @pytest.fixture
    def failing_source(self, data: Path) -> Source:
        return VdfSource(VdfSourceOptions(path=str(data / "parquet")))  # a folder without VDF_META.json
