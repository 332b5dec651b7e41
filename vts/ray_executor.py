"""The Ray executor: one Ray task per split, the same split function as the local executor.

Each split runs as one Ray task (a streaming generator) executing
:meth:`vts.executor.Worker.run_split`, the function the thread executor runs.
The task sends its events back as it goes, a few at a time; the driver
yields them to the engine, which alone writes the checkpoint and runs the
commit. Rows the sink rejected travel back as events too, and the driver
writes them to the run's dead-letter file and enforces ``max_error_rows``
for the whole run, as with threads.

Failures:

- a transient :class:`~vts.errors.VtsError` is retried inside the task, from
  the split's last checkpoint, with the run's :class:`~vts.retry.RetryPolicy`;
- a worker process that died (SIGKILL, the kernel's OOM killer, a lost node)
  is retried up to ``env.ray.max_retries`` times. The driver submits the
  task again itself rather than with Ray's ``max_retries``, because Ray
  re-runs a task with its original arguments: the split would start over
  from where the run began, not from the last checkpoint the driver
  recorded (and a streaming task's retry would mix its events with the dead
  attempt's);
- any other error stops every split and is raised on the driver as the
  split raised it (code, hint, exit status and class intact).

Everything sent to a task is picklable (connectors hold options only); the
connectors open their clients on the worker. What only one process can open
(an embedded Milvus Lite file, a Qdrant local-mode folder) is refused by
:meth:`RayExecutor.preflight`, before anything is written.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from vts.checkpoint import SplitRecord
from vts.executor import (
    Checkpointed,
    Event,
    Executor,
    Finished,
    Pipeline,
    Progress,
    Retrying,
    RunSettings,
    SplitTask,
    Stopped,
    Worker,
)
from vts.ray_errors import Code, RayError, from_task, unreachable
from vts.ray_options import RayOptions
from vts.rejects import RejectLog

log = logging.getLogger("vts")

_STOP_GRACE = 30.0  # seconds stopped tasks get to close their writers before they are killed
_CONNECT_TIMEOUT = 10.0  # seconds to open a TCP connection to the cluster's head


def import_ray() -> Any:
    """Ray, imported only when a job asks for it."""
    try:
        import ray
    except ImportError as exc:
        raise RayError(Code.NOT_INSTALLED, f"env.executor is 'ray' but Ray cannot be imported here ({exc})") from None
    return ray


@dataclass(frozen=True)
class Rejected:
    """Rows of a split the sink refused (worker -> driver; the driver writes the dead letters)."""

    split_id: str
    table: str
    rows: list[dict[str, Any]]
    reasons: list[str]


class RayExecutor(Executor):
    def __init__(self, options: RayOptions | None = None) -> None:
        self.options = options or RayOptions()
        self._started_ray = False  # this executor began the Ray connection, so it ends it

    def preflight(self, pipe: Pipeline) -> None:
        """Refuse connectors bound to this process, then reach the cluster and check it can run a task."""
        self.check(pipe)
        ray = import_ray()
        self._connect(ray)
        self._check_resources(ray)

    def check(self, pipe: Pipeline) -> None:
        """What can be refused without Ray: connectors bound to this process, an address vts cannot use."""
        for connector in (pipe.source, *pipe.transforms, pipe.sink):
            reason = connector.process_bound()
            if reason:
                raise RayError(
                    Code.NOT_SHAREABLE,
                    f"{connector.name} cannot run on Ray workers: {reason}",
                    hint="use a server instead (see above), or run the job with 'env.executor: local'",
                )
        if pipe.source.unbounded():
            # a streaming run ends by draining its splits (Executor.drain), which needs a channel to tasks
            # already running on other machines; until there is one, refuse rather than stop uncleanly
            raise RayError(Code.STREAMING, f"{pipe.source.name} reads a stream, which cannot run on Ray yet")
        _check_address(self.options.address)

    def run(self, pipe: Pipeline, tasks: list[SplitTask], settings: RunSettings) -> Iterator[Event]:
        ray = import_ray()
        if not ray.is_initialized():
            self.preflight(pipe)
        try:
            yield from self._run(ray, pipe, tasks, settings)
        finally:
            if self._started_ray:
                ray.shutdown()
                self._started_ray = False

    def _connect(self, ray: Any) -> None:
        if ray.is_initialized():  # a caller (a notebook, a test) already holds a connection: use it
            return
        o = self.options
        kwargs: dict[str, Any] = {
            "address": o.address,
            "runtime_env": o.runtime_env,
            "log_to_driver": o.log_to_driver,
            # Ray's own start-up notices (token auth, which IP it picked) are not the user's business unless
            # they asked for vts's INFO logs; failures still come back as coded errors
            "logging_level": logging.INFO if log.isEnabledFor(logging.INFO) else logging.ERROR,
        }
        if o.address == "local":
            kwargs.update(include_dashboard=False, object_store_memory=o.object_store_memory)
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        log.info("connecting to Ray at %s", o.address)
        _check_reachable(o.address)
        try:
            with warnings.catch_warnings():  # Ray Client warns, then raises: the coded error says it once
                warnings.simplefilter("ignore")
                ray.init(**kwargs)
        except Exception as exc:
            # ray.init raises ConnectionError, RuntimeError, ValueError or grpc errors for the same problem
            raise unreachable(o.address, exc) from None
        self._started_ray = True

    def _check_resources(self, ray: Any) -> None:
        """A task asking for more than any node has would wait for ever: say so now."""
        o = self.options
        wanted = {"CPU": o.num_cpus, **o.resources}
        nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
        if any(all(node.get(k, 0) >= v for k, v in wanted.items()) for node in nodes):
            return
        have = ", ".join(f"{k}={v:g}" for k, v in ray.cluster_resources().items() if "node:" not in k)
        asked = ", ".join(f"{k}={v:g}" for k, v in wanted.items())
        self._disconnect(ray)
        raise RayError(
            Code.NOT_ENOUGH_RESOURCES,
            f"a split task asks for {asked}, more than any node of the cluster has ({have})",
        )

    def _disconnect(self, ray: Any) -> None:
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def _run(self, ray: Any, pipe: Pipeline, tasks: list[SplitTask], settings: RunSettings) -> Iterator[Event]:
        o = self.options
        remote = ray.remote(run_split_task).options(
            num_cpus=o.num_cpus, resources=o.resources or None, max_retries=0, num_returns="streaming"
        )
        pipe_ref = ray.put(pipe)  # once for every task, not pickled again per split
        rejects = RejectLog(settings.dead_letters, settings.max_error_rows)
        records: dict[str, SplitRecord] = {t.split.id: t.start for t in tasks}
        crashes: dict[str, int] = {}
        waiting = deque(tasks)
        running: dict[Any, SplitTask] = {}
        failure: BaseException | None = None
        stopping_since: float | None = None

        def stop_all() -> None:
            nonlocal stopping_since
            waiting.clear()
            stopping_since = time.monotonic()
            for gen in running:
                ray.cancel(gen)

        try:
            while waiting or running:
                while waiting and len(running) < max(1, settings.parallelism):
                    task = waiting.popleft()
                    task = replace(task, start=records[task.split.id])
                    running[remote.remote(pipe_ref, task, settings)] = task
                if stopping_since is not None and time.monotonic() - stopping_since > _STOP_GRACE:
                    for gen in running:
                        ray.cancel(gen, force=True)
                    break
                ready, _ = ray.wait(list(running), num_returns=1, timeout=0.2)
                for gen in ready:
                    task = running[gen]
                    sid = task.split.id
                    try:
                        events = ray.get(next(gen))
                    except StopIteration:
                        del running[gen]
                        continue
                    except ray.exceptions.TaskCancelledError:
                        del running[gen]
                        continue
                    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
                        del running[gen]
                        if failure is not None:
                            continue
                        crashes[sid] = crashes.get(sid, 0) + 1
                        if crashes[sid] > o.max_retries:
                            failure = RayError(
                                Code.WORKER_LOST,
                                f"the worker process running split {sid} died {crashes[sid]} time(s), "
                                f"more than env.ray.max_retries={o.max_retries}: {type(exc).__name__}",
                            )
                            stop_all()
                            continue
                        reason = f"its Ray worker died ({type(exc).__name__})"
                        log.warning(
                            "split %s: %s; running it again from its last checkpoint (%d/%d)",
                            sid,
                            reason,
                            crashes[sid],
                            o.max_retries,
                        )
                        yield Retrying(sid, crashes[sid], o.max_retries, 0.0, reason, records[sid])
                        waiting.appendleft(task)
                        continue
                    except Exception as exc:
                        del running[gen]
                        error = from_task(ray, exc, sid)
                        if failure is None and not isinstance(error, Stopped):
                            failure = error
                            stop_all()
                        continue
                    for event in events:
                        if isinstance(event, Rejected):
                            if failure is None:
                                try:
                                    rejects.add(event.split_id, event.table, event.rows, event.reasons)
                                except Exception as exc:  # TooManyRejects: the run's limit is the driver's
                                    failure = exc
                                    stop_all()
                            continue
                        if isinstance(event, Checkpointed | Finished | Retrying):
                            records[event.split_id] = event.record
                        yield event
            if failure is not None:
                raise failure
        finally:
            for gen in running:
                ray.cancel(gen)


def _check_address(address: str) -> tuple[str, int] | None:
    """The head's (host, port) of ``address``; None for ``local`` and ``auto``."""
    if address in ("local", "auto"):
        return None
    if address.startswith("ray://"):
        # Ray Client cannot carry streaming generators (ray-project/ray#43357, closed as won't fix), and they
        # are how a split's events reach the driver while it runs
        raise RayError(
            Code.CLIENT_MODE,
            f"'env.ray.address' {address!r} goes through Ray Client, which cannot stream a task's results back "
            "while it runs: vts needs the driver on the cluster",
        )
    where = urlsplit(address if "://" in address else f"gcs://{address}")
    try:
        host, port = where.hostname, where.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise RayError(
            Code.CLUSTER_UNREACHABLE,
            f"'env.ray.address' {address!r} is not local, auto or host:port",
            hint="e.g. 'auto' on a node of the cluster, or 'head:6379' (the head's GCS port)",
        )
    return host, port


def _check_reachable(address: str) -> None:
    """A head that refuses connections fails here at once: ``ray.init`` would wait minutes for its GCS."""
    head = _check_address(address)
    if head is None:
        return
    try:
        socket.create_connection(head, timeout=_CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise unreachable(address, exc) from None


# -- on the worker ---------------------------------------------------------------------------------


_DONE = object()


class _ForwardedRejects(RejectLog):
    """The worker's dead letters: sent to the driver, which writes them and counts them against the run."""

    def __init__(self, emit: Any) -> None:
        super().__init__(os.devnull)
        self.emit = emit

    def add(self, split_id: str, table: str, rows: list[dict[str, Any]], reasons: list[str]) -> int:
        if rows:
            self.emit(Rejected(split_id, table, list(rows), list(reasons)))
            self.count += len(rows)
        return self.count


def run_split_task(pipe: Pipeline, task: SplitTask, settings: RunSettings) -> Iterator[list[Any]]:
    """Worker (the Ray task's body): run one split, yielding its events in small lists as they come.

    The split runs on a thread of its own so that the task can hand events
    over while the split writes; a cancel (another split failed, Ctrl-C on
    the driver) stops the split, which closes its writer.
    """
    events: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()
    worker = Worker(pipe, settings, _ForwardedRejects(events.put), stop, events.put)
    failed: list[BaseException] = []

    def body() -> None:
        try:
            worker.run_split(task)
        except BaseException as exc:
            failed.append(exc)
        finally:
            events.put(_DONE)

    thread = threading.Thread(target=body, name=f"split-{task.split.id}", daemon=True)
    thread.start()
    try:
        done = False
        while not done:
            items = [events.get()]
            while True:
                try:
                    items.append(events.get_nowait())
                except queue.Empty:
                    break
            done = items[-1] is _DONE
            batch = _coalesce([i for i in items if i is not _DONE])
            if batch:
                yield batch
        if failed and not isinstance(failed[0], Stopped):
            raise failed[0]
    finally:
        stop.set()
        thread.join()


def _coalesce(events: list[Any]) -> list[Any]:
    """Progress events carry totals: only the last of a run of them matters."""
    last_progress = max((i for i, e in enumerate(events) if isinstance(e, Progress)), default=-1)
    return [e for i, e in enumerate(events) if not isinstance(e, Progress) or i == last_progress]


__all__ = ["RayExecutor", "Rejected", "import_ray", "run_split_task"]
