"""JSON Lines: splits are byte ranges; a line belongs to the range it starts in; resumable at any line.

Lines are parsed by pyarrow's JSON reader with the schema sampled from the
file's first lines, and ``unexpected_field_behavior="error"``: a later line
with a key the sample never showed stops the read with a coded error rather
than losing that key.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.json as pj

from vts.connectors.file.errors import Code, FileSourceError
from vts.connectors.file.fs import open_fs

suffixes = (".jsonl", ".ndjson", ".json")
BLOCK = 1 << 20


def _parse(data: bytes, schema: pa.Schema | None) -> pa.Table:
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error") if schema else None
    read = pj.ReadOptions(block_size=max(BLOCK, len(data) + 1))
    return pj.read_json(io.BytesIO(data), read_options=read, parse_options=parse)


def _head(opts: Any, uri: str) -> bytes:
    fs, path = open_fs(opts, uri)
    with fs.open_input_file(path) as f:
        lines: list[bytes] = []
        rest = b""
        while len(lines) < opts.sample_rows:
            block = f.read(BLOCK)
            if not block:
                if rest.strip():
                    lines.append(rest)
                break
            parts = (rest + block).split(b"\n")
            rest = parts.pop()
            lines.extend(p for p in parts if p.strip())
    return b"\n".join(lines[: opts.sample_rows]) + b"\n"


def sample(opts: Any, uri: str) -> tuple[pa.Schema, pa.Table]:
    table = _parse(_head(opts, uri), None)
    return table.schema, table


def pieces(opts: Any, uri: str) -> list[tuple[dict[str, Any], int]]:
    fs, path = open_fs(opts, uri)
    size = fs.get_file_info(path).size or 0
    step = max(BLOCK, opts.split_bytes)
    return [({"file": uri, "start": a, "end": min(a + step, size)}, 0) for a in range(0, max(size, 1), step)]


def _new_keys(lines: list[bytes], schema: pa.Schema, uri: str) -> FileSourceError:
    """A line with a key the sample never showed: name the keys (pyarrow's message does not)."""
    known = set(schema.names)
    for line in lines:
        try:
            keys = set(json.loads(line)) - known
        except (ValueError, TypeError):
            continue
        if keys:
            return FileSourceError(
                Code.SCHEMA_MISMATCH,
                f"a line of {uri} has key(s) {', '.join(sorted(keys))} that the first lines sampled for the schema "
                "never had",
                hint="raise 'sample_rows' so the sample sees every key, or write every key on every line (null "
                "where absent)",
            )
    return FileSourceError(
        Code.SCHEMA_MISMATCH,
        f"a line of {uri} has a nested key the first lines sampled for the schema never had",
        hint="raise 'sample_rows' so the sample sees every key",
    )


def _line_start(f: Any, start: int) -> int:
    """The first line start at or after ``start``."""
    if start == 0:
        return 0
    f.seek(start - 1)
    pos = start - 1
    while True:
        block = f.read(BLOCK)
        if not block:
            return pos
        nl = block.find(b"\n")
        if nl >= 0:
            return pos + nl + 1
        pos += len(block)


def read(opts: Any, spec: dict[str, Any], position: Any) -> Iterator[tuple[pa.RecordBatch, Any]]:
    """The lines starting in ``[spec.start, spec.end)``; the position is the byte offset of the next line."""
    schema = pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(spec["schema"]))) if spec.get("schema") else None
    fs, path = open_fs(opts, spec["file"])
    with fs.open_input_file(path) as f:
        pos = int(position) if position is not None else _line_start(f, spec["start"])
        end = spec["end"]
        f.seek(pos)
        buf, i, eof = b"", 0, False
        lines: list[bytes] = []
        while pos < end:
            nl = buf.find(b"\n", i)
            if nl < 0:
                if eof:
                    if buf[i:].strip():
                        lines.append(buf[i:] + b"\n")
                    pos += len(buf) - i
                    break
                block = f.read(BLOCK)
                eof = not block
                buf, i = buf[i:] + block, 0
                continue
            line = buf[i : nl + 1]
            pos += nl + 1 - i
            i = nl + 1
            if line.strip():
                lines.append(line)
            if len(lines) >= opts.batch_size:
                yield _batch(lines, schema, spec["file"]), pos
                lines = []
        if lines:
            yield _batch(lines, schema, spec["file"]), pos


def _batch(lines: list[bytes], schema: pa.Schema | None, uri: str) -> pa.RecordBatch:
    try:
        table = _parse(b"".join(lines), schema).combine_chunks()
    except pa.ArrowInvalid as exc:
        if schema is not None and "unexpected field" in str(exc):
            raise _new_keys(lines, schema, uri) from None
        raise
    batches = table.to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], table.schema)
