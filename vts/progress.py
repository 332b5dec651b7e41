"""Progress bar (rows, rows/s, ETA) and the end-of-run summary, on rich."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from vts.stats import RunStats


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s", style="cyan")


class RowsColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        total = f"{int(task.total):,}" if task.total else "?"
        return Text(f"{int(task.completed):,}/{total} rows")


class ProgressReporter:
    """Polls the run's counters and redraws; a no-op when disabled."""

    def __init__(self, stats: RunStats, total_rows: int, console: Console, enabled: bool = True) -> None:
        self.stats, self.total, self.enabled = stats, total_rows, enabled
        self._stop = threading.Event()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            RowsColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            speed_estimate_period=10,
        )
        self._task = self._progress.add_task("migrating", total=total_rows or None)
        self._thread = threading.Thread(target=self._loop, daemon=True, name="vts-progress")

    def _done(self) -> int:
        return self.stats["rows_written"] + self.stats["rows_staged"] + self.stats["rows_rejected"]

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            self._progress.update(self._task, completed=self._done())

    def __enter__(self) -> ProgressReporter:
        if self.enabled:
            self._progress.start()
            self._thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            self._progress.update(self._task, completed=self._done())
            self._progress.stop()


def summary(stats: RunStats) -> Table:
    t = stats.totals
    secs = stats.seconds
    table = Table(title="vts run summary", show_header=True)
    for col in ("rows read", "written", "rejected", "seconds", "rows/s"):
        table.add_column(col, justify="right")
    rate = t["rows_written"] / secs if secs > 0 else 0.0
    table.add_row(
        f"{t['rows_read']:,}", f"{t['rows_written']:,}", f"{t['rows_rejected']:,}", f"{secs:,.1f}", f"{rate:,.0f}"
    )
    return table
