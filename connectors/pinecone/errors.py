"""PINECONE-01.. and the one place that maps pinecone-client exceptions to them.

The SDK (10.x, REST over httpx) raises ``UnauthorizedError``/``ForbiddenError``
(401/403; a data-plane 401 has a text/plain body), ``NotFoundError`` (404),
``RateLimitError`` (429, with ``retry_after`` from the header, after the SDK's
own three retries), ``ServiceError`` (5xx), ``ApiError`` for any other status
(400: a bad argument, a pod index asked to ``list``, a document index asked
for vectors, a pagination token the server no longer accepts),
``PineconeConnectionError``/``PineconeTimeoutError`` when nothing answers, and
``PineconeValueError`` for arguments it refuses before sending.
"""

from __future__ import annotations

from enum import Enum

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    AUTH_FAILED = 1
    INDEX_NOT_FOUND = 2
    DOCUMENT_INDEX = 3
    RATE_LIMITED = 4
    INCOMPLETE_NAMESPACE = 5
    TOKEN_REJECTED = 6
    POD_ENUMERATION = 7
    CONNECT_FAILED = 8
    INVALID_PARAM = 9
    METADATA_TYPE = 10
    SERVER_RESPONSE_FAILED = 11
    NAMESPACE_NOT_FOUND = 12


_EXIT = {
    Code.AUTH_FAILED: ExitCode.CONNECTION,
    Code.CONNECT_FAILED: ExitCode.CONNECTION,
    Code.INDEX_NOT_FOUND: ExitCode.INVALID_CONFIG,
    Code.NAMESPACE_NOT_FOUND: ExitCode.INVALID_CONFIG,
    Code.INVALID_PARAM: ExitCode.INVALID_CONFIG,
    Code.POD_ENUMERATION: ExitCode.INVALID_CONFIG,
    Code.DOCUMENT_INDEX: ExitCode.SCHEMA,
    Code.METADATA_TYPE: ExitCode.SCHEMA,
}

_HINTS = {
    Code.AUTH_FAILED: "check 'api_key' (a key of the project that holds the index; ${PINECONE_API_KEY} keeps it "
    "out of the job file)",
    Code.INDEX_NOT_FOUND: "check 'index' (the index name, as `pc.list_indexes()` shows it) or 'host'",
    Code.RATE_LIMITED: "the run retries rate limits itself; if it still fails, lower env.parallelism or "
    "'concurrency', or raise 'max_retries'",
    Code.INCOMPLETE_NAMESPACE: "run again (a live index's stats lag its writes by seconds); if writes continue "
    "during the copy, allow the difference with 'count_tolerance'",
    Code.TOKEN_REJECTED: "run again: the namespace is read from its start",
    Code.POD_ENUMERATION: "a pod-based index cannot list its ids: give 'ids_file' (one id per line), or migrate "
    "the index to serverless first",
    Code.CONNECT_FAILED: "check 'host'/'controller_host' and the network; the run retries a dropped connection",
}


class PineconeError(CatalogError):
    prefix = "PINECONE"
    exits = _EXIT
    hints = _HINTS


def wrap(exc: BaseException, what: str, where: str) -> PineconeError:
    """Map a pinecone-client exception to a coded error; the caller raises it ``from None``.

    ``what`` is the operation ("listing namespace 'a'"), ``where`` the index (never the key).
    """
    if isinstance(exc, PineconeError):
        return exc
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    detail = _detail(exc)
    if status in (401, 403):
        return PineconeError(Code.AUTH_FAILED, f"{where} refused the API key while {what} ({detail})")
    if status == 404:
        return PineconeError(Code.INDEX_NOT_FOUND, f"{where} does not exist ({detail})")
    if status == 429:
        err = PineconeError(Code.RATE_LIMITED, f"{where} kept rate limiting while {what} ({detail})", transient=True)
        err.retry_after = getattr(exc, "retry_after", None)  # type: ignore[attr-defined]
        return err
    if name in ("PineconeConnectionError", "PineconeTimeoutError") or isinstance(exc, ConnectionError | TimeoutError):
        return PineconeError(Code.CONNECT_FAILED, f"cannot reach {where} while {what} ({detail})", transient=True)
    if status == 400 and "pagination" in detail.lower() and "token" in detail.lower():
        return PineconeError(Code.TOKEN_REJECTED, f"{where} no longer accepts the pagination token while {what}")
    if name in ("PineconeValueError", "PineconeTypeError"):
        return PineconeError(Code.INVALID_PARAM, f"{what}: {detail}", hint="check the source options")
    transient = status is not None and (status >= 500 or status == 408)
    return PineconeError(Code.SERVER_RESPONSE_FAILED, f"{what} on {where} failed: {detail}", transient=transient)


def _detail(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    text = " ".join(str(message).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"HTTP {status}: {text}" if status is not None else f"{type(exc).__name__}: {text}"
