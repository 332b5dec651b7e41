"""What the bench sides share: the seeded 768-d rows, a vts job run, Milvus collections and loops.

Every side of a path moves the same rows: ``id`` BIGINT, ``vector`` 768-d
float32, ``title`` a short string, made by vts's own DataGen generator (seed
7) one batch at a time, so 1 M rows never sit in memory at once.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

DIM = 768
BATCH = 1000
FIELDS = [
    {"name": "id", "type": "BIGINT", "primary_key": True},
    {"name": "vector", "type": "FLOAT_VECTOR", "dimension": DIM},
    {"name": "title", "type": "STRING", "max_length": 256},
]


def datagen_spec(rows: int, collection: str, batch: int = BATCH) -> dict[str, Any]:
    return {"collection": collection, "row_count": rows, "seed": 7, "batch_size": batch, "fields": FIELDS}


def batches(rows: int, batch: int = BATCH) -> Iterator[pa.RecordBatch]:
    """The bench rows, ``batch`` at a time (vts's DataGen, seed 7)."""
    from vts.connectors.datagen.generate import Generator
    from vts.connectors.datagen.options import DataGenOptions
    from vts.connectors.datagen.source import DataGenSource

    source = DataGenSource(DataGenOptions.model_validate(datagen_spec(rows, "bench", batch)))
    gen = Generator(source.discover()[0], seed=7)
    return (gen.rows(lo, min(lo + batch, rows)) for lo in range(0, rows, batch))


def vectors(b: pa.RecordBatch, column: str = "vector") -> np.ndarray:
    return b.column(column).flatten().to_numpy().reshape(b.num_rows, DIM)


def as_rows(b: pa.RecordBatch) -> list[dict[str, Any]]:
    """What a user hands MilvusClient.insert: one dict per row, the vector a numpy row."""
    v = vectors(b)
    return [{"id": i, "vector": v[k], "title": t} for k, (i, t) in enumerate(zip(b.column("id").to_pylist(), b.column("title").to_pylist()))]  # fmt: skip


def run_vts(job: dict[str, Any], work: Path) -> dict[str, Any]:
    """``vts run -q`` on ``job`` (through vts.engine.run): its ``seconds`` and its ``phases``; a failed run fails
    the side.

    Phases, from the run's ``--report``: ``start`` (the command up to the engine: reading the job, importing the
    connectors), ``setup`` (discovery, splits, the target's collections, up to the first split), ``copy`` (the
    first split's start to the last one's end) and ``finish`` (commit, index and load waits).
    """
    from vts import cli

    stem = work / f"job-{time.monotonic_ns()}"
    path, report = stem.with_suffix(".yaml"), stem.with_suffix(".report.json")
    path.write_text(yaml.safe_dump(job))
    t0 = time.perf_counter()
    code = cli.main(["run", "-q", "--fresh", "--report", str(report), str(path)])
    seconds = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"vts exited {code} on {path}")
    run = json.loads(report.read_text())
    splits = [s for s in run["splits"] if s.get("started") is not None]
    first = min((s["started"] for s in splits), default=run["seconds"])
    last = max((s["started"] + s["seconds"] for s in splits), default=first)
    phases = {"start": seconds - run["seconds"], "setup": first, "copy": last - first, "finish": run["seconds"] - last}
    return {"seconds": seconds, "phases": {k: round(v, 2) for k, v in phases.items()}}


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (the plain scripts print it)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def client(url: str, token: str = "") -> Any:
    from pymilvus import MilvusClient

    return MilvusClient(uri=url, token=token) if url.startswith("http") else MilvusClient(url)


def create(c: Any, name: str, vector: str = "vector") -> None:
    """The bench collection: the schema and index vts creates for these rows."""
    from pymilvus import DataType, MilvusClient

    s = MilvusClient.create_schema(auto_id=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field(vector, DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("title", DataType.VARCHAR, max_length=256)
    idx = c.prepare_index_params()
    idx.add_index(vector, index_type="AUTOINDEX", metric_type="COSINE")
    c.create_collection(name, schema=s, index_params=idx)


def count(c: Any, name: str) -> int:
    c.load_collection(name)
    return int(c.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"])


def counted(c: Any, name: str, seconds: float) -> dict[str, Any]:
    """A writing side's result: its seconds, and its rows counted back afterwards like vts's (count(*), Strong).

    Every writing side counts after its timer stops, so the servers' CPU columns cover the same work: on a
    Lite server that count seals and indexes what is still growing (2 CPU seconds at 20 000 768-d rows).
    """
    return {"seconds": seconds, "rows": count(c, name)}


def read_pages(c: Any, name: str, batch: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    """Every row by primary-key pages (the scalable cursor vts uses too)."""
    from pymilvus import DataType

    from vts.connectors.milvus.query import pages

    c.load_collection(name)
    [pk] = [f for f in c.describe_collection(name)["fields"] if f.get("is_primary")]
    varchar = pk["type"] == DataType.VARCHAR
    yield from pages(c, name, None, "id", varchar, None, None, None, ["id", "vector", "title"], batch)


def fill_milvus(url: str, name: str, rows: int, token: str = "") -> None:
    """A source collection holding the bench rows, flushed."""
    c = client(url, token)
    if c.has_collection(name):
        c.drop_collection(name)
    create(c, name)
    for b in batches(rows, 5000):
        c.insert(name, as_rows(b))
    c.flush(name)
    c.close()


def timed_insert(c: Any, name: str, rows_iter: Iterator[list[dict[str, Any]]]) -> float:
    """Insert every list of rows; the seconds spent in the insert calls alone."""
    spent = 0.0
    for rows in rows_iter:
        t = time.perf_counter()
        c.insert(name, rows)
        spent += time.perf_counter() - t
    return spent


def create_dynamic(c: Any, name: str, pk_varchar: bool = False, vector: str = "vector") -> None:
    """A collection for a source's rows: its key, its vector, the payload in the dynamic field."""
    from pymilvus import DataType, MilvusClient

    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    if pk_varchar:
        s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
    else:
        s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field(vector, DataType.FLOAT_VECTOR, dim=DIM)
    idx = c.prepare_index_params()
    idx.add_index(vector, index_type="AUTOINDEX", metric_type="COSINE")
    c.create_collection(name, schema=s, index_params=idx)


def staging_codecs(schema: Any) -> dict[str, str]:
    """The codecs of vts's staged Parquet files (the vector uncompressed, the rest snappy), so a pyarrow
    baseline writes the same files; pyarrow leaves a column missing from the dict uncompressed."""
    return {name: "SNAPPY" for name in schema.names if name != "vector"}


def source_alone_of(pages: Callable[[], Iterator[list[Any]]]) -> dict[str, Any]:
    t0 = time.perf_counter()
    n = sum(len(p) for p in pages())
    return {"seconds": time.perf_counter() - t0, "rows": n}


def sink_alone_of(
    env: dict[str, Any], pages: Callable[[], Iterator[list[Any]]], make: Callable[[Any, str], None]
) -> dict[str, Any]:
    """The source's pages inserted into a Lite server; only the insert calls are timed."""
    c, name = client(env["lite_url"]), f"sink_{env['tag']}"
    make(c, name)
    seconds = timed_insert(c, name, pages())
    return counted(c, name, seconds)


def loop_of(
    env: dict[str, Any], pages: Callable[[], Iterator[list[Any]]], make: Callable[[Any, str], None]
) -> dict[str, Any]:
    """Read a page, insert it: the copy a user writes by hand."""
    name = f"loop_{env['tag']}"
    t0 = time.perf_counter()
    c = client(env["lite_url"])
    make(c, name)
    timed_insert(c, name, pages())
    return counted(c, name, time.perf_counter() - t0)


def vts_into_lite(env: dict[str, Any], source: dict[str, Any], table: str) -> dict[str, Any]:
    """A ``source`` -> Lite server job (write_mode insert) through ``vts run``; rows counted back."""
    name = f"vts_{env['tag']}"
    job = {
        "env": {"parallelism": env.get("parallelism", 1), "checkpoint": {"path": str(Path(env["work"]) / "cp")}},
        "source": source,
        "sink": {"Milvus": {"url": env["lite_url"], "write_mode": "insert", "collection_rename": {table: name}}},
    }
    return {**run_vts(job, Path(env["work"])), "rows": count(client(env["lite_url"]), name)}
