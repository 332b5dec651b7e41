from __future__ import annotations

import itertools
from collections.abc import Iterator

import pyarrow as pa

from vts.connector import Position, Source, Split
from vts.connectors.datagen.generate import Generator
from vts.connectors.datagen.options import DataGenOptions
from vts.schema import Field, TableSchema


class DataGenSource(Source):
    """Reproducible synthetic rows; splits are row ranges."""

    name = "DataGen"
    doc = "Synthetic rows of any type from a seed (demos, tests, benchmarks); splits by row range."
    Options = DataGenOptions
    options: DataGenOptions

    def discover(self) -> list[TableSchema]:
        o = self.options
        fields = tuple(
            Field(
                name=f.name,
                type=f.type,
                nullable=f.nullable,
                default=f.default,
                primary_key=f.primary_key,
                partition_key=f.partition_key,
                max_length=f.max_length,
                dimension=f.dimension,
                element_type=f.element_type,
                max_capacity=f.max_capacity,
                params={"null_ratio": f.null_ratio} if f.nullable and f.null_ratio else {},
            )
            for f in o.fields
        )
        return [TableSchema(name=o.collection, fields=fields, partitions=tuple(o.partitions))]

    def partition_ranges(self) -> list[tuple[str | None, int, int]]:
        """(partition, first row, end row) for each partition, contiguous, covering every row."""
        n, parts = self.options.row_count, self.options.partitions
        if not parts:
            return [(None, 0, n)]
        bounds = [n * i // len(parts) for i in range(len(parts) + 1)]
        return [(p, bounds[i], bounds[i + 1]) for i, p in enumerate(parts)]

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> list[Split]:
        table = tables[0].name
        splits = []
        for partition, lo, hi in self.partition_ranges():
            n = hi - lo
            size = max(1, n // parallelism)
            cuts = [lo + i * size for i in range(parallelism) if i * size < n or i == 0] + [hi]
            for a, b in itertools.pairwise(cuts):
                sid = f"{table}/{partition or '_default'}/{a}-{b}"
                splits.append(Split(sid, table, partition, b - a, {"start": a, "stop": b}))
        return splits

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        gen = Generator(table, self.options.seed, self.options.id_start, self.options.invalid_ratio)
        start = split.spec["start"] if position is None else int(position)
        stop, step = split.spec["stop"], self.options.batch_size
        for lo in range(start, stop, step):
            hi = min(lo + step, stop)
            yield gen.rows(lo, hi), hi
