"""Changes -> an Arrow batch of the table's schema, with the op column when the batch deletes anything.

A change Arrow refuses (a vector of another dimension, a string in an
integer column) is found by converting row by row, so only that message goes
to the dead letters, with its reason.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from vts.connector import OP_COLUMN, OP_DELETE, OP_UPSERT
from vts.connectors.kafka.decode import DELETE, Change
from vts.schema import LType, TableSchema


class Unconvertible(Exception):
    """This change does not fit the table; the reason goes to the dead letters."""


def shape(change: Change, table: TableSchema) -> dict[str, Any]:
    """The change as a row of the table's columns (JSON columns as text); raises Unconvertible."""
    if change.op == DELETE:
        return {f.name: _key(change.row.get(f.name), f) if f.primary_key else None for f in table.fields}
    row: dict[str, Any] = {}
    for f in table.fields:
        value = change.row.get(f.name)
        if f.primary_key:
            value = _key(value, f)
        if value is None and not f.nullable:
            raise Unconvertible(f"field '{f.name}' is missing or null, and the column is not nullable")
        if f.type in (LType.JSON, LType.MAP, LType.ROW) and value is not None and not isinstance(value, str):
            value = json.dumps(value)
        row[f.name] = value
    return row


def _key(value: Any, f: Any) -> Any:
    """A key taken from a message key is text or a JSON number; the column says which it must be."""
    if value is None:
        raise Unconvertible(f"the primary key '{f.name}' is missing")
    if f.type == LType.STRING and not isinstance(value, str):
        return str(value)
    if f.type.is_integer and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise Unconvertible(f"the primary key '{f.name}' is {value!r}, not an integer") from None
    return value


def to_batch(rows: list[dict[str, Any]], ops: list[str], table: TableSchema) -> pa.RecordBatch:
    """Raises Unconvertible (with the first bad row's index) when Arrow refuses a value."""
    schema = table.arrow_schema()
    try:
        batch = pa.RecordBatch.from_pylist(rows, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
        for i, row in enumerate(rows):
            try:
                pa.RecordBatch.from_pylist([row], schema=schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError) as exc:
                raise Unconvertible(i, f"does not fit the table's columns: {exc}") from None
        raise
    if any(op == DELETE for op in ops):
        codes = [OP_DELETE if op == DELETE else OP_UPSERT for op in ops]
        batch = batch.append_column(OP_COLUMN, pa.array(codes, pa.string()))
    return batch
