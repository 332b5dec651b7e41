"""BulkWriter staging throughput: datagen -> Parquet on S3 (moto), 768-d vectors.

Three writers put the same rows into the same bucket of a moto S3 server
(started as its own process on 127.0.0.1, so it does not share our GIL):

- pyarrow: ``pq.write_table`` of the whole table through ``pyarrow.fs.S3FileSystem``
  (the limit: no conversion, no checks);
- vts: the Milvus sink's StagingWriter fed the datagen batches (conversion to
  Milvus's layout, row checks, chunking, multipart uploads);
- pymilvus: ``RemoteBulkWriter`` (``append_row`` per row, then ``commit``),
  fed the same rows as Python dicts (building the dicts is not timed).

Usage: .venv/bin/python benchmarks/bench_bulk_writer.py [--rows 200000] [--dim 768] [--skip-pymilvus]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from connectors.datagen.options import DataGenOptions  # noqa: E402
from connectors.datagen.source import DataGenSource  # noqa: E402
from connectors.milvus.connection import ServerInfo  # noqa: E402
from connectors.milvus.convert import convert  # noqa: E402
from connectors.milvus.options import MilvusSinkOptions  # noqa: E402
from connectors.milvus.sink import MilvusPlan, MilvusSink  # noqa: E402
from vts.connector import Resume, WriteContext  # noqa: E402
from vts.rejects import RejectLog, SplitRejects  # noqa: E402

KEY, SECRET, BUCKET = "bench", "benchsecret", "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    raise RuntimeError("moto_server did not start")


def bucket_bytes(client, prefix: str) -> int:
    total = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        total += sum(o["Size"] for o in page.get("Contents", []))
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--chunk-mb", type=float, default=512)
    ap.add_argument("--skip-pymilvus", action="store_true")
    args = ap.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)

    import boto3

    proc, endpoint = start_moto()
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        spec = DataGenOptions(
            collection="bench",
            row_count=args.rows,
            seed=1,
            batch_size=5000,
            fields=[
                {"name": "id", "type": "BIGINT", "primary_key": True},
                {"name": "vector", "type": "FLOAT_VECTOR", "dimension": args.dim},
                {"name": "title", "type": "STRING", "max_length": 64},
            ],
        )
        source = DataGenSource(spec)
        tables = source.discover()
        t0 = time.perf_counter()
        batches = [b for s in source.plan(tables, 1) for b, _ in source.read(s, tables[0])]
        gen_s = time.perf_counter() - t0
        table = pa.Table.from_batches(batches)
        n = table.num_rows
        print(
            f"{n:,} rows x {args.dim}-d, {table.nbytes / 2**20:,.0f} MiB in Arrow; datagen alone {n / gen_s:,.0f} rows/s"
        )
        results: dict[str, float] = {}

        # 1. pyarrow straight to S3: the limit (same Milvus layout: list<float32> vectors)
        from pyarrow import fs

        s3fs = fs.S3FileSystem(endpoint_override=endpoint, access_key=KEY, secret_key=SECRET, scheme="http")
        vec = table.column("vector").combine_chunks()
        as_list = pa.ListArray.from_arrays(pa.array(range(0, (n + 1) * args.dim, args.dim), pa.int32()), vec.flatten())
        limit_table = table.set_column(1, "vector", as_list)
        # one file per ~128 MiB of rows: moto fails CompleteMultipartUpload on a single 600 MiB stream
        per_file = max(1, int(128 * 2**20 / (limit_table.nbytes / n)))
        t0 = time.perf_counter()
        for i, start in enumerate(range(0, n, per_file)):
            part = limit_table.slice(start, per_file)
            pq.write_table(part, f"{BUCKET}/pyarrow/bench-{i}.parquet", filesystem=s3fs, compression="snappy")
        results["pyarrow write_table -> S3 (limit)"] = time.perf_counter() - t0

        # 2. vts StagingWriter
        cfg = {
            "cloud_id": "aws",
            "minio_url": endpoint,
            "access_key": KEY,
            "secret_key": SECRET,
            "bucket_name": BUCKET,
            "prefix": "vts",
            "chunk_size": args.chunk_mb,
        }
        sink = MilvusSink(MilvusSinkOptions(url="http://127.0.0.1:1", bulk_writer_config=cfg))
        server = ServerInfo.parse("2.4.0")
        plan = MilvusPlan(server, {t.name: convert(t, sink.options, server) for t in tables})
        tmp = Path(tempfile.mkdtemp())
        split = source.plan(tables, 1)[0]
        ctx = WriteContext(Resume(), SplitRejects(RejectLog(tmp / "r.jsonl"), split.id, split.table))
        t0 = time.perf_counter()
        writer = sink.writer(plan, split, ctx)
        for b in batches:
            writer.write(b)
        writer.flush()
        info = writer.finish()
        writer.close()
        results["vts StagingWriter -> S3"] = time.perf_counter() - t0
        assert info["rows"] == n, info["rows"]
        shutil.rmtree(tmp, ignore_errors=True)

        # 3. pymilvus RemoteBulkWriter
        if not args.skip_pymilvus:
            from pymilvus.bulk_writer import BulkFileType, RemoteBulkWriter

            rows = table.to_pylist()
            param = RemoteBulkWriter.S3ConnectParam(
                endpoint=endpoint.removeprefix("http://"), access_key=KEY, secret_key=SECRET, bucket_name=BUCKET
            )
            schema = next(iter(plan.targets.values())).pymilvus_schema()
            t0 = time.perf_counter()
            with RemoteBulkWriter(
                schema=schema,
                remote_path="pymilvus",
                connect_param=param,
                chunk_size=int(args.chunk_mb * 2**20),
                file_type=BulkFileType.PARQUET,
            ) as w:
                for r in rows:
                    w.append_row(r)
                w.commit()
            results["pymilvus RemoteBulkWriter -> S3"] = time.perf_counter() - t0

        print(f"{'writer':38s} {'seconds':>8s} {'vectors/s':>10s}  {'MiB staged':>10s}")
        prefixes = {"pyarrow": "pyarrow/", "vts": "vts/", "pymilvus": "pymilvus/"}
        for name, secs in results.items():
            size = bucket_bytes(s3, prefixes[name.split()[0]]) / 2**20
            print(f"{name:38s} {secs:8.2f} {n / secs:10,.0f}  {size:10,.0f}")
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


if __name__ == "__main__":
    main()
