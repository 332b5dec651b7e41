"""A sink whose writer kills its own process: a worker crash (OOM kill, SIGKILL) on cue.

Lives in vts.testing, not in a test module, because it is sent to worker
processes, which import it by name.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from vts.connector import Sink, SinkWriter, Split, WriteContext
from vts.testing.faults import FaultySink, PassingWriter


class CrashingSink(FaultySink):
    """The wrapped sink, whose writers SIGKILL their process after ``after_rows`` rows of a split, ``times`` times.

    The count holds across processes: each crash first leaves a file in the
    folder ``crashes`` (created if missing), and a writer dies only while
    fewer than ``times`` files are there; the others, and the retries, go on.
    """

    name = "CrashingSink"
    doc = "A sink whose worker process dies on purpose (tests)."

    def __init__(self, inner: Sink, after_rows: int, crashes: str, times: int = 1) -> None:
        super().__init__(inner, at="never", after_rows=after_rows, times=0)
        self.crashes, self.crash_times = crashes, times

    def writer(self, layout: Any, split: Split, ctx: WriteContext) -> SinkWriter:
        due = lambda: _claim(self.crashes, self.crash_times)  # noqa: E731
        return _CrashingWriter(self.inner.writer(layout, split, ctx), self.after, due)


class _CrashingWriter(PassingWriter):
    def __init__(self, inner: SinkWriter, after: int, due: Callable[[], bool]) -> None:
        super().__init__(inner)
        self.after, self.due, self.rows = after, due, 0

    def write(self, batch: pa.RecordBatch) -> None:
        if self.rows >= self.after and self.due():
            os.kill(os.getpid(), signal.SIGKILL)
        self.inner.write(batch)
        self.rows += batch.num_rows


def _claim(folder: str, times: int) -> bool:
    """True when this process may crash: it took one of the ``times`` crash files (by exclusive create)."""
    os.makedirs(folder, exist_ok=True)
    for i in range(times):
        try:
            fd = os.open(os.path.join(folder, f"crash-{i}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True
    return False
