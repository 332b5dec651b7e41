"""Finding and opening Lance datasets, where they run (driver or worker).

The table list comes from ``lancedb.connect(uri).list_tables()``; every table is
then read through ``lance`` itself (pylance), the library that exposes a
table's fragments and reads one version of it. Readers open the version the
splits were cut at (``lance.dataset(uri, version=v)``), so rows written to the table
during the migration are neither read nor able to shift a split.
"""

from __future__ import annotations

import os
from typing import Any

from vts.connectors.lancedb.errors import Code, LanceDBError, wrap
from vts.connectors.lancedb.options import LanceDBOptions


def table_uris(options: LanceDBOptions) -> dict[str, str]:
    """Table name -> dataset URI, for the tables the job reads."""
    if options.local:
        path = options.uri.removeprefix("file://")
        if not os.path.isdir(os.path.expanduser(path)):
            raise LanceDBError(
                Code.PATH_NOT_FOUND,
                f"{options.where()} does not exist",
                hint="set 'uri' to the folder given to lancedb.connect() (or a .lance dataset folder)",
            )
    base = options.uri.rstrip("/")
    if options.single_dataset:
        name = os.path.basename(base).removesuffix(".lance")
        return {name: _local(base)}
    names = _names(options)
    if options.tables:
        missing = [t for t in options.tables if t not in names]
        if missing:
            raise LanceDBError(
                Code.TABLE_NOT_FOUND,
                f"table(s) {missing} do not exist in {options.where()} (it holds {sorted(names)})",
                hint="check 'tables' (leave it out to read every table of the database)",
            )
        names = list(options.tables)
    elif not names:
        raise LanceDBError(
            Code.NO_TABLES,
            f"{options.where()} holds no tables",
            hint="set 'uri' to the folder given to lancedb.connect(), or to a .lance dataset",
        )
    return {n: _local(f"{base}/{n}.lance") for n in sorted(names)}


def _local(uri: str) -> str:
    return (
        os.path.abspath(os.path.expanduser(uri.removeprefix("file://")))
        if "://" not in uri or uri.startswith("file://")
        else uri
    )


def _names(options: LanceDBOptions) -> list[str]:
    import lancedb

    try:
        db = lancedb.connect(options.uri, storage_options=dict(options.storage_options) or None)
        names: list[str] = []
        token = None
        while True:
            page = db.list_tables(page_token=token)
            names += list(page.tables)
            token = page.page_token
            if not token:
                return names
    except LanceDBError:
        raise
    except Exception as exc:
        raise wrap(exc, "listing tables", options.where()) from None


def open_dataset(options: LanceDBOptions, table: str, uri: str, version: int | None = None) -> Any:
    import lance

    try:
        return lance.dataset(uri, version=version, storage_options=dict(options.storage_options) or None)
    except Exception as exc:
        if version is None and options.single_dataset and "not found" in str(exc).lower():
            raise LanceDBError(
                Code.PATH_NOT_FOUND,
                f"{options.where()} is not a Lance dataset ({_first_line(exc)})",
                hint="set 'uri' to a folder written by lance/lancedb (it holds _versions/)",
            ) from None
        raise wrap(exc, f"opening table '{table}'", options.where(), table) from None


def _first_line(exc: BaseException) -> str:
    return str(exc).split(",")[0]
