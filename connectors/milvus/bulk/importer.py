"""Milvus's Import API, on the driver: what an importer is, and polling importers until their jobs are final.

Both importers (gRPC bulk insert, Milvus 2.3+: :mod:`.grpc_import`; REST
import jobs, 2.4+ and Zilliz Cloud: :mod:`.rest_import`) submit the staged
files of one (collection, partition) and then report progress the same way
(:class:`Progress`); :func:`wait` polls them together until every job is
final or ``import_timeout`` passes, logging rows imported / staged as it
goes. A poll that fails transiently (the server unreachable for a moment,
HTTP 429/5xx) is retried as :data:`POLL_RETRY` says; a submission is not: a
request whose answer was lost may have created the job, and a second one
would import the files twice. :func:`.verdict.verdict` is the one place that
turns the final state into MILVUS-26/27/28.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from vts.connectors.milvus.bulk.config import BulkWriterConfig
from vts.connectors.milvus.bulk.errors import import_timeout
from vts.errors import VtsError
from vts.retry import RetryPolicy

log = logging.getLogger("vts.milvus.bulk")

POLL_RETRY = RetryPolicy(attempts=5, base=2.0, cap=30.0)  # rides out about a minute of a server restarting


@dataclass
class Group:
    """The staged files of one (collection, partition), in row order."""

    collection: str
    partition: str | None
    files: list[dict[str, Any]]  # key, path, rows, bytes

    @property
    def rows(self) -> int:
        return sum(f["rows"] for f in self.files)


@dataclass
class Progress:
    """One group's import as last polled."""

    group: Group
    staged: int
    imported: int = 0
    done: bool = False
    failed_rows: int = 0
    reasons: list[str] = field(default_factory=list)
    failed: bool = False  # the whole import failed (nothing imported)


class Importer(ABC):
    """Imports groups of staged files; ``journal`` (a run's checkpoint journal, get/put by key) remembers each
    submitted job, so a resumed run waits on it instead of importing the files twice."""

    @abstractmethod
    def submit(self, group: Group) -> Any:
        """Start importing a group; returns a handle for :meth:`poll`."""

    @abstractmethod
    def poll(self, handle: Any) -> Progress:
        """The group's current progress; ``done`` once every file is final."""

    def close(self) -> None:
        pass


class NoJournal:
    """The journal of a run without a checkpoint."""

    def get(self, key: str) -> Any:
        return None

    def put(self, key: str, value: Any) -> None:
        pass


def wait(importer: Importer, handles: list[Any], cfg: BulkWriterConfig, sleep: Any = time.sleep) -> list[Progress]:
    """Poll every handle until all are final; log progress; MILVUS-26 after ``import_timeout``."""
    deadline = time.monotonic() + cfg.import_timeout
    last_log = 0.0

    def on_retry(exc: BaseException, attempt: int, delay: float) -> None:
        first = str(exc).splitlines()[0][:200]
        log.warning("import progress: %s; polling again in %.0fs (%d/%d)", first, delay, attempt, POLL_RETRY.attempts)

    def poll(handle: Any) -> Progress:
        return POLL_RETRY.run(lambda: importer.poll(handle), transient=_transient, on_retry=on_retry, sleep=sleep)

    while True:
        states = [poll(h) for h in handles]
        imported, staged = sum(s.imported for s in states), sum(s.staged for s in states)
        now = time.monotonic()
        if all(s.done for s in states):
            log.info("import finished: %s/%s row(s)", f"{imported:,}", f"{staged:,}")
            return states
        if now - last_log >= 10:
            pct = 100 * imported / staged if staged else 100
            log.info("importing: %s/%s row(s) (%.0f%%)", f"{imported:,}", f"{staged:,}", pct)
            last_log = now
        if now >= deadline:
            names = ", ".join(sorted({s.group.collection for s in states if not s.done}))
            raise import_timeout(names, cfg.import_timeout, f"{imported:,}/{staged:,} rows imported so far")
        sleep(cfg.poll_interval)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, VtsError) and exc.transient
