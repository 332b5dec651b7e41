"""A strict wire-level emulator of an Elasticsearch (8.x, 9.x) or OpenSearch (2.x, 3.x) node, for tests.

No Elasticsearch can run on our machines, so the source's tests
drive the real ``elasticsearch`` / ``opensearch-py`` clients against this
real HTTP server on 127.0.0.1. It is strict where the real servers are:

- Elasticsearch answers every request with ``X-Elastic-Product:
  Elasticsearch`` and checks the compatibility media types: a server of major
  N accepts ``compatible-with=N`` and ``N-1`` and answers anything else with
  400 ``media_type_header_exception`` (so the default 9.x client fails
  against an 8.x server, as it does for real). OpenSearch sends no product
  header and speaks plain ``application/json``.
- Point in time (ES ``/{index}/_pit``, OpenSearch ``/{index}/_search/point_in_time``)
  freezes the documents; ``POST /_search`` with ``pit`` refuses an index in
  the path; ``_shard_doc`` exists only with a PIT (and on OpenSearch only
  from 3.3); sorting on ``_id`` is refused by ES 8+; ``slice.max`` must be
  above 1; a missing or expired context is 404 ``search_context_missing_exception``;
  each answer carries a new ``pit_id`` (clients must use the newest).
- Indexes created on 9.2+ keep dense and sparse vectors out of ``_source``
  unless the search asks ``_source: {exclude_vectors: false}`` (accepted from
  8.19 / 9.1) or names them in ``fields``.
- Scroll (with slices), ``_count``, ``_mapping``, ``_settings``,
  ``_search_shards``, ``PUT /{index}`` and ``_bulk`` (so fixtures load data
  through the real client, as against a real cluster).
- Errors have the real shape: ``{error: {root_cause, type, reason}, status}``.

Fault hooks for tests: :meth:`expire_contexts` (every PIT and scroll gone),
``fail_shard_searches`` (the next N PIT searches answer 200 with one shard
failed and its hits missing), ``on_search`` (a callback per search), and
``GET /_emulator/stats`` (requests served, for benchmarks).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

VECTOR_TYPES = ("dense_vector", "sparse_vector")


class Refused(Exception):
    def __init__(self, status: int, kind: str, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason, self.extra = status, kind, reason, extra

    def body(self) -> dict[str, Any]:
        cause = {"type": self.kind, "reason": self.reason, **self.extra}
        return {"error": {"root_cause": [cause], **cause}, "status": self.status}


@dataclass
class Index:
    name: str
    mappings: dict[str, Any]
    shards: int
    exclude_source_vectors: bool
    knn: bool = False
    docs: list[dict[int, tuple[str, dict[str, Any]]]] = field(default_factory=list)  # per shard: seq -> (id, src)
    seq: int = 0
    where: dict[str, int] = field(default_factory=dict)  # _id -> seq

    def shard_of(self, doc_id: str) -> int:
        return zlib.crc32(doc_id.encode()) % self.shards

    def put(self, doc_id: str, source: dict[str, Any]) -> None:
        shard = self.docs[self.shard_of(doc_id)]
        shard.pop(self.where.get(doc_id, -1), None)
        self.seq += 1
        shard[self.seq] = (doc_id, source)
        self.where[doc_id] = self.seq

    def snapshot(self) -> list[list[tuple[str, dict[str, Any]]]]:
        return [[doc for _, doc in sorted(s.items())] for s in self.docs]

    def count(self) -> int:
        return sum(len(s) for s in self.docs)


@dataclass
class Context:
    """A PIT or scroll: frozen shard lists (global shard ordinal -> (index, docs))."""

    shards: list[tuple[Index, list[tuple[str, dict[str, Any]]]]]
    keep_alive: float
    touched: float
    scroll: dict[str, Any] | None = None  # for a scroll: the remaining hits and page size

    def alive(self) -> bool:
        return time.monotonic() - self.touched <= self.keep_alive


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", str(text))
    if not m:
        raise Refused(400, "illegal_argument_exception", f"failed to parse setting [keep_alive] with value [{text}]")
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


class Emulator:
    """One node. ``flavor`` elasticsearch | opensearch; ``version`` e.g. 8.15.0, 9.2.0, 2.19.0, 3.3.0."""

    def __init__(
        self,
        flavor: str = "elasticsearch",
        version: str = "9.2.0",
        auth: tuple[str, str] | None = None,
        api_key: str | None = None,
    ) -> None:
        self.flavor, self.version = flavor, version
        self.major, self.minor = (int(x) for x in version.split(".")[:2])
        self.auth, self.api_key = auth, api_key
        self.indices: dict[str, Index] = {}
        self.aliases: dict[str, list[str]] = {}
        self.contexts: dict[str, Context] = {}
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str, Any]] = []
        self.fail_shard_searches = 0  # the next N searches on a PIT answer 200 with shard 0 failed
        self.shard_failure = "node_disconnected_exception"
        self.on_search: Callable[[dict[str, Any]], None] | None = None
        self.closed_pits: list[str] = []
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, delayed ACKs add 40 ms a request
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                emulator._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Emulator:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- test hooks ---------------------------------------------------------------------------------------------

    def expire_contexts(self) -> None:
        with self.lock:
            self.contexts.clear()

    def open_contexts(self) -> int:
        with self.lock:
            return len({id(c) for c in self.contexts.values() if c.alive()})

    @property
    def es(self) -> bool:
        return self.flavor == "elasticsearch"

    # -- HTTP -----------------------------------------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("content-length") or 0)
        raw = req.rfile.read(length) if length else b""
        parts = urlsplit(req.path)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        compat: int | None = None
        try:
            compat = self._check_media_types(req)
            self._check_auth(req, path)
            with self.lock:
                status, body = self._route(req.command, path, query, raw, req.headers.get("content-type", ""))
        except Refused as r:
            status, body = r.status, r.body()
        self.requests.append((req.command, path, body if status >= 400 else None))
        data = b"" if req.command == "HEAD" else orjson.dumps(body)  # json.dumps takes seconds for 768-d pages
        req.send_response(status)
        if self.es:
            req.send_header("X-Elastic-Product", "Elasticsearch")
            media = f"application/vnd.elasticsearch+json;compatible-with={compat}" if compat else "application/json"
        else:
            media = "application/json; charset=UTF-8"
        if status == 401:
            req.send_header("WWW-Authenticate", 'Basic realm="security" charset="UTF-8"')
        req.send_header("content-type", media)
        req.send_header("content-length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    def _check_media_types(self, req: BaseHTTPRequestHandler) -> int | None:
        found = None
        for header in ("content-type", "accept"):
            value = req.headers.get(header) or ""
            m = re.search(r"compatible-with=(\d+)", value)
            if "vnd.elasticsearch" not in value:
                continue
            if not self.es:
                if header == "content-type" and int(req.headers.get("content-length") or 0):
                    raise Refused(406, "content_type_exception", f"Content-Type header [{value}] is not supported")
                continue  # OpenSearch ignores an Accept it does not know: the 9.x client then meets no product header
            if not m:
                raise Refused(400, "media_type_header_exception", "Invalid media-type value on headers [Accept]")
            wanted = int(m.group(1))
            if wanted not in (self.major, self.major - 1):
                raise Refused(
                    400,
                    "media_type_header_exception",
                    "Invalid media-type value on headers [Content-Type, Accept]",
                    caused_by={
                        "type": "status_exception",
                        "reason": f"A compatible version is required on both Content-Type and Accept headers if "
                        f"either one has requested a compatible version. Accept={value}, but found {wanted}. "
                        f"Accept version must be either version {self.major} or {self.major - 1}",
                    },
                )
            found = wanted
        return found

    def _check_auth(self, req: BaseHTTPRequestHandler, path: str) -> None:
        if self.auth is None and self.api_key is None:
            return
        given = req.headers.get("authorization") or ""
        if self.auth is not None and given == "Basic " + base64.b64encode(":".join(self.auth).encode()).decode():
            return
        if self.api_key is not None and given == f"ApiKey {self.api_key}":
            return
        user = ""
        if given.startswith("Basic "):
            user = base64.b64decode(given[6:]).decode(errors="replace").partition(":")[0]
        reason = (
            f"unable to authenticate user [{user}] for REST request [{path}]"
            if user
            else f"missing authentication credentials for REST request [{path}]"
        )
        raise Refused(401, "security_exception", reason, header={"WWW-Authenticate": ['Basic realm="security"']})

    def _route(self, method: str, path: str, query: dict[str, str], raw: bytes, ctype: str) -> tuple[int, Any]:
        body: Any = {}
        if raw and "ndjson" not in ctype and not path.endswith("/_bulk"):
            try:
                body = orjson.loads(raw)
            except ValueError as exc:
                raise Refused(400, "x_content_parse_exception", f"Failed to parse request body: {exc}") from None
        segs = [s for s in path.split("/") if s]
        if segs == ["_emulator", "stats"]:  # for benchmarks: not an Elasticsearch endpoint, no connector calls it
            return 200, {"requests": len(self.requests)}
        if not segs:
            if method in ("GET", "HEAD"):
                return 200, self._info()
        elif segs == ["_search"] and method in ("GET", "POST"):
            return 200, self._search(None, body, query)
        elif segs == ["_search", "scroll"]:
            if method == "DELETE":
                return 200, self._clear_scroll(body)
            return 200, self._scroll(body)
        elif segs == ["_pit"] and method == "DELETE" and self.es:
            return self._close_pit(body.get("id"))
        elif segs == ["_search", "point_in_time"] and method == "DELETE" and not self.es:
            return 200, {"pits": [{"pit_id": p, "successful": self._close_pit(p)[0] == 200} for p in body["pit_id"]]}
        elif segs == ["_bulk"] and method in ("POST", "PUT"):
            return 200, self._bulk(None, raw)
        elif len(segs) == 1 and method == "PUT":
            return 200, self._create(segs[0], body)
        elif len(segs) == 2:
            target, op = segs
            if op == "_mapping" and method == "GET":
                return 200, {i.name: {"mappings": i.mappings} for i in self._resolve(target)}
            if op == "_settings" and method == "GET":
                return 200, {i.name: {"settings": {"index": self._settings(i)}} for i in self._resolve(target)}
            if op == "_search" and method in ("GET", "POST"):
                return 200, self._search(target, body, query)
            if op == "_count" and method in ("GET", "POST"):
                found = self._resolve(target)
                hits = [d for i in found for s in i.snapshot() for d in s if _matches(body.get("query"), d[1])]
                return 200, {"count": len(hits), "_shards": _shards(sum(i.shards for i in found))}
            if op == "_pit" and method == "POST" and self.es:
                return 200, self._open_pit(target, query)
            if op == "_search_shards" and method in ("GET", "POST"):
                return 200, self._search_shards(target)
            if op == "_refresh":
                return 200, {"_shards": _shards(1)}
            if op == "_bulk":
                return 200, self._bulk(target, raw)
        elif len(segs) == 3 and segs[1:] == ["_search", "point_in_time"] and method == "POST" and not self.es:
            return 200, self._open_pit(segs[0], query)
        raise Refused(
            405 if segs and not segs[0].startswith("_") else 400,
            "illegal_argument_exception" if self.es else "invalid_request",
            f"Incorrect HTTP method for uri [{path}] and method [{method}]",
        )

    # -- endpoints -------------------------------------------------------------------------------------------------

    def _info(self) -> dict[str, Any]:
        version: dict[str, Any] = {"number": self.version, "build_type": "tar", "lucene_version": "9.12.0"}
        if self.es:
            version["build_flavor"] = "default"
            tagline = "You Know, for Search"
        else:
            version["distribution"] = "opensearch"
            tagline = "The OpenSearch Project: https://opensearch.org/"
        return {
            "name": "node-1",
            "cluster_name": "emulator",
            "cluster_uuid": "emu",
            "version": version,
            "tagline": tagline,
        }

    def _settings(self, i: Index) -> dict[str, Any]:
        out: dict[str, Any] = {"number_of_shards": str(i.shards), "number_of_replicas": "0", "provided_name": i.name}
        if i.exclude_source_vectors:
            out["mapping"] = {"exclude_source_vectors": "true"}
        if i.knn:
            out["knn"] = "true"
        return out

    def _create(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if name in self.indices:
            raise Refused(400, "resource_already_exists_exception", f"index [{name}/x] already exists", index=name)
        settings = body.get("settings", {})
        flat = _flatten(settings)
        shards = int(flat.get("index.number_of_shards", flat.get("number_of_shards", 1)))
        default_exclude = self.es and (self.major, self.minor) >= (9, 2)
        exclude = str(flat.get("index.mapping.exclude_source_vectors", default_exclude)).lower() == "true"
        knn = str(flat.get("index.knn", flat.get("knn", "false"))).lower() == "true"
        mappings = body.get("mappings", {"properties": {}})
        for fname, spec in mappings.get("properties", {}).items():
            if spec.get("type") == "knn_vector" and self.es:
                raise Refused(
                    400, "mapper_parsing_exception", f"No handler for type [knn_vector] declared on field [{fname}]"
                )
            if spec.get("type") == "dense_vector" and not self.es:
                raise Refused(
                    400, "mapper_parsing_exception", f"No handler for type [dense_vector] declared on field [{fname}]"
                )
        index = Index(name, mappings, shards, exclude, knn, [{} for _ in range(shards)])
        self.indices[name] = index
        for alias in body.get("aliases", {}):
            self.aliases.setdefault(alias, []).append(name)
        return {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _bulk(self, default: str | None, raw: bytes) -> dict[str, Any]:
        lines = [line for line in raw.decode().split("\n") if line.strip()]
        items = []
        for action_line, doc_line in zip(lines[::2], lines[1::2]):
            action = json.loads(action_line)
            ((op, meta),) = action.items()
            name = meta.get("_index", default)
            if name not in self.indices:
                raise Refused(404, "index_not_found_exception", f"no such index [{name}]", index=name)
            doc_id = meta.get("_id") or uuid.uuid4().hex[:20]
            self.indices[name].put(str(doc_id), json.loads(doc_line))
            items.append({op: {"_index": name, "_id": doc_id, "status": 201, "result": "created"}})
        return {"took": 1, "errors": False, "items": items}

    def _resolve(self, expr: str) -> list[Index]:
        out: list[Index] = []
        for part in expr.split(","):
            if part in ("_all", "*"):
                names = sorted(self.indices)
            elif "*" in part:
                names = sorted(n for n in self.indices if fnmatch.fnmatchcase(n, part))
                names += sorted(n for a, ns in self.aliases.items() if fnmatch.fnmatchcase(a, part) for n in ns)
            elif part in self.indices:
                names = [part]
            elif part in self.aliases:
                names = sorted(self.aliases[part])
            else:
                raise Refused(
                    404,
                    "index_not_found_exception",
                    f"no such index [{part}]",
                    **{"resource.type": "index_or_alias", "resource.id": part, "index_uuid": "_na_", "index": part},
                )
            out += [self.indices[n] for n in names if self.indices[n] not in out]
        return out

    def _new_context(self, target: str, keep_alive: str, scroll: dict[str, Any] | None = None) -> tuple[str, Context]:
        shards = [(i, docs) for i in self._resolve(target) for docs in i.snapshot()]
        ctx = Context(shards, parse_duration(keep_alive), time.monotonic(), scroll)
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes * 2).decode()
        self.contexts[cid] = ctx
        return cid, ctx

    def _open_pit(self, target: str, query: dict[str, str]) -> dict[str, Any]:
        if "keep_alive" not in query:
            raise Refused(
                400, "action_request_validation_exception", "Validation Failed: 1: [keep_alive] is not specified;"
            )
        cid, ctx = self._new_context(target, query["keep_alive"])
        if self.es:
            return {"id": cid, "_shards": _shards(len(ctx.shards))}
        return {"pit_id": cid, "_shards": _shards(len(ctx.shards)), "creation_time": int(time.time() * 1000)}

    def _close_pit(self, cid: str | None) -> tuple[int, dict[str, Any]]:
        ctx = self.contexts.get(cid or "")
        found = ctx is not None
        for key in [k for k, c in self.contexts.items() if c is ctx]:
            del self.contexts[key]
        if found:
            self.closed_pits.append(cid or "")
        return (200 if found else 404), {"succeeded": found, "num_freed": int(found)}

    def _live(self, cid: str) -> Context:
        ctx = self.contexts.get(cid)
        if ctx is None or not ctx.alive():
            self.contexts.pop(cid, None)
            reason = f"No search context found for id [{cid[:12]}]"
            raise Refused(404, "search_context_missing_exception", reason)
        ctx.touched = time.monotonic()
        return ctx

    def _search_shards(self, target: str) -> dict[str, Any]:
        shards = [
            [{"index": i.name, "shard": n, "primary": True, "state": "STARTED", "node": "node-1"}]
            for i in self._resolve(target)
            for n in range(i.shards)
        ]
        return {"nodes": {"node-1": {"name": "node-1"}}, "indices": {}, "shards": shards}

    def _search(self, target: str | None, body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        known = {
            "query",
            "size",
            "sort",
            "search_after",
            "pit",
            "slice",
            "track_total_hits",
            "_source",
            "fields",
            "from",
        }
        unknown = sorted(set(body) - known)
        if unknown:
            raise Refused(400, "x_content_parse_exception", f"[1:2] [search] unknown field [{unknown[0]}]")
        if self.on_search is not None:
            self.on_search(body)
        pit = body.get("pit")
        size = int(body.get("size", 10))
        scroll = query.get("scroll")
        if pit is not None:
            if target is not None:
                raise Refused(
                    400,
                    "action_request_validation_exception",
                    "Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with point in time.;",
                )
            if scroll:
                raise Refused(
                    400,
                    "action_request_validation_exception",
                    "Validation Failed: 1: using [point in time] is not allowed in a scroll context;",
                )
            cid = pit["id"]
            ctx = self._live(cid)
            if "keep_alive" in pit:
                ctx.keep_alive = parse_duration(pit["keep_alive"])
        elif target is None:
            target = "_all"
        if pit is None:
            cid, ctx = self._new_context(target or "_all", scroll or "1m")
            if not scroll:
                self.contexts.pop(cid)
        if size + int(body.get("from", 0)) > 10_000 and not scroll:
            raise Refused(
                400,
                "illegal_argument_exception",
                "Result window is too large, from + size must be less than or equal to: [10000]",
            )
        hits = self._hits(ctx, body, pit is not None, scroll is not None)
        total = len(hits)
        failed: list[int] = []
        if self.fail_shard_searches > 0 and ctx.shards and pit is not None:
            self.fail_shard_searches -= 1
            failed = [0]
            hits = [h for h in hits if h[0] != 0]
        sort = body.get("sort")
        if "search_after" in body:
            if sort is None:
                raise Refused(400, "illegal_argument_exception", "Sort must contain at least one field.")
            after = body["search_after"]
            hits = [h for h in hits if _cmp_key(h[3]) > _cmp_key(after)]
        page, rest = hits[:size], hits[size:]
        out_hits = [self._hit(ctx, h, body, sort is not None) for h in page]
        tth = body.get("track_total_hits", 10_000 if self.major >= 7 else True)
        if tth is True or (isinstance(tth, int) and not isinstance(tth, bool) and total < tth):
            total_obj = {"value": total, "relation": "eq"}
        else:
            total_obj = {"value": int(tth), "relation": "gte"}
        answer: dict[str, Any] = {
            "took": 1,
            "timed_out": False,
            "_shards": _shards(len(ctx.shards), failed, self.shard_failure),
            "hits": {"total": total_obj, "max_score": None, "hits": out_hits},
        }
        if pit is not None:
            new_id = base64.urlsafe_b64encode(uuid.uuid4().bytes * 2).decode()
            self.contexts[new_id] = ctx  # a real node may answer a new id; the old one keeps working too
            answer["pit_id"] = new_id
        if scroll:
            ctx.scroll = {"rest": rest, "size": size, "body": body}
            ctx.keep_alive = parse_duration(scroll)
            answer["_scroll_id"] = cid
        return answer

    def _hits(self, ctx: Context, body: dict[str, Any], with_pit: bool, scrolling: bool) -> list[tuple[Any, ...]]:
        sl = body.get("slice")
        if sl is not None:
            if int(sl.get("max", 0)) <= 1:
                raise Refused(
                    400, "action_request_validation_exception", "Validation Failed: 1: max must be greater than 1;"
                )
            if not 0 <= int(sl["id"]) < int(sl["max"]):
                raise Refused(
                    400, "action_request_validation_exception", "Validation Failed: 1: id must be lower than max;"
                )
        sort = _sort_spec(body.get("sort"))
        for name, _ in sort:
            if name == "_shard_doc":
                if not with_pit:
                    raise Refused(
                        400,
                        "illegal_argument_exception",
                        "[_shard_doc] sort field cannot be used without [point in time]",
                    )
                if not self.es and (self.major, self.minor) < (3, 3):
                    raise Refused(400, "query_shard_exception", "No mapping found for [_shard_doc] in order to sort on")
            elif name == "_id" and self.es and self.major >= 8:
                raise Refused(
                    400,
                    "illegal_argument_exception",
                    "Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled",
                )
        out = []
        for ordinal, (index, docs) in enumerate(ctx.shards):
            for doc_num, (doc_id, source) in enumerate(docs):
                if not _matches(body.get("query"), source):
                    continue
                shard_doc = (ordinal << 32) | doc_num
                if sl is not None:
                    fld = sl.get("field")
                    if fld is None and with_pit:
                        member = hash_slice(shard_doc) % int(sl["max"])
                    else:
                        value = doc_id if fld in (None, "_id") else source.get(fld)
                        member = zlib.crc32(json.dumps(value).encode()) % int(sl["max"])
                    if member != int(sl["id"]):
                        continue
                key = []
                for name, order in sort:
                    if name == "_shard_doc":
                        v: Any = shard_doc
                    elif name == "_doc":
                        v = doc_num
                    elif name == "_id":
                        v = doc_id
                    else:
                        v = source.get(name)
                    key.append(v if order == "asc" else _Desc(v))
                out.append((ordinal, index, doc_id, key, source))
        if sort:
            out.sort(key=lambda h: _cmp_key(h[3]))
        return [(o, i, d, [k.v if isinstance(k, _Desc) else k for k in key], s) for o, i, d, key, s in out]

    def _hit(self, ctx: Context, h: tuple[Any, ...], body: dict[str, Any], sorted_: bool) -> dict[str, Any]:
        _, index, doc_id, key, source = h
        hit: dict[str, Any] = {"_index": index.name, "_id": doc_id, "_score": None if sorted_ else 1.0}
        spec = body.get("_source", True)
        keep_vectors = not index.exclude_source_vectors
        if isinstance(spec, dict):
            if "exclude_vectors" in spec:
                if self.es and not ((self.major == 8 and self.minor >= 19) or (self.major, self.minor) >= (9, 1)):
                    raise Refused(400, "x_content_parse_exception", "[1:30] [_source] unknown field [exclude_vectors]")
                keep_vectors = not spec["exclude_vectors"]
            includes = spec.get("includes") or spec.get("include")
        elif isinstance(spec, list):
            includes = spec
        else:
            includes = None
        if spec is not False:
            src = dict(source)
            if not keep_vectors:
                for name, fspec in index.mappings.get("properties", {}).items():
                    if fspec.get("type") in VECTOR_TYPES:
                        src.pop(name, None)
            if includes:
                src = {k: v for k, v in src.items() if any(fnmatch.fnmatchcase(k, p) for p in includes)}
            hit["_source"] = src
        if body.get("fields"):
            fields: dict[str, Any] = {}
            for name in body["fields"]:
                name = name if isinstance(name, str) else name["field"]
                if name in source and source[name] is not None:
                    v = source[name]
                    fields[name] = v if isinstance(v, list) else [v]
            if fields:
                hit["fields"] = fields
        if sorted_:
            hit["sort"] = key
        return hit

    def _scroll(self, body: dict[str, Any]) -> dict[str, Any]:
        cid = body.get("scroll_id")
        ctx = self._live(cid or "")
        state = ctx.scroll or {"rest": [], "size": 10, "body": {}}
        if "scroll" in body:
            ctx.keep_alive = parse_duration(body["scroll"])
        page, state["rest"] = state["rest"][: state["size"]], state["rest"][state["size"] :]
        return {
            "_scroll_id": cid,
            "took": 1,
            "timed_out": False,
            "_shards": _shards(len(ctx.shards)),
            "hits": {
                "total": {"value": -1, "relation": "eq"},
                "max_score": None,
                "hits": [self._hit(ctx, h, state["body"], "sort" in state["body"]) for h in page],
            },
        }

    def _clear_scroll(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("scroll_id", [])
        ids = [ids] if isinstance(ids, str) else ids
        freed = sum(1 for i in ids if self.contexts.pop(i, None) is not None)
        return {"succeeded": True, "num_freed": freed}


class _Desc:
    def __init__(self, v: Any) -> None:
        self.v = v


def hash_slice(shard_doc: int) -> int:
    return zlib.crc32(shard_doc.to_bytes(8, "big"))


def _cmp_key(values: list[Any]) -> tuple[Any, ...]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, _Desc):
            inner = v.v
            out.append((1, -inner) if isinstance(inner, int | float) else (1, tuple(-ord(c) for c in str(inner))))
        else:
            out.append(
                (0, v)
                if isinstance(v, int | float) and not isinstance(v, bool)
                else (0, str(v))
                if v is not None
                else (2, "")
            )
    return tuple(out)


def _sort_spec(sort: Any) -> list[tuple[str, str]]:
    if sort is None:
        return []
    out = []
    for item in sort if isinstance(sort, list) else [sort]:
        if isinstance(item, str):
            out.append((item, "asc"))
        else:
            ((name, spec),) = item.items()
            out.append((name, spec if isinstance(spec, str) else spec.get("order", "asc")))
    return out


def _matches(query: dict[str, Any] | None, source: dict[str, Any]) -> bool:
    if not query or "match_all" in query:
        return True
    ((kind, spec),) = query.items()
    if kind == "term":
        ((name, value),) = spec.items()
        value = value["value"] if isinstance(value, dict) else value
        got = source.get(name)
        return value in got if isinstance(got, list) else got == value
    if kind == "range":
        ((name, bounds),) = spec.items()
        got = source.get(name)
        if got is None:
            return False
        checks = {"gte": got >= bounds.get("gte", got), "gt": "gt" not in bounds or got > bounds["gt"]}
        return (
            checks["gte"]
            and checks["gt"]
            and got <= bounds.get("lte", got)
            and ("lt" not in bounds or got < bounds["lt"])
        )
    if kind == "bool":
        return all(_matches(q, source) for q in spec.get("filter", []) + spec.get("must", [])) and not any(
            _matches(q, source) for q in spec.get("must_not", [])
        )
    raise Refused(400, "parsing_exception", f"unknown query [{kind}]", line=1, col=13)


def _shards(total: int, failed: list[int] | None = None, reason: str = "") -> dict[str, Any]:
    failed = failed or []
    out: dict[str, Any] = {"total": total, "successful": total - len(failed), "skipped": 0, "failed": len(failed)}
    if failed:
        out["failures"] = [
            {
                "shard": n,
                "index": "?",
                "node": "node-1",
                "reason": {"type": reason, "reason": f"[{reason}] on shard {n}"},
            }
            for n in failed
        ]
    return out


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out
