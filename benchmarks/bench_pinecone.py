"""Pinecone (the test emulator, in its own process) -> Milvus Lite, 768-d: vts beside a hand-written loop.

The emulator serves ``--rows`` vectors in three namespaces with ``--latency``
seconds added to every data-plane request (a network round trip). Two sides,
each into its own embedded Milvus Lite file, with the same SDK:

- loop: list a page (100 ids), fetch it, upsert it into Milvus, one namespace after another;
- vts:  a Pinecone -> Milvus job through the engine, as ``vts run`` (one split per namespace,
  pipelined fetches); its copy phase is also reported alone, since the run then waits for
  Milvus Lite to build the index, which the loop does not.

Reported: vectors/s and data-plane HTTP requests per 1 000 vectors (counted by the emulator).
The emulator's own speed is not the subject: compare the sides at the same latency.

    python benchmarks/bench_pinecone.py --rows 30000 --latency 0.02 [--parallelism 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
KEY = "bench-key"
NAMESPACES = ("__default__", "en", "de")


def serve(rows: int, dim: int, latency: float) -> None:
    """The emulator process: prints its URLs, then answers 'count' / 'reset' lines on stdin."""
    from tests.pinecone_emulator import Emulator, Record

    emu = Emulator(api_key=KEY)
    index = emu.add_index("bench", dimension=dim, metric="cosine")
    per = rows // len(NAMESPACES)
    for k, ns in enumerate(NAMESPACES):
        n = per if k < len(NAMESPACES) - 1 else rows - per * (len(NAMESPACES) - 1)
        vectors = np.random.default_rng(k).random((n, dim), dtype=np.float32).tolist()
        index.upsert(ns, [Record(f"{ns}-{i:07d}", vectors[i], None, {"i": i, "title": f"doc {i}"}) for i in range(n)])
    emu.latency = latency
    print(json.dumps({"control": emu.url, "data": index.url}), flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            print(json.dumps(dict(emu.requests)), flush=True)
        elif line.strip() == "reset":
            emu.reset_counts()
            print("{}", flush=True)


def loop(urls: dict[str, str], rows: int, dim: int, work: Path) -> float:
    from pinecone import Index
    from pymilvus import DataType, MilvusClient

    milvus = MilvusClient(str(work / "loop.db"))
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
    schema.add_field("values", DataType.FLOAT_VECTOR, dim=dim)
    index_params = milvus.prepare_index_params()
    index_params.add_index("values", index_type="AUTOINDEX", metric_type="COSINE")
    t0 = time.perf_counter()
    milvus.create_collection("bench", schema=schema, index_params=index_params)
    idx = Index(host=urls["data"], api_key=KEY)
    n = 0
    for ns in NAMESPACES:
        api_ns = "" if ns == "__default__" else ns
        for page in idx.list(namespace=api_ns, limit=100):
            got = idx.fetch(ids=[v.id for v in page.vectors], namespace=api_ns).vectors
            milvus.upsert("bench", [{"id": v.id, "values": v.values, **(v.metadata or {})} for v in got.values()])
            n += len(got)
    seconds = time.perf_counter() - t0
    assert n == rows, n
    milvus.close()
    return seconds


def vts(urls: dict[str, str], parallelism: int, work: Path) -> float:
    """The whole ``vts run`` (discovery, copy, Milvus Lite's index build); the copy alone is kept in COPY."""
    import yaml

    from vts import config, engine

    job = {
        "env": {"parallelism": parallelism, "checkpoint": {"path": str(work / "cp")}},
        "source": {"Pinecone": {"api_key": KEY, "index": "bench", "controller_host": urls["control"]}},
        "sink": {"Milvus": {"url": str(work / "vts.db"), "batch_size": 1000}},
    }
    path = work / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    t0 = time.perf_counter()
    result = engine.run(config.load(path))
    seconds = time.perf_counter() - t0
    COPY.append(result.stats.copied - result.stats.started)
    return seconds


COPY: list[float] = []


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=30_000)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every data-plane request")
    ap.add_argument("--parallelism", type=int, default=3)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        serve(a.rows, a.dim, a.latency)
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--rows", str(a.rows), "--dim", str(a.dim), "--latency", str(a.latency)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    assert server.stdin and server.stdout
    urls = json.loads(server.stdout.readline())

    def counted(fn: object, *args: object) -> dict[str, float]:
        server.stdin.write("reset\n")  # type: ignore[union-attr]
        server.stdin.flush()  # type: ignore[union-attr]
        server.stdout.readline()  # type: ignore[union-attr]
        seconds = fn(*args)  # type: ignore[operator]
        server.stdin.write("count\n")  # type: ignore[union-attr]
        server.stdin.flush()  # type: ignore[union-attr]
        requests = sum(json.loads(server.stdout.readline()).values())  # type: ignore[union-attr]
        return {
            "seconds": round(seconds, 2),
            "vectors_per_s": round(a.rows / seconds),
            "requests_per_1000": round(requests * 1000 / a.rows, 1),
        }

    try:
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            result = {
                "rows": a.rows, "dim": a.dim, "latency_s": a.latency,
                "loop": counted(loop, urls, a.rows, a.dim, work),
                "vts": counted(vts, urls, a.parallelism, work),
            }  # fmt: skip
        result["vts"]["copy_seconds"] = round(COPY[0], 2)  # without discovery and the index build at the end
        result["vts_over_loop"] = round(result["loop"]["seconds"] / result["vts"]["seconds"], 2)
        result["vts_copy_over_loop"] = round(result["loop"]["seconds"] / COPY[0], 2)
        print(json.dumps(result))
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
