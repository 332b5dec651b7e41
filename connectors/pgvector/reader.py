"""Worker side: read one split with binary COPY straight into Arrow batches.

A reader opens its own connection, runs one ``COPY (SELECT ...) TO STDOUT
(FORMAT BINARY)`` per split (per block chunk in ``ctid`` mode) and yields a
batch every ``batch_size`` rows with the position just after it:

- ``key`` mode: the last key read; resuming reads ``key > position``.
- ``ctid`` mode: the next heap block; resuming reads from that block.
- ``stream`` mode: rows delivered so far; resuming skips that many rows.

COPY takes no bind parameters, so bounds are inlined as literals quoted by
psycopg and cast back to the column's type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from vts.connectors.pgvector.connection import connect
from vts.connectors.pgvector.errors import PgvectorError, wrap
from vts.connectors.pgvector.options import PgvectorOptions
from vts.connectors.pgvector.types import ColumnMapping
from vts.connectors.pgvector.wire import BatchBuilder
from vts.schema import TableSchema

MAX_CHUNK_BLOCKS = 1 << 20


def column_mappings(table: TableSchema) -> list[ColumnMapping]:
    return [ColumnMapping(f, f.params.get("pg_cast"), f.params["pg_decoder"]) for f in table.fields]


def select_list(table: TableSchema) -> str:
    from psycopg import sql

    out = []
    for f in table.fields:
        ident = sql.Identifier(f.name).as_string(None)
        cast = f.params.get("pg_cast")
        out.append(f"{ident}::{cast} AS {ident}" if cast else ident)
    return ", ".join(out)


def where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(f"({c})" for c in conditions) if conditions else ""


def key_literal(conn: Any, key: list[dict[str, Any]], values: list[Any]) -> tuple[str, str]:
    """('(k1, k2)', '(v1::t1, v2::t2)') for a row comparison on the key."""
    from psycopg import sql

    cols, vals = [], []
    for k, v in zip(key, values, strict=True):
        cols.append(sql.Identifier(k["name"]).as_string(conn))
        lit = sql.Literal(v).as_string(conn)
        vals.append(lit if k["int"] else f"{lit}::{k['sqltype']}")
    if len(cols) == 1:
        return cols[0], vals[0]
    return f"({', '.join(cols)})", f"ROW({', '.join(vals)})"


def read_split(
    options: PgvectorOptions, spec: dict[str, Any], table: TableSchema, position: Any
) -> Iterator[tuple[pa.RecordBatch, Any]]:
    builder = BatchBuilder(column_mappings(table), table.arrow_schema())
    select = select_list(table)
    with connect(options, f"read '{table.name}'") as conn:
        try:
            if spec["mode"] == "key":
                yield from _read_key(conn, options, spec, table, select, builder, position)
            elif spec["mode"] == "ctid":
                yield from _read_ctid(conn, options, spec, select, builder, position)
            else:
                yield from _read_stream(conn, options, spec, select, builder, position)
        except PgvectorError:
            raise
        except Exception as exc:
            import psycopg

            if not isinstance(exc, psycopg.Error):
                raise
            raise wrap(exc, f"reading '{table.name}' failed", where=table.name) from None


def _copy(conn: Any, query: str, builder: BatchBuilder, batch_size: int) -> Iterator[pa.RecordBatch]:
    builder.start_copy()
    with conn.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
        for msg in copy:
            builder.add(msg)
            if builder.rows >= batch_size:
                yield builder.build()
    if builder.rows:
        yield builder.build()


def _read_key(
    conn: Any,
    o: PgvectorOptions,
    spec: dict[str, Any],
    table: TableSchema,
    select: str,
    builder: BatchBuilder,
    position: Any,
) -> Iterator[tuple[pa.RecordBatch, Any]]:
    key = spec["key"]
    conds = list(spec["conditions"])
    if position is not None:
        cols, vals = key_literal(conn, key, position)
        conds.append(f"{cols} > {vals}")
    elif spec["lo"] is not None:
        cols, vals = key_literal(conn, key, spec["lo"])
        conds.append(f"{cols} >= {vals}")
    if spec["hi"] is not None:
        cols, vals = key_literal(conn, key, spec["hi"])
        conds.append(f"{cols} < {vals}")
    from psycopg import sql

    order = ", ".join(sql.Identifier(k["name"]).as_string(conn) for k in key)
    query = f"SELECT {select} FROM {spec['source']}{where(conds)} ORDER BY {order}"
    names = [k["name"] for k in key]
    for batch in _copy(conn, query, builder, o.batch_size):
        yield batch, [batch.column(n)[-1].as_py() for n in names]


def _read_ctid(
    conn: Any, o: PgvectorOptions, spec: dict[str, Any], select: str, builder: BatchBuilder, position: Any
) -> Iterator[tuple[pa.RecordBatch, Any]]:
    block = int(position) if position is not None else spec["lo"]
    hi = spec["hi"]
    if hi is None:  # the last split reads up to the table's end as it is now
        hi = int(
            conn.execute(
                "SELECT pg_relation_size(%s::oid) / current_setting('block_size')::int", [spec["oid"]]
            ).fetchone()[0]
        )
    step = max(1, int(spec.get("blocks_per_batch") or 1))
    while block < hi:
        end = min(block + step, hi)
        conds = [f"ctid >= '({block},0)'::tid", f"ctid < '({end},0)'::tid", *spec["conditions"]]
        # a chunk is one batch: its position (the next block) is only true at its end
        batches = list(_copy(conn, f"SELECT {select} FROM {spec['source']}{where(conds)}", builder, 1 << 62))
        rows = sum(b.num_rows for b in batches)
        block = end
        if rows:
            yield batches[0], block
            step = max(1, min(MAX_CHUNK_BLOCKS, int(step * o.batch_size / rows)))
        else:
            step = min(MAX_CHUNK_BLOCKS, step * 2)


def _read_stream(
    conn: Any, o: PgvectorOptions, spec: dict[str, Any], select: str, builder: BatchBuilder, position: Any
) -> Iterator[tuple[pa.RecordBatch, Any]]:
    done = int(position or 0)
    builder.skip = done
    query = f"SELECT {select} FROM {spec['source']}{where(spec['conditions'])}"
    for batch in _copy(conn, query, builder, o.batch_size):
        done += batch.num_rows
        yield batch, done
