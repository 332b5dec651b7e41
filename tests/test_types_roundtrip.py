"""Every type Milvus Lite supports goes through vts and comes back equal."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import client_for, read_all, run_vts, write_job
from vts import config
from vts.connectors.datagen.generate import Generator

ROWS = 3000
FIELDS = [
    {"name": "id", "type": "BIGINT", "primary_key": True},
    {"name": "b", "type": "BOOLEAN"},
    {"name": "i8", "type": "TINYINT"},
    {"name": "i16", "type": "SMALLINT"},
    {"name": "i32", "type": "INT"},
    {"name": "i64", "type": "BIGINT"},
    {"name": "f", "type": "FLOAT"},
    {"name": "d", "type": "DOUBLE"},
    {"name": "dec", "type": "DECIMAL"},
    {"name": "s", "type": "STRING", "max_length": 64},
    {"name": "j", "type": "JSON"},
    {"name": "m", "type": "MAP"},
    {"name": "row", "type": "ROW"},
    {"name": "arr_i", "type": "ARRAY", "element_type": "INT", "max_capacity": 8},
    {"name": "arr_l", "type": "ARRAY", "element_type": "BIGINT", "max_capacity": 8},
    {"name": "arr_s", "type": "ARRAY", "element_type": "STRING", "max_capacity": 8, "max_length": 64},
    {"name": "arr_d", "type": "ARRAY", "element_type": "DOUBLE", "max_capacity": 8},
    {"name": "arr_b", "type": "ARRAY", "element_type": "BOOLEAN", "max_capacity": 8},
    {"name": "v", "type": "FLOAT_VECTOR", "dimension": 16},
    {"name": "sp", "type": "SPARSE_FLOAT_VECTOR"},
    {"name": "ts", "type": "TIMESTAMP_TZ"},
    {"name": "g", "type": "GEOMETRY"},
    {"name": "dt", "type": "DATE"},
    {"name": "tm", "type": "TIME"},
    {"name": "ns", "type": "STRING", "nullable": True, "null_ratio": 0.3, "max_length": 64},
    {"name": "nd", "type": "DOUBLE", "nullable": True, "null_ratio": 0.3, "default": 1.5},
    {"name": "nj", "type": "JSON", "nullable": True, "null_ratio": 0.5},
]


def _point(text: str) -> tuple[float, float]:
    x, y = re.findall(r"-?\d+(?:\.\d+)?", text)
    return float(x), float(y)


def _same(name: str, got: object, want: object) -> bool:
    if name == "f":
        return np.float32(got) == np.float32(want)
    if name in ("j", "m", "row", "nj"):
        return got == (None if want is None else json.loads(want))  # type: ignore[arg-type]
    if name == "v":
        return np.array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))
    if name == "sp":
        expect = {int(i): np.float32(v) for i, v in zip(want["indices"], want["values"])}  # type: ignore[index]
        return {int(k): np.float32(v) for k, v in got.items()} == expect  # type: ignore[union-attr]
    if name == "ts":
        return datetime.fromisoformat(str(got).replace("Z", "+00:00")) == want
    if name == "g":
        return _point(got) == _point(want)  # type: ignore[arg-type]
    if name == "nd":
        return got == (1.5 if want is None else want)
    if name.startswith("arr_"):
        return list(got) == want  # type: ignore[call-overload]
    return got == want


def test_every_lite_type_round_trips(milvus_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    collection = f"types_{tmp_path.name[-12:]}".replace("-", "_")
    job = {
        "source": {
            "DataGen": {"collection": collection, "row_count": ROWS, "seed": 3, "batch_size": 700, "fields": FIELDS}
        },
        "sink": {"Milvus": {"url": milvus_url, "batch_size": 500}},
    }
    path = write_job(tmp_path / "job.yaml", job)
    code, _, err = run_vts("run", "-q", str(path), capsys=capsys)
    assert code == 0, err

    table = config.load(path).source.discover()[0]
    expected = Generator(table, seed=3).rows(0, ROWS).to_pylist()
    client = client_for(milvus_url)
    names = [f["name"] for f in FIELDS]
    rows = read_all(client, collection, names)
    assert len(rows) == ROWS
    for got, want in zip(rows, expected, strict=True):
        for name in names:
            assert _same(name, got[name], want[name]), (name, got["id"], got[name], want[name])

    described = {f["name"]: f for f in client.describe_collection(collection)["fields"]}
    assert {n: described[n]["type"].name for n in ("dec", "dt", "tm", "m", "row", "ts", "g")} == {
        "dec": "DOUBLE", "dt": "VARCHAR", "tm": "VARCHAR", "m": "JSON", "row": "JSON", "ts": "TIMESTAMPTZ", "g": "GEOMETRY",
    }  # fmt: skip
    assert described["dt"]["params"]["max_length"] == 50
    assert described["ns"]["nullable"] and described["nd"]["nullable"]
    assert described["arr_s"]["element_type"].name == "VARCHAR"
    client.drop_collection(collection)
    client.close()
