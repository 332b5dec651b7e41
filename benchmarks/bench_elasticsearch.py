"""Elasticsearch (the tests' emulator, its own process: tests/es_emulator.py) -> Milvus Lite server.

Sides, each in its own process, with the same client (elasticsearch-py): the
source alone (a point-in-time, ``_shard_doc`` + ``search_after`` pages of 1 000
hits, vectors included), the sink alone (those pages inserted, only the insert
calls timed), a hand-written PIT + insert loop, and vts. The emulator is pure
Python: it, not Elasticsearch, bounds the source.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from common import DIM, create_dynamic, loop_of, sink_alone_of, source_alone_of, vts_into_lite
from measure import BenchPath, Side

COMPAT8 = "application/vnd.elasticsearch+json; compatible-with=8"
HEADERS = {"accept": COMPAT8, "content-type": COMPAT8}
PAGE = 1000


def serve(env: dict[str, Any]) -> None:
    """The emulator process: two shards of ``env['rows']`` documents; prints its URL for env, then serves."""
    import json

    from tests.es_emulator import Emulator

    e = Emulator(version="9.2.0")
    mappings = {"properties": {"title": {"type": "keyword"}, "n": {"type": "long"},
                               "emb": {"type": "dense_vector", "dims": DIM, "similarity": "cosine"}}}  # fmt: skip
    e._create("bench", {"settings": {"number_of_shards": 2}, "mappings": mappings})
    index = e.indices["bench"]
    for lo in range(0, env["rows"], 5000):
        block = np.random.default_rng([11, lo]).random((min(5000, env["rows"] - lo), DIM), dtype=np.float32)
        for j, vec in enumerate(block.tolist()):
            index.put(f"d{lo + j:08d}", {"title": f"document {lo + j}", "n": lo + j, "emb": vec})
    e.__enter__()
    print(json.dumps({"es_url": e.url}), flush=True)
    sys.stdin.read()


def _pages(env: dict[str, Any]) -> Any:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(env["es_url"], request_timeout=600)
    pit = client.perform_request("POST", "/bench/_pit?keep_alive=5m", headers=HEADERS).body["id"]
    after = None
    while True:
        body: dict[str, Any] = {"size": PAGE, "pit": {"id": pit, "keep_alive": "5m"}, "sort": ["_shard_doc"],
                                "_source": {"exclude_vectors": False}}  # fmt: skip
        if after is not None:
            body["search_after"] = after
        answer = client.perform_request("POST", "/_search", headers=HEADERS, body=body).body
        pit, hits = answer["pit_id"], answer["hits"]["hits"]
        if hits:
            yield [{"id": h["_id"], "vector": h["_source"]["emb"], "title": h["_source"]["title"],
                    "n": h["_source"]["n"]} for h in hits]  # fmt: skip
        if len(hits) < PAGE:
            break
        after = hits[-1]["sort"]
    client.perform_request("DELETE", "/_pit", headers=HEADERS, body={"id": pit})


def _make(c: Any, name: str) -> None:
    create_dynamic(c, name, pk_varchar=True)


def source_alone(env: dict[str, Any]) -> dict[str, Any]:
    return source_alone_of(lambda: _pages(env))


def sink_alone(env: dict[str, Any]) -> dict[str, Any]:
    return sink_alone_of(env, lambda: _pages(env), _make)


def loop(env: dict[str, Any]) -> dict[str, Any]:
    return loop_of(env, lambda: _pages(env), _make)


def vts(env: dict[str, Any]) -> dict[str, Any]:
    source = {"Elasticsearch": {"hosts": [env["es_url"]], "index": "bench", "batch_size": PAGE}}
    return vts_into_lite(env, source, "bench")


PATHS = [
    BenchPath(
        name="Elasticsearch emulator -> Milvus Lite server",
        module=__name__,
        sides=(
            Side("vts", "vts", "vts"),
            Side("source alone (PIT + search_after)", "source", "source_alone"),
            Side("sink alone (MilvusClient.insert)", "sink", "sink_alone"),
            Side("hand-written loop", "loop", "loop"),
        ),
        services=("lite", f"serve:{__name__}:serve"),
        quick_rows=300,
        full_rows=20_000,
        notes="the emulator is pure Python in its own process: it bounds the source, not Elasticsearch",
    )
]
