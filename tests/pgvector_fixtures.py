"""Fixtures and helpers for the pgvector tests: one PostgreSQL + pgvector per session.

Make the fixtures visible in a test module with::

    from tests import pgvector_fixtures
    pg, pg_url = pgvector_fixtures.pg, pgvector_fixtures.pg_url
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.services.postgres import PostgresServer

psycopg = pytest.importorskip("psycopg", reason="the pgvector extra is not installed (pip install 'vts[pgvector]')")


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    """A PostgreSQL with the vector extension created, on 127.0.0.1, for the whole session."""
    try:
        server = PostgresServer().start()
    except (RuntimeError, ImportError) as exc:  # binaries missing: say how to install them
        pytest.fail(f"cannot start PostgreSQL ({exc}); run: bash tests/services/install_postgres.sh")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url(pg: PostgresServer) -> str:
    return pg.url


LOGICAL = {"wal_level": "logical", "max_replication_slots": "8", "max_wal_senders": "8"}


@pytest.fixture(scope="session")
def pg_logical() -> Iterator[PostgresServer]:
    """A second PostgreSQL, with logical decoding on, for change data capture (the other one has it off)."""
    try:
        server = PostgresServer(settings=LOGICAL).start()
    except (RuntimeError, ImportError) as exc:
        pytest.fail(f"cannot start PostgreSQL ({exc}); run: bash tests/services/install_postgres.sh")
    try:
        yield server
    finally:
        server.stop()


def execute(url: str, *statements: str | tuple[str, Any], autocommit: bool = False) -> None:
    """Run statements in one transaction (``autocommit``: each on its own, as ALTER SYSTEM needs)."""
    with psycopg.connect(url, autocommit=autocommit) as conn:
        for s in statements:
            if isinstance(s, tuple):
                conn.execute(s[0], s[1])
            else:
                conn.execute(s)


def fetch(url: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def unique(prefix: str) -> str:
    """A fresh table/collection name (tests share one server and may share a Milvus)."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
