"""SeaTunnel's Console sink: every row printed to stdout, one JSON line each, for debugging a job.

It has no target to create or empty, so the save modes find nothing to do;
``vts check`` shows the schema the rows will have after the transforms.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import pyarrow as pa
from pydantic import Field

from vts.connector import Flushed, Options, Sink, SinkWriter, Split, TargetCatalog, WriteContext
from vts.schema import TableSchema

# Writers of several splits print at once; one lock keeps their lines whole.
_PRINT = threading.Lock()


class ConsoleOptions(Options):
    limit: int | None = Field(None, ge=0, description="Print at most this many rows per split (all when unset).")


class _Catalog(TargetCatalog):
    def __init__(self, targets: list[str]) -> None:
        self.targets = targets

    def exists(self, target: str) -> bool:
        return True  # stdout is always there and holds nothing to keep or drop

    def rows(self, target: str) -> int:
        return 0

    def mismatches(self, target: str) -> list[str]:
        return []

    def create(self, target: str) -> None:
        pass

    def drop(self, target: str) -> None:
        pass

    def delete_rows(self, target: str) -> None:
        pass


class _Writer(SinkWriter):
    def __init__(self, table: str, limit: int | None) -> None:
        self.table, self.limit, self.pending, self.printed = table, limit, 0, 0

    def write(self, batch: pa.RecordBatch) -> None:
        rows = batch.to_pylist()
        if self.limit is not None:
            rows = rows[: max(0, self.limit - self.printed)]
        lines = [json.dumps({"table": self.table, **row}, default=str) for row in rows]
        with _PRINT:
            for line in lines:
                sys.stdout.write(line + "\n")
            sys.stdout.flush()
        self.printed += len(rows)
        self.pending += batch.num_rows

    def flush(self) -> Flushed:
        done, self.pending = self.pending, 0
        return Flushed(rows=done)


class ConsoleSink(Sink):
    name = "Console"
    doc = "Print every row to stdout as a JSON line (debugging a job); writes nothing anywhere."
    Options = ConsoleOptions
    options: ConsoleOptions

    def layout(self, tables: list[TableSchema]) -> list[TableSchema]:
        return tables

    def catalog(self, layout: Any) -> TargetCatalog:
        return _Catalog([t.name for t in layout])

    def writer(self, layout: Any, split: Split, ctx: WriteContext) -> SinkWriter:
        return _Writer(split.table, self.options.limit)

    def describe_layout(self, layout: Any) -> list[str]:
        return [f"{t.name}: {', '.join(f'{f.name} {f.type}' for f in t.fields)} -> stdout" for t in layout]

    def describe_targets(self, layout: Any) -> dict[str, str]:
        return {t.name: "stdout" for t in layout}
