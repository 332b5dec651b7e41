"""Parquet: splits are ranges of row groups (about ``split_mb`` each), resumable at any row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vts.connectors.file.fs import open_fs

suffixes = (".parquet", ".parq", ".pq")


def _open(opts: Any, uri: str) -> pq.ParquetFile:
    fs, path = open_fs(opts, uri)
    return pq.ParquetFile(fs.open_input_file(path))


def sample(opts: Any, uri: str) -> tuple[pa.Schema, pa.Table]:
    pf = _open(opts, uri)
    schema = pf.schema_arrow
    lists = [f.name for f in schema if pa.types.is_list(f.type) or pa.types.is_large_list(f.type)]
    if not lists or pf.metadata.num_rows == 0:
        return schema, schema.empty_table()
    batch = next(pf.iter_batches(batch_size=opts.sample_rows, columns=lists))
    return schema, pa.Table.from_batches([batch])


def pieces(opts: Any, uri: str) -> list[tuple[dict[str, Any], int]]:
    meta = _open(opts, uri).metadata
    out: list[tuple[dict[str, Any], int]] = []
    start, rows, size = 0, 0, 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        if i > start and size + rg.total_byte_size > opts.split_bytes:
            out.append(({"file": uri, "row_groups": [start, i]}, rows))
            start, rows, size = i, 0, 0
        rows += rg.num_rows
        size += rg.total_byte_size
    if meta.num_row_groups:
        out.append(({"file": uri, "row_groups": [start, meta.num_row_groups]}, rows))
    return out


def read(opts: Any, spec: dict[str, Any], position: Any) -> Iterator[tuple[pa.RecordBatch, Any]]:
    pf = _open(opts, spec["file"])
    first, stop = spec["row_groups"]
    done = int(position or 0)  # rows of this split already read
    skip, groups = done, []
    for i in range(first, stop):
        n = pf.metadata.row_group(i).num_rows
        if skip >= n and not groups:
            skip -= n
            continue
        groups.append(i)
    if not groups:
        return
    for batch in pf.iter_batches(batch_size=opts.batch_size, row_groups=groups):
        if skip:
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                continue
            batch, skip = batch.slice(skip), 0
        done += batch.num_rows
        yield batch, done
