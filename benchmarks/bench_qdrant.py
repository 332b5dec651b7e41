"""Qdrant (local mode) -> Milvus Lite, 768-d: vts beside the source's and the sink's limits.

Three sides, each in its own process (so peak RSS is per side), over the
same local-mode folder (built once, reused with --work):

- scroll: qdrant-client alone opens the folder and scrolls every point with
  vectors and payload, ``--batch`` points a call (the source's limit);
- sink:   MilvusClient alone upserts the same number of 768-d rows with the
  same payload keys in ``--sink-batch`` rows a call (the sink's limit);
- vts:    ``vts run`` of a Qdrant -> Milvus Lite job with the same sizes.

    python benchmarks/bench_qdrant.py --rows 100000 [--parallelism 2] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import peak_rss_mb, time_vts_job

REPO = Path(__file__).resolve().parent.parent
DIM = 768
COLLECTION = "bench"


def _payload(i: int) -> dict:
    return {"i": i, "title": f"document {i}", "group": i % 10, "note": None}


def _vectors(lo: int, hi: int) -> np.ndarray:
    return np.random.default_rng([11, lo]).random((hi - lo, DIM), dtype=np.float32)


def build(folder: Path, rows: int) -> None:
    """The local-mode folder (skipped when it already holds ``rows`` points)."""
    from qdrant_client import QdrantClient, models

    marker = folder / f".built-{rows}"
    if marker.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    client = QdrantClient(path=str(folder))
    client.create_collection(COLLECTION, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE))
    storage = client._client.collections[COLLECTION].storage.storage  # benchmark data only: no fsync per point
    storage.execute("PRAGMA synchronous=OFF")
    storage.execute("PRAGMA journal_mode=MEMORY")
    step = 2000
    for lo in range(0, rows, step):
        hi = min(lo + step, rows)
        client.upsert(
            COLLECTION,
            models.Batch(
                ids=list(range(lo, hi)),
                vectors=_vectors(lo, hi).tolist(),
                payloads=[_payload(i) for i in range(lo, hi)],
            ),
        )
    client.close()
    marker.write_text("ok")


def side_scroll(folder: Path, rows: int, batch: int, **_: object) -> dict:
    from qdrant_client import QdrantClient

    t0 = time.perf_counter()
    client = QdrantClient(path=str(folder))
    opened = time.perf_counter() - t0
    n, offset = 0, None
    while True:
        points, offset = client.scroll(COLLECTION, limit=batch, offset=offset, with_payload=True, with_vectors=True)
        n += len(points)
        if offset is None:
            break
    secs = time.perf_counter() - t0
    client.close()
    assert n == rows, n
    return {"seconds": secs, "open_seconds": opened}


def side_sink(folder: Path, rows: int, sink_batch: int, work: Path, **_: object) -> dict:
    from pymilvus import DataType, MilvusClient

    client = MilvusClient(str(work / "sink.db"))
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="AUTOINDEX", metric_type="COSINE")
    batches = []
    for lo in range(0, rows, sink_batch):
        hi = min(lo + sink_batch, rows)
        v = _vectors(lo, hi)
        batches.append([{"id": i, "vector": v[i - lo], **_payload(i)} for i in range(lo, hi)])
    t0 = time.perf_counter()
    client.create_collection(COLLECTION, schema=schema, index_params=index)
    for b in batches:
        client.upsert(COLLECTION, b)
    secs = time.perf_counter() - t0
    client.close()
    return {"seconds": secs}


def side_vts(folder: Path, rows: int, batch: int, sink_batch: int, parallelism: int, work: Path) -> dict:

    job = {
        "env": {"parallelism": parallelism},
        "source": {"Qdrant": {"path": str(folder), "collection_name": COLLECTION, "batch_size": batch}},
        "sink": {"Milvus": {"url": str(work / "vts.db"), "batch_size": sink_batch}},
    }
    return {"seconds": time_vts_job(job, work)}


SIDES = {"scroll": side_scroll, "sink": side_sink, "vts": side_vts}


def run_side(name: str, a: argparse.Namespace, folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--side", name, "--rows", str(a.rows), "--batch", str(a.batch),
         "--sink-batch", str(a.sink_batch), "--parallelism", str(a.parallelism), "--work", str(folder.parent)],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    if out.returncode:
        raise SystemExit(f"side {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000, help="points per scroll")
    ap.add_argument("--sink-batch", type=int, default=1000, help="rows per Milvus upsert")
    ap.add_argument("--parallelism", type=int, default=1)
    ap.add_argument("--work", help="folder keeping the Qdrant data between runs (default: a temp folder)")
    ap.add_argument("--side", choices=sorted(SIDES))
    a = ap.parse_args()
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="bench-qdrant-"))
    folder = work / f"qdrant-{a.rows}"
    if a.side:
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as scratch:
            result = SIDES[a.side](
                folder=folder, rows=a.rows, batch=a.batch, sink_batch=a.sink_batch, parallelism=a.parallelism,
                work=Path(scratch),
            )  # fmt: skip
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return
    t0 = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    build(folder, a.rows)
    print(f"Qdrant local mode -> Milvus Lite: {a.rows:,} points, {DIM}-d, scroll {a.batch}, upsert {a.sink_batch}")
    print(f"  (data ready in {time.perf_counter() - t0:.0f} s: {folder})")
    results = {name: run_side(name, a, folder) for name in ("scroll", "sink", "vts")}
    labels = {
        "scroll": "qdrant-client scroll alone (source limit)",
        "sink": "MilvusClient upsert alone (sink limit)",
        "vts": f"vts run (parallelism {a.parallelism})",
    }
    for name, r in results.items():
        extra = f"  (open {r['open_seconds']:.1f} s)" if "open_seconds" in r else ""
        print(
            f"  {labels[name]:<44} {a.rows / r['seconds']:>8,.0f} vectors/s {r['seconds']:>7.1f} s"
            f"  peak RSS {r['peak_rss_mb']:>6,.0f} MB{extra}"
        )
    limit = max(results["scroll"]["seconds"], results["sink"]["seconds"])
    print(f"  vts / slower limit: {limit / results['vts']['seconds']:.2f}")
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
