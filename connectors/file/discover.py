"""Driver side of the File source: which files, in which format, and the one schema they share."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from vts.connectors.file import fs as files
from vts.connectors.file.errors import Code, FileSourceError, wrap
from vts.connectors.file.formats import Format, by_name
from vts.connectors.file.schema import apply_overrides, float64_vectors, infer
from vts.schema import Field, LType, TableSchema

log = logging.getLogger("vts.file")

_BY_SUFFIX = {".parquet": "parquet", ".parq": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_BY_SUFFIX |= {".json": "jsonl", ".csv": "csv", ".npy": "npy"}


@dataclass(frozen=True)
class Found:
    format: str
    files: list[str]
    arrow: pa.Schema  # the first file's own schema
    fields: list[Field]


def format_of(opts: Any, uri: str) -> str:
    if opts.format != "auto":
        return opts.format
    suffix = "." + uri.rsplit(".", 1)[-1].lower() if "." in uri.rsplit("/", 1)[-1] else ""
    if suffix not in _BY_SUFFIX:
        raise FileSourceError(
            Code.UNKNOWN_FORMAT,
            f"cannot tell the format of {uri} from its name",
            hint="set 'format' to parquet, jsonl, csv or npy",
        )
    return _BY_SUFFIX[suffix]


def list_files(opts: Any) -> tuple[str, list[str]]:
    suffixes = tuple(by_name(opts.format).suffixes) if opts.format != "auto" else tuple(_BY_SUFFIX)
    found: list[str] = []
    for pattern in opts.path:
        for uri in files.expand(opts, pattern, suffixes):
            if uri not in found:
                found.append(uri)
    formats = {uri: format_of(opts, uri) for uri in found}
    kinds = sorted(set(formats.values()))
    if len(kinds) > 1:
        raise FileSourceError(
            Code.SCHEMA_MISMATCH,
            f"'path' names files of several formats ({', '.join(kinds)})",
            hint="one File source reads one format: narrow 'path' (a glob such as *.parquet) or set 'format'",
        )
    return kinds[0], found


def _sample(fmt: Format, opts: Any, uri: str, kind: str) -> tuple[pa.Schema, pa.Table]:
    try:
        return fmt.sample(opts, uri)
    except FileSourceError:
        raise
    except Exception as exc:
        raise wrap(exc, f"a {kind} file", uri) from None


def _fields(kind: str, uri: str, schema: pa.Schema, rows: pa.Table) -> list[Field]:
    out = []
    for f in schema:
        sample = rows.column(f.name) if f.name in rows.column_names else None
        field = infer(f.name, f.type, sample, uri)
        # CSV has no list type: vectors come as JSON text. Other formats say what a column is.
        if kind == "csv" and field.type == LType.STRING and sample is not None and (dim := _vector_texts(sample)):
            field = field.with_(type=LType.FLOAT_VECTOR, dimension=dim, nullable=False)
        out.append(field)
    return out


def _vector_texts(sample: Any) -> int | None:
    """A CSV column of JSON number lists of one length: that length (the vector's dimension)."""
    import orjson

    values = [v for v in sample.to_pylist() if v is not None]
    if not values or not all(isinstance(v, str) and v.lstrip().startswith("[") for v in values):
        return None
    try:
        lengths = {len(x) for x in map(orjson.loads, values) if all(isinstance(n, int | float) for n in x)}
    except orjson.JSONDecodeError:
        return None
    return lengths.pop() if len(lengths) == 1 else None


def _shape(fields: list[Field]) -> list[tuple[str, str, int | None]]:
    return [(f.name, f.type.value, f.dimension) for f in fields]


def _difference(a: list[Field], b: list[Field]) -> str:
    sa, sb = {f.name: f for f in a}, {f.name: f for f in b}
    for name in sa.keys() - sb.keys():
        return f"column '{name}' is missing"
    for name in sb.keys() - sa.keys():
        return f"it has a column '{name}' the first file lacks"
    for name, f in sa.items():
        g = sb[name]
        if (f.type, f.dimension) != (g.type, g.dimension):
            return f"column '{name}' is {_describe(g)} there but {_describe(f)} in the first"
    return "the columns come in another order"


def _describe(f: Field) -> str:
    return f"{f.type.value}({f.dimension})" if f.dimension else f.type.value


def find(opts: Any) -> Found:
    kind, uris = list_files(opts)
    fmt = by_name(kind)
    first_arrow, first_rows = _sample(fmt, opts, uris[0], kind)
    first = _fields(kind, uris[0], first_arrow, first_rows)
    for uri in uris[1:]:
        arrow, rows = _sample(fmt, opts, uri, kind)
        fields = _fields(kind, uri, arrow, rows)
        if _shape(fields) != _shape(first):
            raise FileSourceError(
                Code.SCHEMA_MISMATCH,
                f"{uri} has another schema than {uris[0]}: {_difference(first, fields)}",
                hint="write the files with one schema, or read them with separate jobs (narrow 'path')",
            )
    return Found(kind, uris, first_arrow, first)


def table_name(opts: Any, first: str) -> str:
    if opts.table:
        return opts.table
    stem = first.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem) or "files"
    return name if not name[0].isdigit() else f"t_{name}"


def describe(opts: Any) -> tuple[TableSchema, Found]:
    found = find(opts)
    where = found.files[0] if len(found.files) == 1 else f"{found.files[0]} (and {len(found.files) - 1} more)"
    fields = apply_overrides(found.fields, opts.field_schema, opts.primary_key, where)
    wide = float64_vectors(fields, found.arrow)
    if wide:
        log.warning(
            "vector column(s) %s hold float64 values: Milvus's FloatVector keeps float32, so they are carried as "
            "float32 (each value rounded to the nearest float32)",
            ", ".join(wide),
        )
    return TableSchema(table_name(opts, found.files[0]), tuple(fields)), found
