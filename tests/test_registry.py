"""Third-party connectors register through the vts.connectors entry-point group."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import client_for, count, run_vts, write_job
from vts import registry
from vts.errors import ExitCode, UnknownConnectorError

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


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: str, code: str, entry_points: str) -> None:
    """An installed distribution on sys.path: the package ``package`` holding ``code``, declaring ``entry_points``."""
    site = tmp_path / "site"
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(code)
    dist = site / f"{package}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[vts.connectors]\n{entry_points}\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, package, raising=False)


def test_an_entry_point_connector_is_listed_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install(tmp_path, monkeypatch, "vts_squares", PLUGIN, "Squares = vts_squares:Squares")

    code, out, _ = run_vts("connectors", "Squares", capsys=capsys)
    assert code == 0 and "Squares (source)" in out

    job = {"source": {"Squares": {"n": 25}}, "sink": {"Milvus": {"url": str(tmp_path / "sq.db")}}}
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == 0, err
    assert count(client_for(str(tmp_path / "sq.db")), "squares") == 25


# Written against the contract before Source.plan became Source.splits and Sink.plan became Sink.layout.
OLD_NAMES = (
    PLUGIN.replace("def splits(self, tables, parallelism", "def plan(self, tables, parallelism")
    + """

from vts.connector import Sink


class OldSink(Sink):
    name = "OldSink"
    doc = "a sink with the old method names"
    Options = SquaresOptions

    def plan(self, tables):
        return tables

    def catalog(self, plan):
        raise AssertionError("never reached")

    def writer(self, plan, split, ctx):
        raise AssertionError("never reached")

    def describe_plan(self, plan):
        return []
"""
)


def test_a_connector_with_the_old_method_names_is_refused_with_the_rename_to_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "def plan(" in OLD_NAMES and "def splits(" not in OLD_NAMES
    install(tmp_path, monkeypatch, "vts_old", OLD_NAMES, "Squares = vts_old:Squares\nOldSink = vts_old:OldSink")

    with pytest.raises(UnknownConnectorError) as info:
        registry.resolve("source", "Squares", "source")
    err = info.value
    assert err.code == "VTS-04" and "'Squares' (vts_old:Squares) defines plan but not splits" in err.message
    assert err.hint == "rename plan to splits; see README 'Adding a connector'"

    with pytest.raises(UnknownConnectorError) as info:
        registry.resolve("sink", "OldSink", "sink")
    assert "defines plan, describe_plan but not layout, describe_layout" in info.value.message
    assert info.value.hint == "rename plan to layout, describe_plan to describe_layout; see README 'Adding a connector'"

    # a job naming it stops before anything is contacted, with the coded error, not a TypeError's traceback
    job = {"source": {"Squares": {"n": 5}}, "sink": {"Milvus": {"url": str(tmp_path / "old.db")}}}
    code, _, err_text = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    said = " ".join(err_text.split())
    assert code == ExitCode.INVALID_CONFIG and "VTS-04" in said and "rename plan to splits" in said
    assert "Traceback" not in said and not (tmp_path / "old.db").exists()

    # the listing still lists it, as unavailable with the same reason
    code, out, _ = run_vts("connectors", "OldSink", capsys=capsys)
    assert code == 0 and "OldSink (sink): unavailable" in " ".join(out.split()) and "describe_plan" in out


def test_a_connector_with_the_new_names_is_not_refused_for_keeping_a_helper_named_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helper = (
        PLUGIN
        + """
    def plan(self):  # its own helper, beside splits: not the old contract method
        return "mine"
"""
    )
    install(tmp_path, monkeypatch, "vts_helper", helper, "Squares = vts_helper:Squares")
    cls = registry.resolve("source", "Squares", "source")
    assert cls.__name__ == "Squares" and cls(cls.Options()).plan() == "mine"
