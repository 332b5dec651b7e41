"""MILVUS-01..28, VTS's catalogue, and the one place that maps
pymilvus/gRPC exceptions to it."""

from __future__ import annotations

from enum import Enum

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    SERVER_RESPONSE_FAILED = 1
    COLLECTION_NOT_FOUND = 2
    FIELD_NOT_FOUND = 3
    DESC_COLLECTION_ERROR = 4
    SHOW_COLLECTIONS_ERROR = 5
    COLLECTION_NOT_LOADED = 6
    NOT_SUPPORT_TYPE = 7
    DATABASE_NO_COLLECTIONS = 8
    SOURCE_TABLE_SCHEMA_IS_NULL = 9
    FIELD_IS_NULL = 10
    CLOSE_CLIENT_ERROR = 11
    DESC_INDEX_ERROR = 12
    CREATE_DATABASE_ERROR = 13
    CREATE_COLLECTION_ERROR = 14
    CREATE_INDEX_ERROR = 15
    INIT_CLIENT_ERROR = 16
    WRITE_DATA_FAIL = 17
    READ_DATA_FAIL = 18
    LIST_PARTITIONS_FAILED = 19
    SHOW_PARTITION_ERROR = 20
    CREATE_PARTITION_ERROR = 21
    WRITE_ERROR = 22
    COMMIT_ERROR = 23
    INIT_WRITER_ERROR = 24
    INVALID_PARAM = 25
    IMPORT_JOB_FAILED = 26
    COMPLETED_WITH_ERRORS = 27
    ERROR_ROWS_EXCEED_LIMIT = 28


_EXIT = {
    Code.INIT_CLIENT_ERROR: ExitCode.CONNECTION,
    Code.NOT_SUPPORT_TYPE: ExitCode.SCHEMA,
    Code.INVALID_PARAM: ExitCode.INVALID_CONFIG,
}

# what the writer answers by halving its batch (a message too large included) and the reader by waiting
RATE_LIMIT_MARKERS = ("rate limit exceeded", "received message larger than max", "resource_exhausted")
# a retry may cure these: the server or the network went away for a moment, or the server asked to slow down.
# Not a message too large: the same rows would be refused again.
TRANSIENT_MARKERS = (
    "unavailable",
    "connection reset",
    "connection refused",
    "deadline exceeded",
    "deadline_exceeded",
    "broken pipe",
    "socket closed",
    "rate limit exceeded",
)
_TRANSIENT_GRPC = {"UNAVAILABLE", "DEADLINE_EXCEEDED"}


_READ = "check that the server is reachable and that the token may read the database"
_RESUME = "run the same command again: it resumes from its checkpoint; if it fails again, see the Milvus server log"
_HINTS = {
    Code.SERVER_RESPONSE_FAILED: "check that the Milvus server is healthy (its log), then run again",
    Code.DESC_COLLECTION_ERROR: _READ,
    Code.SHOW_COLLECTIONS_ERROR: _READ,
    Code.LIST_PARTITIONS_FAILED: _READ,
    Code.DESC_INDEX_ERROR: _READ,
    Code.CREATE_COLLECTION_ERROR: "check that the token may create collections, and the sink's collection options",
    Code.CREATE_INDEX_ERROR: "check the sink's 'index' / 'indexes' (type, metric and params the server accepts)",
    Code.CREATE_PARTITION_ERROR: "check that the token may create partitions (and the server's partition limit)",
    Code.INIT_CLIENT_ERROR: "check 'url' and 'token', and that the server is running",
    Code.WRITE_DATA_FAIL: _RESUME,
    Code.READ_DATA_FAIL: _RESUME,
    Code.INVALID_PARAM: "fix the option named above in the job file",
    Code.IMPORT_JOB_FAILED: "see the import job in the Milvus server log; staged files are kept, run again to retry",
}


class MilvusError(CatalogError):
    prefix = "MILVUS"
    exits = _EXIT
    hints = _HINTS


def is_rate_limited(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(m in text for m in RATE_LIMIT_MARKERS)


def is_partition_missing(exc: BaseException) -> bool:
    """The server refused a write for a partition it does not know (dropped, or not seen yet by its proxy)."""
    return "partition not found" in str(exc).lower()


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes; pymilvus raises ``e from e``, so the walk guards against loops."""
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in out):
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _text(exc: BaseException) -> str:
    details = exc.details() if callable(getattr(exc, "details", None)) else ""  # grpc.RpcError
    return f"{exc} {details}".lower()


def _refused_credentials(exc: BaseException) -> bool:
    """pymilvus reports a refused login like an unreachable server; the gRPC error underneath tells them apart."""
    words = ("unauthenticated", "auth check failure", "missing authorization", "permission denied")
    return any(w in _text(e) for e in _chain(exc) for w in words)


def is_transient(exc: BaseException) -> bool:
    """Whether trying again later may succeed: the connection dropped, the server was unavailable or did not
    answer in time, or it refused the call as over its rate limit."""
    for e in _chain(exc):
        if isinstance(e, ConnectionError | TimeoutError) or type(e).__name__ == "MilvusUnavailableException":
            return True
        if getattr(e, "retriable", None) is True:  # the server's own verdict (Status.retriable), when it gives one
            return True
        # by its words, not pymilvus's error code: "rate limit exceeded" is said by every Milvus version
        if _grpc_status(e) in _TRANSIENT_GRPC or any(m in _text(e) for m in TRANSIENT_MARKERS):
            return True
    return False


def _grpc_status(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    if not callable(code):
        return None
    try:
        return getattr(code(), "name", None)
    except Exception:  # not a gRPC error after all
        return None


def wrap(exc: BaseException, code: Code, what: str, hint: str | None = None) -> MilvusError:
    """Map a client exception to a coded error; the caller raises it ``from exc``."""
    if isinstance(exc, MilvusError):
        return exc
    detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if _refused_credentials(exc):
        return MilvusError(
            Code.INIT_CLIENT_ERROR,
            f"{what}: the server refused the credentials",
            hint="check 'token' (user:password or API key)",
        )
    # Rate limits are first retried where they happen (writer halving, reader waits); when those give up, the
    # engine may still retry the split from its checkpoint, later.
    return MilvusError(code, f"{what}: {detail}", hint=hint, transient=is_transient(exc))
