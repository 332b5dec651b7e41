"""Third-party connectors register through the vts.connectors entry-point group."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import client_for, count, run_vts, write_job

PLUGIN = """
from vts.connector import Options, Source, Split
from vts.schema import Field, LType, TableSchema
import pyarrow as pa

class SquaresOptions(Options):
    n: int = 10

class Squares(Source):
    name = "Squares"
    doc = "n rows of (i, [i, i*i])"
    Options = SquaresOptions

    def discover(self):
        return [TableSchema("squares", (Field("id", LType.BIGINT, primary_key=True), Field("v", LType.FLOAT_VECTOR, dimension=2)))]

    def splits(self, tables, parallelism, incremental=True):
        return [Split("squares/all", "squares", estimated_rows=self.options.n)]

    def read(self, split, table, position=None):
        ids = list(range(self.options.n))
        flat = pa.array([float(x) for i in ids for x in (i, i * i)], pa.float32())
        yield pa.RecordBatch.from_arrays([pa.array(ids, pa.int64()), pa.FixedSizeListArray.from_arrays(flat, 2)], names=["id", "v"]), self.options.n
"""


def test_an_entry_point_connector_is_listed_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    (site / "vts_squares").mkdir(parents=True)
    (site / "vts_squares" / "__init__.py").write_text(PLUGIN)
    dist = site / "vts_squares-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vts-squares\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[vts.connectors]\nSquares = vts_squares:Squares\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "vts_squares", raising=False)

    code, out, _ = run_vts("connectors", "Squares", capsys=capsys)
    assert code == 0 and "Squares (source)" in out

    job = {"source": {"Squares": {"n": 25}}, "sink": {"Milvus": {"url": str(tmp_path / "sq.db")}}}
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == 0, err
    assert count(client_for(str(tmp_path / "sq.db")), "squares") == 25
