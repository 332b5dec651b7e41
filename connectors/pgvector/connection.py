"""Opening connections: the only place psycopg.connect is called."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from vts.connectors.pgvector.errors import wrap
from vts.connectors.pgvector.options import PgvectorOptions


@contextmanager
def connect(options: PgvectorOptions, what: str = "connect to PostgreSQL", writable: bool = False) -> Iterator:
    """A read-only connection (``writable``: one that may manage a replication slot and publication);
    every psycopg failure on connecting becomes a PGVECTOR error."""
    import psycopg

    kw = options.conninfo()
    conninfo = kw.pop("conninfo", "")
    try:
        conn = psycopg.connect(conninfo, **kw)
    except psycopg.Error as exc:
        raise wrap(exc, f"cannot {what} at {options.server_label()}") from None
    try:
        if not writable:
            conn.read_only = True
        else:
            conn.autocommit = True
        yield conn
    finally:
        conn.close()
