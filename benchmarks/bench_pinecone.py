"""Pinecone (the tests' emulator, its own process: tests/pinecone_emulator.py) -> Milvus Lite server.

The emulator serves the rows in three namespaces, no added latency. Sides,
each in its own process, with the same SDK: the source alone (list 100 ids,
fetch them, every namespace), the sink alone (those pages inserted, only the
insert calls timed), a hand-written list + fetch + insert loop, and vts (one
split per namespace). The emulator is pure Python: it, not Pinecone, bounds
the source; compare vts with the loop at the same emulator.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from common import DIM, create_dynamic, loop_of, sink_alone_of, source_alone_of, vts_into_lite
from measure import BenchPath, Side

KEY = "bench-key"
NAMESPACES = ("__default__", "en", "de")


def serve(env: dict[str, Any]) -> None:
    """The emulator process: fills the index, prints its URLs for env, then serves until killed."""
    import json

    from tests.pinecone_emulator import Emulator, Record

    emu = Emulator(api_key=KEY)
    index = emu.add_index("bench", dimension=DIM, metric="cosine")
    rows, per = env["rows"], env["rows"] // len(NAMESPACES)
    for k, ns in enumerate(NAMESPACES):
        n = per if k < len(NAMESPACES) - 1 else rows - per * (len(NAMESPACES) - 1)
        vectors = np.random.default_rng(k).random((n, DIM), dtype=np.float32).tolist()
        index.upsert(ns, [Record(f"{ns}-{i:07d}", vectors[i], None, {"title": f"doc {i}"}) for i in range(n)])
    print(json.dumps({"pinecone_control": emu.url, "pinecone_data": index.url}), flush=True)
    sys.stdin.read()  # until the runner closes us


def _pages(env: dict[str, Any]) -> Any:
    from pinecone import Index

    idx = Index(host=env["pinecone_data"], api_key=KEY)
    for ns in NAMESPACES:
        api_ns = "" if ns == "__default__" else ns
        for page in idx.list(namespace=api_ns, limit=100):
            got = idx.fetch(ids=[v.id for v in page.vectors], namespace=api_ns).vectors
            yield [{"id": v.id, "vector": v.values, **(v.metadata or {})} for v in got.values()]


def _make(c: Any, name: str) -> None:
    create_dynamic(c, name, pk_varchar=True)


def source_alone(env: dict[str, Any]) -> dict[str, Any]:
    return source_alone_of(lambda: _pages(env))


def sink_alone(env: dict[str, Any]) -> dict[str, Any]:
    return sink_alone_of(env, lambda: _pages(env), _make)


def loop(env: dict[str, Any]) -> dict[str, Any]:
    return loop_of(env, lambda: _pages(env), _make)


def vts(env: dict[str, Any]) -> dict[str, Any]:
    source = {"Pinecone": {"api_key": KEY, "index": "bench", "controller_host": env["pinecone_control"]}}
    return vts_into_lite(env, source, "bench")


PATHS = [
    BenchPath(
        name="Pinecone emulator -> Milvus Lite server",
        module=__name__,
        sides=(
            Side("vts", "vts", "vts"),
            Side("source alone (list + fetch)", "source", "source_alone"),
            Side("sink alone (MilvusClient.insert)", "sink", "sink_alone"),
            Side("hand-written loop", "loop", "loop"),
        ),
        services=("lite", f"serve:{__name__}:serve"),
        quick_rows=300,
        full_rows=20_000,
        notes="the emulator is pure Python in its own process: it bounds the source, not Pinecone",
    )
]
