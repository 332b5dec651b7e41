"""Threads vs Ray on this machine: the same job on the local executor and on Ray at 1 and 2 workers.

Three paths, each run with ``parallelism`` 1 and 2 on both executors, in one run:

- datagen -> BulkWriter, Parquet staged in a local folder, then Milvus 2.3.5's
  bulk insert (conversion-heavy: where processes may beat threads);
- datagen -> Milvus 2.3.5 through the insert writer (waits on the server);
- pgvector (768-d, PostgreSQL started here as in bench_pgvector.py) -> Milvus 2.3.5
  through the insert writer: a real source's binary COPY decoding in the tasks.

Reported per run: vectors/s over the copy (the splits' time, as the summary
shows it) and the whole run's seconds. Then Ray's fixed costs: starting a
local instance (per job when ``address: local``), and per split (a job of
many near-empty splits on both executors).

Ray and Milvus 2.3.5 bind every interface, so this runs only in a
loopback-only network namespace:

    unshare --net sh -c 'ip link set lo up; .venv/bin/python benchmarks/bench_ray_executor.py [--rows 100000] [--dim 128]'
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "benchmarks"))

import bench_pgvector  # noqa: E402

from tests.services import milvus_standalone as ms  # noqa: E402
from tests.services.postgres import PostgresServer  # noqa: E402
from vts import config, engine  # noqa: E402


def _job(
    url: str,
    name: str,
    rows: int,
    dim: int,
    parallelism: int,
    executor: str,
    bulk: Path | None,
    partitions: int = 0,
    pgvector: dict[str, str] | None = None,
) -> str:
    sink: dict[str, Any] = {"url": url, "batch_size": 2000, "index": {"index_type": "AUTOINDEX", "metric_type": "L2"}}
    if bulk is not None:
        sink["bulk_writer_config"] = {"cloud_id": "local", "local_path": str(bulk), "poll_interval": 0.5}
    job = {
        "env": {"parallelism": parallelism, "executor": executor, "checkpoint": {"path": f"./cp-{name}"}},
        "source": {"Pgvector": {**pgvector, "collection": name}}
        if pgvector
        else {
            "DataGen": {
                "collection": name,
                "row_count": rows,
                "batch_size": 2000,
                "partitions": [f"p{i}" for i in range(partitions)],
                "fields": [
                    {"name": "id", "type": "BIGINT", "primary_key": True},
                    {"name": "vector", "type": "FLOAT_VECTOR", "dimension": dim},
                    {"name": "title", "type": "STRING", "max_length": 256},
                    {"name": "meta", "type": "JSON"},
                ],
            }
        },
        "sink": {"Milvus": sink},
    }
    import yaml

    return yaml.safe_dump(job)


def _run(text: str) -> tuple[float, float, int]:
    """(copy seconds, whole-run seconds, rows written) of one job."""
    t0 = time.perf_counter()
    result = engine.run(config.parse(text))
    whole = time.perf_counter() - t0
    return result.stats.seconds, whole, result.stats["rows_written"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    args = ap.parse_args()
    if not ms.in_private_netns():
        raise SystemExit("run inside a loopback-only network namespace (see the module doc)")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray

    work = Path(tempfile.mkdtemp(prefix="vts-bench-ray-"))
    os.chdir(work)
    t0 = time.perf_counter()
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}},
    )
    start_cost = time.perf_counter() - t0
    print(f"rows {args.rows:,}, dim {args.dim}, {os.cpu_count()} CPUs; Ray local start: {start_cost:.1f} s")
    with ms.MilvusStandalone() as server, PostgresServer() as postgres:
        loaded = bench_pgvector.setup({"pg_url": postgres.url, "rows": args.rows})  # the pgvector bench's table
        pgvector = {"url": postgres.url, "table": loaded["table"]}
        print(f"{'path':<28} {'executor':<8} {'workers':>7} {'vectors/s':>10} {'copy s':>7} {'run s':>7}")
        for path in ("bulk (local Parquet)", "insert", "pgvector insert (768-d)"):
            for parallelism in (1, 2):
                for executor in ("local", "ray"):
                    name = f"b_{path.split()[0]}_{executor}_{parallelism}"
                    bulk = work / f"stage-{name}" if path.startswith("bulk") else None
                    if bulk is not None:
                        bulk.mkdir()
                    pg = pgvector if path.startswith("pgvector") else None
                    text = _job(server.uri, name, args.rows, args.dim, parallelism, executor, bulk, pgvector=pg)
                    copy, whole, rows = _run(text)
                    assert rows == args.rows, (name, rows)
                    print(f"{path:<28} {executor:<8} {parallelism:>7} {rows / copy:>10,.0f} {copy:>7.1f} {whole:>7.1f}")
        # per split: many one-row splits (one per partition), 2 at a time, on both executors (Ray already up)
        splits, per = 16, {}
        for executor in ("local", "ray"):
            _, per[executor], _ = _run(_job(server.uri, f"b_splits_{executor}", splits, 8, 2, executor, None, splits))
        print(
            f"{splits} one-row splits, 2 at a time: threads {per['local']:.2f} s, Ray {per['ray']:.2f} s "
            f"-> Ray adds {(per['ray'] - per['local']) / splits * 1000:.0f} ms per split"
        )
    ray.shutdown()


if __name__ == "__main__":
    main()
