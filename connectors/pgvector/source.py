"""The ``Pgvector`` source: PostgreSQL tables or queries (with pgvector types) into vts.

Driver: :meth:`discover` reads the catalog, :meth:`plan` fixes the
incremental window and cuts key ranges, :meth:`finish` saves the new
high-water mark once the sink has committed. Workers: :meth:`read` streams
binary COPY into Arrow (see ``reader.py`` and ``wire.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from connectors.pgvector import catalog, splits, state
from connectors.pgvector.connection import connect
from connectors.pgvector.errors import wrap
from connectors.pgvector.options import PgvectorOptions
from connectors.pgvector.reader import read_split
from vts.connector import Position, Source, Split
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

    def __init__(self, options: PgvectorOptions) -> None:
        super().__init__(options)
        # driver-side only: filled by discover()/plan(), read by plan()/finish()
        self._relations: dict[str, catalog.Relation] = {}
        self._pending_marks: dict[str, tuple[str, str]] = {}

    def discover(self) -> list[TableSchema]:
        o = self.options
        with connect(o, "discover the source") as conn:
            rel = catalog.discover(conn, o)
        self._relations[rel.name] = rel
        kind = "query" if rel.is_query else f"table {o.table}"
        return [TableSchema(name=rel.name, fields=catalog.fields(rel, o), description=f"PostgreSQL {kind}")]

    def plan(self, tables: list[TableSchema], parallelism: int) -> list[Split]:
        out: list[Split] = []
        with connect(self.options, "plan splits") as conn:
            for table in tables:
                rel = self._relations.get(table.name)
                if rel is None:
                    rel = catalog.discover(conn, self.options)
                    self._relations[rel.name] = rel
                try:
                    out += self._plan_table(conn, rel, table, parallelism)
                except Exception as exc:
                    import psycopg

                    if not isinstance(exc, psycopg.Error):
                        raise
                    raise wrap(exc, "planning splits failed", where=table.name) from None
        return out

    def _plan_table(self, conn: Any, rel: catalog.Relation, table: TableSchema, parallelism: int) -> list[Split]:
        o = self.options
        conditions = [o.where] if o.where else []
        conditions += self._incremental(conn, rel)
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

    def _incremental(self, conn: Any, rel: catalog.Relation) -> list[str]:
        """The window (last saved mark, max now] as SQL conditions; remember the new mark for finish()."""
        o = self.options
        col = o.incremental_column
        if not col:
            return []
        from psycopg import sql

        ident = sql.Identifier(col).as_string(conn)
        sqltype = rel.sqltypes[col]
        key = state.state_key(o.server_label(), o.table, o.query, col)
        old = state.get_mark(o.state_path, key)
        base = f" WHERE {o.where}" if o.where else ""
        new = conn.execute(f"SELECT max({ident})::text FROM {rel.source_sql}{base}").fetchone()[0]
        if new is not None:
            self._pending_marks[rel.name] = (key, new)
        else:
            self._pending_marks.pop(rel.name, None)

        def lit(v: str) -> str:
            return f"{sql.Literal(v).as_string(conn)}::{sqltype}"

        if old is None:  # first run: everything up to the mark, and rows the column does not date
            return [f"{ident} IS NULL" if new is None else f"{ident} <= {lit(new)} OR {ident} IS NULL"]
        if new is None:
            return ["false"]
        return [f"{ident} > {lit(old)}", f"{ident} <= {lit(new)}"]

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        return read_split(self.options, split.spec, table, position)

    def finish(self, tables: list[TableSchema]) -> None:
        marks = dict(self._pending_marks[t.name] for t in tables if t.name in self._pending_marks)
        if marks:
            state.save_marks(self.options.state_path, marks)
