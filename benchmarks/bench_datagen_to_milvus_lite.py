"""datagen -> Milvus Lite, 768-d: vts beside the limit, in the same run.

The limit is a hand-written loop that inserts the same rows (same generator,
same batch size) through MilvusClient into its own fresh .db file. Each side
runs in its own process so peak RSS is measured per side.

    python benchmarks/bench_datagen_to_milvus_lite.py --rows 100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import peak_rss_mb, time_vts_job

REPO = Path(__file__).resolve().parent.parent
FIELDS = [
    {"name": "id", "type": "BIGINT", "primary_key": True},
    {"name": "vector", "type": "FLOAT_VECTOR", "dimension": 768},
    {"name": "title", "type": "STRING", "max_length": 256},
]


def job(rows: int, db: Path, batch: int, parallelism: int, mode: str) -> dict:
    return {
        "env": {"parallelism": parallelism},
        "source": {
            "DataGen": {"collection": "bench", "row_count": rows, "seed": 7, "batch_size": batch, "fields": FIELDS}
        },
        "sink": {"Milvus": {"url": str(db), "batch_size": batch, "write_mode": mode}},
    }


def side_vts(rows: int, batch: int, parallelism: int, mode: str, work: Path) -> dict:
    db = work / f"vts-{mode}-{parallelism}.db"
    return {"seconds": time_vts_job(job(rows, db, batch, parallelism, mode), work)}


def side_limit(rows: int, batch: int, parallelism: int, mode: str, work: Path) -> dict:
    """The same rows through MilvusClient in a plain loop: the sink's limit."""
    from pymilvus import DataType, MilvusClient

    from connectors.datagen.generate import Generator
    from connectors.datagen.options import DataGenOptions
    from connectors.datagen.source import DataGenSource

    source = DataGenSource(DataGenOptions.model_validate(job(rows, work / "x.db", batch, 1, mode)["source"]["DataGen"]))
    table = source.discover()[0]
    client = MilvusClient(str(work / f"limit-{mode}.db"))
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=768)
    schema.add_field("title", DataType.VARCHAR, max_length=256)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="AUTOINDEX", metric_type="COSINE")
    t0 = time.perf_counter()
    client.create_collection("bench", schema=schema, index_params=index)
    gen = Generator(table, seed=7)
    call = client.upsert if mode == "upsert" else client.insert
    for lo in range(0, rows, batch):
        b = gen.rows(lo, min(lo + batch, rows))
        vectors = b.column("vector").flatten().to_numpy().reshape(b.num_rows, 768)
        ids, titles = b.column("id").to_pylist(), b.column("title").to_pylist()
        call("bench", [{"id": i, "vector": v, "title": t} for i, v, t in zip(ids, vectors, titles)])
    secs = time.perf_counter() - t0
    client.close()
    return {"seconds": secs}


def run_side(name: str, rows: int, batch: int, parallelism: int, mode: str) -> dict:
    """Run one side in a child process; returns its timing and peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--side", name, "--rows", str(rows), "--batch", str(batch),
         "--parallelism", str(parallelism), "--mode", mode],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--parallelism", type=int, default=1)
    ap.add_argument("--mode", default="insert", choices=["insert", "upsert"])
    ap.add_argument("--side", choices=["vts", "limit"])
    a = ap.parse_args()
    if a.side:
        with tempfile.TemporaryDirectory() as work:
            fn = side_vts if a.side == "vts" else side_limit
            result = fn(a.rows, a.batch, a.parallelism, a.mode, Path(work))
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return
    print(f"datagen -> Milvus Lite: {a.rows:,} rows, 768-d, batch {a.batch}, mode {a.mode}")
    limit = run_side("limit", a.rows, a.batch, 1, a.mode)
    ours = run_side("vts", a.rows, a.batch, a.parallelism, a.mode)
    for name, r in ((f"hand loop (MilvusClient.{a.mode})", limit), (f"vts (parallelism {a.parallelism})", ours)):
        print(
            f"  {name:<36} {a.rows / r['seconds']:>10,.0f} vectors/s  {r['seconds']:>7.1f} s  peak RSS {r['peak_rss_mb']:>7,.0f} MB"
        )
    print(f"  ratio vts / limit: {limit['seconds'] / ours['seconds']:.2f}")


if __name__ == "__main__":
    main()
