"""Qdrant (local mode: a folder, in the reading process; no server binary exists here) -> Milvus Lite server.

Sides, each in its own process: the source alone (qdrant-client scrolls every
point with vectors and payload, 1 000 a call), the sink alone (those pages
inserted into the Lite server, only the insert calls timed), a hand-written
scroll + insert loop, and vts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from common import DIM, create_dynamic, loop_of, sink_alone_of, source_alone_of, vts_into_lite
from measure import BenchPath, Side

COLLECTION = "bench"
PAGE = 1000


def _folder(env: dict[str, Any]) -> Path:
    return Path(env["work"]) / "qdrant"


def setup(env: dict[str, Any]) -> dict[str, Any]:
    from qdrant_client import QdrantClient, models

    client = QdrantClient(path=str(_folder(env)))
    client.create_collection(COLLECTION, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE))
    storage = client._client.collections[COLLECTION].storage.storage  # bench data only: no fsync per point
    storage.execute("PRAGMA synchronous=OFF")
    storage.execute("PRAGMA journal_mode=MEMORY")
    rng = np.random.default_rng(7)
    for lo in range(0, env["rows"], 2000):
        hi = min(lo + 2000, env["rows"])
        vectors = rng.random((hi - lo, DIM), dtype=np.float32).tolist()
        payloads = [{"title": f"document {i}", "group": i % 10} for i in range(lo, hi)]
        client.upsert(COLLECTION, models.Batch(ids=list(range(lo, hi)), vectors=vectors, payloads=payloads))
    client.close()
    return {}


def _pages(env: dict[str, Any]) -> Any:
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(_folder(env)))
    offset = None
    while True:
        points, offset = client.scroll(COLLECTION, limit=PAGE, offset=offset, with_payload=True, with_vectors=True)
        yield [{"id": p.id, "vector": p.vector, **(p.payload or {})} for p in points]
        if offset is None:
            break
    client.close()


def source_alone(env: dict[str, Any]) -> dict[str, Any]:
    return source_alone_of(lambda: _pages(env))


def sink_alone(env: dict[str, Any]) -> dict[str, Any]:
    return sink_alone_of(env, lambda: _pages(env), create_dynamic)


def loop(env: dict[str, Any]) -> dict[str, Any]:
    return loop_of(env, lambda: _pages(env), create_dynamic)


def vts(env: dict[str, Any]) -> dict[str, Any]:
    source = {"Qdrant": {"path": str(_folder(env)), "collection_name": COLLECTION, "batch_size": PAGE}}
    return vts_into_lite(env, source, COLLECTION)


PATHS = [
    BenchPath(
        name="Qdrant (local mode) -> Milvus Lite server",
        module=__name__,
        sides=(
            Side("vts", "vts", "vts"),
            Side("source alone (scroll)", "source", "source_alone"),
            Side("sink alone (MilvusClient.insert)", "sink", "sink_alone"),
            Side("hand-written loop", "loop", "loop"),
        ),
        services=("lite",),
        setup="setup",
        quick_rows=500,
        full_rows=20_000,
        notes="qdrant-client local mode reads the folder inside the reading process (no Qdrant server exists here)",
    )
]
