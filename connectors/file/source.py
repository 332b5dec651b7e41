from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pyarrow as pa

from vts.connector import Position, Source, Split
from vts.connectors.file import discover
from vts.connectors.file.conform import conform
from vts.connectors.file.errors import FileSourceError, wrap
from vts.connectors.file.formats import by_name
from vts.connectors.file.options import FileSourceOptions
from vts.schema import TableSchema


class FileSource(Source):
    """Files as one table: Parquet (row-group ranges), JSONL (byte ranges), CSV (per file), npy (row ranges)."""

    name = "File"
    doc = (
        "Parquet, JSONL, CSV or NumPy .npy files (local paths, globs, s3://, abfs://) as one table; the schema "
        "from the files' own types with field_schema overrides; splits by row group, byte or row range."
    )
    Options = FileSourceOptions
    options: FileSourceOptions

    def discover(self) -> list[TableSchema]:
        table, _ = discover.describe(self.options)
        return [table]

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> list[Split]:
        opts = self.options
        found = discover.find(opts)
        fmt = by_name(found.format)
        schema = found.arrow.serialize().to_pybytes().hex() if found.format in ("jsonl", "csv") else None
        out: list[Split] = []
        base = 0
        for table in tables:
            for uri in found.files:
                try:
                    pieces = fmt.pieces(opts, uri)
                except FileSourceError:
                    raise
                except Exception as exc:
                    raise wrap(exc, f"a {found.format} file", uri) from None
                for spec, rows in pieces:
                    if schema:
                        spec["schema"] = schema
                    if found.format == "npy":
                        spec["base"] = base
                    out.append(Split(_split_id(table.name, spec), table.name, None, rows, spec))
                if found.format == "npy" and pieces:
                    base += pieces[-1][0]["stop"]
        return out

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        fmt = by_name(discover.format_of(self.options, split.spec["file"]))
        reader = fmt.read(self.options, split.spec, position)
        while True:
            try:
                batch, pos = next(reader)
            except StopIteration:
                return
            except FileSourceError:
                raise
            except Exception as exc:
                raise wrap(exc, f"reading split {split.id}", split.spec["file"]) from None
            yield conform(batch, table), pos


def _split_id(table: str, spec: dict) -> str:
    # the file's name for the reader of a log, a digest of its whole path so two folders' x.parquet differ
    digest = hashlib.sha1(spec["file"].encode()).hexdigest()[:8]
    where = f"{spec['file'].rsplit('/', 1)[-1]}-{digest}"
    if "row_groups" in spec:
        a, b = spec["row_groups"]
        return f"{table}/{where}/rg{a}-{b}"
    if "end" in spec:
        return f"{table}/{where}/b{spec['start']}-{spec['end']}"
    if "stop" in spec:
        return f"{table}/{where}/r{spec['start']}-{spec['stop']}"
    return f"{table}/{where}"
