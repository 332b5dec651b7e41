"""The local executor: runs splits on a thread pool, reading ahead of writing.

Each split gets one worker thread that writes and one reader thread that
fills a small bounded queue, so the next batch is read while the previous one
is written. Memory is bounded by ``parallelism x (READ_AHEAD + writer
buffer)`` batches, whatever the size of the dataset. The first failure stops
every split and is raised on the driver.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from vts.connector import Sink, Source, Split, Transform, WriteContext
from vts.schema import TableSchema
from vts.stats import RunStats

READ_AHEAD = 2
_END = object()


@dataclass
class SplitTask:
    """Everything a worker needs for one split; picklable."""

    split: Split
    source_table: TableSchema  # the schema the reader yields
    stage_tables: list[TableSchema]  # input schema of each transform
    plan: Any


class Stopped(Exception):
    """Another split failed; this one gave up quietly."""


def run_split(
    source: Source,
    transforms: list[Transform],
    sink: Sink,
    task: SplitTask,
    ctx: WriteContext,
    stop: threading.Event,
) -> Any:
    """Worker: read one split, transform, write; return the writer's commit info."""
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
        reader = source.read(task.split, task.source_table, None)
        try:
            for batch, position in reader:
                ctx.stats.read(batch.num_rows)
                for transform, table in zip(transforms, task.stage_tables, strict=True):
                    batch = transform.apply(batch, table)
                if not put((batch, position)):
                    return
            put(_END)
        except BaseException as exc:  # handed to the writing thread, which raises it
            put(exc)
        finally:
            reader.close()

    thread = threading.Thread(target=produce, name=f"read-{task.split.id}", daemon=True)
    writer = sink.writer(task.plan, task.split, ctx)
    try:
        thread.start()
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
            writer.write(item[0])
        return writer.finish()
    finally:
        abandon.set()
        thread.join(timeout=10)
        writer.close()
        ctx.stats.seconds = time.monotonic() - ctx.stats.started


def run_local(
    source: Source,
    transforms: list[Transform],
    sink: Sink,
    tasks: list[SplitTask],
    parallelism: int,
    make_ctx: Callable[[Split], WriteContext],
) -> list[Any]:
    """Driver: run every task with ``parallelism`` workers; return commit infos in task order."""
    stop = threading.Event()
    results: list[Any] = [None] * len(tasks)
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="vts-split") as pool:
        futures = {
            pool.submit(run_split, source, transforms, sink, t, make_ctx(t.split), stop): i for i, t in enumerate(tasks)
        }
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


__all__ = ["RunStats", "SplitTask", "run_local", "run_split"]
