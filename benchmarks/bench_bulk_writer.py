"""BulkWriter staging alone: datagen -> Parquet on S3 (a moto server in its own process), no import.

Sides, each in its own process, the same seeded rows:

- source alone: vts's DataGen generating every batch;
- staging limit: pyarrow's own ParquetWriter to S3 (files of ~120 MiB), only the writes timed;
- pymilvus RemoteBulkWriter: ``append_row`` per row, then ``commit`` (the row dicts are built outside the timer);
- vts: a DataGen -> Milvus job with ``bulk_writer_config`` (``auto_import: false``) through ``vts run``;
  the rows it staged are counted back from the Parquet footers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from common import DIM, as_rows, batches, datagen_spec, run_vts, staging_codecs
from measure import BenchPath, Side

FILE_ROWS = 40_000  # ~120 MiB a file: moto fails CompleteMultipartUpload on one 600 MiB stream


def s3fs(env: dict[str, Any]) -> Any:
    from pyarrow import fs

    return fs.S3FileSystem(endpoint_override=env["s3_endpoint"], access_key=env["s3_key"],
                           secret_key=env["s3_secret"], scheme="http", region="us-east-1")  # fmt: skip


def milvus_layout(b: pa.RecordBatch, vector: str = "vector") -> pa.RecordBatch:
    """The columns as Milvus imports them: the vector a list<float32>."""
    v = b.column(vector)
    as_list = pa.ListArray.from_arrays(pa.array(range(0, (b.num_rows + 1) * DIM, DIM), pa.int32()), v.flatten())
    return pa.RecordBatch.from_arrays([b.column("id"), as_list, b.column("title")], names=["id", "vector", "title"])


def write_parquet(env: dict[str, Any], prefix: str, source: Any) -> tuple[float, list[str], int]:
    """Every batch through pyarrow's ParquetWriter to S3, a new file every FILE_ROWS; seconds of the writes only."""
    fs, spent, keys, n, writer = s3fs(env), 0.0, [], 0, None
    for b in source:
        b = milvus_layout(b)
        t = time.perf_counter()
        if writer is None or n // FILE_ROWS >= len(keys):
            if writer is not None:
                writer.close()
            keys.append(f"{prefix}/{len(keys)}.parquet")
            writer = pq.ParquetWriter(
                f"{env['s3_bucket']}/{keys[-1]}", b.schema, filesystem=fs, compression=staging_codecs(b.schema)
            )
        writer.write_batch(b)
        spent += time.perf_counter() - t
        n += b.num_rows
    if writer is not None:
        t = time.perf_counter()
        writer.close()
        spent += time.perf_counter() - t
    return spent, keys, n


def staged_rows(env: dict[str, Any], prefix: str) -> int:
    """Rows in every Parquet file under ``prefix``, from the footers."""
    from pyarrow import fs as pafs

    fs = s3fs(env)
    files = fs.get_file_info(pafs.FileSelector(f"{env['s3_bucket']}/{prefix}", recursive=True))
    return sum(pq.ParquetFile(f.path, filesystem=fs).metadata.num_rows for f in files if f.path.endswith(".parquet"))


def source_alone(env: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    n = sum(b.num_rows for b in batches(env["rows"], 5000))
    return {"seconds": time.perf_counter() - t0, "rows": n}


def staging_limit(env: dict[str, Any]) -> dict[str, Any]:
    seconds, _, n = write_parquet(env, f"pyarrow-{env['tag']}", batches(env["rows"], 5000))
    return {"seconds": seconds, "rows": n}


def remote_bulk_writer(env: dict[str, Any]) -> dict[str, Any]:
    from pymilvus import CollectionSchema, DataType, FieldSchema
    from pymilvus.bulk_writer import BulkFileType, RemoteBulkWriter

    schema = CollectionSchema([
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("vector", DataType.FLOAT_VECTOR, dim=DIM),
        FieldSchema("title", DataType.VARCHAR, max_length=256),
    ])  # fmt: skip
    param = RemoteBulkWriter.S3ConnectParam(endpoint=env["s3_endpoint"].removeprefix("http://"), access_key=env["s3_key"],
                                            secret_key=env["s3_secret"], bucket_name=env["s3_bucket"], secure=False)  # fmt: skip
    spent, n = 0.0, 0
    with RemoteBulkWriter(schema=schema, remote_path=f"rbw-{env['tag']}", connect_param=param,
                          chunk_size=128 * 2**20, file_type=BulkFileType.PARQUET) as w:  # fmt: skip
        for b in batches(env["rows"], 5000):
            rows = as_rows(b)
            t = time.perf_counter()
            for r in rows:
                w.append_row(r)
            spent += time.perf_counter() - t
            n += len(rows)
        t = time.perf_counter()
        w.commit()
        spent += time.perf_counter() - t
    return {"seconds": spent, "rows": n}


def vts(env: dict[str, Any]) -> dict[str, Any]:
    prefix = f"vts-{env['tag']}"
    bulk = {
        "cloud_id": "aws", "minio_url": env["s3_endpoint"], "access_key": env["s3_key"], "secret_key": env["s3_secret"],
        "bucket_name": env["s3_bucket"], "prefix": prefix, "chunk_size": 128, "auto_import": False,
    }  # fmt: skip
    job = {
        "env": {"parallelism": env.get("parallelism", 1), "checkpoint": {"path": str(Path(env["work"]) / "cp")}},
        "source": {"DataGen": datagen_spec(env["rows"], f"stage_{env['tag']}", 5000)},
        "sink": {"Milvus": {"url": env["lite_url"], "bulk_writer_config": bulk}},
    }
    return {**run_vts(job, Path(env["work"])), "rows": staged_rows(env, prefix)}


PATHS = [
    BenchPath(
        name="datagen -> Parquet on S3 (BulkWriter staging alone)",
        module=__name__,
        sides=(
            Side("vts BulkWriter staging", "vts", "vts"),
            Side("source alone (DataGen)", "source", "source_alone"),
            Side("staging limit (pyarrow ParquetWriter -> S3)", "sink", "staging_limit"),
            Side("pymilvus RemoteBulkWriter", "loop", "remote_bulk_writer"),
        ),
        services=("moto", "lite"),
        quick_rows=1_000,
        full_rows=100_000,
        scaling=(100_000, 1_000_000),
        notes="moto S3 in its own process; the Lite server only holds the collection vts creates (no import)",
    )
]
