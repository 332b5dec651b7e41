"""Opening chromadb where it runs (driver or worker).

A folder (``path``): chromadb 1.x keeps everything in ``chroma.sqlite3`` plus one
HNSW folder per collection, takes **no** lock of its own, and caches one client
system per folder per process, so every reader thread may call
``PersistentClient`` and share it. Two things it does badly for a migration
tool, handled here before chromadb opens the folder:

- a missing folder is created (empty): a typo would migrate nothing, so a
  folder without ``chroma.sqlite3`` is refused;
- a folder whose database another process holds locked (a write transaction,
  a backup tool) makes chromadb wait up to its busy timeout of 1000 s per
  statement: a read-only probe with ``lock_timeout`` turns that into
  CHROMA-04.

A server (``url``): ``HttpClient`` per caller, closed with the generator.
Telemetry is off in both: a migration must not phone home. A folder is
never migrated to a newer chromadb schema: a source is read, not changed.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from vts.connectors.chroma.errors import ChromaError, Code, wrap
from vts.connectors.chroma.options import ChromaOptions

DB_FILE = "chroma.sqlite3"


@contextmanager
def connect(options: ChromaOptions) -> Iterator[Any]:
    """A chromadb client for the options' folder or server."""
    if options.path:
        folder = _checked_folder(options)
        yield call(options, "opening the folder", _persistent, folder, options)
        return
    client = call(options, "connecting", _http, options)
    try:
        yield client
    finally:
        with suppress(Exception):
            client.close()


def _settings() -> Any:
    from chromadb.config import Settings

    # "validate": a folder of an older Chroma is refused (CHROMA-11) rather than migrated in place
    return Settings(anonymized_telemetry=False, allow_reset=False, migrations="validate")


def _persistent(folder: str, options: ChromaOptions) -> Any:
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient

    # chromadb keeps one system per folder per process and refuses a second client with other settings
    # ("An instance of Chroma already exists ... with different settings"): a program that opened the
    # folder before running vts in-process has its settings reused rather than failing the job.
    existing = SharedSystemClient._identifier_to_system.get(folder)
    settings = existing.settings if existing is not None else _settings()
    return chromadb.PersistentClient(path=folder, settings=settings, tenant=options.tenant, database=options.database)


def _http(options: ChromaOptions) -> Any:
    import chromadb

    parts = urlsplit(options.url or "")
    https = parts.scheme == "https"
    return chromadb.HttpClient(
        host=parts.hostname or "localhost",
        port=parts.port or (443 if https else 8000),
        ssl=https,
        headers=dict(options.headers),
        tenant=options.tenant,
        database=options.database,
        settings=_settings(),
    )


def _checked_folder(options: ChromaOptions) -> str:
    folder = os.path.realpath(os.path.expanduser(options.path or ""))
    if not os.path.isdir(folder):
        raise ChromaError(
            Code.PATH_NOT_FOUND,
            f"Chroma folder {options.path} does not exist",
            hint="set 'path' to the folder given to chromadb.PersistentClient(path=...)",
        )
    db = os.path.join(folder, DB_FILE)
    if not os.path.isfile(db):
        raise ChromaError(
            Code.PATH_NOT_FOUND,
            f"{options.path} is not a Chroma folder (no {DB_FILE} in it)",
            hint="set 'path' to the folder given to chromadb.PersistentClient(path=...); for a server use 'url'",
        )
    _probe(db, options)
    return folder


def _probe(db: str, options: ChromaOptions) -> None:
    """Take and release a shared lock on the database, waiting at most ``lock_timeout``."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=options.lock_timeout)
    except sqlite3.Error as exc:
        raise ChromaError(
            Code.PATH_NOT_FOUND, f"cannot open {db}: {exc}", hint="check the folder's permissions"
        ) from None
    try:
        con.execute("BEGIN")
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        con.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise ChromaError(
                Code.FOLDER_LOCKED,
                f"{options.where()}: its database is locked by another process "
                f"(still after {options.lock_timeout:g} s)",
                hint="stop the program writing to the folder (or wait for it), then run again; "
                "'lock_timeout' sets how long to wait",
            ) from None
        raise ChromaError(
            Code.PATH_NOT_FOUND, f"{db} is not a readable Chroma database: {exc}", hint="check 'path'"
        ) from None
    except sqlite3.DatabaseError as exc:
        raise ChromaError(
            Code.PATH_NOT_FOUND, f"{db} is not a readable Chroma database: {exc}", hint="check 'path'"
        ) from None
    finally:
        con.close()


def collection(client: Any, options: ChromaOptions, name: str) -> Any:
    """The named collection, without an embedding function (vts reads stored embeddings only)."""
    try:
        return client.get_collection(name, embedding_function=None)
    except Exception as exc:
        raise wrap(exc, f"opening collection '{name}'", options.where(), name) from None


def call(options: ChromaOptions, what: str, fn: Any, *args: Any, collection: str | None = None, **kw: Any) -> Any:
    """Run a chromadb call; its exceptions become coded errors."""
    try:
        return fn(*args, **kw)
    except ChromaError:
        raise
    except Exception as exc:
        raise wrap(exc, what, options.where(), collection) from None
