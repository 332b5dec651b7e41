"""The driver: the whole sequence of one job, in one place, for the CLI, benchmarks and tests alike.

``run``: open the checkpoint -> discover -> the source's splits (or the
interrupted run's splits, from the checkpoint) -> the sink's layout ->
preflight -> save modes (decided, every refusal raised, then applied) ->
splits on an executor, whose events become the checkpoint and the counters ->
commit -> the source's ``finish`` with the splits' state -> the sink's
``finalize`` -> forget the checkpoint. Nothing is dropped or deleted before
the preflight and every save-mode check passed. ``check`` runs the same steps
up to the save modes as a dry run; ``discover_source`` is what ``vts verify``
reads.

Streaming: a run whose source is unbounded (:meth:`Source.unbounded`) ends
when ``RunOptions.stop`` is set: the executor drains (every split flushes
and checkpoints), and the run ends *stopped* — no commit, no ``finish``, the
checkpoint kept — so the next run resumes where this one stopped. After
each saved checkpoint the driver acknowledges the split's position to the
source (:meth:`Source.acknowledge`: a Kafka group's offsets). Splits run in
the source's phases (:meth:`Source.phase`: a CDC stream after its snapshot),
each phase once the earlier ones finished; the source's ``prepare`` (a
replication slot) runs after the save modes, before the first split.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vts import savemode
from vts.checkpoint import Checkpoint
from vts.config import Job
from vts.connector import Splits
from vts.env import EnvOptions
from vts.errors import VtsError
from vts.executor import Checkpointed, Executor, Finished, Pipeline, RunSettings, SplitTask, ThreadExecutor
from vts.schema import TableSchema
from vts.stage import logged
from vts.stats import RunStats

log = logging.getLogger("vts")


@dataclass
class Discovery:
    """The source side of a job: its tables before and after the transforms, and its splits."""

    source_tables: list[TableSchema]
    sink_tables: list[TableSchema]  # after transforms
    splits: Splits
    tasks_stage: dict[str, list[TableSchema]]  # per source table: input schema of each transform


@dataclass
class Journal:
    """The sink's view of the checkpoint during the commit."""

    checkpoint: Checkpoint

    def get(self, key: str) -> Any:
        return self.checkpoint.journal_get(key)

    def put(self, key: str, value: Any) -> None:
        self.checkpoint.journal_put(key, value)


@dataclass(frozen=True)
class RunOptions:
    fresh: bool = False  # ignore an interrupted run's checkpoint
    executor: Executor | None = None  # default: the one env.executor names (ThreadExecutor for "local")
    stop: threading.Event | None = None  # set it to stop the run cleanly (how a streaming run ends)


class Observer:
    """What the driver tells its caller while it runs (the CLI renders it; the default says nothing)."""

    def ready(self, run: RunResult) -> None:
        """The splits and the layout are known and the save modes applied; data is about to move (``run.stats``
        goes live)."""

    def stage(self, what: str) -> AbstractContextManager[None]:
        """A context spanning a driver step after the copy ("importing the staged rows", "building the index
        of c"); the default logs it."""
        return logged(what)


@dataclass
class CheckResult:
    discovery: Discovery
    layout: Any
    preflight: list[str]
    actions: list[savemode.Action]


@dataclass
class RunResult:
    job: Job
    discovery: Discovery
    layout: Any
    actions: list[savemode.Action]
    stats: RunStats
    checkpoint_path: str
    resumed: bool = False
    splits_done_before: int = 0
    rows_before: int = 0
    expected_rows: int = 0
    targets: dict[str, str] = field(default_factory=dict)  # source table -> where its rows went
    stopped: bool = False  # stopped before every split finished (RunOptions.stop); the checkpoint is kept

    @property
    def dead_letters(self) -> Path:
        return Path(self.job.env.dead_letter_path)


def discover_source(job: Job, incremental: bool = True, checkpoint: Checkpoint | None = None) -> Discovery:
    """Driver: discover the source and cut it into splits (touches no sink).

    A resumed run takes the splits, and their state, that its checkpoint
    recorded; ``incremental=False`` cuts every row the source holds into splits.
    """
    tables = job.source.discover()
    stages: dict[str, list[TableSchema]] = {}
    out: list[TableSchema] = []
    for table in tables:
        current, inputs = table, []
        for i, transform in enumerate(job.transforms):
            inputs.append(current)
            current = _transform_schema(i, transform, current)
        stages[table.name] = inputs
        out.append(current)
    if checkpoint is not None and checkpoint.resuming:
        splits = Splits(tuple(checkpoint.splits or ()), checkpoint.splits_state)
    else:
        splits = Splits.of(job.source.splits(tables, job.env.parallelism, incremental=incremental))
    return Discovery(tables, out, splits, stages)


def _transform_schema(position: int, transform: Any, table: TableSchema) -> TableSchema:
    """The transform's output schema; its errors say where in the chain it stands."""
    try:
        return transform.schema(table)
    except VtsError as exc:
        where = f"transform[{position}] ({transform.name}) on table '{table.name}'"
        located = copy.copy(exc)
        located.message = f"{where}: {exc.message}"
        located.args = (located.message,)
        raise located from None


def executor_for(env: EnvOptions) -> Executor:
    """The executor ``env.executor`` names; Ray is imported only when asked for."""
    if env.executor == "ray":
        from vts.ray_executor import RayExecutor

        return RayExecutor(env.ray)
    return ThreadExecutor()


def _save_modes(job: Job, layout: Any, resuming: bool, apply: bool) -> list[savemode.Action]:
    catalog = job.sink.catalog(layout)
    try:
        actions = savemode.decide(catalog, *job.sink.save_modes(), resuming=resuming)
        if apply:
            savemode.apply(catalog, actions)
        return actions
    finally:
        catalog.close()


def check(job: Job) -> CheckResult:
    """Driver: the discovery, the sink's layout and preflight, and what the save modes would do; changes nothing."""
    discovery = discover_source(job)
    layout = job.sink.layout(discovery.sink_tables)
    lines = job.sink.preflight(layout)
    if job.env.executor == "ray":  # what the run would refuse before connecting; check starts no cluster
        from vts.ray_executor import RayExecutor

        RayExecutor(job.env.ray).check(Pipeline(job.source, job.transforms, job.sink))
    return CheckResult(discovery, layout, lines, _save_modes(job, layout, resuming=False, apply=False))


def run(job: Job, options: RunOptions = RunOptions(), observer: Observer | None = None) -> RunResult:
    """Driver: run the job to its end (see the module doc); raises the first fatal error."""
    observer = observer or Observer()
    stats_started = time.monotonic()
    cp = job.env.checkpoint
    checkpoint = Checkpoint.open(cp.path, job.path, job.fingerprint, fresh=options.fresh, s3_endpoint=cp.s3_endpoint)
    resuming = checkpoint.resuming
    discovery = discover_source(job, checkpoint=checkpoint)
    sink, source = job.sink, job.source
    layout = sink.layout(discovery.sink_tables)
    sink.preflight(layout)
    pipe = Pipeline(source, job.transforms, sink)
    executor = options.executor or executor_for(job.env)
    executor.preflight(pipe)
    actions = _save_modes(job, layout, resuming=resuming, apply=True)
    for line in source.prepare(list(discovery.splits), resuming):
        log.info("%s", line)
    if not resuming:
        checkpoint.start(list(discovery.splits), discovery.splits.state)

    stats = RunStats(staging=sink.stages(layout))
    stats.started = stats_started
    records = {s.id: checkpoint.record(s.id) for s in discovery.splits}
    for s in discovery.splits:
        stats.add_split(s.id, s.table, s.partition, records[s.id])
    result = RunResult(
        job,
        discovery,
        layout,
        actions,
        stats,
        checkpoint.path,
        resumed=resuming,
        splits_done_before=sum(r.done for r in records.values()),
        rows_before=sum(r.rows_written for r in records.values()),
        expected_rows=sum(s.estimated_rows for s in discovery.splits),
        targets=sink.describe_targets(layout),
    )
    try:
        observer.ready(result)
        by_name = {t.name: t for t in discovery.source_tables}
        phases: dict[int, list[SplitTask]] = {}
        for s in discovery.splits:
            if not records[s.id].done:
                task = SplitTask(s, by_name[s.table], discovery.tasks_stage[s.table], layout, records[s.id])
                phases.setdefault(source.phase(s), []).append(task)
        env = job.env
        splits = {s.id: s for s in discovery.splits}
        with _draining_on(options.stop, executor):
            for _, tasks in sorted(phases.items()):
                if options.stop is not None and options.stop.is_set():
                    break
                # a streaming split never ends, so each one needs its own worker, whatever env.parallelism says
                parallelism = max(env.parallelism, len(tasks)) if source.unbounded() else env.parallelism
                settings = RunSettings(
                    parallelism,
                    env.checkpoint.interval,
                    env.split_retry,
                    Path(env.dead_letter_path),
                    sink.max_error_rows(),
                )
                log.info("running %d split(s) with parallelism %d", len(tasks), parallelism)
                for event in executor.run(pipe, tasks, settings):
                    stats.apply(event)
                    if isinstance(event, Checkpointed | Finished):
                        records[event.split_id] = event.record
                        checkpoint.save(event.split_id, event.record)
                        _acknowledge(source, splits[event.split_id], event.record.position)
                if not all(records[t.split.id].done for t in tasks):  # drained: later phases wait for the next run
                    break
        stats.copied = time.monotonic()
        if not all(records[s.id].done for s in discovery.splits):  # drained: the checkpoint says where to go on
            result.stopped = True
            log.info("stopped; the checkpoint %s keeps every split's position for the next run", checkpoint.path)
            return result
        source.audit(list(discovery.splits), {s.id: records[s.id].position for s in discovery.splits})
        infos = [records[s.id].commit_info for s in discovery.splits]
        with observer.stage("importing the staged rows") if stats.staging else nullcontext():
            committed = sink.commit(layout, infos, Journal(checkpoint))
        if committed is not None:
            stats.committed = committed
        source.finish(discovery.source_tables, discovery.splits.state)
        sink.finalize(layout, observer.stage)
        checkpoint.discard()
    finally:
        stats.finished = time.monotonic()
    return result


@contextmanager
def _draining_on(stop: threading.Event | None, executor: Executor) -> Iterator[None]:
    """While the copy runs, a set ``stop`` drains the executor. A watcher thread does it: ``stop`` may be set
    from a signal handler, which must not call into the executor itself."""
    if stop is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if stop.wait(0.2):
                try:
                    executor.drain()
                except NotImplementedError as exc:  # interrupting still works, from the last checkpoint
                    log.error("%s; interrupt again (Ctrl-C) to stop at the last checkpoint", exc)
                return

    thread = threading.Thread(target=watch, name="vts-stop", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _acknowledge(source: Any, split: Any, position: Any) -> None:
    try:
        source.acknowledge(split, position)
    except Exception as exc:  # the checkpoint holds the position; the source's own record can catch up later
        log.warning("split %s: telling the source what is durable failed: %s", split.id, str(exc).splitlines()[0])


__all__ = [
    "CheckResult",
    "Discovery",
    "Observer",
    "RunOptions",
    "RunResult",
    "check",
    "discover_source",
    "executor_for",
    "run",
]
