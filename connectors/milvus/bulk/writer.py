"""The BulkWriter's worker side: one split's rows -> Parquet files in the staging area.

Files are named ``<prefix>/<collection>/<partition>/<split>-<first row>.parquet``
where ``<first row>`` is the split-relative number of the file's first row.
The names are deterministic, and a writer that starts at row R
(``ctx.resume.rows``: 0 on a fresh split, the checkpointed count on a retry
or a resume) deletes
every file of its split that starts at or after R before writing: what a
failed attempt left is either replaced or removed, and files below R are
exactly the ones the checkpoint covers. Only the files listed in the commit
info (:meth:`StagingWriter.finish`) are imported, once, on the driver.

``write`` converts and buffers; a row group (``row_group_mb``) is written
when the buffer is full; a file is closed when the next rows would take it
past ``chunk_size`` and is uploaded in the background while the next one is
written. ``flush`` (before each checkpoint) closes the open file and waits
until every file is durable: a file never spans a checkpoint.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vts.connector import OP_COLUMN, Flushed, SinkWriter, Split, WriteContext
from vts.connectors.milvus.bulk.config import MB, BulkWriterConfig
from vts.connectors.milvus.bulk.errors import storage_error
from vts.connectors.milvus.bulk.parquet import ParquetBatches
from vts.connectors.milvus.bulk.storage import Storage, open_storage
from vts.connectors.milvus.errors import Code, MilvusError
from vts.connectors.milvus.target import TargetCollection

log = logging.getLogger("vts.milvus.bulk")

FOOTER_MARGIN = 256 * 1024  # bytes kept free in a chunk for the Parquet footer and page headers
DEFAULT_PARTITION = "_default"


def split_stem(split_id: str) -> str:
    """A file-name-safe, collision-free stem for a split id."""
    slug = re.sub(r"[^A-Za-z0-9._=-]+", "_", split_id)[:80]
    return f"{slug}-{hashlib.sha1(split_id.encode()).hexdigest()[:8]}"


def folder_for(cfg: BulkWriterConfig, collection: str, partition: str | None) -> str:
    parts = [p for p in (cfg.clean_prefix, collection, partition or DEFAULT_PARTITION) if p]
    return "/".join(parts)


def file_key(folder: str, stem: str, start: int) -> str:
    return f"{folder}/{stem}-{start:012d}.parquet"


class StagingWriter(SinkWriter):
    def __init__(
        self,
        cfg: BulkWriterConfig,
        target: TargetCollection,
        split: Split,
        partition: str | None,
        ctx: WriteContext,
    ) -> None:
        self.cfg = cfg
        self.target = target
        self.split = split
        self.partition = partition
        self.ctx = ctx
        self.parquet = ParquetBatches(target)
        self.folder = folder_for(cfg, target.name, partition)
        self.stem = split_stem(split.id)
        self.storage: Storage = open_storage(cfg)  # the driver's preflight checked it
        self.row_group_bytes = max(1, int(cfg.row_group_mb * MB))
        self.chunk_budget = max(64 * 1024, cfg.chunk_bytes - FOOTER_MARGIN)
        self.files: list[dict[str, Any]] = []  # durable files of this split, in row order
        self._next_row: int | None = None  # split-relative number of the next row; set on first use
        self._buffer: list[pa.RecordBatch] = []
        self._buffer_bytes = 0
        self._file: pq.ParquetWriter | None = None
        self._sink: pa.NativeFile | None = None
        self._path: Path | None = None
        self._file_start = 0
        self._file_rows = 0
        self._uploader = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"vts-upload-{self.stem[:20]}")
        self._pending: tuple[Future, dict[str, Any]] | None = None
        self._durable_since_flush = 0

    # -- start: pick up where the checkpoint left the split ------------------------------------

    def _start(self) -> None:
        if self._next_row is not None:
            return
        start = self.ctx.resume.rows
        prefix = f"{self.folder}/{self.stem}-"
        pattern = re.compile(re.escape(prefix) + r"(\d{12})\.parquet$")
        existing = sorted(
            (int(m.group(1)), key, size) for key, size in self.storage.list(prefix).items() if (m := pattern.match(key))
        )
        kept = [(s, k, b) for s, k, b in existing if s < start]
        stale = [k for s, k, _ in existing if s >= start]
        if stale:
            log.info("split %s: removing %d staged file(s) of an earlier attempt", self.split.id, len(stale))
            self.storage.delete(stale)
        bounds = [s for s, _, _ in kept] + [start]
        self.files = [
            {"key": k, "path": self.storage.import_path(k), "rows": bounds[i + 1] - s, "bytes": b}
            for i, (s, k, b) in enumerate(kept)
        ]
        if start and (not kept or kept[0][0] != 0):
            raise MilvusError(
                Code.INIT_WRITER_ERROR,
                f"split {self.split.id} resumes at row {start:,} but its staged files under {self.folder}/ are gone",
                hint="run the job again with --fresh (the staging area was cleaned while the run was interrupted)",
            )
        self._next_row = start

    # -- SinkWriter -----------------------------------------------------------------------------

    def write(self, batch: pa.RecordBatch) -> None:
        if OP_COLUMN in batch.schema.names:
            raise MilvusError(
                Code.WRITE_DATA_FAIL,
                "the source deletes rows (a changelog), and a bulk import can only add them",
                hint="remove 'bulk_writer_config' to write through upserts and deletes",
            )
        self._start()
        staged = self.parquet.stage(batch)
        if staged.rejected:
            self.ctx.rejects.add(staged.rejected, staged.reasons)
        self._append(staged.batch)

    def flush(self) -> Flushed:
        self._start()
        self._close_file()
        self._wait_upload()
        done, self._durable_since_flush = self._durable_since_flush, 0
        return Flushed(done)

    def finish(self) -> dict[str, Any]:
        self._start()
        return {
            "kind": "milvus-bulk",
            "collection": self.target.name,
            "partition": self.partition,
            "split": self.split.id,
            "rows": sum(f["rows"] for f in self.files),
            "files": list(self.files),
        }

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except Exception:
                log.debug("closing an unfinished Parquet file failed", exc_info=True)
            self._file = None
        if self._sink is not None and not self._sink.closed:
            self._sink.close()
        self._uploader.shutdown(wait=True)
        if self._path is not None:
            self._path.unlink(missing_ok=True)
        self.storage.close()

    # -- chunking -------------------------------------------------------------------------------

    def _file_bytes(self) -> int:
        return (self._sink.tell() if self._sink is not None else 0) + self._buffer_bytes

    def _append(self, batch: pa.RecordBatch) -> None:
        while batch.num_rows:
            size = batch.nbytes
            room = self.chunk_budget - self._file_bytes()
            if size <= room:
                self._buffer_rows(batch)
                return
            per_row = max(1, size // batch.num_rows)
            fit = int(room // per_row)
            if fit <= 0:
                if self._file_rows or self._buffer:
                    self._close_file()
                    continue
                fit = 1  # a single row larger than chunk_size: it still has to go somewhere
            self._buffer_rows(batch.slice(0, fit))
            self._close_file()
            batch = batch.slice(fit)

    def _buffer_rows(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        self._buffer.append(batch)
        self._buffer_bytes += batch.nbytes
        self._file_rows += batch.num_rows
        if self._buffer_bytes >= self.row_group_bytes:
            self._write_row_group()

    def _write_row_group(self) -> None:
        if not self._buffer:
            return
        if self._file is None:
            self._open_file()
        table = pa.Table.from_batches(self._buffer, schema=self.parquet.schema)
        try:
            self._file.write_table(table, row_group_size=table.num_rows)  # type: ignore[union-attr]
        except OSError as exc:
            raise storage_error(exc, "local", str(self._path), "writing a Parquet file") from None
        self._buffer, self._buffer_bytes = [], 0

    def _open_file(self) -> None:
        fd, name = tempfile.mkstemp(prefix=f".{self.stem}-", suffix=".parquet.tmp", dir=self.storage.spool_dir())
        os.close(fd)
        self._path = Path(name)
        self._sink = pa.OSFile(name, "wb")
        self._file = pq.ParquetWriter(self._sink, self.parquet.schema, compression=self.parquet.compression)
        self._file_start = self._next_row or 0

    def _close_file(self) -> None:
        if not self._file_rows:
            return
        self._write_row_group()
        assert self._file is not None and self._sink is not None and self._path is not None
        self._file.close()
        self._sink.close()
        rows, start, path = self._file_rows, self._file_start, self._path
        self._file, self._sink, self._path, self._file_rows = None, None, None, 0
        self._next_row = start + rows
        key = file_key(self.folder, self.stem, start)
        entry = {"key": key, "path": self.storage.import_path(key), "rows": rows, "bytes": path.stat().st_size}
        self._wait_upload()  # at most one upload in flight per writer: bounded temp disk
        self._pending = (self._uploader.submit(self.storage.put_file, path, key), entry)

    def _wait_upload(self) -> None:
        if self._pending is None:
            return
        future, entry = self._pending
        self._pending = None
        future.result()  # raises the coded storage error
        self.files.append(entry)
        self._durable_since_flush += entry["rows"]
        log.debug("split %s: staged %s (%d rows, %d bytes)", self.split.id, entry["key"], entry["rows"], entry["bytes"])
