"""``vts cutover``: the end of a streaming migration, once the application writes to the new store.

Beside the running ``vts run`` of a streaming job: wait until the run's
checkpoint is level with the source (every snapshot split done, nothing
behind the stream: :func:`vts.status.status`), compare target and source
(``vts verify --full``), and only when they are equal release what the
source keeps for the stream (a PostgreSQL replication slot and
publication), so the old server stops holding WAL for vts. ``abandon``
releases it without waiting or comparing, and forgets the checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vts.checkpoint import Checkpoint
from vts.config import Job
from vts.errors import ConfigError, VtsError
from vts.status import JobStatus, status


class CutoverTimeout(VtsError):
    code = "VTS-16"


def _streaming(job: Job) -> None:
    if not job.source.unbounded():
        raise ConfigError(
            "vts cutover ends a streaming job, and this job is not one",
            hint="set env job.mode: STREAMING (a batch job needs no cutover: vts verify compares it)",
        )


def wait_level(job: Job, deadline: float | None, poll: float = 0.5, said: Callable[[str], None] = print) -> JobStatus:
    """Return the run's status once nothing is behind; raise CutoverTimeout after ``deadline`` seconds."""
    _streaming(job)
    started = time.monotonic()
    last = ""
    while True:
        st = status(job)
        if not st.found:
            raise ConfigError(
                f"no run of this job to cut over: no checkpoint at {st.checkpoint}",
                hint="start the job with vts run (it keeps running); then run vts cutover beside it",
            )
        waiting = [s for s in st.splits if s.backlog is None and s.state != "done"]
        behind = st.backlog or 0
        if not waiting and behind == 0 and not st.notes:
            return st
        now = f"{len(waiting)} split(s) not finished, {behind:,} behind" + (f" ({st.notes[0]})" if st.notes else "")
        if now != last:
            said(f"waiting: {now}")
            last = now
        if deadline is not None and time.monotonic() - started > deadline:
            raise CutoverTimeout(
                f"the run did not catch up within {deadline:g} s: {now}",
                hint="check that vts run is running and that writes to the source have stopped; "
                "then run vts cutover again (or give a longer --deadline)",
            )
        time.sleep(poll)


def release(job: Job) -> list[str]:
    return job.source.release()


def abandon(job: Job) -> list[str]:
    """Drop the stream's slot and forget the checkpoint: the next run starts afresh."""
    _streaming(job)
    dropped = job.source.release()
    cp = job.env.checkpoint
    Checkpoint.open(cp.path, job.path, job.fingerprint, fresh=False, s3_endpoint=cp.s3_endpoint).discard()
    return dropped
