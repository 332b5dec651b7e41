"""Run counters shared by workers and shown by progress and the summary."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class SplitStats:
    split_id: str
    table: str
    partition: str | None
    rows_read: int = 0
    rows_written: int = 0
    rows_rejected: int = 0
    rows_staged: int = 0  # bulk writers: durable in staging, not yet in the target
    retries: int = 0
    rate_limit_events: int = 0
    started: float = 0.0
    seconds: float = 0.0
    _run: RunStats | None = field(default=None, repr=False)
    _durable_total: str = field(default="rows_written", repr=False)

    def read(self, n: int) -> None:
        self.rows_read += n
        if self._run:
            self._run.bump("rows_read", n)

    def written(self, n: int) -> None:
        self.rows_written += n
        if self._run:
            self._run.bump("rows_written", n)

    def staged(self, n: int) -> None:
        """A bulk writer made ``n`` rows durable in its staging area.

        They count toward this split's ``rows_written`` (what checkpoints and
        resume need: rows the sink holds for the split) but in the run's
        ``rows_staged`` total, not ``rows_written``: they are written once the
        sink's commit imports them (:meth:`RunStats.committed`).
        """
        self._durable_total = "rows_staged"
        self.rows_written += n
        self.rows_staged += n
        if self._run:
            self._run.bump("rows_staged", n)

    def rejected(self, n: int) -> None:
        self.rows_rejected += n
        if self._run:
            self._run.bump("rows_rejected", n)

    def rewind(self, rows_written: int) -> None:
        """A retried split starts again from its checkpoint: uncount what it will write again."""
        extra = self.rows_written - rows_written
        self.rows_written = rows_written
        if self._durable_total == "rows_staged":
            self.rows_staged -= extra
        if self._run and extra:
            self._run.bump(self._durable_total, -extra)

    def retried(self, rate_limited: bool = False) -> None:
        self.retries += 1
        if rate_limited:
            self.rate_limit_events += 1
        if self._run:
            self._run.bump("retries", 1)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


class RunStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.totals = {"rows_read": 0, "rows_written": 0, "rows_rejected": 0, "rows_staged": 0, "retries": 0}
        self.splits: list[SplitStats] = []
        self.started = time.monotonic()
        self.finished: float | None = None

    def bump(self, key: str, n: int) -> None:
        with self._lock:
            self.totals[key] += n

    def committed(self, rows: int) -> None:
        """The sink's commit made ``rows`` staged rows visible in the target (bulk import)."""
        self.bump("rows_written", rows)

    def split(self, split_id: str, table: str, partition: str | None) -> SplitStats:
        s = SplitStats(split_id, table, partition, started=time.monotonic(), _run=self)
        with self._lock:
            self.splits.append(s)
        return s

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def __getitem__(self, key: str) -> int:
        return self.totals[key]
