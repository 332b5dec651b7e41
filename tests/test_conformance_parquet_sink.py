"""The Parquet sink passes the shipped sink suite (vts.testing.sinks): its target is a folder of Parquet files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from vts.connectors.parquet.manifest import parquet_files
from vts.connectors.parquet.options import ParquetSinkOptions
from vts.connectors.parquet.sink import ParquetSink
from vts.testing.sinks import SinkSuite, SinkTarget


class FolderTarget(SinkTarget):
    def __init__(self, root: Path) -> None:
        self.root = root

    def sink(self, route: str, **options: Any) -> ParquetSink:  # one route: files
        return ParquetSink(ParquetSinkOptions(**{"path": str(self.root), "row_group_mb": 0.001, **options}))

    def failing_preflight(self) -> dict[str, Any]:
        blocker = self.root.parent / "a-file-not-a-folder"
        blocker.write_text("x")
        return {"path": str(blocker / "export")}

    def rows(self, table: str) -> int | None:
        folder = self.root / table
        if not folder.is_dir():
            return None
        return sum(pq.read_metadata(p).num_rows for p in parquet_files(folder))

    def keys(self, table: str) -> list[Any]:
        return [k for p in parquet_files(self.root / table) for k in pq.read_table(p, columns=["id"])["id"].to_pylist()]


class TestParquetSinkConformance(SinkSuite):
    @pytest.fixture
    def target(self, tmp_path: Path) -> SinkTarget:
        return FolderTarget(tmp_path / "export")
