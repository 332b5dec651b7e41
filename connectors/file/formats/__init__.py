"""One module per file format, each with the same three functions (see :class:`Format`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pyarrow as pa


class Format(Protocol):
    """What the File source needs of a format; every function opens the file itself (workers too).

    - ``sample(opts, uri)``: the file's Arrow schema and a few rows (types, vector lengths);
    - ``pieces(opts, uri)``: ``(spec, estimated rows)`` per split of the file, in file order;
      ``spec`` is JSON and names its file (``spec["file"]``);
    - ``read(opts, spec, position)``: the split's batches as the file holds them, each with the
      position after it (``None``: from the split's start).
    """

    suffixes: tuple[str, ...]

    def sample(self, opts: Any, uri: str) -> tuple[pa.Schema, pa.Table]: ...

    def pieces(self, opts: Any, uri: str) -> list[tuple[dict[str, Any], int]]: ...

    def read(self, opts: Any, spec: dict[str, Any], position: Any) -> Iterator[tuple[pa.RecordBatch, Any]]: ...


def by_name(name: str) -> Format:
    from vts.connectors.file.formats import csv, jsonl, npy, parquet

    return {"parquet": parquet, "jsonl": jsonl, "csv": csv, "npy": npy}[name]  # type: ignore[return-value]
