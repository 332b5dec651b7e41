"""BufferBatchWriter: buffers rows and calls Insert/Upsert in batches.

On "rate limit exceeded" or "received message larger than max" with more
than 2 rows: halve the batch size (kept for later batches), wait
``rate_limit_backoff``, split the batch in two and retry each half. At 2
rows, or on any other error: MILVUS-17. Beyond VTS, after ``grow_after``
successful calls the batch size doubles back toward ``batch_size``, so one
burst of throttling does not slow the rest of the run. "partition not found"
for a partition the server still lists: wait (:data:`PARTITION_WAITS`) and
retry the call.

Changelog batches (:data:`vts.connector.OP_COLUMN`) are applied in order: the
upserts buffered before a run of deletes are sent first, then the deletes
(``delete`` by primary key), so a key deleted after an upsert stays deleted
and one upserted again after a delete comes back. Upserts buffered for one
call keep the last row of each key, as Milvus would after two calls.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from time import sleep
from typing import Any

import pyarrow as pa

from vts.connector import OP_COLUMN, OP_DELETE, Flushed, SinkWriter, Split, WriteContext
from vts.connectors.milvus.errors import Code, MilvusError, is_partition_missing, is_rate_limited, wrap
from vts.connectors.milvus.options import MilvusSinkOptions
from vts.connectors.milvus.payload import Payload
from vts.connectors.milvus.rows import insert_rows
from vts.connectors.milvus.target import TargetCollection

log = logging.getLogger("vts.milvus")

_partition_lock = threading.Lock()
# Milvus 2.3's proxy can refuse a partition that a concurrent writer created moments ago (its metadata
# cache lags the create; seen at 16 one-row partitions, two writers): the waits before each retry.
PARTITION_WAITS = (0.5, 1.0, 2.0)
# Embedded Milvus Lite runs in this process and is not safe against a flush racing another write of the
# same collection (its own auto-flush included: "current_seq is monotonic"); the GIL serialises it anyway.
_lite_lock = threading.Lock()


class BufferBatchWriter(SinkWriter):
    def __init__(
        self,
        client: Any,
        opts: MilvusSinkOptions,
        target: TargetCollection,
        split: Split,
        partition: str | None,
        ctx: WriteContext,
    ) -> None:
        self.client = client
        self.opts = opts
        self.target = target
        self.split = split
        self.partition = partition
        self.ctx = ctx
        self.batch_size = opts.batch_size  # current size; shrinks under rate limits, grows back
        self._streak = 0
        self._partition_waits = 0  # retries since the last accepted call, for a partition the proxy did not see
        self._buffer: list[dict[str, Any]] = []
        self._sent = 0  # rows the server accepted since the last flush
        self._buffered_at = 0.0  # when the oldest buffered row arrived
        self._upsert = opts.write_mode == "upsert" and not target.primary.auto_id
        self.sizes_used: list[int] = []  # batch sizes sent, for reports and tests
        if partition:
            ensure_partition(client, target.name, partition)
        try:
            self._payload = Payload(client, target.name, self._upsert)
        except Exception as exc:
            raise self._failure(exc, []) from None

    def write(self, batch: pa.RecordBatch) -> None:
        self._apply(batch)
        interval = self.opts.buffer_flush_interval
        # a stream's few rows must not wait for batch_size; a streaming reader's empty batches come on time
        if self._buffer and interval is not None and time.monotonic() - self._buffered_at >= interval:
            while self._buffer:
                chunk, self._buffer = self._buffer[: self.batch_size], self._buffer[self.batch_size :]
                self._send(chunk)

    def _apply(self, batch: pa.RecordBatch) -> None:
        if OP_COLUMN not in batch.schema.names:
            self._write_rows(batch)
            return
        ops = batch.column(OP_COLUMN).to_pylist()
        rows = batch.drop_columns([OP_COLUMN])
        start = 0
        for i in range(1, len(ops) + 1):  # runs of one op, in order
            if i == len(ops) or ops[i] != ops[start]:
                run = rows.slice(start, i - start)
                if ops[start] == OP_DELETE:
                    self._delete(run)
                else:
                    self._write_rows(run)
                start = i

    def _delete(self, run: pa.RecordBatch) -> None:
        if not self._upsert:
            raise MilvusError(
                Code.WRITE_DATA_FAIL,
                f"the source deletes rows, but {self.target.name} "
                + (
                    "has an auto-id primary key" if self.target.primary.auto_id else "is written with write_mode insert"
                ),
                hint="write a changelog to a collection with its own primary key, with write_mode upsert",
            )
        while self._buffer:  # what was upserted before these deletes goes first
            chunk, self._buffer = self._buffer[: self.batch_size], self._buffer[self.batch_size :]
            self._send(chunk)
        source = self.target.primary.source or self.target.primary.name
        keys = [k for k in run.column(source).to_pylist() if k is not None]
        try:
            with _lite_lock if self.opts.is_lite_file else contextlib.nullcontext():
                self.client.delete(self.target.name, ids=keys, partition_name=self.partition or None)
        except Exception as exc:
            raise wrap(exc, Code.WRITE_DATA_FAIL, f"deleting {len(keys)} row(s) from {self.target.name}") from None
        self._sent += len(keys)

    def _write_rows(self, batch: pa.RecordBatch) -> None:
        inserted = insert_rows(batch, self.target)
        if inserted.rejected:
            self.ctx.rejects.add(inserted.rejected, inserted.reasons)
        if inserted.rows and not self._buffer:
            self._buffered_at = time.monotonic()
        self._buffer.extend(inserted.rows)
        while len(self._buffer) >= self.batch_size:
            chunk, self._buffer = self._buffer[: self.batch_size], self._buffer[self.batch_size :]
            self._send(chunk)

    def flush(self) -> Flushed:
        while self._buffer:
            chunk, self._buffer = self._buffer[: self.batch_size], self._buffer[self.batch_size :]
            self._send(chunk)
        if self.opts.is_lite_file:
            # Embedded Milvus Lite runs inside this process and keeps recent writes in a WAL that a
            # SIGKILL can tear; flushing seals them to disk. A server has them durable once the call returns.
            try:
                with _lite_lock:
                    self.client.flush(self.target.name)
            except Exception as exc:
                raise wrap(exc, Code.WRITE_DATA_FAIL, f"flushing {self.target.name}") from None
        sent, self._sent = self._sent, 0
        return Flushed(sent)

    def _send(self, rows: list[dict[str, Any]]) -> None:
        try:
            with _lite_lock if self.opts.is_lite_file else contextlib.nullcontext():
                self._payload.send(self._last_per_key(rows), self.partition or "")
        except Exception as exc:
            if self._partition_lags(exc):
                self._send(rows)
                return
            if not is_rate_limited(exc) or len(rows) <= 2:
                raise self._failure(exc, rows) from None
            self.batch_size = max(1, len(rows) // 2)
            self._streak = 0
            self.ctx.throttled()
            log.warning(
                "split %s: %s; retrying as 2 x %d rows after %.1fs",
                self.split.id,
                (getattr(exc, "message", None) or str(exc)).splitlines()[0][:200],
                self.batch_size,
                self.opts.rate_limit_backoff,
            )
            sleep(self.opts.rate_limit_backoff)
            mid = len(rows) // 2
            self._send(rows[:mid])
            self._send(rows[mid:])
            return
        self.sizes_used.append(len(rows))
        self._partition_waits = 0
        self._sent += len(rows)
        self._streak += 1
        if self.batch_size < self.opts.batch_size and self._streak >= self.opts.grow_after:
            self.batch_size = min(self.opts.batch_size, self.batch_size * 2)
            self._streak = 0

    def _partition_lags(self, exc: Exception) -> bool:
        """True after a wait when the server refused our partition but still lists it (then retry the call)."""
        if not self.partition or not is_partition_missing(exc) or self._partition_waits >= len(PARTITION_WAITS):
            return False
        try:
            listed = self.client.has_partition(self.target.name, self.partition)
        except Exception:
            return False
        if not listed:  # dropped during the run: re-creating it would hide the rows lost with it
            return False
        wait = PARTITION_WAITS[self._partition_waits]
        self._partition_waits += 1
        log.warning(
            "split %s: the server does not see partition %s yet; retrying in %.1fs", self.split.id, self.partition, wait
        )
        sleep(wait)
        return True

    def _last_per_key(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One upsert call holding a key twice is refused or undefined in Milvus; the last row is the change."""
        if not self._upsert:
            return rows
        name = self.target.primary.name
        last = {row.get(name): row for row in rows}
        return rows if len(last) == len(rows) else list(last.values())

    def _failure(self, exc: Exception, rows: list[dict[str, Any]]) -> MilvusError:
        what = f"writing {len(rows)} row(s) to {self.target.name}" + (
            f" partition {self.partition}" if self.partition else ""
        )
        hint = None
        if is_rate_limited(exc):
            hint = "the server kept throttling down to 2-row batches: lower 'batch_size' or 'env.parallelism', or raise 'rate_limit_backoff'"
        elif is_partition_missing(exc):
            hint = (
                f"the partition was dropped during the run, or the server still did not see it after "
                f"{sum(PARTITION_WAITS):g} s: check the Milvus server log, then run again (it resumes)"
            )
        elif "not exist" in str(exc).lower():
            hint = "the target collection or partition was dropped during the run; run again"
        return wrap(exc, Code.WRITE_DATA_FAIL, what, hint=hint)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            log.debug("closing the Milvus client failed", exc_info=True)


def ensure_partition(client: Any, collection: str, partition: str) -> None:
    """Create a partition on demand; concurrent writers may race, so it is locked and tolerant."""
    with _partition_lock:
        try:
            if client.has_partition(collection, partition):
                return
            client.create_partition(collection, partition)
        except Exception as exc:
            if "already exist" in str(exc).lower():
                return
            raise wrap(exc, Code.CREATE_PARTITION_ERROR, f"creating partition {partition} in {collection}") from None
