"""datagen -> Milvus Lite: the server (`milvus-lite server`, its own process) and the embedded-file quickstart.

Sides, each in its own process, the same seeded rows, ``insert`` calls of 1 000 rows:

- source alone: vts's DataGen generating every batch, nothing written;
- sink alone: MilvusClient.insert of rows built before each call (only the calls are timed);
- hand-written loop: generate a batch, build the row dicts, insert it;
- vts: a DataGen -> Milvus job through ``vts run`` (write_mode insert).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from common import as_rows, batches, client, count, counted, create, datagen_spec, run_vts, timed_insert
from measure import BenchPath, Side


def _target(env: dict[str, Any], side: str) -> str:
    return env["lite_url"] if not env.get("embedded") else str(Path(env["work"]) / f"{side}.db")


def source_alone(env: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    n = sum(b.num_rows for b in batches(env["rows"]))
    return {"seconds": time.perf_counter() - t0, "rows": n}


def sink_alone(env: dict[str, Any]) -> dict[str, Any]:
    name = f"sink_{env['tag']}"
    c = client(_target(env, "sink"))
    create(c, name)
    seconds = timed_insert(c, name, (as_rows(b) for b in batches(env["rows"])))
    result = counted(c, name, seconds)
    c.close()
    return result


def loop(env: dict[str, Any]) -> dict[str, Any]:
    name = f"loop_{env['tag']}"
    t0 = time.perf_counter()
    c = client(_target(env, "loop"))
    create(c, name)
    timed_insert(c, name, (as_rows(b) for b in batches(env["rows"])))
    result = counted(c, name, time.perf_counter() - t0)
    c.close()
    return result


def vts(env: dict[str, Any]) -> dict[str, Any]:
    name, url = f"vts_{env['tag']}", _target(env, "vts")
    job = {
        "env": {"parallelism": env.get("parallelism", 1), "checkpoint": {"path": str(Path(env["work"]) / "cp")}},
        "source": {"DataGen": datagen_spec(env["rows"], name)},
        "sink": {"Milvus": {"url": url, "batch_size": 1000, "write_mode": "insert"}},
    }
    run = run_vts(job, Path(env["work"]))
    c = client(url)
    run["rows"] = count(c, name)
    c.close()
    return run


SIDES = (
    Side("vts", "vts", "vts"),
    Side("source alone (DataGen)", "source", "source_alone"),
    Side("sink alone (MilvusClient.insert)", "sink", "sink_alone"),
    Side("hand-written loop", "loop", "loop"),
)

PATHS = [
    BenchPath(
        name="datagen -> Milvus Lite server",
        module=__name__,
        sides=SIDES,
        services=("lite",),
        quick_rows=300,
        full_rows=20_000,
        scaling=(100_000, 1_000_000),
        notes="milvus-lite server in its own process; vts counts its rows back (count(*)) after the run",
    ),
    BenchPath(
        name="quickstart: datagen -> embedded Milvus Lite file",
        module=__name__,
        sides=(SIDES[0], SIDES[3]),
        quick_rows=300,
        full_rows=5_000,
        notes="both engines inside the bench process, as jobs/quickstart.yaml runs",
        params={"embedded": True},
    ),
]
