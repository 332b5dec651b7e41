"""Opening elasticsearch-py or opensearch-py where it runs, and the few REST calls the source makes.

Every call goes through :meth:`Wire.call`, the client's own ``perform_request``
with explicit media types, so one code path serves both products and every
server major, and every answer's ``_shards.failed`` and ``timed_out`` are
checked in one place (an expired context can come back as a 200 with partial
hits). Why explicit media types: the 9.x elasticsearch client sends
``compatible-with=9`` by default, which an 8.x server refuses; vts asks for
``compatible-with=8``, which 8.x and 9.x servers both accept (and 7 for a 7.x
server). OpenSearch speaks plain JSON and sends no product header, so it needs
opensearch-py.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from vts.connectors.elasticsearch.errors import Code, ElasticsearchError, wrap
from vts.connectors.elasticsearch.options import ElasticsearchOptions

log = logging.getLogger("vts.elasticsearch")

ES_COMPAT = "application/vnd.elasticsearch+json; compatible-with={}"

# Both clients log every failed request, with the urllib3 traceback for a refused connection; the coded
# error vts raises says the same in one line, with the fix.
for _name in ("elastic_transport", "elasticsearch", "opensearch"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Server:
    """What the source needs to know about the cluster, from ``GET /``."""

    flavor: str  # elasticsearch | opensearch
    number: str

    @property
    def version(self) -> tuple[int, int]:
        major, minor = ([*self.number.split("-")[0].split("."), "0"])[:2]
        return int(major), int(minor)

    @property
    def es(self) -> bool:
        return self.flavor == "elasticsearch"

    @property
    def has_pit(self) -> bool:
        return self.version >= ((7, 10) if self.es else (2, 4))

    @property
    def has_shard_doc(self) -> bool:
        return self.version >= ((7, 12) if self.es else (3, 3))

    @property
    def has_exclude_vectors(self) -> bool:
        """``_source: {exclude_vectors: false}`` is understood (8.19 in the 8 line, 9.1+)."""
        major, minor = self.version
        return self.es and ((major == 8 and minor >= 19) or (major, minor) >= (9, 1))

    def describe(self) -> str:
        return f"{'Elasticsearch' if self.es else 'OpenSearch'} {self.number}"


class Wire:
    """An open client plus the server it talks to."""

    def __init__(self, client: Any, server: Server, options: ElasticsearchOptions, compat: int | None) -> None:
        self.client, self.server, self.options = client, server, options
        self.headers = {"accept": ES_COMPAT.format(compat), "content-type": ES_COMPAT.format(compat)} if compat else {}

    def call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        index: str | None = None,
    ) -> dict[str, Any]:
        try:
            answer = _perform(self.client, self.server.es, method, path, params, body, self.headers)
        except Exception as exc:
            raise wrap(exc, what, self.options.where(), index) from None
        check_answer(answer, what)
        return answer

    def open_pit(self, index: str) -> str:
        keep = {"keep_alive": self.options.keep_alive}
        if self.server.es:
            return self.call(
                "POST", f"/{index}/_pit", f"opening a point in time on '{index}'", params=keep, index=index
            )["id"]
        path = f"/{index}/_search/point_in_time"
        return self.call("POST", path, f"opening a point in time on '{index}'", params=keep, index=index)["pit_id"]

    def close_pit(self, pit_id: str) -> None:
        """Best effort: an already expired PIT is not an error (it is gone either way)."""
        try:
            if self.server.es:
                _perform(self.client, True, "DELETE", "/_pit", None, {"id": pit_id}, self.headers)
            else:
                _perform(self.client, False, "DELETE", "/_search/point_in_time", None, {"pit_id": [pit_id]}, {})
        except Exception as exc:
            log.debug("closing point in time: %s", exc)


def check_answer(answer: Any, what: str) -> None:
    """A search answer with failed shards or a timeout holds partial hits: never take it for the whole page."""
    if not isinstance(answer, dict):
        return
    shards = answer.get("_shards") or {}
    if shards.get("failed"):
        reasons = sorted({str((f.get("reason") or {}).get("type")) for f in shards.get("failures", [])})
        expired = "search_context_missing_exception" in reasons
        raise ElasticsearchError(
            Code.CONTEXT_EXPIRED if expired else Code.SHARD_FAILURE,
            f"{what}: {shards['failed']} of {shards.get('total')} shard(s) failed ({', '.join(reasons) or 'no reason'}); "
            "the answer's hits are partial and were not used",
            hint="raise 'keep_alive'" if expired else None,
            transient=not expired,
        )
    if answer.get("timed_out"):
        raise ElasticsearchError(
            Code.SHARD_FAILURE, f"{what}: the search timed out; its hits are partial and were not used", transient=True
        )


def _perform(client: Any, es: bool, method: str, path: str, params: Any, body: Any, headers: dict[str, str]) -> Any:
    if es:
        target = path
        if params:
            from urllib.parse import urlencode

            target = f"{path}?{urlencode(params)}"
        return client.perform_request(method, target, headers=headers or None, body=body).body
    return client.transport.perform_request(method, path, params=params, body=body)


@contextmanager
def connect(options: ElasticsearchOptions, default_flavor: str) -> Iterator[Wire]:
    """A client for the options' cluster (its product detected from ``GET /`` unless given), closed on exit."""
    flavor = options.flavor or default_flavor
    wire = _open_es(options) if flavor == "elasticsearch" else _open_os(options)
    try:
        yield wire
    finally:
        with suppress(Exception):
            wire.client.close()


def _ssl_context(options: ElasticsearchOptions) -> ssl.SSLContext | None:
    if not any(h.startswith("https") for h in options.hosts) and not options.cloud_id:
        return None
    ctx = ssl.create_default_context(cafile=options.ca_certs)
    if not options.tls_verify_certificate:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif not options.tls_verify_hostname:
        ctx.check_hostname = False
    return ctx


def _open_es(options: ElasticsearchOptions) -> Wire:
    from elasticsearch import Elasticsearch
    from elasticsearch.serializer import OrjsonSerializer

    kwargs: dict[str, Any] = {"request_timeout": options.timeout, "max_retries": 1, "retry_on_timeout": False}
    # the client's default (stdlib) JSON spends seconds decoding a page of 768-d vectors; orjson ~10x less
    fast = OrjsonSerializer()
    kwargs["serializers"] = {"application/json": fast, "application/vnd.elasticsearch+json": fast}
    if options.cloud_id:
        kwargs["cloud_id"] = options.cloud_id
    else:
        kwargs["hosts"] = list(options.hosts)
    if options.username is not None and options.password is not None:
        kwargs["basic_auth"] = (options.username, options.password.get_secret_value())
    if options.api_key is not None:
        kwargs["api_key"] = options.api_key.get_secret_value()
    context = _ssl_context(options)
    if context is not None:
        kwargs["ssl_context"] = context
    try:
        client = Elasticsearch(**kwargs)
    except Exception as exc:
        raise wrap(exc, "opening the client", options.where()) from None
    info, compat = None, None
    for compat in (8, 7):
        headers = {"accept": ES_COMPAT.format(compat), "content-type": ES_COMPAT.format(compat)}
        try:
            info = client.perform_request("GET", "/", headers=headers).body
            break
        except Exception as exc:
            if type(exc).__name__ == "UnsupportedProductError" and _is_opensearch(getattr(exc, "body", None)):
                with suppress(Exception):
                    client.close()
                log.info("%s is OpenSearch: reading it with opensearch-py", options.where())
                return _open_os(options)
            err = wrap(exc, "connecting", options.where())
            if err.kind != Code.VERSION_NOT_SUPPORTED or compat == 7:
                with suppress(Exception):
                    client.close()
                raise err from None
    server = Server("elasticsearch", str(info["version"]["number"]))
    if server.version < (7, 0):
        raise ElasticsearchError(
            Code.VERSION_NOT_SUPPORTED,
            f"{options.where()} runs {server.describe()}",
            hint="vts reads Elasticsearch 7.0+",
        )
    return Wire(client, server, options, compat)


def _is_opensearch(body: Any) -> bool:
    return isinstance(body, dict) and (body.get("version") or {}).get("distribution") == "opensearch"


def _open_os(options: ElasticsearchOptions) -> Wire:
    if options.cloud_id or options.api_key:
        raise ElasticsearchError(
            Code.INVALID_PARAM,
            "OpenSearch has no 'cloud_id' or 'api_key'",
            hint="use 'hosts' and 'username'/'password' for an OpenSearch cluster",
        )
    from opensearchpy import OpenSearch

    kwargs: dict[str, Any] = {
        "hosts": list(options.hosts),
        "timeout": options.timeout,
        "max_retries": 1,
        "serializer": _OrjsonForOpenSearch(),
    }
    if options.username is not None and options.password is not None:
        kwargs["http_auth"] = (options.username, options.password.get_secret_value())
    context = _ssl_context(options)
    if context is not None:
        kwargs.update(use_ssl=True, ssl_context=context)
    try:
        client = OpenSearch(**kwargs)
        info = client.transport.perform_request("GET", "/")
    except Exception as exc:
        raise wrap(exc, "connecting", options.where()) from None
    version = info.get("version") or {}
    if version.get("distribution") != "opensearch":
        client.close()
        raise ElasticsearchError(
            Code.VERSION_NOT_SUPPORTED,
            f"{options.where()} is not OpenSearch (it runs {version.get('number')})",
            hint="for Elasticsearch use the 'Elasticsearch' source (or 'flavor: elasticsearch')",
        )
    return Wire(client, Server("opensearch", str(version["number"])), options, None)


class _OrjsonForOpenSearch:
    """opensearch-py's serializer interface (``mimetype``, ``loads``, ``dumps``) over orjson: its default
    stdlib JSON dominates the read time of vector pages. Written here because opensearch-py ships none."""

    mimetype = "application/json"

    def loads(self, s: Any) -> Any:
        import orjson

        return orjson.loads(s)

    def dumps(self, data: Any) -> Any:
        import orjson

        if isinstance(data, str | bytes):
            return data
        return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY).decode()
