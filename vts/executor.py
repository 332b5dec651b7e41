"""Executors run splits on workers and report back with events; the driver does the rest.

The contract (:class:`Executor`): ``run`` takes picklable :class:`SplitTask`\\ s
and yields :data:`Event`\\ s on the driver's thread as workers send them:
a split started, rows read and rejected, a checkpoint (a position with the
rows made durable up to it and the writer's state), a retry, a throttle, a
finished split with its commit info. The driver turns them into the
checkpoint, the counters and the progress bar; a worker never writes the
checkpoint, so an executor whose workers are other processes or Ray tasks
plugs in without touching connectors.

:class:`ThreadExecutor` is the local one: each split gets one worker thread
that writes and one reader thread that fills a :class:`~vts.readahead.ReadAhead`,
so the next batches are read while the previous one is written. Memory is
bounded by ``parallelism x (readahead.MAX_BYTES + writer buffer)``, whatever
the size of the dataset. Every ``checkpoint_interval`` seconds the worker flushes the
writer and reports the position of the last batch it handed over. A split
that fails with an error its connector marked transient starts again from its
last reported checkpoint, with the run's :class:`~vts.retry.RetryPolicy`; any
other error stops every split and is raised on the driver.

Stopping a streaming run (:meth:`Executor.drain`) is not a failure: each
split stops at its next batch boundary, flushes its writer, reports a
checkpoint at the last batch it handed over, and ends without finishing,
so the driver keeps the checkpoint and the next run resumes there. Records a
reader rejects (:class:`~vts.connector.Rejected`) go to the run's dead
letters beside the rows the sink refuses.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vts.checkpoint import SplitRecord
from vts.connector import Position, Rejected, Resume, Sink, Source, Split, Transform, WriteContext
from vts.errors import VtsError
from vts.readahead import ReadAhead
from vts.rejects import RejectLog, SplitRejects
from vts.retry import RetryPolicy
from vts.schema import TableSchema

log = logging.getLogger("vts")

_END = object()


@dataclass(frozen=True)
class Pipeline:
    """The job's connectors, as workers need them (picklable: options only)."""

    source: Source
    transforms: list[Transform]
    sink: Sink


@dataclass(frozen=True)
class SplitTask:
    """Everything a worker needs for one split; picklable. ``start`` is the split's checkpoint."""

    split: Split
    source_table: TableSchema  # the schema the reader yields
    stage_tables: list[TableSchema]  # input schema of each transform
    layout: Any  # the sink's layout (Sink.layout)
    start: SplitRecord = field(default_factory=SplitRecord)


@dataclass(frozen=True)
class RunSettings:
    parallelism: int = 1
    checkpoint_interval: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    dead_letters: Path = Path("vts-dead-letters.jsonl")
    max_error_rows: int = 0


# -- events: worker -> driver (picklable) ----------------------------------------------------------


@dataclass(frozen=True)
class Started:
    split_id: str


@dataclass(frozen=True)
class Progress:
    """Rows of the split read and rejected so far (split totals, not increments)."""

    split_id: str
    rows_read: int
    rows_rejected: int


@dataclass(frozen=True)
class Checkpointed:
    """Everything up to ``record.position`` is durable: ``record.rows_written`` rows for the split in all."""

    split_id: str
    record: SplitRecord


@dataclass(frozen=True)
class Finished:
    split_id: str
    record: SplitRecord  # done, with its commit info


@dataclass(frozen=True)
class Retrying:
    split_id: str
    attempt: int
    attempts: int
    delay: float
    reason: str
    record: SplitRecord  # where the retry starts again


@dataclass(frozen=True)
class Throttled:
    split_id: str


Event = Started | Progress | Checkpointed | Finished | Retrying | Throttled


def is_transient(exc: BaseException) -> bool:
    """Only what a connector marked transient is retried: anything else may not be safe to repeat."""
    return isinstance(exc, VtsError) and exc.transient


class Executor(ABC):
    """Runs split tasks on workers (threads, processes, Ray tasks)."""

    def preflight(self, pipe: Pipeline) -> None:
        """Driver, before anything is written: refuse what these workers cannot run, and reach them.

        Raises a coded error naming what to use instead (a connector bound to
        this process, an unreachable cluster); the default accepts everything.
        """

    @abstractmethod
    def run(self, pipe: Pipeline, tasks: list[SplitTask], settings: RunSettings) -> Iterator[Event]:
        """Driver: run every task; yield the workers' events on the calling thread as they arrive.

        Tasks whose ``start`` is done are not given. When a split fails with
        an error that is not transient (or its retries ran out), every other
        split is stopped, their last events are still yielded, and the
        error is raised. Closing the iterator (Ctrl-C) stops every split.
        """

    def drain(self) -> None:
        """Ask every running split to stop cleanly (any thread, a signal handler's included).

        Each split stops at its next batch boundary, flushes, yields a
        ``Checkpointed`` event for what it wrote, and ends without a
        ``Finished``; splits not started yet do not start; ``run`` then
        returns. This is how a streaming run ends.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot stop a run cleanly")


class Stopped(Exception):
    """Another split failed or the run was interrupted; this one gave up quietly."""


class ThreadExecutor(Executor):
    def __init__(self) -> None:
        self._drain = threading.Event()

    def drain(self) -> None:
        self._drain.set()

    def run(self, pipe: Pipeline, tasks: list[SplitTask], settings: RunSettings) -> Iterator[Event]:
        events: queue.Queue[Event] = queue.Queue()
        stop = threading.Event()
        rejects = RejectLog(settings.dead_letters, settings.max_error_rows)
        worker = Worker(pipe, settings, rejects, stop, events.put, self._drain)
        pool = ThreadPoolExecutor(max_workers=max(1, settings.parallelism), thread_name_prefix="vts-split")
        futures: list[Future[None]] = [pool.submit(worker.run_split, t) for t in tasks]
        failure: BaseException | None = None
        try:
            while True:
                try:
                    yield events.get(timeout=0.1)
                    continue
                except queue.Empty:
                    pass
                if failure is None:
                    failure = next((f.exception() for f in futures if f.done() and _failed(f)), None)
                    if failure is not None:
                        stop.set()
                if all(f.done() for f in futures) and events.empty():
                    break
            if failure is not None:
                raise failure
        finally:
            stop.set()
            for f in futures:
                f.cancel()
            pool.shutdown(wait=True)


def _failed(f: Future[None]) -> bool:
    exc = f.exception()
    return exc is not None and not isinstance(exc, Stopped)


@dataclass
class Worker:
    """What every split of a run shares on one worker: connectors, settings, dead letters, the way back."""

    pipe: Pipeline
    settings: RunSettings
    rejects: RejectLog
    stop: threading.Event
    emit: Any  # Callable[[Event], None]
    drain: threading.Event = field(default_factory=threading.Event)  # stop cleanly at the next batch

    def run_split(self, task: SplitTask) -> None:
        """One split, retried from its last checkpoint on transient errors."""
        if self.stop.is_set():
            raise Stopped()
        if self.drain.is_set():
            return
        split = task.split
        self.emit(Started(split.id))
        record, attempt = task.start, 0
        while True:
            progress = _SplitProgress(record)
            try:
                self._copy(task, progress)
                return
            except Stopped:
                raise
            except BaseException as exc:
                record = progress.checkpoint
                policy = self.settings.retry
                if not is_transient(exc) or attempt >= policy.attempts or self.stop.is_set():
                    raise
                attempt += 1
                delay = policy.delay(attempt)
                reason = str(exc).splitlines()[0][:200]
                log.warning(
                    "split %s: %s; transient, so retrying from its last checkpoint in %.1fs (%d/%d)",
                    split.id,
                    reason,
                    delay,
                    attempt,
                    policy.attempts,
                )
                self.emit(Retrying(split.id, attempt, policy.attempts, delay, reason, record))
                if self.stop.wait(delay):
                    raise Stopped() from None

    def _copy(self, task: SplitTask, progress: _SplitProgress) -> None:
        """Read the split from its checkpoint to its end, write, report."""
        source, transforms, sink = self.pipe.source, self.pipe.transforms, self.pipe.sink
        split, start = task.split, progress.checkpoint
        q = ReadAhead()
        abandon = threading.Event()  # this split's writer stopped; the reader must too

        def put(item: Any, nbytes: int = 0) -> bool:
            while not (self.stop.is_set() or abandon.is_set()):
                if q.put(item, nbytes, timeout=0.2):
                    return True
            return False

        def produce() -> None:
            reader = source.read(split, task.source_table, start.position)
            try:
                for batch, position in reader:
                    if isinstance(batch, Rejected):
                        if not put((batch, position, len(batch.rows)), batch.nbytes):
                            return
                        continue
                    n = batch.num_rows
                    for transform, table in zip(transforms, task.stage_tables, strict=True):
                        batch = transform.apply(batch, table, rejects)
                    if not put((batch, position, n), batch.nbytes):
                        return
                put(_END)
            except BaseException as exc:
                put(exc)
            finally:
                reader.close()

        rejects = SplitRejects(self.rejects, split.id, split.table, start.rows_rejected)
        ctx = WriteContext(
            Resume(start.rows_written, start.writer_state), rejects, lambda: self.emit(Throttled(split.id))
        )
        thread = threading.Thread(target=produce, name=f"read-{split.id}", daemon=True)
        writer = sink.writer(task.layout, split, ctx)
        try:
            thread.start()
            last_save = time.monotonic()
            position: Position = start.position
            read, durable, state = start.rows_read, start.rows_written, start.writer_state
            while True:
                try:
                    item = q.get(timeout=0.2)
                except queue.Empty:
                    if self.stop.is_set():
                        raise Stopped() from None
                    if self.drain.is_set():
                        self._stop_cleanly(split.id, writer, progress, position, read, durable, rejects.count)
                        return
                    continue
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                batch, position, n = item
                if isinstance(batch, Rejected):
                    rejects.add(batch.rows, batch.reasons)
                else:
                    writer.write(batch)
                read += n
                self.emit(Progress(split.id, read, rejects.count))
                if time.monotonic() - last_save >= self.settings.checkpoint_interval:
                    flushed = writer.flush()
                    durable, state = durable + flushed.rows, flushed.state
                    progress.checkpoint = SplitRecord(position, durable, state, read, rejects.count)
                    self.emit(Checkpointed(split.id, progress.checkpoint))
                    last_save = time.monotonic()
                if self.drain.is_set():
                    self._stop_cleanly(split.id, writer, progress, position, read, durable, rejects.count)
                    return
            flushed = writer.flush()
            durable = durable + flushed.rows
            info = writer.finish()
            # the position stays with the finished split: the driver acknowledges it to the source
            done = SplitRecord(position, durable, None, read, rejects.count, done=True, commit_info=info)
            progress.checkpoint = done
            self.emit(Finished(split.id, done))
        finally:
            abandon.set()
            thread.join(timeout=10)
            writer.close()

    def _stop_cleanly(
        self,
        split_id: str,
        writer: Any,
        progress: _SplitProgress,
        position: Position,
        read: int,
        durable: int,
        rejected: int,
    ) -> None:
        """Drained: make what was handed over durable and report it; the split stays unfinished."""
        flushed = writer.flush()
        progress.checkpoint = SplitRecord(position, durable + flushed.rows, flushed.state, read, rejected)
        self.emit(Checkpointed(split_id, progress.checkpoint))


@dataclass
class _SplitProgress:
    """The last checkpoint an attempt reported: where its retry starts."""

    checkpoint: SplitRecord


__all__ = [
    "Checkpointed",
    "Event",
    "Executor",
    "Finished",
    "Pipeline",
    "Progress",
    "Retrying",
    "RunSettings",
    "SplitTask",
    "Started",
    "ThreadExecutor",
    "Throttled",
    "is_transient",
]
