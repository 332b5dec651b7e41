"""CSV (a header line, then rows): one split per file, resumable at any row.

A column of JSON number lists (``"[0.1, 0.2]"``) is a vector when
``field_schema`` says so (or the sample shows one length throughout); the
types of the other columns are the ones pyarrow infers from the first block,
kept for every later block so a file reads the same way throughout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv

from vts.connectors.file.fs import open_fs

suffixes = (".csv",)


def _reader(opts: Any, uri: str, types: dict[str, pa.DataType] | None = None) -> pcsv.CSVStreamingReader:
    fs, path = open_fs(opts, uri)
    conversion = pcsv.ConvertOptions(column_types=types or {}, strings_can_be_null=True)
    return pcsv.open_csv(fs.open_input_stream(path), convert_options=conversion)


def sample(opts: Any, uri: str) -> tuple[pa.Schema, pa.Table]:
    reader = _reader(opts, uri)
    batches, rows = [], 0
    for batch in reader:
        batches.append(batch)
        rows += batch.num_rows
        if rows >= opts.sample_rows:
            break
    return reader.schema, pa.Table.from_batches(batches, reader.schema).slice(0, opts.sample_rows)


def pieces(opts: Any, uri: str) -> list[tuple[dict[str, Any], int]]:
    return [({"file": uri}, 0)]


def read(opts: Any, spec: dict[str, Any], position: Any) -> Iterator[tuple[pa.RecordBatch, Any]]:
    types = None
    if spec.get("schema"):
        schema = pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(spec["schema"])))
        types = {f.name: f.type for f in schema}
    skip = done = int(position or 0)
    for batch in _reader(opts, spec["file"], types):
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        if skip:
            batch, skip = batch.slice(skip), 0
        for lo in range(0, batch.num_rows, opts.batch_size):
            piece = batch.slice(lo, opts.batch_size)
            done += piece.num_rows
            yield piece, done
