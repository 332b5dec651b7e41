"""The ``Pgvector`` source: PostgreSQL tables or queries (with pgvector types) into vts.

Driver: :meth:`discover` reads the catalog, :meth:`splits` fixes the
incremental window, cuts key ranges and returns the window's end as the
splits' state, which the checkpoint keeps; :meth:`finish` saves that mark
once the sink has committed (also for a resumed run, which cuts no splits).
Workers: :meth:`read` streams binary COPY into Arrow (see ``reader.py`` and
``wire.py``).

Streaming (``mode: streaming`` or ``job.mode: STREAMING``) is change data
capture: :meth:`splits` runs the preflight (``slot.py``) and adds one stream
split after the snapshot's key-range splits (a later :meth:`phase`);
:meth:`prepare` creates the publication and the slot before the snapshot
is read; the stream split applies the slot's changes (``changes.py``) and
:meth:`acknowledge` advances the slot to each checkpointed position.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from vts.connector import Position, Source, Split, Splits
from vts.connectors.pgvector import catalog, slot, splits
from vts.connectors.pgvector import state as marks_file
from vts.connectors.pgvector.changes import pending, read_changes
from vts.connectors.pgvector.connection import connect
from vts.connectors.pgvector.errors import Code, PgvectorError, wrap
from vts.connectors.pgvector.options import PgvectorOptions
from vts.connectors.pgvector.reader import read_split
from vts.schema import TableSchema

log = logging.getLogger("vts")


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

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> Splits:
        out: list[Split] = []
        marks: dict[str, str] = {}
        with connect(self.options, "cut splits") as conn:
            rel = catalog.discover(conn, self.options)
            for table in tables:
                try:
                    conditions = [self.options.where] if self.options.where else []
                    if incremental and self.options.incremental_column:
                        window, mark = self._incremental(conn, rel)
                        conditions += window
                        marks.update(mark)
                    out += self._table_splits(conn, rel, table, parallelism, conditions)
                except Exception as exc:
                    import psycopg

                    if not isinstance(exc, psycopg.Error):
                        raise
                    raise wrap(exc, "cutting splits failed", where=table.name) from None
        if self.options.mode == "streaming" and incremental:
            out.append(self._stream_split(rel, tables[0], out))
        return Splits(tuple(out), {"marks": marks} if marks else {})

    def _stream_split(self, rel: catalog.Relation, table: TableSchema, snapshot: list[Split]) -> Split:
        """The preflight (nothing is created yet), then the split that applies the slot's changes."""
        o = self.options
        with connect(o, "check logical replication") as conn:
            for note in slot.preflight(conn, o, rel):
                log.warning("%s", note)
        if splits.mode_of(rel) != "key":
            raise PgvectorError(
                Code.CDC_UNSUPPORTED,
                f"the primary key of '{o.table}' has a type vts cannot match changes by "
                f"(supported: {', '.join(sorted(catalog.SPLITTABLE_KEY_TYPES))})",
                hint="stream a table keyed by integers, text, uuid or dates, or use job.mode: BATCH",
            )
        spec = {
            "mode": "changes",
            "slot": o.slot(),
            "publication": o.publication(),
            "oid": rel.oid,
            "source": rel.source_sql,
            "conditions": [o.where] if o.where else [],
            "key": snapshot[0].spec["key"],
        }
        return Split(f"{table.name}/changes", table.name, None, 0, spec)

    def _table_splits(
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
        if split.spec["mode"] == "changes":
            return read_changes(self.options, split.spec, table, position)
        return read_split(self.options, split.spec, table, position)

    def streaming(self) -> PgvectorSource:
        return PgvectorSource(PgvectorOptions.model_validate({**dict(self.options), "mode": "streaming"}))

    def unbounded(self) -> bool:
        return self.options.mode == "streaming"

    def phase(self, split: Split) -> int:
        # a snapshot split written after a change of its row would undo the change
        return 1 if split.spec["mode"] == "changes" else 0

    def prepare(self, splits: list[Split], resuming: bool) -> list[str]:
        stream = [s for s in splits if s.spec["mode"] == "changes"]
        if not stream:
            return []
        with connect(self.options, "create the replication slot", writable=True) as conn:
            rel = catalog.discover(conn, self.options)
            slot.ensure(conn, self.options, rel, resuming)
        return [f"streaming the changes of {self.options.table} from replication slot {self.options.slot()}"]

    def release(self) -> list[str]:
        if self.options.mode != "streaming":
            return []
        with connect(self.options, "drop the replication slot", writable=True) as conn:
            return slot.drop(conn, self.options)

    def acknowledge(self, split: Split, position: Position) -> None:
        if split.spec["mode"] == "changes" and position is not None:
            with connect(self.options, "advance the replication slot", writable=True) as conn:
                slot.advance(conn, split.spec["slot"], position["lsn"])

    def backlog(self, splits: list[Split], positions: dict[str, Position]) -> dict[str, int]:
        stream = [s for s in splits if s.spec["mode"] == "changes"]
        if not stream:
            return {}
        with connect(self.options, "count the changes behind", writable=True) as conn:
            return {s.id: pending(conn, s.spec, positions.get(s.id)) for s in stream}

    def lag(self, splits: list[Split], positions: dict[str, Position]) -> dict[str, dict[str, Any]]:
        stream = [s for s in splits if s.spec["mode"] == "changes"]
        if not stream:
            return {}
        with connect(self.options, "measure the replication lag") as conn:
            return {
                s.id: {"wal_bytes": slot.lag_bytes(conn, (positions.get(s.id) or {}).get("lsn"), s.spec["slot"])}
                for s in stream
            }

    def finish(self, tables: list[TableSchema], state: dict[str, Any]) -> None:
        if state.get("marks"):
            marks_file.save_marks(self.options.state_path, state["marks"])
