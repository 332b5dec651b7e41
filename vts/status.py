"""``vts status``: where a running or interrupted run of a job stands, read from its checkpoint.

It reads the checkpoint the driver writes (never writes it), so it can run
beside a streaming run, from another shell. A source that can tell how much
of a split is still ahead of the checkpointed position
(:meth:`vts.connector.Source.backlog`: Kafka's lag per partition) adds it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from vts.checkpoint import Checkpoint
from vts.config import Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitStatus:
    split_id: str
    table: str
    state: str  # done | in progress | waiting
    rows_written: int
    rows_rejected: int
    backlog: int | None  # records (a PostgreSQL slot: WAL bytes) after the checkpointed position, when known
    seconds_since_checkpoint: float | None
    position: Any = None  # the checkpointed position (JSON), e.g. a CDC stream's LSN and last commit time
    last_commit: float | None = None  # a CDC stream: when the last change applied was committed (epoch seconds)
    lag: dict[str, Any] = field(default_factory=dict)  # more the source tells (Source.lag: WAL bytes behind)

    @property
    def lag_seconds(self) -> float | None:
        """0 when nothing is behind; else at most this long since the last change applied was committed."""
        if self.backlog is None:
            return None
        if self.backlog == 0:
            return 0.0
        return None if self.last_commit is None else max(0.0, time.time() - self.last_commit)


@dataclass
class JobStatus:
    checkpoint: str
    found: bool
    splits: list[SplitStatus] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def backlog(self) -> int | None:
        known = [s.backlog for s in self.splits if s.backlog is not None]
        return sum(known) if known else None


def status(job: Job) -> JobStatus:
    """Driver: the checkpoint of ``job``'s running or interrupted run, split by split; changes nothing."""
    cp = job.env.checkpoint
    checkpoint = Checkpoint.open(cp.path, job.path, job.fingerprint, fresh=False, s3_endpoint=cp.s3_endpoint)
    out = JobStatus(checkpoint.path, checkpoint.resuming)
    if not checkpoint.resuming:
        return out
    splits = list(checkpoint.splits or [])
    records = {s.id: checkpoint.record(s.id) for s in splits}
    open_splits = [s for s in splits if not records[s.id].done]
    backlog: dict[str, int] = {}
    lag: dict[str, dict[str, Any]] = {}
    if open_splits:
        positions = {s.id: records[s.id].position for s in open_splits}
        try:
            backlog = job.source.backlog(open_splits, positions)
            lag = job.source.lag(open_splits, positions)
        except Exception as exc:  # status is a report: a source it cannot reach leaves the lag blank
            out.notes.append(f"the source's backlog is unknown: {str(exc).splitlines()[0]}")
    now = time.time()
    for s in splits:
        r, saved = records[s.id], checkpoint.state.get(s.id, {}).get("at")
        state = "done" if r.done else "in progress" if s.id in checkpoint.state else "waiting"
        out.splits.append(
            SplitStatus(
                s.id,
                s.table,
                state,
                r.rows_written,
                r.rows_rejected,
                None if r.done else backlog.get(s.id),
                None if saved is None else max(0.0, now - float(saved)),
                r.position,
                r.position.get("committed_at") if isinstance(r.position, dict) else None,
                lag.get(s.id, {}),
            )
        )
    return out


def as_json(st: JobStatus) -> dict[str, Any]:
    return {
        "checkpoint": st.checkpoint,
        "found": st.found,
        "backlog": st.backlog,
        "splits": [{**s.__dict__, "lag_seconds": s.lag_seconds} for s in st.splits],
        "notes": st.notes,
    }
