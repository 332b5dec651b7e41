"""Elasticsearch / OpenSearch test data: documents as a pure function of their number, loaded through the
real client (``_bulk``), so the same fixtures serve the emulator and a real cluster (``ES_URL``,
``OPENSEARCH_URL``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

COMPAT8 = "application/vnd.elasticsearch+json; compatible-with=8"
WORDS = ["alpha", "beta", "données", "数据", "emoji🙂", "x" * 40]
TOKENS = [f"tok{i}" for i in range(300)] + ["##ing", "über", "数"]
START = datetime(2024, 1, 1, tzinfo=UTC)

ES_MAPPING: dict[str, Any] = {
    "properties": {
        "title": {"type": "keyword", "ignore_above": 64},
        "body": {"type": "text"},
        "n": {"type": "long"},
        "price": {"type": "double"},
        "flag": {"type": "boolean"},
        "at": {"type": "date"},
        "day": {"type": "date", "format": "yyyy-MM-dd"},
        "tags": {"type": "keyword"},
        "meta": {"properties": {"k": {"type": "integer"}, "v": {"type": "keyword"}}},
        "comments": {"type": "nested", "properties": {"who": {"type": "keyword"}}},
        "emb": {"type": "dense_vector", "dims": 8, "similarity": "cosine"},
        "q": {"type": "dense_vector", "dims": 4, "element_type": "byte", "similarity": "dot_product"},
        "b": {"type": "dense_vector", "dims": 16, "element_type": "bit"},
        "sp": {"type": "sparse_vector"},
    }
}

OS_MAPPING: dict[str, Any] = {
    "properties": {
        "title": {"type": "keyword"},
        "n": {"type": "long"},
        "v": {"type": "knn_vector", "dimension": 6, "space_type": "innerproduct"},
        "vb": {"type": "knn_vector", "dimension": 4, "data_type": "byte", "space_type": "l2"},
    }
}


def doc_id(i: int) -> str:
    return f"doc-{i:06d}"


def es_doc(i: int) -> dict[str, Any]:
    rng = np.random.default_rng([13, i])
    k = int(rng.integers(1, 6))
    toks = rng.choice(len(TOKENS), size=k, replace=False)
    at = START + timedelta(minutes=i, milliseconds=int(rng.integers(0, 999)))
    doc: dict[str, Any] = {
        "title": WORDS[i % len(WORDS)],
        "body": f"text {i}",
        "n": i * 3 - 7,
        "price": round(i * 0.25, 2),
        "flag": i % 3 == 0,
        # both forms the default format accepts
        "at": at.isoformat().replace("+00:00", "Z") if i % 2 else int(at.timestamp() * 1000),
        "day": (START + timedelta(days=i % 400)).strftime("%Y-%m-%d"),
        "tags": [WORDS[j % len(WORDS)] for j in range(i % 4)] if i % 5 else WORDS[i % 3],
        "meta": {"k": i % 7, "v": [WORDS[i % 2], None]},
        "comments": [{"who": f"u{j}"} for j in range(i % 3)],
        "emb": (rng.random(8, dtype=np.float32) + 0.01).tolist(),
        "q": [int(x) for x in rng.integers(-128, 128, size=4)],
        "b": [int(x) for x in rng.integers(-128, 128, size=2)],
        "sp": {TOKENS[t]: float(np.float32(rng.random() + 0.01)) for t in toks},
    }
    if i % 11 == 0:
        del doc["price"]  # missing -> null
    return doc


def os_doc(i: int) -> dict[str, Any]:
    rng = np.random.default_rng([17, i])
    return {
        "title": WORDS[i % len(WORDS)],
        "n": i,
        "v": (rng.random(6, dtype=np.float32)).tolist(),
        "vb": [int(x) for x in rng.integers(-128, 128, size=4)],
    }


def es_client(url: str, **kw: Any) -> Any:
    from elasticsearch import Elasticsearch

    return Elasticsearch(url, **kw)


def create_es_index(url: str, name: str, rows: int, shards: int = 2, mapping: dict[str, Any] | None = None,
                    settings: dict[str, Any] | None = None) -> None:  # fmt: skip
    """Create ``name`` and index ``rows`` documents through the real 9.x client, speaking compat-8."""
    client = es_client(url)
    headers = {"accept": COMPAT8, "content-type": COMPAT8}
    body = {"settings": {"number_of_shards": shards, **(settings or {})}, "mappings": mapping or ES_MAPPING}
    client.perform_request("PUT", f"/{name}", headers=headers, body=body)
    _bulk(lambda data: client.perform_request(
        "POST", "/_bulk", headers={"accept": COMPAT8, "content-type": COMPAT8.replace("+json", "+x-ndjson")}, body=data
    ), name, rows, es_doc)  # fmt: skip
    client.perform_request("POST", f"/{name}/_refresh", headers=headers)
    client.close()


def create_os_index(url: str, name: str, rows: int, shards: int = 2) -> None:
    from opensearchpy import OpenSearch

    client = OpenSearch(url)
    client.indices.create(
        index=name, body={"settings": {"index": {"knn": True, "number_of_shards": shards}}, "mappings": OS_MAPPING}
    )
    _bulk(lambda data: client.transport.perform_request("POST", "/_bulk", body=data), name, rows, os_doc)
    client.indices.refresh(index=name)
    client.close()


def _bulk(send: Any, name: str, rows: int, make: Any) -> None:
    step = 2000
    for lo in range(0, rows, step):
        lines = []
        for i in range(lo, min(lo + step, rows)):
            lines.append(json.dumps({"index": {"_index": name, "_id": doc_id(i)}}))
            lines.append(json.dumps(make(i)))
        send(("\n".join(lines) + "\n").encode())
