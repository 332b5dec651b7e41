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

import collections
import functools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from vts.connectors.transforms.arrow_fields import field_for
from vts.connectors.transforms.errors import Code, fail
from vts.connectors.transforms.rows import reject
from vts.rejects import SplitRejects
from vts.schema import LType, TableSchema

_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(":memory:")
        _local.con = con
    return con


def _execute(query: str, table_name: str, data: pa.Table | pa.RecordBatch) -> pa.Table:
    return _run_sql(query, table_name, data)[0]


def _run_sql(query: str, table_name: str, data: pa.Table | pa.RecordBatch) -> tuple[pa.Table, list[str]]:
    """The result, and DuckDB's SQL type of each column (Arrow writes its JSON as plain strings)."""
    con = _connection()
    con.register(table_name, data)
    try:
        relation = con.sql(query)
        return relation.to_arrow_table(), [str(t) for t in relation.types]
    finally:
        con.unregister(table_name)


# Workers ask for a transform's output schema with every batch: keep what was computed, per process, so it
# costs a lookup (the connector itself holds options only).
_SCHEMAS: dict[tuple[str, str, str], TableSchema] = {}
_SCHEMAS_LOCK = threading.Lock()


def output_schema(transform: str, query: str, table_name: str, table: TableSchema) -> TableSchema:
    """The query's result over ``table``, found by running it on no rows."""
    key = (query, table_name, repr(table))
    with _SCHEMAS_LOCK:
        known = _SCHEMAS.get(key)
    if known is not None:
        return known
    out = _output_schema(transform, query, table_name, table)
    with _SCHEMAS_LOCK:
        if len(_SCHEMAS) > 256:
            _SCHEMAS.clear()
        _SCHEMAS[key] = out
    return out


def _output_schema(transform: str, query: str, table_name: str, table: TableSchema) -> TableSchema:
    empty = table.arrow_schema().empty_table()
    try:
        result, sql_types = _run_sql(query, table_name, empty)
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
    copied = _shape(query, tuple(table.names), ()).copied
    fields = tuple(
        field_for(transform, f.name, f.type, by_name.get(copied.get(f.name, f.name)), f.name in copied)
        for f in result.schema
    )
    # A computed JSON value (to_json, json_object, json_extract) becomes a JSON field, not text.
    fields = tuple(
        f.with_(type=LType.JSON) if t == "JSON" and f.type == LType.STRING and f.name not in copied else f
        for f, t in zip(fields, sql_types)
    )
    kept = {f.name for f in fields}
    indexes = tuple(i for i in table.indexes if i.field in kept)
    return table.with_(fields=fields, indexes=indexes)


@dataclass(frozen=True)
class _Shape:
    copied: dict[str, str]  # output column -> the input column it passes on unchanged
    carried: frozenset[str]  # the given vector columns the query only passes on (never reads)


@functools.lru_cache(maxsize=256)
def _shape(query: str, names: tuple[str, ...], vectors: tuple[str, ...]) -> _Shape:
    """What the query does with each input column, read from DuckDB's own parse tree (``json_serialize_sql``).

    A column passed on unchanged (``col``, ``col AS new``, ``*``) keeps what
    the source said about it (max_length, primary key); a computed one is
    typed from its values alone. A vector column the query only passes on
    need not travel through DuckDB at all (``carried``).
    """
    tree = json.loads(_connection().execute("SELECT json_serialize_sql(?)", [query]).fetchall()[0][0])
    statements = tree.get("statements") or []
    node = statements[0].get("node", {}) if statements else {}
    if node.get("type") != "SELECT_NODE":
        return _Shape({}, frozenset())
    copied: dict[str, str] = {}
    bare: collections.Counter[str] = collections.Counter()
    replaced: set[str] = set()
    for item in node.get("select_list", []):
        kind = item.get("class")
        if kind == "COLUMN_REF" and item.get("column_names"):
            source = item["column_names"][-1]
            copied[item.get("alias") or source] = source
            bare[source] += 1
        elif kind == "STAR" and not item.get("columns"):
            skipped = {_name(e) for e in item.get("exclude_list") or []}
            replaced |= {_name(e) for e in item.get("replace_list") or []}
            copied.update({n: n for n in names if n not in skipped | replaced})
    simple = node.get("from_table", {}).get("type") == "BASE_TABLE" and not (node.get("cte_map") or {}).get("map")
    refs = collections.Counter(_column_refs(node))
    carried = frozenset(v for v in vectors if simple and v not in replaced and refs[v] == bare[v])
    return _Shape(copied, carried)


def _column_refs(tree: Any) -> Iterator[str]:
    if isinstance(tree, dict):
        if tree.get("class") == "COLUMN_REF" and tree.get("column_names"):
            yield tree["column_names"][-1]
        for value in tree.values():
            yield from _column_refs(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _column_refs(value)


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
    vectors = tuple(
        f.name for f in batch.schema if pa.types.is_fixed_size_list(f.type) or pa.types.is_fixed_size_binary(f.type)
    )
    shape = _shape(query, tuple(batch.schema.names), vectors)
    if shape.carried:
        # Vectors the query only passes on go through DuckDB as their row numbers and are taken back from
        # the batch afterwards: converting 768 floats a row to DuckDB and back is most of a query's time.
        rows = pa.array(np.arange(batch.num_rows, dtype=np.int64))
        sent = pa.RecordBatch.from_arrays(
            [rows if n in shape.carried else c for n, c in zip(batch.schema.names, batch.columns)],
            names=batch.schema.names,
        )
    else:
        sent = batch

    def execute(data: pa.RecordBatch) -> pa.RecordBatch:
        result = _execute(query, table_name, data)
        for name in result.schema.names:
            source = shape.copied.get(name)
            if source in shape.carried:
                i = result.schema.get_field_index(name)
                taken = batch.column(source).take(result.column(i))
                result = result.set_column(i, pa.field(name, taken.type), taken)
        return _conform(result, target)

    try:
        return execute(sent)
    except (duckdb.Error, pa.ArrowInvalid):
        pass
    # The schema step ran the statement on no rows, so what fails now is a value (JSON that does not parse, a
    # cast it refuses) and one spoils the whole batch: run it row by row to find which rows, and why.
    reasons: dict[int, str] = {}
    parts = []
    for i in range(batch.num_rows):
        try:
            parts.append(execute(sent.slice(i, 1)))
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
