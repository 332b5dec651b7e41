"""Rows for the File source's tests, written as Parquet, JSON Lines, CSV and .npy.

Every row is a pure function of its id, and :func:`expected` says what Milvus
must hold for it afterwards (vectors as float32, nested values as JSON).
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DIM = 8
WORDS = ["alpha", "données", "数据", "emoji🙂", "", "x" * 40]


def vectors(ids: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(7)
    base = rng.standard_normal((1, DIM)).astype(np.float32)
    return (base + ids[:, None].astype(np.float32) / 1000).astype(np.float32)


def table(lo: int, hi: int) -> pa.Table:
    ids = np.arange(lo, hi, dtype=np.int64)
    vec = vectors(ids)
    return pa.table(
        {
            "id": ids,
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vec.reshape(-1)), DIM),
            "title": [WORDS[i % len(WORDS)] + str(i) for i in ids],
            "year": pa.array(1990 + ids % 30, pa.int32()),
            "score": ids.astype(np.float64) / 3,
            "tags": [[f"t{i % 3}", f"t{i % 5}"] for i in ids],
            "meta": [{"n": int(i), "even": bool(i % 2 == 0)} for i in ids],
        }
    )


def expected(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "vector": vectors(np.array([i]))[0],
        "title": WORDS[i % len(WORDS)] + str(i),
        "year": 1990 + i % 30,
        "score": i / 3,
        "tags": [f"t{i % 3}", f"t{i % 5}"],
        "meta": {"n": i, "even": i % 2 == 0},
    }


def write_parquet(folder: Path, bounds: list[int], row_group: int = 100) -> list[Path]:
    """One file per consecutive pair of ``bounds`` (ids bounds[k]..bounds[k+1]-1)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        path = folder / f"part-{n}.parquet"
        pq.write_table(table(lo, hi), path, row_group_size=row_group)
        out.append(path)
    return out


def write_jsonl(path: Path, lo: int, hi: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for row in table(lo, hi).to_pylist():
            row["vector"] = [float(np.float32(v)) for v in row["vector"]]  # shortest text of each float32
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def write_csv(path: Path, lo: int, hi: int) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "vector", "title", "year", "score"])
        for row in table(lo, hi).to_pylist():
            vector = json.dumps([float(np.float32(v)) for v in row["vector"]])
            w.writerow([row["id"], vector, row["title"], row["year"], repr(row["score"])])
    return path


def write_npy(folder: Path, lo: int, hi: int) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ids = np.arange(lo, hi, dtype=np.int64)
    np.save(folder / "vectors.npy", vectors(ids))
    np.save(folder / "ids.npy", ids * 10)  # ids that are not row numbers
    return folder / "vectors.npy", folder / "ids.npy"
