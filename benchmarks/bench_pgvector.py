"""pgvector -> Milvus Lite, 768-d: vts beside the source's and the sink's limits.

Sides, each in its own process (peak RSS per side):

- ``copy``:  the raw binary COPY of the table with psycopg, every message
  received and nothing decoded: the fastest the source can be read.
- ``read``:  vts's pgvector reader alone (binary COPY decoded into Arrow), no sink.
- ``sink``:  MilvusClient upserts of the same shape of rows (id, 768-d vector,
  title) built in memory, batch 1000, into a fresh Milvus Lite .db: the sink's limit.
- ``vts``:   ``vts run`` of the whole job (upsert, the sink's default).

A PostgreSQL with pgvector is started on 127.0.0.1 (tests/services/postgres.py)
unless ``PG_URL`` points at one; the table is loaded with binary COPY.

    python benchmarks/bench_pgvector.py --rows 200000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import peak_rss_mb, time_vts_job

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DIM = 768
TABLE = "bench_items"


def load(url: str, rows: int) -> None:
    """id bigint, embedding vector(768), title text; loaded by binary COPY built with numpy."""
    import psycopg

    rng = np.random.default_rng(7)
    row = np.dtype(
        [("n", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"), ("dim", ">i2"), ("pad", ">i2"),
         ("v", ">f4", DIM), ("l3", ">i4"), ("title", "S16")]
    )  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, embedding vector({DIM}) NOT NULL, title text)")
        with conn.cursor() as cur, cur.copy(f"COPY {TABLE} FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8)
            for lo in range(0, rows, 10_000):
                n = min(10_000, rows - lo)
                a = np.zeros(n, dtype=row)
                a["n"], a["l1"], a["l2"], a["dim"], a["l3"] = 3, 8, 4 + 4 * DIM, DIM, 16
                a["id"] = np.arange(lo, lo + n)
                a["v"] = rng.random((n, DIM), dtype=np.float32)
                a["title"] = [f"title-{i:010d}".encode() for i in range(lo, lo + n)]
                copy.write(a.tobytes())
            copy.write(b"\xff\xff")
        conn.execute(f"VACUUM ANALYZE {TABLE}")


def side_copy(url: str, rows: int, work: Path, a: argparse.Namespace) -> dict:
    import psycopg

    t0 = time.perf_counter()
    n = nbytes = 0
    query = f"COPY (SELECT id, embedding, title FROM {TABLE} ORDER BY id) TO STDOUT (FORMAT BINARY)"
    with psycopg.connect(url) as conn, conn.cursor() as cur, cur.copy(query) as cp:
        for data in cp:
            n += 1
            nbytes += len(data)
    return {"seconds": time.perf_counter() - t0, "rows": n - 1, "mb": nbytes / 1e6}


def _source_options(url: str, a: argparse.Namespace) -> dict:
    return {"url": url, "table": TABLE, "batch_size": a.read_batch}


def side_read(url: str, rows: int, work: Path, a: argparse.Namespace) -> dict:
    from connectors.pgvector.options import PgvectorOptions
    from connectors.pgvector.source import PgvectorSource

    src = PgvectorSource(PgvectorOptions.model_validate(_source_options(url, a)))
    tables = src.discover()
    splits = src.plan(tables, 1)
    t0 = time.perf_counter()  # like the copy side: connect + stream, not the catalog queries
    n = 0
    for split in splits:
        for batch, _ in src.read(split, tables[0]):
            n += batch.num_rows
    return {"seconds": time.perf_counter() - t0, "rows": n}


def side_sink(url: str, rows: int, work: Path, a: argparse.Namespace) -> dict:
    from pymilvus import DataType, MilvusClient

    client = MilvusClient(str(work / "sink.db"))
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("title", DataType.VARCHAR, max_length=65535)
    index = client.prepare_index_params()
    index.add_index("embedding", index_type="AUTOINDEX", metric_type="COSINE")
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    client.create_collection(TABLE, schema=schema, index_params=index)
    for lo in range(0, rows, a.sink_batch):
        n = min(a.sink_batch, rows - lo)
        vectors = rng.random((n, DIM), dtype=np.float32)
        client.upsert(
            TABLE, [{"id": lo + i, "embedding": vectors[i], "title": f"title-{lo + i:010d}"} for i in range(n)]
        )
    secs = time.perf_counter() - t0
    client.close()
    return {"seconds": secs, "rows": rows}


def side_vts(url: str, rows: int, work: Path, a: argparse.Namespace) -> dict:

    job = {
        "env": {"parallelism": a.parallelism},
        "source": {"Pgvector": _source_options(url, a)},
        "sink": {"Milvus": {"url": str(work / "vts.db"), "batch_size": a.sink_batch}},
    }
    return {"seconds": time_vts_job(job, work), "rows": rows}


def side_stage(url: str, rows: int, work: Path, a: argparse.Namespace) -> dict:
    """pgvector -> Parquet staging (the BulkWriter's write half, local folder, no import)."""

    stage = work / "stage"
    stage.mkdir()
    bulk = {"cloud_id": "local", "local_path": str(stage), "auto_import": False, "keep_staged_files": True}
    job = {
        "env": {"parallelism": a.parallelism, "checkpoint": {"interval": 60}},
        "source": {"Pgvector": _source_options(url, a)},
        "sink": {"Milvus": {"url": str(work / "stage.db"), "bulk_writer_config": bulk}},
    }
    return {"seconds": time_vts_job(job, work), "rows": rows}


SIDES = {"copy": side_copy, "read": side_read, "sink": side_sink, "vts": side_vts, "stage": side_stage}


def run_side(name: str, url: str, a: argparse.Namespace) -> dict:
    args = [sys.executable, __file__, "--side", name, "--rows", str(a.rows), "--parallelism", str(a.parallelism),
            "--read-batch", str(a.read_batch), "--sink-batch", str(a.sink_batch)]  # fmt: skip
    out = subprocess.run(args, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PG_URL": url})
    if out.returncode != 0:
        raise SystemExit(f"side {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def postgres():
    if os.environ.get("PG_URL"):
        yield os.environ["PG_URL"]
        return
    from tests.services.postgres import PostgresServer

    with PostgresServer() as pg:
        yield pg.url


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--parallelism", type=int, default=1)
    ap.add_argument("--read-batch", type=int, default=10_000, help="source batch_size")
    ap.add_argument("--sink-batch", type=int, default=1000, help="sink batch_size")
    ap.add_argument("--sides", default="copy,read,sink,vts,stage")
    ap.add_argument("--side", choices=sorted(SIDES))
    a = ap.parse_args()
    if a.side:
        with tempfile.TemporaryDirectory() as work:
            result = SIDES[a.side](os.environ["PG_URL"], a.rows, Path(work), a)
        result["peak_rss_mb"] = peak_rss_mb()
        result["children_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(json.dumps(result))
        return
    with postgres() as url:
        t0 = time.perf_counter()
        load(url, a.rows)
        print(f"pgvector -> Milvus Lite: {a.rows:,} rows, {DIM}-d (loaded in {time.perf_counter() - t0:.1f} s)")
        labels = {
            "copy": "raw binary COPY (psycopg)",
            "read": "vts reader alone (COPY -> Arrow)",
            "sink": "Milvus Lite upsert alone",
            "vts": f"vts run (parallelism {a.parallelism})",
            "stage": "vts -> Parquet staging (local)",
        }
        results = {}
        for name in a.sides.split(","):
            r = results[name] = run_side(name, url, a)
            print(
                f"  {labels[name]:<36} {a.rows / r['seconds']:>10,.0f} vectors/s  {r['seconds']:>7.1f} s  "
                f"peak RSS {r['peak_rss_mb']:>6,.0f} MB (+ children {r['children_peak_rss_mb']:,.0f} MB)",
                flush=True,
            )
        limits = [results[s]["seconds"] for s in ("copy", "sink") if s in results]
        if "vts" in results and limits:
            print(f"  vts speed / slower limit's speed: {max(limits) / results['vts']['seconds']:.2f}")


if __name__ == "__main__":
    main()
