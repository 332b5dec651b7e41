"""The VDF source end to end through `vts run` into Milvus Lite: every namespace, every value, the metric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests import vdf_fixtures as vf
from tests.conftest import client_for, read_all, run_vts, write_job

SPACES = [
    vf.Namespace("articles", "", 900, metric="Cosine"),
    vf.Namespace("articles", "fr", 400, metric="Dot"),
    vf.Namespace("images", "", 300, dim=4, metric="Euclid", files=2),
]


def _job(tmp_path: Path, vdf: Path) -> Path:
    job = {
        "env": {"parallelism": 2},
        "source": {"VDF": {"path": str(vdf), "batch_size": 250}},
        "sink": {"Milvus": {"url": str(tmp_path / "x.db"), "batch_size": 500}},
    }
    return write_job(tmp_path / "job.yaml", job)


def test_every_namespace_of_a_vector_io_export_arrives_with_every_value_and_its_metric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vdf = vf.write(tmp_path / "vdf_export", SPACES)
    code, _, err = run_vts("run", "-q", str(_job(tmp_path, vdf)), capsys=capsys)
    assert code == 0, err
    assert "float64" in err and "float32" in err, "the run does not say the float64 vectors became float32"
    milvus = client_for(str(tmp_path / "x.db"))
    try:
        assert sorted(milvus.list_collections()) == ["articles", "articles_fr", "images"]
        for ns, metric in zip(SPACES, ["COSINE", "IP", "L2"]):
            name = ns.index + (f"_{ns.namespace}" if ns.namespace else "")
            want = {r["id"]: r for r in vf.rows_of(ns)}
            rows = read_all(milvus, name, ["*"])
            assert [r["id"] for r in rows] == sorted(want), f"{name}: rows lost, doubled or other"
            for row in rows:
                w = want[row["id"]]
                assert np.array_equal(np.asarray(row["vector"], np.float32), np.asarray(w["vector"], np.float32))
                assert (row["title"], row["year"], row["score"]) == (w["title"], w["year"], w["score"])
            assert {milvus.describe_index(name, i)["metric_type"] for i in milvus.list_indexes(name)} == {metric}
    finally:
        milvus.close()


def test_a_folder_without_vdf_meta_is_vdf_11(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run_vts("run", "-q", str(_job(tmp_path, tmp_path / "empty")), capsys=capsys)
    assert code == 2 and "[VDF-11]" in err and "VDF_META.json" in err and "Traceback" not in err, err


def test_a_corrupt_parquet_file_in_a_namespace_is_vdf_04_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vdf = vf.write(tmp_path / "vdf_export", SPACES[:1])
    torn = vdf / "articles" / "2.parquet"
    torn.write_bytes(torn.read_bytes()[:100])
    code, _, err = run_vts("run", "-q", str(_job(tmp_path, vdf)), capsys=capsys)
    assert code == 1 and "[VDF-04]" in err and "2.parquet" in err and "Traceback" not in err, err
    assert not (tmp_path / "x.db").exists()
