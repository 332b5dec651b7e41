"""PGVECTOR-01..17, and the one place that maps psycopg exceptions to them."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import ClassVar

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    CONNECT_FAILED = (1, ExitCode.CONNECTION)
    AUTH_FAILED = (2, ExitCode.CONNECTION)
    TABLE_NOT_FOUND = (3, ExitCode.CONNECTION)
    COLUMN_NOT_FOUND = (4, ExitCode.CONNECTION)
    PERMISSION_DENIED = (5, ExitCode.CONNECTION)
    INVALID_QUERY = (6, ExitCode.INVALID_CONFIG)
    UNSUPPORTED_TYPE = (7, ExitCode.SCHEMA)
    MIXED_DIMENSIONS = (8, ExitCode.SCHEMA)
    READ_FAILED = (9, ExitCode.FAILED)
    STATE_ERROR = (10, ExitCode.FAILED)
    # change data capture (job.mode STREAMING): preflight refusals, then a slot lost between runs
    NOT_LOGICAL = (11, ExitCode.INVALID_CONFIG)
    NO_REPLICATION_RIGHT = (12, ExitCode.CONNECTION)
    NO_PRIMARY_KEY = (13, ExitCode.SCHEMA)
    NO_FREE_SLOT = (14, ExitCode.INVALID_CONFIG)
    SERVER_TOO_OLD = (15, ExitCode.INVALID_CONFIG)
    CDC_UNSUPPORTED = (16, ExitCode.INVALID_CONFIG)
    SLOT_LOST = (17, ExitCode.FAILED)


class PgvectorError(CatalogError):
    """A coded pgvector-source error; ``kind`` is the :class:`Code`."""

    prefix = "PGVECTOR"
    exits: ClassVar[Mapping[Enum, ExitCode]] = {c: c.value[1] for c in Code}


def wrap(exc: BaseException, what: str, *, where: str = "") -> PgvectorError:
    """Map a psycopg exception raised while doing ``what`` to a coded error; raise it ``from exc``.

    ``where`` names the object involved (a table, a query) for the message.
    """
    import psycopg
    from psycopg import errors as pge

    if isinstance(exc, PgvectorError):
        return exc
    detail = _detail(exc)
    low = detail.lower()
    on = f" ({where})" if where else ""
    if isinstance(exc, pge.InvalidPassword | pge.InvalidAuthorizationSpecification) or (
        "password authentication failed" in low or "no password supplied" in low or "authentication failed" in low
    ):
        return PgvectorError(
            Code.AUTH_FAILED,
            f"{what}: the server refused the credentials ({detail})",
            hint="check 'user' and 'password' (or the user:password in 'url')",
        )
    if isinstance(exc, pge.InvalidCatalogName) or ("database" in low and "does not exist" in low):
        return PgvectorError(
            Code.CONNECT_FAILED, f"{what}: {detail}", hint="check 'database' (or the database name at the end of 'url')"
        )
    if isinstance(exc, pge.UndefinedTable):
        return PgvectorError(
            Code.TABLE_NOT_FOUND, f"{what}{on}: {detail}", hint="check 'table' (schema.table) and the search_path"
        )
    if isinstance(exc, pge.UndefinedColumn):
        return PgvectorError(
            Code.COLUMN_NOT_FOUND, f"{what}{on}: {detail}", hint="check 'columns', 'where', 'primary_key' and the query"
        )
    if isinstance(exc, pge.InsufficientPrivilege):
        return PgvectorError(
            Code.PERMISSION_DENIED,
            f"{what}{on}: {detail}",
            hint="grant the user SELECT on the table (and USAGE on its schema)",
        )
    # SQLSTATE classes 42 (syntax error or access rule violation) and 22 (data exception): the user's SQL
    if (getattr(exc, "sqlstate", None) or "")[:2] in ("42", "22"):
        return PgvectorError(
            Code.INVALID_QUERY, f"{what}{on}: {detail}", hint="fix the SQL in 'query' or 'where' (test it with psql)"
        )
    # SQLSTATE class 40 (transaction rollback: serialization failure, deadlock): the next try usually passes
    if (getattr(exc, "sqlstate", None) or "")[:2] == "40":
        return PgvectorError(Code.READ_FAILED, f"{what}{on}: {detail}", transient=True)
    # OperationalError: the connection failed or broke, the server is shutting down or starting, out of
    # connections, or a statement timed out; all may pass on a later try
    if isinstance(exc, psycopg.OperationalError | ConnectionError | TimeoutError):
        if "ssl" in low or "certificate" in low:
            hint = "check 'sslmode' and the sslrootcert/sslcert/sslkey files"
        else:
            hint = "check 'url' or host/port, that PostgreSQL runs and accepts TCP connections from here"
        return PgvectorError(Code.CONNECT_FAILED, f"{what}: {detail}", hint=hint, transient=True)
    if isinstance(exc, psycopg.Error):
        return PgvectorError(Code.READ_FAILED, f"{what}{on}: {detail}", transient=False)
    return PgvectorError(Code.READ_FAILED, f"{what}{on}: {type(exc).__name__}: {detail}")


def _detail(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or str(exc) or type(exc).__name__
    # libpq's connection errors span lines ("...failed: Connection refused" / "Is the server running...")
    return " ".join(ln.strip() for ln in text.strip().splitlines() if ln.strip()) or text
