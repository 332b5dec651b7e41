"""Which connector errors are transient: the engine retries a split only for errors marked so.

Each connector classifies its client's exceptions in its one ``wrap``: a
dropped or refused connection, a server unavailable or not answering in
time, and a rate limit may pass on a later try (transient); wrong input,
missing objects and refused credentials never do. Where a real client can
produce the exception here (nothing listening on a port), it does.
"""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import psycopg
import pytest
from psycopg import errors as pge
from pymilvus.exceptions import MilvusException, MilvusUnavailableException, ParamError
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from tests.conftest import free_port
from vts.connectors.milvus import errors as milvus
from vts.connectors.pgvector import errors as pgvector
from vts.connectors.qdrant import errors as qdrant


class RpcError(grpc.RpcError):
    """What grpc raises for a failed call: a status code and details."""

    def __init__(self, status: grpc.StatusCode, details: str) -> None:
        super().__init__(f"<_InactiveRpcError: status = {status}, details = {details!r}>")
        self._status, self._details = status, details

    def code(self) -> grpc.StatusCode:
        return self._status

    def details(self) -> str:
        return self._details


def _from(outer: BaseException, inner: BaseException) -> BaseException:
    """``outer`` raised ``from inner``, as pymilvus wraps gRPC errors."""
    outer.__cause__ = inner
    return outer


# -- Milvus -------------------------------------------------------------------------------------

MILVUS_TRANSIENT = {
    "rate limited": MilvusException(code=8, message="rate limit exceeded[rate=1000]"),
    "unavailable": RpcError(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses"),
    "deadline exceeded": RpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"),
    "wrapped deadline": _from(
        MilvusException(message="rpc failed"), RpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
    ),
    "connection reset": MilvusException(code=2, message="UNAVAILABLE: connection reset by peer"),
    "socket reset": ConnectionResetError(104, "Connection reset by peer"),
    "server unavailable": MilvusUnavailableException(message="server unavailable"),
    "server says retriable": MilvusException(code=65535, message="channel checkpoint lag", retriable=True),
}
MILVUS_FINAL = {
    "bad input": ParamError(message="invalid dimension"),
    "collection missing": MilvusException(code=100, message="collection not found[collection=c]"),
    "message too large": RpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "received message larger than max (9 vs. 4)"),
    "refused credentials": _from(
        MilvusException(message="Fail connecting to server"), RpcError(grpc.StatusCode.UNAVAILABLE, "Unauthenticated")
    ),
}


@pytest.mark.parametrize("exc", MILVUS_TRANSIENT.values(), ids=MILVUS_TRANSIENT.keys())
def test_milvus_errors_a_retry_may_cure_are_transient(exc: BaseException) -> None:
    err = milvus.wrap(exc, milvus.Code.WRITE_DATA_FAIL, "writing 10 row(s) to c")
    assert err.transient and err.code == "MILVUS-17"


@pytest.mark.parametrize("exc", MILVUS_FINAL.values(), ids=MILVUS_FINAL.keys())
def test_milvus_errors_a_retry_cannot_cure_are_not_transient(exc: BaseException) -> None:
    assert not milvus.wrap(exc, milvus.Code.WRITE_DATA_FAIL, "writing 10 row(s) to c").transient


def test_a_milvus_server_nothing_listens_for_is_a_transient_connection_error() -> None:
    from vts.connectors.milvus.connection import ConnectionOptions, connect

    with pytest.raises(milvus.MilvusError) as info:
        connect(ConnectionOptions(url=f"http://127.0.0.1:{free_port()}", timeout=1))
    assert info.value.code == "MILVUS-16" and info.value.transient


# -- Qdrant -------------------------------------------------------------------------------------


def _http(status: int, body: bytes = b"") -> UnexpectedResponse:
    return UnexpectedResponse(status_code=status, reason_phrase="", content=body, headers=httpx.Headers())


QDRANT_TRANSIENT = {
    "unreachable (REST)": ResponseHandlingException(httpx.ConnectError("All connection attempts failed")),
    "reset (REST)": ResponseHandlingException(httpx.ReadError("[Errno 104] Connection reset by peer")),
    "timed out (REST)": ResponseHandlingException(httpx.ReadTimeout("timed out")),
    "socket reset": ConnectionResetError(104, "Connection reset by peer"),
    "HTTP 503": _http(503, b"service unavailable"),
    "HTTP 429": _http(429, b"too many requests"),
    "unavailable (gRPC)": RpcError(grpc.StatusCode.UNAVAILABLE, "Socket closed"),
    "deadline exceeded (gRPC)": RpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"),
    "rate limited (gRPC)": RpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "rate limit"),
}
QDRANT_FINAL = {
    "HTTP 400": _http(400, b'{"status": {"error": "Bad request: wrong input"}}'),
    "HTTP 401": _http(401, b"Invalid API key or JWT"),
    "collection missing": _http(404, b"Collection `c` doesn't exist!"),
    "bad argument (gRPC)": RpcError(grpc.StatusCode.INVALID_ARGUMENT, "wrong input"),
    "folder locked": RuntimeError("Storage folder ./q is already accessed by another instance of Qdrant client"),
}


@pytest.mark.parametrize("exc", QDRANT_TRANSIENT.values(), ids=QDRANT_TRANSIENT.keys())
def test_qdrant_errors_a_retry_may_cure_are_transient(exc: BaseException) -> None:
    assert qdrant.wrap(exc, "reading collection c", "http://q:6333", "c").transient


@pytest.mark.parametrize("exc", QDRANT_FINAL.values(), ids=QDRANT_FINAL.keys())
def test_qdrant_errors_a_retry_cannot_cure_are_not_transient(exc: BaseException) -> None:
    assert not qdrant.wrap(exc, "reading collection c", "http://q:6333", "c").transient


def test_a_qdrant_server_nothing_listens_for_is_a_transient_connection_error() -> None:
    from qdrant_client import QdrantClient

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(Exception) as info:
        QdrantClient(url=url, timeout=2, check_compatibility=False).get_collections()
    err = qdrant.wrap(info.value, "listing collections", url)
    assert err.code == "QDRANT-01" and err.transient


# -- pgvector -----------------------------------------------------------------------------------

PG_TRANSIENT: dict[str, Any] = {
    "server shutting down": pge.AdminShutdown("terminating connection due to administrator command"),
    "server starting": pge.CannotConnectNow("the database system is starting up"),
    "out of connections": pge.TooManyConnections("sorry, too many clients already"),
    "statement timeout": pge.QueryCanceled("canceling statement due to statement timeout"),
    "deadlock": pge.DeadlockDetected("deadlock detected"),
    "serialization failure": pge.SerializationFailure("could not serialize access"),
    "connection lost": psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
    "socket reset": ConnectionResetError(104, "Connection reset by peer"),
}
PG_FINAL: dict[str, Any] = {
    "wrong password": pge.InvalidPassword('password authentication failed for user "u"'),
    "table missing": pge.UndefinedTable('relation "t" does not exist'),
    "bad SQL": pge.SyntaxError('syntax error at or near "FORM"'),
    "bad data": pge.InvalidTextRepresentation("invalid input syntax for type integer"),
    "not allowed": pge.InsufficientPrivilege("permission denied for table t"),
}


@pytest.mark.parametrize("exc", PG_TRANSIENT.values(), ids=PG_TRANSIENT.keys())
def test_pgvector_errors_a_retry_may_cure_are_transient(exc: BaseException) -> None:
    assert pgvector.wrap(exc, "reading 't' failed", where="t").transient


@pytest.mark.parametrize("exc", PG_FINAL.values(), ids=PG_FINAL.keys())
def test_pgvector_errors_a_retry_cannot_cure_are_not_transient(exc: BaseException) -> None:
    assert not pgvector.wrap(exc, "reading 't' failed", where="t").transient


def test_a_deadlock_is_not_reported_as_a_connection_problem() -> None:
    err = pgvector.wrap(pge.DeadlockDetected("deadlock detected"), "reading 't' failed", where="t")
    assert err.code == "PGVECTOR-09" and "check 'url'" not in (err.hint or "")


def test_a_postgres_server_nothing_listens_for_is_a_transient_connection_error() -> None:
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(host="127.0.0.1", port=free_port(), user="u", dbname="d", connect_timeout=2)
    err = pgvector.wrap(info.value, "cannot connect at 127.0.0.1")
    assert err.code == "PGVECTOR-01" and err.transient
