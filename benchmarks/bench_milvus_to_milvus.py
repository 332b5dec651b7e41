"""Milvus -> Milvus: two `milvus-lite server`s, and Milvus 2.3.5 -> Milvus 2.3.5 (one server, two collections).

The source collection is filled once per path (setup). Sides, each in its own process:

- source alone: every row read by primary-key pages of 1 000 (MilvusClient.query);
- sink alone: the pages read first (not timed), then inserted (only the insert calls are timed);
- hand-written copy: read a page, insert it, until done;
- vts: a Milvus -> Milvus job through ``vts run`` (write_mode insert).

Milvus 2.3.5 binds every interface, so that path runs only inside ``unshare --net``
(``make bench`` does it); etcd's fixed port allows one instance there, so source
and target are two collections of the same server.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from common import client, count, counted, create, fill_milvus, read_pages, run_vts, timed_insert
from measure import BenchPath, Side


def _urls(env: dict[str, Any]) -> tuple[str, str]:
    if env.get("server") == "milvus235":
        return env["milvus_url"], env["milvus_url"]
    return env["lite_url"], env["lite2_url"]


def setup(env: dict[str, Any]) -> dict[str, Any]:
    src = f"src_{env['tag']}"
    fill_milvus(_urls(env)[0], src, env["rows"])
    return {"src": src}


def source_alone(env: dict[str, Any]) -> dict[str, Any]:
    c = client(_urls(env)[0])
    t0 = time.perf_counter()
    n = sum(len(p) for p in read_pages(c, env["src"]))
    return {"seconds": time.perf_counter() - t0, "rows": n}


def sink_alone(env: dict[str, Any]) -> dict[str, Any]:
    src_url, dst_url = _urls(env)
    reader, writer, name = client(src_url), client(dst_url), f"sink_{env['tag']}"
    create(writer, name)
    seconds = timed_insert(writer, name, read_pages(reader, env["src"]))
    return counted(writer, name, seconds)


def loop(env: dict[str, Any]) -> dict[str, Any]:
    src_url, dst_url = _urls(env)
    name = f"loop_{env['tag']}"
    t0 = time.perf_counter()
    reader, writer = client(src_url), client(dst_url)
    create(writer, name)
    timed_insert(writer, name, read_pages(reader, env["src"]))
    return counted(writer, name, time.perf_counter() - t0)


def vts(env: dict[str, Any]) -> dict[str, Any]:
    src_url, dst_url = _urls(env)
    name = f"vts_{env['tag']}"
    job = {
        "env": {"parallelism": env.get("parallelism", 1), "checkpoint": {"path": str(Path(env["work"]) / "cp")}},
        "source": {"Milvus": {"url": src_url, "collections": [env["src"]], "load_collection": True}},
        "sink": {"Milvus": {"url": dst_url, "write_mode": "insert", "collection_rename": {env["src"]: name}}},
    }
    return {**run_vts(job, Path(env["work"])), "rows": count(client(dst_url), name)}


SIDES = (
    Side("vts", "vts", "vts"),
    Side("source alone (query pages)", "source", "source_alone"),
    Side("sink alone (MilvusClient.insert)", "sink", "sink_alone"),
    Side("hand-written copy", "loop", "loop"),
)

PATHS = [
    BenchPath(
        name="Milvus Lite server -> Milvus Lite server",
        module=__name__,
        sides=SIDES,
        services=("lite", "lite2"),
        setup="setup",
        quick_rows=1_000,
        full_rows=20_000,
        notes="two milvus-lite servers, each its own process",
    ),
    BenchPath(
        name="Milvus 2.3.5 -> Milvus 2.3.5",
        module=__name__,
        sides=SIDES,
        services=("milvus235",),
        setup="setup",
        quick_rows=1_000,
        full_rows=20_000,
        needs_netns=True,
        params={"server": "milvus235"},
        notes="one Milvus 2.3.5 standalone (etcd's fixed port allows one per namespace): two collections",
    ),
]
