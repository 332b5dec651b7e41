"""What ``vts run`` shows: a progress bar, the driver's stages after the copy, and the summary.

One clock and one count for every rate on screen (``RunStats.rate``): rows
read by this run, divided by the seconds from the start of the run to the
end of the copy, on the bar as in the summary. The summary's "total s" runs
on to the end of the last stage (an import, an index build), each of which
prints its own time.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from vts.connector import Sink
from vts.stage import ConsoleStage
from vts.stats import RunStats

if TYPE_CHECKING:
    from vts.engine import RunResult


class RateColumn(ProgressColumn):
    """Rows per second since the run started (the summary's rate), not a moving estimate."""

    def __init__(self, stats: RunStats) -> None:
        super().__init__()
        self.stats = stats

    def render(self, task: Task) -> Text:
        rate = self.stats.rate
        return Text(f"{rate:,.0f} rows/s" if rate else "- rows/s", style="cyan")


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
            RateColumn(stats),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("migrating", total=total_rows or None)
        self._thread = threading.Thread(target=self._loop, daemon=True, name="vts-progress")
        self._running = False

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            self._progress.update(self._task, completed=self.stats["rows_read"])

    def start(self) -> None:
        if self.enabled and not self._running:
            self._running = True
            self._progress.start()
            self._thread.start()

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._stop.set()
            self._thread.join()
            self._progress.update(self._task, completed=self.stats["rows_read"])
            self._progress.stop()


class RunView:
    """The CLI's observer of a run (``vts.engine.Observer``): resume line, bar, stages with their time."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console, self.quiet = console, quiet
        self.run: RunResult | None = None
        self._bar: ProgressReporter | None = None
        self._stages = ConsoleStage(console, enabled=not quiet)

    def ready(self, run: RunResult) -> None:
        self.run = run
        splits = len(run.discovery.splits)
        if run.resumed:
            self.console.print(
                f"vts: resuming the interrupted run recorded in {run.checkpoint_path}: {run.splits_done_before} of "
                f"{splits} split(s) done, {run.rows_before:,} row(s) already written (--fresh starts over)"
            )
        elif not self.quiet:
            self.console.print(
                f"vts: {splits} split(s), {run.expected_rows:,} row(s) expected, parallelism {run.job.env.parallelism}"
            )
        remaining = max(run.expected_rows - run.rows_before, 0)
        self._bar = ProgressReporter(run.stats, remaining, self.console, enabled=not self.quiet)
        self._bar.start()

    def stage(self, what: str) -> AbstractContextManager[None]:
        if self._bar is not None:
            self._bar.stop()  # the bar's line stays; the stage's spinner goes below it
        return self._stages(what)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def summary(run: RunResult) -> Group:
    """The end-of-run summary: counts and rate, where the rows went, rejects, the next command."""
    stats = run.stats
    t = stats.totals
    table = Table(title="vts run summary", show_header=True)
    for col in ("rows read", "written", "rejected", "copy s", "rows/s", "total s"):
        table.add_column(col, justify="right")
    table.add_row(
        f"{t['rows_read']:,}",
        f"{t['rows_written']:,}",
        f"{t['rows_rejected']:,}",
        f"{stats.copy_seconds:,.1f}",
        f"{stats.rate:,.0f}",
        f"{stats.seconds:,.1f}",
    )
    lines: list[Text | Table] = [table]
    for table_name, rows, parts in _per_target(stats):
        where = run.targets.get(table_name, table_name)
        staged = " staged" if stats.staging else ""
        text = f"{table_name} -> {where}: {rows:,} row(s){staged}"
        if parts:
            text += " (" + ", ".join(f"partition {p} {n:,}" for p, n in parts) + ")"
        lines.append(Text(text))
    if t["rows_staged"]:
        lines.append(
            Text(
                f"{t['rows_staged']:,} row(s) staged as Parquet, {t['rows_written']:,} imported "
                "(written counts only what the import reported loaded)"
            )
        )
    if t["rows_rejected"]:
        lines.append(Text(f"{t['rows_rejected']:,} rejected row(s) with reasons in {run.dead_letters}"))
    if _verifiable(run.job.sink):
        job = run.job.path or "job.yaml"
        lines.append(Text(f"next: vts verify {job}  (proves the target holds exactly the source's rows)"))
    return Group(*lines)


def _verifiable(sink: Sink) -> bool:
    """Whether `vts verify` can read this sink back (it overrides Sink.verifier); asked without a layout."""
    return type(sink).verifier is not Sink.verifier


def _per_target(stats: RunStats) -> list[tuple[str, int, list[tuple[str, int]]]]:
    """(table, rows written by this run, [(partition, rows)]) in the order of the run's splits."""
    rows: dict[str, int] = defaultdict(int)
    parts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in stats.splits:
        n = s.rows_written - s.base.rows_written
        rows[s.table] += n
        if s.partition is not None:
            parts[s.table][s.partition] += n
    return [(name, n, sorted(parts[name].items())) for name, n in rows.items()]
