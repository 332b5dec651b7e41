"""Running SQL over an Arrow batch with DuckDB, and the schema step that goes with it.

DuckDB rather than DataFusion: it reads and returns Arrow without copying,
its SQL (``json_extract``, ``regexp_replace``, ``TRY_CAST``, list functions)
covers what SeaTunnel's SQL transform offers and more, its errors tell a
statement that cannot work (parser, binder, catalog) from a value that cannot
be converted, and the wheel has no dependencies. Each worker thread keeps one
in-memory connection: connections are cheap but not free, and a transform
object holds options only.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import duckdb
import pyarrow as pa

from connectors.transforms.arrow_fields import field_for
from connectors.transforms.errors import Code, fail
from connectors.transforms.rows import reject
from vts.rejects import SplitRejects
from vts.schema import TableSchema

_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(":memory:", config={"threads": 1})
        _local.con = con
    return con


def _execute(query: str, table_name: str, data: pa.Table | pa.RecordBatch) -> pa.Table:
    con = _connection()
    con.register(table_name, data)
    try:
        return con.sql(query).to_arrow_table()
    finally:
        con.unregister(table_name)


def output_schema(transform: str, query: str, table_name: str, table: TableSchema) -> TableSchema:
    """The query's result over ``table``, found by running it on no rows."""
    empty = table.arrow_schema().empty_table()
    try:
        result = _execute(query, table_name, empty)
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        if isinstance(exc, duckdb.CatalogException) and table_name in query:
            hint = None
        elif isinstance(exc, duckdb.CatalogException):
            hint = f"the rows are the table '{table_name}': write FROM {table_name}"
        else:
            hint = f"its input columns are: {', '.join(table.names)}" if "not found" in message else None
        fail(Code.INVALID_SQL, transform, f"{message} (in: {query})", hint=hint)
    names = result.schema.names
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        fail(
            Code.INVALID_SQL,
            transform,
            f"the query returns column(s) {dupes} more than once",
            hint="give every output column its own name with AS",
        )
    by_name = {f.name: f for f in table.fields}
    copied = _bare_columns(query, table.names)
    fields = tuple(
        field_for(transform, f.name, f.type, by_name.get(copied.get(f.name, f.name)), f.name in copied)
        for f in result.schema
    )
    kept = {f.name for f in fields}
    indexes = tuple(i for i in table.indexes if i.field in kept)
    return table.with_(fields=fields, indexes=indexes)


def _bare_columns(query: str, names: list[str]) -> dict[str, str]:
    """Output column -> the input column it passes on unchanged (``col``, ``col AS new``, ``*``).

    Read from DuckDB's own parse tree (``json_serialize_sql``): a column
    passed on keeps what the source said about it (max_length, primary key);
    a computed one is typed from its values alone.
    """
    tree = json.loads(_connection().execute("SELECT json_serialize_sql(?)", [query]).fetchall()[0][0])
    statements = tree.get("statements") or []
    node = statements[0].get("node", {}) if statements else {}
    if node.get("type") != "SELECT_NODE":
        return {}
    out: dict[str, str] = {}
    for item in node.get("select_list", []):
        kind = item.get("class")
        if kind == "COLUMN_REF" and item.get("column_names"):
            source = item["column_names"][-1]
            out[item.get("alias") or source] = source
        elif kind == "STAR" and not item.get("columns"):
            skipped = {_name(e) for e in item.get("exclude_list") or []}
            skipped |= {_name(e) for e in item.get("replace_list") or []}
            out.update({n: n for n in names if n not in skipped})
    return out


def _name(entry: Any) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):  # newer DuckDB: {"key": name, ...} or a qualified name
        value = entry.get("key", entry.get("name", entry.get("first", "")))
        if isinstance(value, dict):
            value = value.get("column_name", value.get("name", ""))
        return str(value)
    return str(entry)


def run(
    transform: str,
    query: str,
    table_name: str,
    batch: pa.RecordBatch,
    out: TableSchema,
    rejects: SplitRejects | None,
) -> pa.RecordBatch:
    """The query over ``batch``, as ``out``'s Arrow schema; rows DuckDB cannot convert go to ``rejects``."""
    target = out.arrow_schema()
    try:
        return _conform(_execute(query, table_name, batch), target)
    except (duckdb.Error, pa.ArrowInvalid):
        pass
    # The schema step ran the statement on no rows, so what fails now is a value (JSON that does not parse, a
    # cast it refuses) and one spoils the whole batch: run it row by row to find which rows, and why.
    reasons: dict[int, str] = {}
    parts = []
    for i in range(batch.num_rows):
        try:
            parts.append(_conform(_execute(query, table_name, batch.slice(i, 1)), target))
        except (duckdb.Error, pa.ArrowInvalid) as exc:
            reasons[i] = str(exc).strip().splitlines()[0]
    reject(batch, reasons, transform, rejects)
    return _combine(parts, target)


def _combine(parts: list[pa.RecordBatch], target: pa.Schema) -> pa.RecordBatch:
    if not parts:
        return pa.RecordBatch.from_pylist([], schema=target)
    return pa.Table.from_batches(parts, schema=target).combine_chunks().to_batches()[0]


def _conform(result: pa.Table, target: pa.Schema) -> pa.RecordBatch:
    return _combine(result.cast(target).to_batches(), target)


def check_select(transform: str, query: str) -> None:
    """One SELECT statement: the transform reads rows, it must not run anything else."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        fail(Code.INVALID_SQL, transform, f"{str(exc).strip()} (in: {query})")
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        fail(
            Code.INVALID_SQL,
            transform,
            f"the query must be one SELECT statement (got: {query})",
            hint="write SELECT <columns> FROM <table> [WHERE ...]",
        )
