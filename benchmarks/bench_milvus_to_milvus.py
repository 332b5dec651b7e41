"""Milvus -> Milvus, 768-d: vts at parallelism 1 and 2 beside the limits, in one run.

The source is a Milvus Lite file filled once. Each side runs in its own
process (peak RSS per side):

- source alone: every row read by primary-key pages through MilvusClient;
- sink alone: the same rows upserted through MilvusClient in a plain loop, flushed, closed;
- hand-written copy: open both, read a page, upsert it, flush, close, in one
  process (what a user would write instead of vts; both Lite files share the
  process, as in vts; closing an embedded Lite waits for its index builds);
- vts: the migration, source file -> a fresh target file.

vts is compared with the hand-written copy, and with the slower side alone.

    python benchmarks/bench_milvus_to_milvus.py --rows 200000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import peak_rss_mb, time_vts_job

DIM = 768
BATCH = 1000


def create(c: Any) -> None:
    """The benchmark's collection, the same on the source and on the hand-written sink."""
    from pymilvus import DataType, MilvusClient

    s = MilvusClient.create_schema(auto_id=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("title", DataType.VARCHAR, max_length=64)
    idx = c.prepare_index_params()
    idx.add_index("vector", index_type="AUTOINDEX", metric_type="COSINE")
    c.create_collection("bench", schema=s, index_params=idx)


def fill(path: Path, rows: int) -> None:
    from pymilvus import MilvusClient

    c = MilvusClient(str(path))
    create(c)
    rng = np.random.default_rng(1)
    for lo in range(0, rows, 5000):
        n = min(5000, rows - lo)
        vecs = rng.random((n, DIM), dtype=np.float32)
        c.insert("bench", [{"id": lo + i, "vector": vecs[i], "title": f"row {lo + i}"} for i in range(n)])
    c.flush("bench")
    c.close()


def side_read(src: Path, work: Path, parallelism: int) -> dict:
    from pymilvus import MilvusClient

    from connectors.milvus.query import pages

    c = MilvusClient(str(src))
    c.load_collection("bench")
    t0 = time.perf_counter()
    n = sum(len(p) for p in pages(c, "bench", None, "id", False, None, None, None, ["id", "vector", "title"], BATCH))
    return {"seconds": time.perf_counter() - t0, "rows": n}


def side_write(src: Path, work: Path, parallelism: int) -> dict:
    from pymilvus import MilvusClient

    from connectors.milvus.query import pages

    reader = MilvusClient(str(src))
    reader.load_collection("bench")
    rows = [
        r
        for p in pages(reader, "bench", None, "id", False, None, None, None, ["id", "vector", "title"], BATCH)
        for r in p
    ]
    t0 = time.perf_counter()
    c = MilvusClient(str(work / "sink.db"))
    create(c)
    for lo in range(0, len(rows), BATCH):
        c.upsert("bench", rows[lo : lo + BATCH])
    c.flush("bench")
    c.close()  # embedded Lite finishes building the index of what was flushed, as at the end of a vts run
    return {"seconds": time.perf_counter() - t0, "rows": len(rows)}


def side_copy(src: Path, work: Path, parallelism: int) -> dict:
    from pymilvus import MilvusClient

    from connectors.milvus.query import pages

    t0 = time.perf_counter()
    reader = MilvusClient(str(src))
    reader.load_collection("bench")
    c = MilvusClient(str(work / "copy.db"))
    create(c)
    n = 0
    for page in pages(reader, "bench", None, "id", False, None, None, None, ["id", "vector", "title"], BATCH):
        c.upsert("bench", page)
        n += len(page)
    c.flush("bench")
    c.close()
    reader.close()
    return {"seconds": time.perf_counter() - t0, "rows": n}


def side_vts(src: Path, work: Path, parallelism: int) -> dict:

    job = {
        "env": {"parallelism": parallelism, "checkpoint": {"path": str(work / "cp")}},
        "source": {"Milvus": {"url": str(src), "load_collection": True, "batch_size": BATCH}},
        "sink": {"Milvus": {"url": str(work / "vts.db"), "batch_size": BATCH}},
    }
    return {"seconds": time_vts_job(job, work)}


SIDES = {"read": side_read, "write": side_write, "copy": side_copy, "vts": side_vts}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--side", choices=list(SIDES))
    ap.add_argument("--source")
    ap.add_argument("--parallelism", type=int, default=1)
    ap.add_argument("--fill")
    a = ap.parse_args()
    if a.fill:
        fill(Path(a.fill), a.rows)
        return
    if a.side:
        with tempfile.TemporaryDirectory() as work:
            result = SIDES[a.side](Path(a.source), Path(work), a.parallelism)
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "source.db"
        print(f"filling a Milvus Lite source with {a.rows:,} rows of {DIM}-d ...", flush=True)
        # in a child process: Milvus Lite keeps a .db file for the process that opened it
        subprocess.run([sys.executable, __file__, "--fill", str(src), "--rows", str(a.rows)], check=True)

        def run(side: str, parallelism: int = 1) -> dict:
            out = subprocess.run(
                [sys.executable, __file__, "--side", side, "--source", str(src), "--parallelism", str(parallelism)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            return json.loads(out.stdout.strip().splitlines()[-1])

        results = {
            "source read alone": run("read"),
            "sink write alone (upsert)": run("write"),
            "hand-written copy": run("copy"),
            "vts parallelism 1": run("vts", 1),
            "vts parallelism 2": run("vts", 2),
        }
    limit = max(results["source read alone"]["seconds"], results["sink write alone (upsert)"]["seconds"])
    print(f"Milvus Lite -> Milvus Lite, {a.rows:,} rows, {DIM}-d, batch {BATCH}")
    for name, r in results.items():
        print(
            f"  {name:<28} {a.rows / r['seconds']:>9,.0f} vectors/s  {r['seconds']:>7.1f} s  peak RSS {r['peak_rss_mb']:>7,.0f} MB"
        )
    copy = results["hand-written copy"]["seconds"]
    for p in (1, 2):
        vts = results[f"vts parallelism {p}"]["seconds"]
        print(f"  vts parallelism {p} / hand-written copy: {copy / vts:.2f}   / slower side alone: {limit / vts:.2f}")


if __name__ == "__main__":
    main()
