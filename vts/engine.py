"""The driver's sequence for one job: discover, plan, prepare, run splits, commit."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vts.checkpoint import Checkpoint
from vts.config import Job
from vts.connector import Split, WriteContext
from vts.executor import Pipeline, RunSettings, SplitTask, run_local
from vts.rejects import RejectLog
from vts.schema import TableSchema
from vts.stats import RunStats

log = logging.getLogger("vts")


@dataclass
class Plan:
    source_tables: list[TableSchema]
    sink_tables: list[TableSchema]  # after transforms
    splits: list[Split]
    tasks_stage: dict[str, list[TableSchema]]  # per source table: input schema of each transform


@dataclass
class Journal:
    """The sink's view of the checkpoint during the commit."""

    checkpoint: Checkpoint

    def get(self, key: str) -> Any:
        return self.checkpoint.journal_get(key)

    def put(self, key: str, value: Any) -> None:
        self.checkpoint.journal_put(key, value)


def plan(job: Job, checkpoint: Checkpoint | None = None) -> Plan:
    """Driver: discover the source and cut it into splits (touches no sink).

    A resumed run reuses the split plan its checkpoint recorded.
    """
    tables = job.source.discover()
    stages: dict[str, list[TableSchema]] = {}
    out: list[TableSchema] = []
    for table in tables:
        current, inputs = table, []
        for transform in job.transforms:
            inputs.append(current)
            current = transform.schema(current)
        stages[table.name] = inputs
        out.append(current)
    if checkpoint is not None and checkpoint.resuming:
        splits = list(checkpoint.splits or [])
    else:
        splits = job.source.plan(tables, job.env.parallelism)
    return Plan(tables, out, splits, stages)


def check(job: Job) -> tuple[Plan, Any]:
    """Driver: the plan and the sink's target plan, changing nothing."""
    p = plan(job)
    return p, job.sink.check(p.sink_tables)


def execute(
    job: Job, p: Plan, sink_plan: Any, stats: RunStats, dead_letter_path: Path, checkpoint: Checkpoint
) -> RunStats:
    """Driver: run every split against the prepared sink, commit, then forget the checkpoint."""
    if not checkpoint.resuming:
        checkpoint.start(p.splits)
    by_name = {t.name: t for t in p.source_tables}
    tasks = [SplitTask(s, by_name[s.table], p.tasks_stage[s.table], sink_plan) for s in p.splits]
    rejects = RejectLog(dead_letter_path)

    def make_ctx(split: Split) -> WriteContext:
        return WriteContext(rejects=rejects, stats=stats.split(split.id, split.table, split.partition))

    env = job.env
    settings = RunSettings(env.parallelism, env.checkpoint.interval, env.retry_attempts, env.retry_backoff)
    log.info("running %d split(s) with parallelism %d", len(tasks), env.parallelism)
    infos = run_local(Pipeline(job.source, job.transforms, job.sink), tasks, settings, checkpoint, make_ctx)
    committed = job.sink.commit(sink_plan, infos, Journal(checkpoint))
    if committed is not None:
        stats.committed(committed)
    job.source.finish(p.source_tables)
    checkpoint.discard()
    stats.finished = time.monotonic()
    return stats
