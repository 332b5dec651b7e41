"""Run counters, kept by the driver from the executor's events; read by progress, summary and report.

Per split, counters are the split's totals (a resumed split starts from its
checkpoint's); the run's totals count what *this* run did: each split's
counters less what its checkpoint held when the run started. Rows made
durable are "written", or "staged" for a sink whose commit makes them
visible (then ``written`` is what the commit reported).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any

from vts.checkpoint import SplitRecord
from vts.executor import Checkpointed, Event, Finished, Progress, Retrying, Started, Throttled


@dataclass
class SplitStats:
    split_id: str
    table: str
    partition: str | None
    rows_read: int = 0
    rows_written: int = 0  # durable in the sink (staged, for a staging sink)
    rows_rejected: int = 0
    retries: int = 0
    rate_limit_events: int = 0
    started: float | None = None  # seconds after the run began when a worker took the split up
    seconds: float = 0.0  # from then to its end (its time queued is not counted)
    done: bool = False
    base: SplitRecord = field(default_factory=SplitRecord)  # its checkpoint when this run started
    _started: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_") and f.name != "base"}

    def _take(self, record: SplitRecord) -> None:
        self.rows_read, self.rows_rejected = record.rows_read, record.rows_rejected
        self.rows_written = record.rows_written


class RunStats:
    def __init__(self, staging: bool = False) -> None:
        self._lock = threading.Lock()
        self.staging = staging
        self.splits: list[SplitStats] = []
        self._by_id: dict[str, SplitStats] = {}
        self.committed: int | None = None  # rows a staging sink's commit made visible
        self.started = time.monotonic()
        self.copied: float | None = None  # when the last split finished
        self.finished: float | None = None  # when the run ended (commit and the sink's finalize included)

    def add_split(self, split_id: str, table: str, partition: str | None, start: SplitRecord) -> None:
        s = SplitStats(split_id, table, partition, done=start.done, base=start)
        s._take(start)
        with self._lock:
            self.splits.append(s)
            self._by_id[split_id] = s

    def apply(self, event: Event) -> None:
        """Fold one executor event into the counters."""
        with self._lock:
            s = self._by_id[event.split_id]
            now = time.monotonic()
            if isinstance(event, Started):
                s._started = now
                s.started = round(now - self.started, 3)
            elif isinstance(event, Progress):
                s.rows_read, s.rows_rejected = event.rows_read, event.rows_rejected
            elif isinstance(event, Checkpointed | Finished | Retrying):
                s._take(event.record)
                if isinstance(event, Retrying):
                    s.retries += 1
                if isinstance(event, Finished):
                    s.done = True
            elif isinstance(event, Throttled):
                s.rate_limit_events += 1
            if s._started is not None:
                s.seconds = now - s._started

    @property
    def totals(self) -> dict[str, int]:
        with self._lock:
            read = sum(s.rows_read - s.base.rows_read for s in self.splits)
            durable = sum(s.rows_written - s.base.rows_written for s in self.splits)
            rejected = sum(s.rows_rejected - s.base.rows_rejected for s in self.splits)
            retries = sum(s.retries for s in self.splits)
        written = (self.committed or 0) if self.staging else durable
        return {
            "rows_read": read,
            "rows_written": written,
            "rows_rejected": rejected,
            "rows_staged": durable if self.staging else 0,
            "retries": retries,
        }

    @property
    def seconds(self) -> float:
        """The whole run, from the command to the end of its last stage."""
        return (self.finished or time.monotonic()) - self.started

    @property
    def copy_seconds(self) -> float:
        """From the start of the run to the end of its last split: the clock of every rows/s on screen."""
        return (self.copied or self.finished or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        """Rows read per second of the copy."""
        secs = self.copy_seconds
        return self["rows_read"] / secs if secs > 0 else 0.0

    def __getitem__(self, key: str) -> int:
        return self.totals[key]
