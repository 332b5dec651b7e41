"""QDRANT-01.. and the one place that maps qdrant-client exceptions to them.

qdrant-client raises, depending on the transport:

- REST: ``UnexpectedResponse`` (``status_code``, body) for an HTTP error
  answer; ``ResponseHandlingException`` wrapping an httpx error when nothing
  answers (refused, DNS, timeout).
- gRPC: ``grpc.RpcError`` with a status code (NOT_FOUND, UNAUTHENTICATED,
  PERMISSION_DENIED, UNAVAILABLE, DEADLINE_EXCEEDED...).
- local mode: ``ValueError("Collection x not found")`` and
  ``RuntimeError("Storage folder ... is already accessed by another instance")``.

A Qdrant server with an API key answers a missing key with 401 and a wrong one
with 401 or 403 (older servers: 403 for both), the body being plain text
such as "Invalid API key or JWT".
"""

from __future__ import annotations

from enum import Enum

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    CONNECT_FAILED = 1
    AUTH_FAILED = 2
    COLLECTION_NOT_FOUND = 3
    VECTOR_NOT_FOUND = 4
    NOT_SUPPORT_TYPE = 5
    READ_DATA_FAIL = 6
    INVALID_PARAM = 7
    STORAGE_LOCKED = 8
    PAYLOAD_CONFLICT = 9
    NO_COLLECTIONS = 10
    SERVER_RESPONSE_FAILED = 11


_EXIT = {
    Code.CONNECT_FAILED: ExitCode.CONNECTION,
    Code.AUTH_FAILED: ExitCode.CONNECTION,
    Code.STORAGE_LOCKED: ExitCode.CONNECTION,
    Code.VECTOR_NOT_FOUND: ExitCode.INVALID_CONFIG,
    Code.INVALID_PARAM: ExitCode.INVALID_CONFIG,
    Code.NOT_SUPPORT_TYPE: ExitCode.SCHEMA,
    Code.PAYLOAD_CONFLICT: ExitCode.SCHEMA,
}


class QdrantError(CatalogError):
    prefix = "QDRANT"
    exits = _EXIT


_GRPC_AUTH = ("UNAUTHENTICATED", "PERMISSION_DENIED")
_GRPC_DOWN = ("UNAVAILABLE", "DEADLINE_EXCEEDED")


def wrap(exc: BaseException, what: str, where: str, collection: str | None = None) -> QdrantError:
    """Map a qdrant-client exception to a coded error; the caller raises it ``from None``.

    ``what`` is the operation ("reading collection x"), ``where`` the source
    (a URL or folder, never the key).
    """
    if isinstance(exc, QdrantError):
        return exc
    status = getattr(exc, "status_code", None)
    grpc_code = _grpc_code(exc)
    detail = _detail(exc)
    low = detail.lower()
    if status in (401, 403) or grpc_code in _GRPC_AUTH:
        return QdrantError(
            Code.AUTH_FAILED,
            f"{where} refused the credentials while {what} ({detail})",
            hint="check 'api_key' (Qdrant Cloud: a key of this cluster with read access)",
        )
    if (status == 404 or grpc_code == "NOT_FOUND" or ("collection" in low and "not found" in low)) and collection:
        return QdrantError(
            Code.COLLECTION_NOT_FOUND,
            f"collection '{collection}' does not exist on {where}",
            hint="check 'collection_name'/'collections' (leave both out to read every collection)",
        )
    if "already accessed by another instance" in low:
        return QdrantError(
            Code.STORAGE_LOCKED,
            f"{where} is open in another process (local mode allows one process per folder)",
            hint="stop the other program using the folder, or serve the data with a Qdrant server",
        )
    if "not existing vector name" in low:
        return QdrantError(Code.VECTOR_NOT_FOUND, f"{what}: {detail}", hint="check 'vectors'")
    if _unreachable(exc) or grpc_code in _GRPC_DOWN:
        return QdrantError(
            Code.CONNECT_FAILED,
            f"cannot reach Qdrant at {where} while {what} ({detail})",
            hint="check 'url' or 'host'/'port' (REST 6333, gRPC 6334 with prefer_grpc) and that the server runs",
            transient=True,  # mid-run, a dropped connection is retried from the split's last position
        )
    transient = (status is not None and status >= 500) or status == 429 or grpc_code == "RESOURCE_EXHAUSTED"
    return QdrantError(Code.SERVER_RESPONSE_FAILED, f"{what} on {where} failed: {detail}", transient=transient)


def _grpc_code(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    if callable(code):
        try:
            value = code()
        except Exception:
            return None
        return getattr(value, "name", None)
    return None


def _unreachable(exc: BaseException) -> bool:
    """Nothing answered, or the connection broke: qdrant-client wraps every httpx transport error (refused,
    reset, timed out) in ResponseHandlingException; a bare socket error is the same thing."""
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    if names & {"ResponseHandlingException", "ConnectError", "ConnectTimeout", "ReadTimeout", "ReadError"}:
        return True
    return any(isinstance(e, ConnectionError | TimeoutError) for e in chain)


def _chain(exc: BaseException) -> list[BaseException]:
    out, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        out.append(current)
        inner = getattr(current, "source", None)
        current = inner if isinstance(inner, BaseException) else (current.__cause__ or current.__context__)
    return out


def _detail(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    if status is not None:
        content = getattr(exc, "content", b"")
        body = content.decode(errors="replace") if isinstance(content, bytes) else str(content)
        return f"HTTP {status}: {_short(body)}" if body else f"HTTP {status}"
    details = getattr(exc, "details", None)
    if callable(details):
        try:
            return _short(str(details()))
        except Exception:
            pass
    inner = getattr(exc, "source", None)
    if isinstance(inner, BaseException):
        return _short(f"{type(inner).__name__}: {inner}")
    return _short(str(exc) or type(exc).__name__)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
