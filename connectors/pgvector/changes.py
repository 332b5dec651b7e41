"""Worker side of change data capture: the stream split, reading its replication slot by SQL polling.

Each poll peeks (never consumes) the committed transactions the slot holds
up to the WAL position read just before it, decodes them (``pgoutput.py``),
skips those the checkpointed position already covers, and yields them as
one changelog batch (:data:`vts.connector.OP_COLUMN`) with the position just
after the last of them. The slot itself only moves when the driver
acknowledges a checkpointed position (``slot.advance``), so a crash re-reads
from the checkpoint and never skips a change.

Rows are not rebuilt from the WAL's text values: an upserted key's row is
read back from the table with the batch reader's binary COPY, so values are
converted exactly as the snapshot converts them and a vector stored out of
line (TOAST) that an UPDATE left unchanged — which pgoutput does not send —
is written as the table holds it, never as null. A key whose row is gone by
then (a later change deleted it, or it no longer meets ``where``) is written
as a delete. The target may so run ahead of the transaction being applied,
never behind the slot's position, and reaches the table's state once the
stream has caught up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from vts.connector import OP_COLUMN, OP_DELETE, OP_UPSERT
from vts.connectors.pgvector import pgoutput, slot
from vts.connectors.pgvector.connection import connect
from vts.connectors.pgvector.errors import Code, PgvectorError, wrap
from vts.connectors.pgvector.options import PgvectorOptions
from vts.connectors.pgvector.reader import column_mappings, select_list, where
from vts.connectors.pgvector.wire import BatchBuilder
from vts.schema import TableSchema

log = logging.getLogger("vts")
_PEEK = (
    "SELECT lsn::text, data FROM pg_logical_slot_peek_binary_changes("
    "%s, %s::pg_lsn, NULL, 'proto_version', '1', 'publication_names', %s)"
)


def read_changes(
    options: PgvectorOptions, spec: dict[str, Any], table: TableSchema, position: Any
) -> Iterator[tuple[pa.RecordBatch, Any]]:
    at = None if position is None else pgoutput.lsn_int(position["lsn"])
    keys = [k["name"] for k in spec["key"]]
    with connect(options, f"stream the changes of '{table.name}'", writable=True) as conn:
        while True:
            started = time.monotonic()
            try:
                polled = _poll(conn, spec)
                if polled is None:  # the driver is advancing the slot this very moment; look again
                    time.sleep(options.poll_interval)
                    continue
                upto, txns = polled
                if at is not None:
                    txns = [t for t in txns if t.end_lsn > at]
                latest = _latest_ops(txns, spec["oid"], keys)
                decoded = time.monotonic()
                batch = _batch(conn, options, spec, table, latest)
                if txns:
                    log.debug(
                        "%s: %d transaction(s), %d key(s): decoded in %.2fs, rows read back in %.2fs",
                        table.name,
                        len(txns),
                        len(latest),
                        decoded - started,
                        time.monotonic() - decoded,
                    )
            except PgvectorError:
                raise
            except Exception as exc:
                import psycopg

                if not isinstance(exc, psycopg.Error):
                    raise
                raise wrap(exc, f"streaming the changes of '{table.name}' failed", where=table.name) from None
            # nothing we have not applied commits before `upto`: the next run may start there
            at = max(at or 0, upto, *(t.end_lsn for t in txns))
            committed = txns[-1].committed_at.timestamp() if txns else (position or {}).get("committed_at")
            position = {"lsn": pgoutput.lsn_text(at), "committed_at": committed}
            yield batch, position
            if not txns:
                time.sleep(options.poll_interval)


def _poll(conn: Any, spec: dict[str, Any]) -> tuple[int, list[pgoutput.Transaction]] | None:
    """The slot's committed transactions up to the current WAL position, and that position; None when busy."""
    from psycopg import errors as pge

    try:
        return peek(conn, spec)
    except pge.ObjectInUse:
        return None


def peek(conn: Any, spec: dict[str, Any]) -> tuple[int, list[pgoutput.Transaction]]:
    """Decode (not consume) the slot's transactions up to the flushed WAL position; raises ObjectInUse."""
    from psycopg import errors as pge

    # flushed, not written: the slot decodes no further than the flushed WAL, so nothing before `upto` is missed
    upto = conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()[0]
    decoder, txns = pgoutput.Decoder(keys_only=True), []
    try:
        with conn.cursor() as cur:
            for _, data in cur.execute(_PEEK, [spec["slot"], upto, spec["publication"]]):
                txn = decoder.feed(data)
                if txn is not None:
                    txns.append(txn)
    except pge.UndefinedObject:
        raise PgvectorError(
            Code.SLOT_LOST,
            f"replication slot '{spec['slot']}' is gone: vts cutover dropped it (the switch is done: stop this "
            "run), or it was dropped by hand",
            hint="after a cutover, nothing is left to do; otherwise start again with vts run --fresh",
        ) from None
    return pgoutput.lsn_int(upto), txns


def pending(conn: Any, spec: dict[str, Any], position: Any) -> int:
    """Row changes of the table that the slot holds after ``position`` (the stream's backlog, exactly)."""
    at = 0 if position is None else pgoutput.lsn_int(position["lsn"])
    slot.wait_flushed(conn)  # a commit that returned before this call is counted, even an asynchronous one
    _, txns = slot.while_busy(lambda: peek(conn, spec), attempts=40, pause=0.05)  # the running stream may be peeking
    return sum(
        1 for t in txns if t.end_lsn > at for c in t.changes if isinstance(c, pgoutput.Truncate) or c.oid == spec["oid"]
    )


def _latest_ops(txns: list[pgoutput.Transaction], oid: int, keys: list[str]) -> dict[tuple, str]:
    """Each changed key's last operation in commit order (upsert or delete); a TRUNCATE deletes every key."""
    out: dict[tuple, str] = {}
    for txn in txns:
        for change in txn.changes:
            if isinstance(change, pgoutput.Truncate):
                if oid in change.oids:
                    raise PgvectorError(
                        Code.CDC_UNSUPPORTED,
                        "the table was truncated while streaming; vts cannot tell which rows the target must lose",
                        hint="start again with vts run --fresh (a new snapshot)",
                    )
                continue
            if change.oid != oid:
                continue
            if change.op == "delete":
                out[_key(change.old, keys)] = OP_DELETE
                continue
            if change.op == "update" and change.old is not None:  # the key itself changed: the old row goes
                out[_key(change.old, keys)] = OP_DELETE
            out[_key(change.new, keys)] = OP_UPSERT
    return out


def _key(values: dict[str, object] | None, keys: list[str]) -> tuple:
    assert values is not None
    return tuple(values[k] for k in keys)


def _batch(
    conn: Any, o: PgvectorOptions, spec: dict[str, Any], table: TableSchema, latest: dict[tuple, str]
) -> pa.RecordBatch:
    schema = table.arrow_schema().append(pa.field(OP_COLUMN, pa.string()))
    if not latest:
        return pa.RecordBatch.from_pylist([], schema=schema)
    upserts = [k for k, op in latest.items() if op == OP_UPSERT]
    found = _rows(conn, spec, table, upserts) if upserts else None
    present: dict[tuple, int] = {}
    if found is not None:
        names = [k["name"] for k in spec["key"]]
        cols = [found.column(n).to_pylist() for n in names]
        present = {tuple(str(v) for v in vals): i for i, vals in enumerate(zip(*cols))}
    take, ops, deleted = [], [], []
    for key, op in latest.items():
        i = present.get(key) if op == OP_UPSERT else None
        if i is None:
            deleted.append(key)
        else:
            take.append(i)
            ops.append(OP_UPSERT)
    parts = []
    if deleted:  # each key appears once, as its last change, so deletes and upserts need no interleaving
        parts.append(_deletes(table, spec, deleted))
    if take:
        rows = found.take(pa.array(take))  # type: ignore[union-attr]
        parts.append(pa.RecordBatch.from_arrays([*rows.columns, pa.array(ops, pa.string())], schema=schema))
    return pa.Table.from_batches(parts, schema=schema).combine_chunks().to_batches()[0]


def _deletes(table: TableSchema, spec: dict[str, Any], keys: list[tuple]) -> pa.RecordBatch:
    schema = table.arrow_schema().append(pa.field(OP_COLUMN, pa.string()))
    names = [k["name"] for k in spec["key"]]
    arrays = []
    for f in schema:
        if f.name == OP_COLUMN:
            arrays.append(pa.array([OP_DELETE] * len(keys), pa.string()))
        elif f.name in names:
            i = names.index(f.name)
            arrays.append(pa.array([k[i] for k in keys]).cast(f.type))
        else:
            arrays.append(pa.nulls(len(keys), f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _rows(conn: Any, spec: dict[str, Any], table: TableSchema, keys: list[tuple]) -> pa.RecordBatch:
    """The current rows of ``keys`` (text values from the WAL), converted like the snapshot's."""
    from psycopg import sql

    key = spec["key"]
    cols = ", ".join(sql.Identifier(k["name"]).as_string(conn) for k in key)
    values = ", ".join(
        "(" + ", ".join(f"{sql.Literal(v).as_string(conn)}::{k['sqltype']}" for v, k in zip(vals, key)) + ")"
        for vals in keys
    )
    conds = [*spec["conditions"], f"({cols}) IN ({values})"]
    query = f"SELECT {select_list(table)} FROM {spec['source']}{where(conds)}"
    builder = BatchBuilder(column_mappings(table), table.arrow_schema())
    builder.start_copy()
    with conn.transaction(), conn.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
        for msg in copy:
            builder.add(msg)
    return builder.build()
