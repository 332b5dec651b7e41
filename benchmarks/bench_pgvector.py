"""pgvector -> Milvus 2.3.5: through the insert writer, and through the BulkWriter (Parquet on moto S3, then import).

A PostgreSQL with pgvector (tests/services/postgres.py) holds ``bench_items``
(id bigint, embedding vector(768), title text), loaded by binary COPY (setup).
For the S3 path Milvus 2.3.5 stores its data on the same moto S3 server the
Parquet files are staged on, so it imports them from there.

Insert path sides: the source alone (vts's pgvector reader: binary COPY
decoded into Arrow), the sink alone (the same rows read first, then only the
MilvusClient.insert calls timed), a hand-written loop (a binary server-side
cursor, ``embedding::real[]``, insert 1 000 rows a call), and vts.

Bulk path sides (two paths: staged on moto S3, which is also that Milvus's
object store, and staged in a local folder that a Milvus on local storage
reads by path), all end to end until the rows are visible (count(*)):
vts with ``bulk_writer_config`` (stage, import, wait); the staging limit
(pyarrow's own ParquetWriter to S3, only the writes timed); the import alone
(files staged by pyarrow first, then only ``do_bulk_insert`` + wait timed); and
pymilvus's RemoteBulkWriter (append_row per row, commit, import its files).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import DIM, client, count, counted, create, run_vts, staging_codecs, timed_insert
from measure import BenchPath, Side

TABLE = "bench_items"
READ_BATCH = 10_000
FILE_ROWS = 40_000  # ~120 MiB per Parquet file: moto fails CompleteMultipartUpload on one 600 MiB stream
LOCAL_FILE_ROWS = 160_000  # ~490 MiB, as vts's default chunk_size (512 MB) cuts them


def setup(env: dict[str, Any]) -> dict[str, Any]:
    """The table, loaded by binary COPY built with numpy (seeded), skipped when it already holds ``rows``."""
    import psycopg

    rows = env["rows"]
    with psycopg.connect(env["pg_url"], autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        table = f"{TABLE}_{rows}"
        exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
        if exists is None:
            _load(conn, table, rows)
    return {"table": table}


def _load(conn: Any, table: str, rows: int) -> None:
    rng = np.random.default_rng(7)
    row = np.dtype(
        [("n", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"), ("dim", ">i2"), ("pad", ">i2"),
         ("v", ">f4", DIM), ("l3", ">i4"), ("title", "S16")]
    )  # fmt: skip
    conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, embedding vector({DIM}) NOT NULL, title text NOT NULL)")
    with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
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
    conn.execute(f"VACUUM ANALYZE {table}")


def _source(env: dict[str, Any]) -> dict[str, Any]:
    return {"url": env["pg_url"], "table": env["table"], "batch_size": READ_BATCH}


def _reader(env: dict[str, Any]) -> Any:
    """vts's own pgvector reader, every batch of the table in key order."""
    from vts.connectors.pgvector.options import PgvectorOptions
    from vts.connectors.pgvector.source import PgvectorSource

    src = PgvectorSource(PgvectorOptions.model_validate(_source(env)))
    tables = src.discover()
    return (b for split in src.splits(tables, 1) for b, _ in src.read(split, tables[0]))


def _rows(b: pa.RecordBatch) -> list[dict[str, Any]]:
    v = b.column("embedding").flatten().to_numpy().reshape(b.num_rows, DIM)
    ids, titles = b.column("id").to_pylist(), b.column("title").to_pylist()
    return [{"id": i, "vector": v[k], "title": t} for k, (i, t) in enumerate(zip(ids, titles))]


def _pages(env: dict[str, Any], size: int = 1000) -> Any:
    for b in _reader(env):
        for lo in range(0, b.num_rows, size):
            yield _rows(b.slice(lo, size))


def source_alone(env: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    n = sum(b.num_rows for b in _reader(env))
    return {"seconds": time.perf_counter() - t0, "rows": n}


def sink_alone(env: dict[str, Any]) -> dict[str, Any]:
    c, name = client(env["milvus_url"]), f"sink_{env['tag']}"
    create(c, name)
    seconds = timed_insert(c, name, _pages(env))
    return counted(c, name, seconds)


def loop(env: dict[str, Any]) -> dict[str, Any]:
    """What a user writes: a binary server-side cursor, rows to dicts, insert."""
    import psycopg

    name = f"loop_{env['tag']}"
    t0 = time.perf_counter()
    c = client(env["milvus_url"])
    create(c, name)
    with psycopg.connect(env["pg_url"]) as conn, conn.cursor(name="bench", binary=True) as cur:
        cur.execute(f"SELECT id, embedding::real[], title FROM {env['table']} ORDER BY id")
        while rows := cur.fetchmany(1000):
            c.insert(name, [{"id": i, "vector": v, "title": t} for i, v, t in rows])
    return counted(c, name, time.perf_counter() - t0)


def _vts_job(env: dict[str, Any], name: str, bulk: dict[str, Any] | None) -> dict[str, Any]:
    sink: dict[str, Any] = {"url": env["milvus_url"], "write_mode": "insert", "collection_rename": {env["table"]: name}}
    if bulk:
        sink["bulk_writer_config"] = bulk
    return {
        "env": {"parallelism": env.get("parallelism", 1), "checkpoint": {"path": str(Path(env["work"]) / "cp")}},
        "source": {"Pgvector": _source(env)},
        "sink": {"Milvus": sink},
    }


def vts_insert(env: dict[str, Any]) -> dict[str, Any]:
    name = f"vts_{env['tag']}"
    return {**run_vts(_vts_job(env, name, None), Path(env["work"])), "rows": count(client(env["milvus_url"]), name)}


def _visible(c: Any, name: str, want: int, timeout: float = 600) -> int:
    """Poll the count until every row shows; while some are missing, refresh the load (imported segments
    show only after one). Counted first: a refresh load costs ~10 s on Milvus 2.3.5 even when nothing is new."""
    deadline, n = time.monotonic() + timeout, count(c, name)
    while n < want and time.monotonic() < deadline:
        c.load_collection(name, refresh=True)
        n = count(c, name)
        if n < want:
            time.sleep(0.2)
    return n


def vts_bulk(env: dict[str, Any]) -> dict[str, Any]:
    name = f"vtsbulk_{env['tag']}"
    if _local(env):  # the defaults a user gets, but for the folder
        bulk: dict[str, Any] = {
            "cloud_id": "local",
            "local_path": str(_stage_folder(env)),
            "prefix": f"vts-{env['tag']}",
        }
    else:
        bulk = {
            "cloud_id": "aws", "minio_url": env["s3_endpoint"], "access_key": env["s3_key"],
            "secret_key": env["s3_secret"], "bucket_name": env["s3_bucket"], "prefix": f"vts-{env['tag']}",
            "chunk_size": 128,
        }  # fmt: skip
    t0 = time.perf_counter()
    run = run_vts(_vts_job(env, name, bulk), Path(env["work"]))
    n = _visible(client(env["milvus_url"]), name, env["rows"])
    seconds = time.perf_counter() - t0
    # the count that waits for the rows to show is the import's tail: it belongs to the finish
    run["phases"]["finish"] = round(run["phases"]["finish"] + seconds - run["seconds"], 2)
    return {"seconds": seconds, "rows": n, "phases": run["phases"]}


def _s3fs(env: dict[str, Any]) -> Any:
    from pyarrow import fs

    return fs.S3FileSystem(endpoint_override=env["s3_endpoint"], access_key=env["s3_key"],
                           secret_key=env["s3_secret"], scheme="http", region="us-east-1")  # fmt: skip


def _milvus_layout(b: pa.RecordBatch) -> pa.RecordBatch:
    """The columns as Milvus 2.3 imports them: the vector a list<float32> named like the field."""
    v = b.column("embedding")
    as_list = pa.ListArray.from_arrays(pa.array(range(0, (b.num_rows + 1) * DIM, DIM), pa.int32()), v.flatten())
    return pa.RecordBatch.from_arrays([b.column("id"), as_list, b.column("title")], names=["id", "vector", "title"])


def _local(env: dict[str, Any]) -> bool:
    return env.get("staging") == "local"


def _stage_folder(env: dict[str, Any]) -> Path:
    """Where the local bulk path stages: a folder the Milvus server (same machine) reads by absolute path."""
    folder = Path(env["work"]) / "stage"
    folder.mkdir(exist_ok=True)
    return folder


def _stage_pyarrow(env: dict[str, Any], prefix: str) -> tuple[float, list[str], int]:
    """Every batch written with pyarrow's ParquetWriter (to S3, or the local folder); seconds of the writes only.

    Keys: relative to the bucket on S3, absolute paths locally (what ``do_bulk_insert`` takes for each)."""
    local = _local(env)
    fs, spent, keys, n, writer = (None if local else _s3fs(env)), 0.0, [], 0, None
    base = str(_stage_folder(env) / prefix) if local else prefix
    file_rows = LOCAL_FILE_ROWS if local else FILE_ROWS
    if local:
        Path(base).mkdir(parents=True)
    for b in _reader(env):
        b = _milvus_layout(b)
        t = time.perf_counter()
        if writer is None or n % file_rows == 0:
            if writer is not None:
                writer.close()
            keys.append(f"{base}/{len(keys)}.parquet")
            where = keys[-1] if local else f"{env['s3_bucket']}/{keys[-1]}"
            writer = pq.ParquetWriter(where, b.schema, filesystem=fs, compression=staging_codecs(b.schema))
        writer.write_batch(b)
        spent += time.perf_counter() - t
        n += b.num_rows
    if writer is not None:
        t = time.perf_counter()
        writer.close()
        spent += time.perf_counter() - t
    return spent, keys, n


def staging_limit(env: dict[str, Any]) -> dict[str, Any]:
    seconds, _, n = _stage_pyarrow(env, f"pyarrow-{env['tag']}")
    return {"seconds": seconds, "rows": n}


def _import(c: Any, name: str, keys: list[str]) -> None:
    """One gRPC bulk-insert task per file (Milvus 2.3 takes one Parquet file a task); wait for all."""
    conn = c._get_connection()
    tasks = [conn.do_bulk_insert(name, "", [k]) for k in keys]
    pending = set(tasks)
    while pending:
        for t in list(pending):
            state = conn.get_bulk_insert_state(t)
            if state.state_name == "Failed":
                raise SystemExit(f"import task {t} failed: {state.failed_reason}")
            if state.state_name in ("Completed", "ImportCompleted") or state.state == 6:
                pending.discard(t)
        if pending:
            time.sleep(0.2)


def import_alone(env: dict[str, Any]) -> dict[str, Any]:
    c, name = client(env["milvus_url"]), f"imp_{env['tag']}"
    create(c, name)
    _, keys, n = _stage_pyarrow(env, f"import-{env['tag']}")
    t0 = time.perf_counter()
    _import(c, name, keys)
    got = _visible(c, name, n)
    return {"seconds": time.perf_counter() - t0, "rows": got}


def _pymilvus_writer(env: dict[str, Any], schema: Any) -> Any:
    """pymilvus's LocalBulkWriter into the local folder, or its RemoteBulkWriter to S3 (chunks as vts's)."""
    from pymilvus.bulk_writer import BulkFileType, LocalBulkWriter, RemoteBulkWriter

    if _local(env):
        return LocalBulkWriter(schema=schema, local_path=str(_stage_folder(env) / f"lbw-{env['tag']}"),
                               chunk_size=512 * 2**20, file_type=BulkFileType.PARQUET)  # fmt: skip
    param = RemoteBulkWriter.S3ConnectParam(endpoint=env["s3_endpoint"].removeprefix("http://"), access_key=env["s3_key"],
                                            secret_key=env["s3_secret"], bucket_name=env["s3_bucket"], secure=False)  # fmt: skip
    return RemoteBulkWriter(schema=schema, remote_path=f"rbw-{env['tag']}", connect_param=param,
                            chunk_size=128 * 2**20, file_type=BulkFileType.PARQUET)  # fmt: skip


def pymilvus_bulk_writer(env: dict[str, Any]) -> dict[str, Any]:
    """pymilvus's own staging: append_row per row, commit, then import its files."""
    from pymilvus import CollectionSchema

    c, name = client(env["milvus_url"]), f"rbw_{env['tag']}"
    create(c, name)
    schema = CollectionSchema.construct_from_dict(c.describe_collection(name))
    t0 = time.perf_counter()
    with _pymilvus_writer(env, schema) as w:
        for rows in _pages(env, READ_BATCH):
            for r in rows:
                w.append_row(r)
        w.commit()
        files = [f for group in w.batch_files for f in group]
    _import(c, name, files)
    n = _visible(c, name, env["rows"])
    return {"seconds": time.perf_counter() - t0, "rows": n}


def _bulk_path(
    staged: str, limit: str, pymilvus: str, milvus: str, where: str, params: dict[str, Any] | None = None
) -> BenchPath:
    """A bulk path: staged ``staged`` (S3 or local), its staging limit, pymilvus's own writer, the Milvus kind."""
    return BenchPath(
        name=f"pgvector -> {staged} -> Milvus 2.3.5 import (BulkWriter)",
        module=__name__,
        sides=(
            Side("vts BulkWriter end to end", "vts", "vts_bulk"),
            Side("source alone (vts pgvector reader)", "source", "source_alone"),
            Side(f"staging limit ({limit})", "sink", "staging_limit"),
            Side("import alone (do_bulk_insert of staged files)", "sink", "import_alone"),
            Side(f"pymilvus {pymilvus} + import", "loop", "pymilvus_bulk_writer"),
        ),
        services=("postgres", milvus),
        setup="setup",
        quick_rows=1_000,
        full_rows=100_000,
        needs_netns=True,
        scaling=(100_000, 1_000_000),
        params=params or {},
        notes=f"end to end until count(*) shows every row; {where}",
    )


PATHS = [
    BenchPath(
        name="pgvector -> Milvus 2.3.5 (insert writer)",
        module=__name__,
        sides=(
            Side("vts", "vts", "vts_insert"),
            Side("source alone (vts pgvector reader)", "source", "source_alone"),
            Side("sink alone (MilvusClient.insert)", "sink", "sink_alone"),
            Side("hand-written loop (psycopg binary cursor)", "loop", "loop"),
        ),
        services=("postgres", "milvus235"),
        setup="setup",
        quick_rows=1_000,
        full_rows=50_000,
        needs_netns=True,
        scaling=(100_000, 1_000_000),
        notes="vts until its run returns with the collection loaded and count(*) showing every row; Milvus "
        "builds the index of the sealed segments after that, in the background (the bulk paths wait for it)",
    ),
    _bulk_path(
        "Parquet on S3",
        "pyarrow ParquetWriter -> S3",
        "RemoteBulkWriter",
        "milvus235s3",
        "Milvus 2.3.5 stores its data on the same moto S3 (a Python server: every binlog and index file "
        "Milvus writes goes through it too)",
    ),
    _bulk_path(
        "local Parquet",
        "pyarrow ParquetWriter, local",
        "LocalBulkWriter",
        "milvus235",
        "Milvus 2.3.5 on its local storage reads the staged files by path (cloud_id local, vts's default chunk_size)",
        {"staging": "local"},
    ),
]
