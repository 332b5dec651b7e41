"""The local executor: runs splits on a thread pool, reading ahead of writing.

Each split gets one worker thread that writes and one reader thread that
fills a small bounded queue, so the next batch is read while the previous one
is written. Memory is bounded by ``parallelism x (READ_AHEAD + writer
buffer)`` batches, whatever the size of the dataset.

Every ``checkpoint_interval`` seconds the worker flushes the writer (making
what it accepted durable) and records the position of the last batch it
handed over; at the end of a split, ``finish`` and then "done". A split that
fails with a transient error (connection reset, unavailable, rate limited
after the writer's own retries) starts again from its last recorded position,
up to ``split_retries`` times with exponential backoff and jitter. The first
fatal failure stops every split and is raised on the driver.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from vts.checkpoint import Checkpoint
from vts.connector import Position, Sink, Source, Split, Transform, WriteContext
from vts.errors import VtsError
from vts.schema import TableSchema

log = logging.getLogger("vts")

READ_AHEAD = 2
_END = object()
_TRANSIENT_WORDS = ("connection reset", "unavailable", "deadline exceeded", "broken pipe", "temporarily", "timed out")


@dataclass
class SplitTask:
    """Everything a worker needs for one split; picklable."""

    split: Split
    source_table: TableSchema  # the schema the reader yields
    stage_tables: list[TableSchema]  # input schema of each transform
    plan: Any


@dataclass(frozen=True)
class Pipeline:
    """The job's connectors, as workers need them."""

    source: Source
    transforms: list[Transform]
    sink: Sink


@dataclass(frozen=True)
class RunSettings:
    parallelism: int = 1
    checkpoint_interval: float = 5.0
    split_retries: int = 3
    retry_backoff: float = 2.0


class Stopped(Exception):
    """Another split failed; this one gave up quietly."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, VtsError):
        return exc.transient
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    text = str(exc).lower()
    return any(w in text for w in _TRANSIENT_WORDS)


@dataclass
class Worker:
    """What every split of a run shares: the connectors, the stop signal, the checkpoint, the settings."""

    pipe: Pipeline
    stop: threading.Event
    checkpoint: Checkpoint
    settings: RunSettings

    def run_split(self, task: SplitTask, ctx: WriteContext) -> Any:
        """One split, retried from its checkpoint on transient errors."""
        attempt = 0
        while True:
            try:
                return _copy_split(self, task, ctx)
            except Stopped:
                raise
            except BaseException as exc:
                if not is_transient(exc) or attempt >= self.settings.split_retries or self.stop.is_set():
                    raise
                attempt += 1
                delay = self.settings.retry_backoff * 2 ** (attempt - 1) * (0.5 + random.random())
                log.warning(
                    "split %s: %s; retrying from its last checkpoint in %.1fs (%d/%d)",
                    task.split.id,
                    str(exc).splitlines()[0][:200],
                    delay,
                    attempt,
                    self.settings.split_retries,
                )
                ctx.stats.retried()
                ctx.stats.rewind(self.checkpoint.rows_written(task.split.id))
                time.sleep(delay)


def _copy_split(w: Worker, task: SplitTask, ctx: WriteContext) -> Any:
    """Read the split from its recorded position to its end, write, mark it done."""
    source, transforms, sink = w.pipe.source, w.pipe.transforms, w.pipe.sink
    stop, checkpoint, settings = w.stop, w.checkpoint, w.settings
    split = task.split
    start: Position = checkpoint.position(split.id)
    written_before = checkpoint.rows_written(split.id)
    q: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD)
    abandon = threading.Event()  # this split's writer stopped; the reader must too

    def put(item: Any) -> bool:
        while not (stop.is_set() or abandon.is_set()):
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        reader = source.read(split, task.source_table, start)
        try:
            for batch, position in reader:
                ctx.stats.read(batch.num_rows)
                for transform, table in zip(transforms, task.stage_tables, strict=True):
                    batch = transform.apply(batch, table)
                if not put((batch, position)):
                    return
            put(_END)
        except BaseException as exc:
            put(exc)
        finally:
            reader.close()

    thread = threading.Thread(target=produce, name=f"read-{split.id}", daemon=True)
    writer = sink.writer(task.plan, split, ctx)
    ctx.stats.rows_written = written_before
    try:
        thread.start()
        last_save = time.monotonic()
        position: Position = start
        while True:
            try:
                item = q.get(timeout=0.2)
            except queue.Empty:
                if stop.is_set():
                    raise Stopped() from None
                continue
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            batch, position = item
            writer.write(batch)
            if time.monotonic() - last_save >= settings.checkpoint_interval:
                writer.flush()
                checkpoint.save(split.id, position, ctx.stats.rows_written)
                last_save = time.monotonic()
        info = writer.finish()
        checkpoint.done(split.id, ctx.stats.rows_written, info)
        return info
    finally:
        abandon.set()
        thread.join(timeout=10)
        writer.close()
        ctx.stats.seconds = time.monotonic() - ctx.stats.started


def run_local(
    pipe: Pipeline,
    tasks: list[SplitTask],
    settings: RunSettings,
    checkpoint: Checkpoint,
    make_ctx: Callable[[Split], WriteContext],
) -> list[Any]:
    """Driver: run every task with ``settings.parallelism`` workers; return commit infos in task order."""
    stop = threading.Event()
    results: list[Any] = [None] * len(tasks)
    pending_tasks = []
    for i, t in enumerate(tasks):
        if checkpoint.is_done(t.split.id):
            results[i] = checkpoint.commit_info(t.split.id)
        else:
            pending_tasks.append((i, t))
    worker = Worker(pipe, stop, checkpoint, settings)
    with ThreadPoolExecutor(max_workers=max(1, settings.parallelism), thread_name_prefix="vts-split") as pool:
        futures = {pool.submit(worker.run_split, t, make_ctx(t.split)): i for i, t in pending_tasks}
        try:
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        except KeyboardInterrupt:
            stop.set()
            for f in futures:
                f.cancel()
            raise
        failed = [f for f in done if f.exception() is not None and not isinstance(f.exception(), Stopped)]
        if failed:
            stop.set()
            for f in pending:
                f.cancel()
            wait(pending)
            raise failed[0].exception()  # type: ignore[misc]
        for f, i in futures.items():
            results[i] = f.result()
    return results
