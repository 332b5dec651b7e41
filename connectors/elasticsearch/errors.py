"""ES-01.. and the one place that maps elasticsearch-py / opensearch-py exceptions to them.

Both clients raise, for an error answer, an ``ApiError``/``TransportError``
subclass with the status and the server's body (``{error: {type, reason,
root_cause}, status}``); when nothing answers, a ``ConnectionError`` /
``ConnectionTimeout`` (elastic-transport or opensearch-py's own). The 9.x
elasticsearch client raises ``UnsupportedProductError`` when a 2xx answer lacks
``X-Elastic-Product`` (an OpenSearch cluster, or a proxy in between).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    UNREACHABLE = 1
    AUTH_FAILED = 2
    INDEX_NOT_FOUND = 3
    VERSION_NOT_SUPPORTED = 4
    NO_VECTOR_FIELD = 5
    CONTEXT_EXPIRED = 6
    SHARD_FAILURE = 7
    MAPPING_CONFLICT = 8
    NOT_SUPPORT_TYPE = 9
    READ_DATA_FAIL = 10
    COUNT_MISMATCH = 11
    SERVER_RESPONSE_FAILED = 12
    INVALID_PARAM = 13


_EXIT = {
    Code.UNREACHABLE: ExitCode.CONNECTION,
    Code.AUTH_FAILED: ExitCode.CONNECTION,
    Code.VERSION_NOT_SUPPORTED: ExitCode.CONNECTION,
    Code.NO_VECTOR_FIELD: ExitCode.SCHEMA,
    Code.MAPPING_CONFLICT: ExitCode.SCHEMA,
    Code.NOT_SUPPORT_TYPE: ExitCode.SCHEMA,
    Code.INVALID_PARAM: ExitCode.INVALID_CONFIG,
}

_HINTS = {
    Code.UNREACHABLE: "check 'hosts' (scheme, host, port 9200) and that the cluster runs",
    Code.AUTH_FAILED: "check 'username'/'password' or 'api_key' (the user needs the read and "
    "view_index_metadata privileges on the index)",
    Code.INDEX_NOT_FOUND: "check 'index'/'index_list' (aliases and wildcards are allowed)",
    Code.SHARD_FAILURE: "the cluster lost shards or contexts mid-read; run the job again to resume "
    "(check the cluster's health first)",
    Code.COUNT_MISMATCH: "run the job again to resume; if it repeats, the index changed under the reader "
    "(stop writes to it during the migration)",
}


class ElasticsearchError(CatalogError):
    prefix = "ES"
    exits = _EXIT
    hints = _HINTS


def wrap(exc: BaseException, what: str, where: str, index: str | None = None) -> ElasticsearchError:
    """Map a client exception to a coded error; the caller raises it ``from None``."""
    if isinstance(exc, ElasticsearchError):
        return exc
    name = type(exc).__name__
    status = _status(exc)
    kind, reason = _error_type(exc)
    if name == "UnsupportedProductError":
        return ElasticsearchError(
            Code.VERSION_NOT_SUPPORTED,
            f"{where} is not Elasticsearch (no X-Elastic-Product header) while {what}",
            hint="for an OpenSearch cluster use the 'OpenSearch' source (or 'flavor: opensearch')",
        )
    if kind == "media_type_header_exception":
        return ElasticsearchError(
            Code.VERSION_NOT_SUPPORTED,
            f"{where} refused the client's API version while {what}: {reason}",
            hint="vts speaks the Elasticsearch 7.11+/8/9 REST API; upgrade the cluster",
        )
    if status in (401, 403) or kind == "security_exception":
        return ElasticsearchError(Code.AUTH_FAILED, f"{where} refused the credentials while {what} ({reason})")
    if kind == "index_not_found_exception" or (status == 404 and index and kind is None):
        return ElasticsearchError(Code.INDEX_NOT_FOUND, f"index '{index}' does not exist on {where} ({reason})")
    if kind == "search_context_missing_exception":
        return ElasticsearchError(
            Code.CONTEXT_EXPIRED,
            f"the point in time or scroll expired while {what} ({reason})",
            hint="raise 'keep_alive' (each split keeps its context alive only between its own requests)",
        )
    if status is None and _unreachable(exc):
        return ElasticsearchError(
            Code.UNREACHABLE,
            f"cannot reach {where} while {what} ({name}: {_short(str(exc))})",
            transient=True,  # mid-run a dropped connection is retried from the split's last position
        )
    transient = status is not None and (status >= 500 or status == 429)
    detail = f"HTTP {status} {kind}: {reason}" if status else f"{name}: {_short(str(exc))}"
    return ElasticsearchError(
        Code.SERVER_RESPONSE_FAILED,
        f"{what} on {where} failed: {detail}",
        hint="see the server's reason above",
        transient=transient,
    )


def _status(exc: BaseException) -> int | None:
    for attr in ("status_code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    meta = getattr(exc, "meta", None)
    value = getattr(meta, "status", None)
    return value if isinstance(value, int) else None


def _error_type(exc: BaseException) -> tuple[str | None, str]:
    body: Any = getattr(exc, "body", None)
    if body is None:
        body = getattr(exc, "info", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        causes = err.get("root_cause") or [err]
        first = causes[0] if isinstance(causes[0], dict) else err
        return first.get("type") or err.get("type"), _short(str(first.get("reason") or err.get("reason")))
    return None, _short(str(body or exc))


def _unreachable(exc: BaseException) -> bool:
    names: set[str] = set()
    current: BaseException | None = exc
    while current is not None and len(names) < 10:
        names.add(type(current).__name__)
        current = current.__cause__ or current.__context__
    return bool(names & {"ConnectionError", "ConnectionTimeout", "ConnectTimeout", "TimeoutError", "SSLError"})


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
