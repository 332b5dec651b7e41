"""The ``Pgvector`` source: PostgreSQL tables or queries (with pgvector types) into vts.

Driver: :meth:`discover` reads the catalog, :meth:`plan` fixes the
incremental window, cuts key ranges and returns the window's end as the
plan's state, which the checkpoint keeps; :meth:`finish` saves that mark
once the sink has committed (also for a resumed run, which never plans). Workers: :meth:`read` streams
binary COPY into Arrow (see ``reader.py`` and ``wire.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from connectors.pgvector import catalog, splits
from connectors.pgvector import state as marks_file
from connectors.pgvector.connection import connect
from connectors.pgvector.errors import wrap
from connectors.pgvector.options import PgvectorOptions
from connectors.pgvector.reader import read_split
from vts.connector import Position, Source, Split, SplitPlan
from vts.schema import TableSchema


class PgvectorSource(Source):
    """Reads one table or query; splits are primary-key ranges, resumable from the last key read."""

    name = "Pgvector"
    doc = (
        "PostgreSQL/pgvector table or query via binary COPY; vector, halfvec, sparsevec, bit; "
        "key-range splits; incremental runs."
    )
    Options = PgvectorOptions
    options: PgvectorOptions

    def discover(self) -> list[TableSchema]:
        o = self.options
        with connect(o, "discover the source") as conn:
            rel = catalog.discover(conn, o)
        kind = "query" if rel.is_query else f"table {o.table}"
        return [TableSchema(name=rel.name, fields=catalog.fields(rel, o), description=f"PostgreSQL {kind}")]

    def plan(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> SplitPlan:
        out: list[Split] = []
        marks: dict[str, str] = {}
        with connect(self.options, "plan splits") as conn:
            rel = catalog.discover(conn, self.options)
            for table in tables:
                try:
                    conditions = [self.options.where] if self.options.where else []
                    if incremental and self.options.incremental_column:
                        window, mark = self._incremental(conn, rel)
                        conditions += window
                        marks.update(mark)
                    out += self._plan_table(conn, rel, table, parallelism, conditions)
                except Exception as exc:
                    import psycopg

                    if not isinstance(exc, psycopg.Error):
                        raise
                    raise wrap(exc, "planning splits failed", where=table.name) from None
        return SplitPlan(tuple(out), {"marks": marks} if marks else {})

    def _plan_table(
        self, conn: Any, rel: catalog.Relation, table: TableSchema, parallelism: int, conditions: list[str]
    ) -> list[Split]:
        o = self.options
        mode = splits.mode_of(rel)
        estimate = splits.estimate_rows(conn, rel, conditions)
        base: dict[str, Any] = {"mode": mode, "source": rel.source_sql, "conditions": conditions}
        specs: list[dict[str, Any]]
        if mode == "key":
            by_name = {c.name: c for c in rel.columns}
            base["key"] = [
                {"name": k, "sqltype": rel.sqltypes[k], "int": by_name[k].typname in ("int2", "int4", "int8")}
                for k in rel.key
            ]
            cuts = splits.key_bounds(conn, rel, conditions, parallelism, estimate)
            bounds = list(zip([None, *cuts], [*cuts, None]))
            specs = [{**base, "lo": lo, "hi": hi} for lo, hi in bounds]
        elif mode == "ctid":
            blocks = splits.block_count(conn, rel)
            per_block = max(1.0, estimate / max(1, blocks))
            base["oid"] = rel.oid
            base["blocks_per_batch"] = max(1, int(o.batch_size / per_block))
            specs = [{**base, "lo": lo, "hi": hi} for lo, hi in splits.block_bounds(blocks, parallelism)]
        else:
            specs = [base]
        rows = estimate // len(specs)
        return [Split(splits.split_id(table.name, i, s), table.name, None, rows, s) for i, s in enumerate(specs)]

    def _incremental(self, conn: Any, rel: catalog.Relation) -> tuple[list[str], dict[str, str]]:
        """The window (last saved mark, max now] as SQL conditions, and the new mark ({state key: value})."""
        o = self.options
        col = o.incremental_column
        assert col is not None
        from psycopg import sql

        ident = sql.Identifier(col).as_string(conn)
        sqltype = rel.sqltypes[col]
        key = marks_file.state_key(o.server_label(), o.table, o.query, col)
        old = marks_file.get_mark(o.state_path, key)
        base = f" WHERE {o.where}" if o.where else ""
        new = conn.execute(f"SELECT max({ident})::text FROM {rel.source_sql}{base}").fetchone()[0]
        mark = {} if new is None else {key: new}

        def lit(v: str) -> str:
            return f"{sql.Literal(v).as_string(conn)}::{sqltype}"

        if old is None:  # first run: everything up to the mark, and rows the column does not date
            return [f"{ident} IS NULL" if new is None else f"{ident} <= {lit(new)} OR {ident} IS NULL"], mark
        if new is None:
            return ["false"], mark
        return [f"{ident} > {lit(old)}", f"{ident} <= {lit(new)}"], mark

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        return read_split(self.options, split.spec, table, position)

    def finish(self, tables: list[TableSchema], state: dict[str, Any]) -> None:
        if state.get("marks"):
            marks_file.save_marks(self.options.state_path, state["marks"])
