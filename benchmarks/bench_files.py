"""File source and Parquet sink throughput against pyarrow alone (the limit), 768-d vectors, local disk.

- Parquet read: ``FileSource`` (cutting splits, row-group ranges, conversion to the logical schema) vs
  ``ParquetFile.iter_batches`` over the same files;
- JSONL read: ``FileSource`` (byte-range splits, line framing) vs ``pyarrow.json.read_json`` of the file;
- Parquet write: the ``Parquet`` sink's writers (row checks, Milvus's import layout, chunked files) vs
  ``pq.write_table`` of the same rows.

One thread each (the engine runs splits in parallel; this measures the per-thread cost).

Usage: .venv/bin/python benchmarks/bench_files.py [--rows 50000] [--dim 768]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vts.connector import Resume, Split, WriteContext
from vts.connectors.file.options import FileSourceOptions
from vts.connectors.file.source import FileSource
from vts.connectors.parquet.options import ParquetSinkOptions
from vts.connectors.parquet.sink import ParquetSink
from vts.rejects import RejectLog, SplitRejects


def _table(rows: int, dim: int) -> pa.Table:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((rows, dim), dtype=np.float32)
    return pa.table(
        {
            "id": np.arange(rows, dtype=np.int64),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim),
            "title": [f"title {i}" for i in range(rows)],
        }
    )


def _timed(label: str, rows: int, fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    secs = time.perf_counter() - start
    print(f"{label:40s} {rows / secs:>10,.0f} rows/s  ({secs:.2f}s)")
    return secs


def _read_all(source: FileSource) -> int:
    (table,) = source.discover()
    return sum(b.num_rows for s in source.splits([table], 4) for b, _ in source.read(s, table))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--dim", type=int, default=768)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = _table(args.rows, args.dim)
        (root / "pq").mkdir()
        quarter = args.rows // 4
        for n in range(4):
            pq.write_table(data.slice(n * quarter, quarter), root / "pq" / f"part-{n}.parquet", row_group_size=5000)
        rows = quarter * 4
        print(f"{rows:,} rows, {args.dim}-d")

        def arrow_parquet() -> None:
            for path in sorted((root / "pq").glob("*.parquet")):
                for _ in pq.ParquetFile(path).iter_batches(batch_size=4096):
                    pass

        base = _timed("parquet read: pyarrow alone", rows, arrow_parquet)
        opts = FileSourceOptions(path=str(root / "pq" / "*.parquet"))
        vts = _timed("parquet read: File source", rows, lambda: _read_all(FileSource(opts)))
        print(f"{'':40s} {base / vts:.2f}x pyarrow")

        jsonl = root / "data.jsonl"
        small = data.slice(0, min(rows, 10_000))
        with jsonl.open("w") as f:
            for r in small.to_pylist():
                f.write(json.dumps(r) + "\n")
        base = _timed("jsonl read: pyarrow read_json alone", small.num_rows, lambda: pj.read_json(jsonl))
        opts = FileSourceOptions(path=str(jsonl), split_mb=16)
        vts = _timed("jsonl read: File source", small.num_rows, lambda: _read_all(FileSource(opts)))
        print(f"{'':40s} {base / vts:.2f}x pyarrow")

        base = _timed("parquet write: pq.write_table alone", rows, lambda: pq.write_table(data, root / "alone.parquet"))
        source = FileSource(FileSourceOptions(path=str(root / "pq" / "*.parquet")))
        (table,) = source.discover()
        batches = [b for s in source.splits([table], 1) for b, _ in source.read(s, table)]

        def sink_write() -> None:
            sink = ParquetSink(ParquetSinkOptions(path=str(root / "export")))
            layout = sink.layout([table])
            split = Split("bench/all", table.name, None, rows)
            rejects = SplitRejects(RejectLog(root / "rejects.jsonl"), split.id, table.name)
            writer = sink.writer(layout, split, WriteContext(Resume(), rejects))
            for b in batches:
                writer.write(b)
            writer.flush()
            writer.close()

        vts = _timed("parquet write: Parquet sink", rows, sink_write)
        print(f"{'':40s} {base / vts:.2f}x pyarrow")


if __name__ == "__main__":
    main()
