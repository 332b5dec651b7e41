"""Qdrant local-mode collections for the Qdrant source's tests, and a strict auth stub.

Points are a pure function of (collection spec, index), and every builder
reads the collection back with a fresh qdrant-client: what Qdrant returns is
the truth a migration is compared with (Qdrant may normalise vectors). Local mode commits (and fsyncs) SQLite once per
point; the builders switch the folder's SQLite to ``synchronous=OFF`` while
loading test data, which makes building 10x faster and changes nothing read.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

WORDS = ["alpha", "beta", "données", "数据", "emoji🙂", "", "x" * 40]


@dataclass
class Spec:
    name: str
    rows: int
    ids: str = "int"  # int | uuid | mixed
    dense: dict[str, tuple[int, str]] = field(default_factory=lambda: {"text": (16, "Cosine"), "image": (8, "Dot")})
    unnamed: tuple[int, str] | None = None  # a single unnamed vector instead of named ones
    sparse: list[str] = field(default_factory=lambda: ["keywords"])
    multi: dict[str, int] = field(default_factory=dict)  # multivector name -> dim
    payload: str = "rich"  # rich | typed | none


def point_id(spec: Spec, i: int) -> int | str:
    as_uuid = spec.ids == "uuid" or (spec.ids == "mixed" and i % 3 == 0)
    if as_uuid:
        return str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15 + 12345) % (1 << 128), version=4))
    return i * 7 + 3  # gaps: ids are not ranks


def payload(spec: Spec, i: int) -> dict[str, Any]:
    if spec.payload == "none":
        return {}
    if spec.payload == "typed":
        out: dict[str, Any] = {
            "price": round(i * 0.25, 2) if i % 5 else i,  # ints and floats -> DOUBLE
            "count": i,
            "flag": i % 2 == 0,
            "title": WORDS[i % len(WORDS)],
            "tags": [WORDS[j % len(WORDS)] for j in range(i % 4)],
            "meta": {"k": i % 3, "v": [1, None]},
            "other": None if i % 4 == 0 else f"o{i}",
        }
        if i % 11 == 0:
            del out["count"]  # missing key -> null
        return out
    if i % 17 == 0:
        return {}  # no payload at all
    out = {
        "n": i,
        "big": 2**53 + i,
        "f": i / 8,
        "neg": -i,
        "word": WORDS[i % len(WORDS)],
        "flag": i % 3 == 0,
        "nothing": None,
        "maybe": None if i % 2 else {"deep": {"deeper": [i, None, {"z": None, "s": "ü"}]}},
        "list": [i, i + 1, None],
        "empty_obj": {},
        "empty_list": [],
    }
    if i % 5 == 0:
        del out["word"]
    return out


def _vectors(spec: Spec, i: int) -> Any:
    rng = np.random.default_rng([7, i])
    if spec.unnamed:
        return (rng.random(spec.unnamed[0], dtype=np.float32) + 0.01).tolist()
    from qdrant_client import models

    out: dict[str, Any] = {}
    for name, (dim, _) in spec.dense.items():
        out[name] = (rng.random(dim, dtype=np.float32) + 0.01).tolist()
    for name in spec.sparse:
        k = int(rng.integers(1, 9))
        idx = sorted(int(x) for x in rng.choice(100_000, size=k, replace=False))
        out[name] = models.SparseVector(indices=idx, values=(rng.random(k, dtype=np.float32) + 0.01).tolist())
    for name, dim in spec.multi.items():
        out[name] = (rng.random((2, dim), dtype=np.float32)).tolist()
    return out


def create(client: Any, spec: Spec) -> None:
    from qdrant_client import models

    if spec.unnamed:
        vectors: Any = models.VectorParams(size=spec.unnamed[0], distance=models.Distance(spec.unnamed[1]))
    else:
        vectors = {n: models.VectorParams(size=d, distance=models.Distance(m)) for n, (d, m) in spec.dense.items()}
        for n, d in spec.multi.items():
            vectors[n] = models.VectorParams(
                size=d,
                distance=models.Distance.COSINE,
                multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
            )
    client.create_collection(
        spec.name,
        vectors_config=vectors,
        sparse_vectors_config={n: models.SparseVectorParams() for n in spec.sparse} or None,
    )
    storage = getattr(client._client.collections[spec.name], "storage", None)
    if storage is not None:  # test data only: no fsync per point
        storage.storage.execute("PRAGMA synchronous=OFF")
        storage.storage.execute("PRAGMA journal_mode=MEMORY")
    step = 2000
    for lo in range(0, spec.rows, step):
        idx = range(lo, min(lo + step, spec.rows))
        client.upsert(
            spec.name,
            [models.PointStruct(id=point_id(spec, i), vector=_vectors(spec, i), payload=payload(spec, i)) for i in idx],
            wait=True,
        )


def read_back(client: Any, name: str) -> dict[Any, Any]:
    """Every point as Qdrant returns it, by id."""
    out: dict[Any, Any] = {}
    offset = None
    while True:
        points, offset = client.scroll(name, limit=5000, offset=offset, with_payload=True, with_vectors=True)
        out.update((p.id, p) for p in points)
        if offset is None:
            return out


def build(folder: Path, specs: list[Spec]) -> dict[str, dict[Any, Any]]:
    """Create a local-mode folder holding ``specs``; returns each collection's points, read back."""
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(folder))
    try:
        for spec in specs:
            create(client, spec)
    finally:
        client.close()
    # read back through a fresh client: after a reopen, local mode returns Cosine vectors as they were
    # given (the writing client returns them normalised), and a reader always meets the reopened folder
    client = QdrantClient(path=str(folder))
    try:
        return {spec.name: read_back(client, spec.name) for spec in specs}
    finally:
        client.close()


class AuthStub:
    """A strict stand-in for a Qdrant server with ``service.api_key`` set, on 127.0.0.1.

    Like Qdrant's auth middleware: no ``api-key`` header (nor ``Authorization:
    Bearer``) -> 401 "Must provide an API key or an Authorization bearer token";
    a wrong key -> ``wrong_key_status`` (401 on current servers, 403 on older
    ones) "Invalid API key or JWT", plain text. With the right key it answers
    501: it serves no data, so a connector can only get past it by treating
    auth errors correctly.
    """

    def __init__(self, key: str, wrong_key_status: int = 401) -> None:
        self.key = key
        self.wrong_key_status = wrong_key_status
        self.requests: list[tuple[str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                stub.requests.append((self.command, self.path))
                given = self.headers.get("api-key")
                bearer = self.headers.get("authorization", "")
                if given is None and bearer.startswith("Bearer "):
                    given = bearer[len("Bearer ") :]
                if given is None:
                    status, body = 401, "Must provide an API key or an Authorization bearer token"
                elif given != stub.key:
                    status, body = stub.wrong_key_status, "Invalid API key or JWT"
                else:
                    status, body = 501, "stub: not implemented"
                data = body.encode()
                self.send_response(status)
                self.send_header("content-type", "text/plain; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AuthStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
