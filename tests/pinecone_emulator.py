"""A strict wire-level emulator of Pinecone's control and data planes (API 2026-07), for tests.

Real HTTP servers on 127.0.0.1, driven by the real ``pinecone`` SDK: one
control plane (``GET /indexes/{name}``) and one data plane per index (each
index has its own host, as on Pinecone). Strict where the service is: the
``Api-Key`` and ``X-Pinecone-Api-Version: 2026-07`` headers on every
request (a data-plane 401 is text/plain ``Unauthorized``), ``namespace``
required on ``/vectors/list``, ``limit`` 1..100, opaque pagination tokens
bound to their namespace and prefix, no ``pagination`` key on the last page,
ids in bitwise (UTF-8 byte) order, repeated ``ids`` on fetch (at most 1000,
missing ids absent), the default namespace as ``"__default__"``, ``list`` and
``/namespaces`` refused (400) on pod indexes, the vectors API refused (400) on
document-schema indexes, numbers in metadata kept as floats, and errors as
``{code, message, details}`` JSON.

Faults a test can ask for: ``rate_limit`` (a fraction of data-plane calls
answered 429 with ``Retry-After``), ``latency`` (seconds added to every
data-plane request), ``expire_tokens()`` (every token issued so far is
refused). ``requests`` counts the data-plane calls per path.
"""

from __future__ import annotations

import base64
import bisect
import json
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

API_VERSION = "2026-07"
DEFAULT = "__default__"
LIST_MAX = 100
FETCH_MAX = 1000


@dataclass
class Record:
    id: str
    values: list[float] = field(default_factory=list)
    sparse: tuple[list[int], list[float]] | None = None
    metadata: dict[str, Any] | None = None

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "values": self.values}
        if self.sparse is not None:
            out["sparseValues"] = {"indices": self.sparse[0], "values": self.sparse[1]}
        if self.metadata:
            out["metadata"] = self.metadata
        return out


def _floats(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """Pinecone keeps every metadata number as a float64."""
    if meta is None:
        return None
    return {k: (float(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in meta.items()}


class EmuIndex:
    def __init__(
        self,
        emulator: Emulator,
        name: str,
        dimension: int | None,
        metric: str,
        kind: str,
        sparse: bool,
        document: bool,
    ) -> None:
        self.emulator = emulator
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.kind = kind  # managed | pod | byoc
        self.sparse = sparse
        self.document = document
        self.namespaces: dict[str, dict[str, Record]] = {}
        self.lock = threading.Lock()
        self.server = _serve(emulator, self)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def upsert(self, namespace: str, records: list[Record]) -> None:
        ns = DEFAULT if namespace in ("", DEFAULT) else namespace
        with self.lock:
            space = self.namespaces.setdefault(ns, {})
            for r in records:
                self._check(r)
                space[r.id] = Record(r.id, [float(x) for x in r.values], r.sparse, _floats(r.metadata))

    def _check(self, r: Record) -> None:
        if self.dimension and len(r.values) != self.dimension:
            raise ValueError(
                f"Vector dimension {len(r.values)} does not match the dimension of the index {self.dimension}"
            )
        if not self.dimension and r.values:
            raise ValueError("sparse index takes no dense values")
        if r.sparse is not None and not (self.sparse or self.metric == "dotproduct"):
            raise ValueError("sparse values are supported only for dotproduct indexes")

    def description(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self.document:
            fields["embedding"] = {"type": "dense_vector", "dimension": self.dimension or 8, "metric": self.metric}
            fields["title"] = {"type": "string", "full_text_search": {}}
        else:
            if self.dimension:
                fields["_values"] = {"type": "dense_vector", "dimension": self.dimension, "metric": self.metric}
            if self.sparse:
                fields["_sparse_values"] = {"type": "sparse_vector"}
        if self.kind == "pod":
            deployment: dict[str, Any] = {
                "deployment_type": "pod", "environment": "us-east1-gcp", "pod_type": "p1.x1", "replicas": 1, "shards": 1
            }  # fmt: skip
        elif self.kind == "byoc":
            deployment = {"deployment_type": "byoc", "environment": "aws-us-east-1-b92"}
        else:
            deployment = {"deployment_type": "managed", "cloud": "aws", "region": "us-east-1"}
        return {
            "name": self.name,
            "status": {"ready": True, "state": "Ready"},
            "schema": {"fields": fields},
            "deployment": deployment,
            "deletion_protection": "disabled",
            "host": self.host,
            "tags": None,
        }


class Emulator:
    def __init__(self, api_key: str = "emulator-key", retry_after: str = "0") -> None:
        self.api_key = api_key
        self.retry_after = retry_after
        self.rate_limit = 0.0
        self.latency = 0.0
        self.random = random.Random(7)
        self.indexes: dict[str, EmuIndex] = {}
        self.requests: Counter[str] = Counter()
        self.throttled = 0
        self.generation = 0
        self.lock = threading.Lock()
        self.control = _serve(self, None)
        self.url = f"http://127.0.0.1:{self.control.server_address[1]}"

    def add_index(
        self,
        name: str,
        dimension: int | None = 8,
        metric: str = "cosine",
        kind: str = "managed",
        sparse: bool = False,
        document: bool = False,
    ) -> EmuIndex:
        if dimension is None:
            sparse, metric = True, "dotproduct"
        index = EmuIndex(self, name, dimension, metric, kind, sparse, document)
        self.indexes[name] = index
        return index

    def expire_tokens(self) -> None:
        self.generation += 1

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()
            self.throttled = 0

    def close(self) -> None:
        for server in [self.control, *(i.server for i in self.indexes.values())]:
            server.shutdown()
            server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that hangs up (a killed vts, a closed pool) is routine, not an emulator failure
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _serve(emulator: Emulator, index: EmuIndex | None) -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"emulator": emulator, "index": index})
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True, name="pinecone-emulator").start()
    return server


class _Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None, text: bool = False) -> None:
        self.status, self.body, self.headers, self.text = status, body, headers or {}, text


def _error(status: int, code: int, message: str) -> _Reply:
    return _Reply(status, {"code": code, "message": message, "details": []})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator: Emulator
    index: EmuIndex | None

    def setup(self) -> None:
        super().setup()
        # headers and body leave in two writes: without this, Nagle + delayed ACK add 40 ms to every answer
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures, not traffic
        return None

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            if self.index is None:
                self._control(method)
            else:
                self._data(method, raw)
        except _Reply as reply:
            self._send(reply)
        except Exception as exc:  # an emulator bug must show as a 500, not a hung client
            self._send(_error(500, 13, f"emulator: {type(exc).__name__}: {exc}"))

    def _send(self, reply: _Reply) -> None:
        if reply.text:
            payload = str(reply.body).encode()
            ctype = "text/plain"
        else:
            payload = orjson.dumps(reply.body)  # the stdlib's encoder would make the emulator the bottleneck
            ctype = "application/json"
        self.send_response(reply.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def _version(self) -> None:
        got = self.headers.get("X-Pinecone-Api-Version")
        if got != API_VERSION:
            raise _error(400, 3, f"Unsupported API version {got!r}: this emulator serves {API_VERSION}")

    # control plane
    def _control(self, method: str) -> None:
        if self.headers.get("Api-Key") != self.emulator.api_key:
            raise _Reply(401, {"error": {"code": "UNAUTHENTICATED", "message": "Invalid API Key"}, "status": 401})
        self._version()
        parts = urlsplit(self.path).path.strip("/").split("/")
        if method == "GET" and len(parts) == 2 and parts[0] == "indexes":
            index = self.emulator.indexes.get(unquote(parts[1]))
            if index is None:
                raise _Reply(
                    404, {"error": {"code": "NOT_FOUND", "message": f"Resource {parts[1]} not found"}, "status": 404}
                )
            raise _Reply(200, index.description())
        raise _Reply(404, {"error": {"code": "NOT_FOUND", "message": f"no route {method} {self.path}"}, "status": 404})

    # data plane
    def _data(self, method: str, raw: bytes) -> None:
        emu, index = self.emulator, self.index
        assert index is not None
        if self.headers.get("Api-Key") != emu.api_key:
            raise _Reply(401, "Unauthorized", text=True)
        self._version()
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        route = f"{method} {url.path}"
        with emu.lock:
            emu.requests[url.path] += 1
            throttle = emu.rate_limit and emu.random.random() < emu.rate_limit
            if throttle:
                emu.throttled += 1
        if emu.latency:
            time.sleep(emu.latency)
        if throttle:
            raise _Reply(
                429,
                {"code": 8, "message": "Request failed. You've reached the request rate limit.", "details": []},
                {"Retry-After": emu.retry_after},
            )
        if index.document and url.path.startswith("/vectors"):
            raise _error(400, 3, "This index uses a document schema: use the documents API")
        body: Any = None
        if method == "POST":
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                raise _error(400, 3, "request body is not JSON") from None
            if not isinstance(body, dict):
                raise _error(400, 3, "request body must be a JSON object")
        if route == "POST /describe_index_stats":
            raise _Reply(200, self._stats(body))
        if route == "GET /vectors/list":
            raise _Reply(200, self._list(query))
        if route == "GET /vectors/fetch":
            raise _Reply(200, self._fetch(query))
        if route == "GET /namespaces":
            raise _Reply(200, self._namespaces(query))
        if route == "POST /vectors/upsert":
            raise _Reply(200, self._upsert(body))
        raise _error(404, 5, f"no route {route}")

    def _stats(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self.index
        assert index is not None
        if body.get("filter") and index.kind != "pod":
            raise _error(400, 3, "describe_index_stats does not take a filter on serverless indexes")
        with index.lock:
            spaces = {ns: {"vectorCount": len(v)} for ns, v in index.namespaces.items() if v}
        out: dict[str, Any] = {
            "namespaces": spaces,
            "indexFullness": 0.0,
            "totalVectorCount": sum(s["vectorCount"] for s in spaces.values()),
            "metric": index.metric,
            "vectorType": "dense" if index.dimension else "sparse",
        }
        if index.dimension:
            out["dimension"] = index.dimension
        return out

    def _one(self, query: dict[str, list[str]], key: str) -> str | None:
        values = query.get(key)
        if values is None:
            return None
        if len(values) != 1:
            raise _error(400, 3, f"'{key}' given {len(values)} times")
        return values[0]

    def _list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        index = self.index
        assert index is not None
        if index.kind == "pod":
            raise _error(400, 3, "list is supported only on serverless indexes")
        namespace = self._one(query, "namespace")
        if namespace is None:
            raise _error(400, 3, "missing required parameter 'namespace'")
        ns = DEFAULT if namespace in ("", DEFAULT) else namespace
        prefix = self._one(query, "prefix") or ""
        limit_text = self._one(query, "limit")
        try:
            limit = LIST_MAX if limit_text is None else int(limit_text)
        except ValueError:
            raise _error(400, 3, f"limit must be an integer, got {limit_text!r}") from None
        if not 1 <= limit <= LIST_MAX:
            raise _error(400, 3, f"limit must be between 1 and {LIST_MAX}, got {limit}")
        after = ""
        token = self._one(query, "paginationToken")
        if token is not None:
            after = self._token(token, ns, prefix)
        with index.lock:
            # str order is code-point order, which UTF-8 keeps: this is the service's bitwise order
            ids = sorted(i for i in index.namespaces.get(ns, {}) if i.startswith(prefix))
        start = bisect.bisect_right(ids, after) if after else 0
        page = ids[start : start + limit]
        out: dict[str, Any] = {"vectors": [{"id": i} for i in page], "namespace": namespace, "usage": {"readUnits": 1}}
        if start + limit < len(ids):
            out["pagination"] = {"next": self._issue(page[-1], ns, prefix)}
        return out

    def _issue(self, last: str, ns: str, prefix: str) -> str:
        payload = {"l": last, "n": ns, "p": prefix, "g": self.emulator.generation}
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()

    def _token(self, token: str, ns: str, prefix: str) -> str:
        try:
            payload = json.loads(base64.urlsafe_b64decode(token.encode()))
            ok = payload["n"] == ns and payload["p"] == prefix and payload["g"] == self.emulator.generation
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise _error(400, 3, "Invalid pagination token")
        return str(payload["l"])

    def _fetch(self, query: dict[str, list[str]]) -> dict[str, Any]:
        index = self.index
        assert index is not None
        ids = query.get("ids") or []
        if not ids or any(not i for i in ids):
            raise _error(400, 3, "ids must hold at least one non-empty id")
        if len(ids) > FETCH_MAX:
            raise _error(400, 3, f"at most {FETCH_MAX} ids may be fetched at once, got {len(ids)}")
        namespace = self._one(query, "namespace")
        ns = DEFAULT if namespace in (None, "", DEFAULT) else namespace
        with index.lock:
            space = index.namespaces.get(ns, {})
            found = {i: space[i].wire() for i in ids if i in space}
        return {"vectors": found, "namespace": namespace or "", "usage": {"readUnits": max(1, len(found) // 10)}}

    def _namespaces(self, query: dict[str, list[str]]) -> dict[str, Any]:
        index = self.index
        assert index is not None
        if index.kind == "pod":
            raise _error(400, 3, "list namespaces is supported only on serverless indexes")
        limit = int(self._one(query, "limit") or 100)
        if not 1 <= limit <= 100:
            raise _error(400, 3, f"limit must be between 1 and 100, got {limit}")
        prefix = self._one(query, "prefix") or ""
        with index.lock:
            names = sorted(n for n in index.namespaces if n.startswith(prefix))
            counts = {n: len(index.namespaces[n]) for n in names}
        start = 0
        token = self._one(query, "paginationToken")
        if token is not None:
            last = self._token(token, "*namespaces*", prefix)
            start = next((k for k, n in enumerate(names) if n > last), len(names))
        page = names[start : start + limit]
        out: dict[str, Any] = {
            "namespaces": [{"name": n, "record_count": str(counts[n])} for n in page],
            "total_count": len(names),
        }
        if start + limit < len(names):
            out["pagination"] = {"next": self._issue(page[-1], "*namespaces*", prefix)}
        return out

    def _upsert(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self.index
        assert index is not None
        vectors = body.get("vectors")
        if not isinstance(vectors, list) or not vectors or len(vectors) > 1000:
            raise _error(400, 3, "vectors must be a list of 1 to 1000 vectors")
        records = []
        for v in vectors:
            sv = v.get("sparseValues")
            records.append(
                Record(
                    v["id"],
                    v.get("values") or [],
                    (sv["indices"], sv["values"]) if sv else None,
                    v.get("metadata"),
                )
            )
        try:
            index.upsert(body.get("namespace") or "", records)
        except ValueError as exc:
            raise _error(400, 3, str(exc)) from None
        return {"upsertedCount": len(records)}
