"""An in-memory source of given batches: the suites' way to hand a sink exact rows."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from vts.connector import Options, Position, Source, Split
from vts.schema import TableSchema


class TableSourceOptions(Options):
    pass


class TableSource(Source):
    """Yields ``batches`` of ``table``, ``batches_per_split`` batches a split; the position is the next batch."""

    name = "TableSource"
    doc = "In-memory batches (tests)."
    Options = TableSourceOptions

    def __init__(self, table: TableSchema, batches: list[pa.RecordBatch], batches_per_split: int = 2) -> None:
        super().__init__(TableSourceOptions())
        self.table, self.batches, self.per_split = table, batches, max(1, batches_per_split)

    def discover(self) -> list[TableSchema]:
        return [self.table]

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> list[Split]:
        out = []
        for lo in range(0, len(self.batches), self.per_split):
            hi = min(lo + self.per_split, len(self.batches))
            rows = sum(b.num_rows for b in self.batches[lo:hi])
            out.append(Split(f"{self.table.name}/{lo}-{hi}", self.table.name, None, rows, {"lo": lo, "hi": hi}))
        return out

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        start = split.spec["lo"] if position is None else int(position)
        for i in range(start, split.spec["hi"]):
            yield self.batches[i], i + 1
