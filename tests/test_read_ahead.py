"""A split's reader runs ahead of its writer by bytes, not by a count of batches."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import write_job
from vts import config, engine
from vts.connector import Position, Rejected, SinkWriter, Split, WriteContext
from vts.readahead import ReadAhead
from vts.schema import TableSchema
from vts.testing.faults import FaultySink, FaultySource, PassingWriter


def test_small_batches_queue_until_their_bytes_reach_the_bound() -> None:
    ahead = ReadAhead(max_bytes=1000, min_items=2)
    assert all(ahead.put(i, 100, timeout=0) for i in range(10))
    assert not ahead.put(10, 100, timeout=0.01)  # 1 100 bytes would be over the bound
    assert ahead.get(timeout=0) == 0
    assert ahead.put(10, 100, timeout=0)


def test_a_batch_larger_than_the_bound_still_gets_one_read_ahead() -> None:
    ahead = ReadAhead(max_bytes=100, min_items=2)
    assert ahead.put("a", 500, timeout=0) and ahead.put("b", 500, timeout=0)
    assert not ahead.put("c", 500, timeout=0.01)


def test_get_gives_up_after_its_timeout_and_then_takes_what_comes() -> None:
    ahead = ReadAhead()
    with pytest.raises(queue.Empty):
        ahead.get(timeout=0.01)
    threading.Timer(0.05, lambda: ahead.put("late", 1, timeout=1)).start()
    assert ahead.get(timeout=5) == "late"


class _CountingSource(FaultySource):
    """The wrapped source, counting the batches it has handed out."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner, times=0)
        self.batches = 0
        self.changed = threading.Condition()

    def read(self, split: Split, table: TableSchema, position: Position = None) -> Iterator[tuple[Any, Position]]:
        for item in self.items(split, table, position):
            with self.changed:
                self.batches += 1
                self.changed.notify_all()
            yield item

    def items(self, split: Split, table: TableSchema, position: Position) -> Iterator[tuple[Any, Position]]:
        return self.inner.read(split, table, position)


class _BusyFirstWrite(FaultySink):
    """The wrapped sink, whose first write stands for a long insert call: it returns once the source is
    ``ahead`` batches further on (or after 5 s), and records how far it got."""

    def __init__(self, inner: Any, source: _CountingSource, ahead: int) -> None:
        super().__init__(inner, at="never", times=0)
        self.source, self.ahead = source, ahead
        self.seen: int | None = None

    def writer(self, layout: Any, split: Split, ctx: WriteContext) -> SinkWriter:
        return _BusyWriter(self.inner.writer(layout, split, ctx), self)


class _BusyWriter(PassingWriter):
    def __init__(self, inner: SinkWriter, sink: _BusyFirstWrite) -> None:
        super().__init__(inner)
        self.sink = sink

    def write(self, batch: pa.RecordBatch) -> None:
        sink, source = self.sink, self.sink.source
        if sink.seen is None:
            with source.changed:
                source.changed.wait_for(lambda: source.batches > sink.ahead, timeout=5)
                sink.seen = source.batches
        self.inner.write(batch)


def test_a_reader_of_small_batches_keeps_reading_while_the_writer_is_in_a_call(tmp_path: Path) -> None:
    source = {
        "collection": "docs",
        "row_count": 3000,
        "batch_size": 100,
        "fields": [
            {"name": "id", "type": "BIGINT", "primary_key": True},
            {"name": "v", "type": "FLOAT_VECTOR", "dimension": 8},
        ],
    }
    out = tmp_path / "out"
    job = config.load(
        write_job(
            tmp_path / "job.yaml",
            {
                "env": {"checkpoint": {"path": str(tmp_path / "cp")}},
                "source": {"DataGen": source},
                "sink": {"Parquet": {"path": str(out)}},
            },
        )
    )
    counting = _CountingSource(job.source)
    busy = _BusyFirstWrite(job.sink, counting, ahead=20)
    result = engine.run(replace(job, source=counting, sink=busy))
    # 20 batches of 100 rows (about 4 KB each) are read while the first is being written: two would be a
    # bound in batches, which made the reader and the writer take turns
    assert busy.seen is not None and busy.seen > 20
    assert result.stats["rows_written"] == 3000
    assert sum(pq.read_table(f).num_rows for f in out.rglob("*.parquet")) == 3000


class _RejectingSource(_CountingSource):
    """The wrapped source's first batch, then ``rejects`` records of 1 MB each that it cannot turn into rows."""

    def __init__(self, inner: Any, rejects: int) -> None:
        super().__init__(inner)
        self.rejects = rejects

    def items(self, split: Split, table: TableSchema, position: Position) -> Iterator[tuple[Any, Position]]:
        reader = self.inner.read(split, table, position)
        batch, after = next(reader)
        reader.close()
        yield batch, after
        for n in range(self.rejects):
            yield Rejected([{"record": n, "raw": "x" * 2**20}], [f"record {n} is not a row"]), after


def test_rejected_records_count_their_bytes_against_the_read_ahead_bound(tmp_path: Path) -> None:
    job = config.load(
        write_job(
            tmp_path / "job.yaml",
            {
                "env": {"checkpoint": {"path": str(tmp_path / "cp")}, "dead_letter_path": str(tmp_path / "dl.jsonl")},
                "source": {"DataGen": {"collection": "docs", "row_count": 100, "batch_size": 100}},
                "sink": {"Parquet": {"path": str(tmp_path / "out"), "max_error_rows": 1000}},
            },
        )
    )
    rejecting = _RejectingSource(job.source, rejects=80)
    busy = _BusyFirstWrite(job.sink, rejecting, ahead=80)
    result = engine.run(replace(job, source=rejecting, sink=busy))
    # 80 MB of rejects behind a stuck write: weighed as nothing, all 80 were held at once
    assert busy.seen is not None and busy.seen < 40
    assert result.stats["rows_written"] == 100
    assert len((tmp_path / "dl.jsonl").read_text().splitlines()) == 80
