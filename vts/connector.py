"""The connector contract: sources, sinks and transforms.

Vocabulary from SeaTunnel/Beam (GUIDE §3). A job runs in two places:

- the **driver** (the ``vts`` process) discovers schemas, plans splits,
  prepares the sink and commits at the end;
- **workers** (threads of the local executor, or Ray tasks) read splits and
  write them.

Everything that crosses from driver to worker (connector objects, splits,
schemas, positions) must be picklable: connectors hold validated options,
never open clients. A reader or writer opens its own client where it runs.
"""

from __future__ import annotations

import typing
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, model_validator

from vts.schema import TableSchema

if TYPE_CHECKING:
    from vts.stage import Stage

Position = Any
"""A resumable place inside a split: opaque to the engine, JSON-serialisable,
``None`` meaning "from the start"."""


class Options(BaseModel):
    """Base of every connector's options: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_as_number(cls, data: Any) -> Any:
        # pydantic's lax mode reads `batch_size: true` as 1; a job file meaning that is a mistake
        if isinstance(data, dict):
            for name, info in cls.model_fields.items():
                value = data.get(info.alias or name)
                if isinstance(value, bool) and _numeric(info.annotation):
                    raise ValueError(f"'{info.alias or name}' must be a number, not {str(value).lower()}")
        return data


def _numeric(annotation: Any) -> bool:
    args = typing.get_args(annotation) or (annotation,)
    return any(a in (int, float) for a in args) and bool not in args


@dataclass(frozen=True)
class Split:
    """A piece of one table that one worker reads from start to end.

    ``id`` is stable across runs of the same job (checkpoints key on it);
    ``partition`` names the source partition the rows belong to, if any, so
    the sink can route them; ``estimated_rows`` feeds progress and may be 0.
    ``spec`` carries connector-specific bounds (row range, key range...).
    """

    id: str
    table: str
    partition: str | None = None
    estimated_rows: int = 0
    spec: dict[str, Any] = field(default_factory=dict)


class Connector(ABC):
    """What every connector has: its job-file name, a line of docs, and validated options (no clients)."""

    name: ClassVar[str]
    doc: ClassVar[str]
    Options: ClassVar[type[Options]]

    def __init__(self, options: Options) -> None:
        self.options = options


class Source(Connector):
    """A source connector. ``name`` is the key used in job files."""

    @abstractmethod
    def discover(self) -> list[TableSchema]:
        """Driver: connect and return the schema of every table the job reads.

        Raises the connector's coded errors for unreachable services, missing
        tables and types it cannot represent. Called once per run, before
        anything is written.
        """

    @abstractmethod
    def plan(self, tables: list[TableSchema], parallelism: int) -> list[Split]:
        """Driver: cut the tables into splits that cover every row exactly once.

        ``parallelism`` is a hint for how many pieces a table may be cut
        into. Splits are returned in a stable order with stable ids.
        """

    @abstractmethod
    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        """Worker: yield the split's rows as batches matching ``table.arrow_schema()``.

        Each batch comes with the position just after its last row: a reader
        started again with that position yields exactly the rows that
        followed, none repeated and none skipped. The reader opens its own
        client and closes it when the generator ends or is closed.
        """

    def finish(self, tables: list[TableSchema]) -> None:
        """Driver: called once after the sink has committed every split of a successful run.

        A source that keeps state across runs (an incremental high-water
        mark) saves it here, so a failed run is simply read again.
        """


class SinkWriter(ABC):
    """Worker side of a sink: writes one split's batches."""

    @abstractmethod
    def write(self, batch: pa.RecordBatch) -> None:
        """Accept a batch (already in the sink's target shape). May buffer."""

    @abstractmethod
    def flush(self) -> int:
        """Make everything accepted so far durable; return rows written since last flush."""

    def finish(self) -> Any:
        """Flush and return commit info for :meth:`Sink.commit` (``None`` if nothing to commit)."""
        self.flush()
        return None

    def close(self) -> None:
        """Release clients. Called once, after ``finish`` or after a failure."""


@dataclass
class WriteContext:
    """What the engine hands a writer besides its split."""

    rejects: Any  # vts.rejects.RejectLog
    stats: Any  # vts.stats.SplitStats


class Sink(Connector):
    """A sink connector."""

    @abstractmethod
    def prepare(self, tables: list[TableSchema], resuming: bool = False) -> Any:
        """Driver: convert schemas, apply save modes, create what is missing.

        Returns a picklable plan the writers receive. Raises a coded error
        before any data moves if a table cannot be carried to the target.
        When ``resuming`` an interrupted run, the save modes already ran:
        nothing is dropped, recreated or refused because of the rows that
        run wrote.
        """

    def check(self, tables: list[TableSchema]) -> Any:
        """Driver: like :meth:`prepare` but changes nothing; returns the plan for display."""
        return self.prepare(tables)

    def plan(self, tables: list[TableSchema]) -> Any:
        """Driver: the plan of an existing target, without save-mode checks or changes (for verify)."""
        return self.check(tables)

    @abstractmethod
    def writer(self, plan: Any, split: Split, ctx: WriteContext) -> SinkWriter:
        """Worker: open a writer for one split's rows."""

    def commit(self, plan: Any, infos: list[Any], journal: Any = None) -> int | None:
        """Driver: called once after every split has finished (e.g. an import job).

        A sink whose writers only stage data returns the rows the commit made
        visible in the target; a sink whose writers write directly returns None.
        ``journal`` (``get(key)`` / ``put(key, value)``, kept in the checkpoint)
        records each step as it is taken — a submitted import job, say — so a
        run resumed after a crash during the commit waits on that job instead
        of submitting it again.
        """
        return None

    def finalize(self, plan: Any, stage: Stage | None = None) -> None:
        """Driver: called once after :meth:`commit`; returns when the target is ready to use.

        A sink whose target still has work to do once the rows are in (an
        embedded Milvus Lite building its indexes) does it here, inside the
        run, so that it counts in the run's time and nothing waits silently
        at exit. ``stage`` (see :mod:`vts.stage`) wraps each piece of that
        work so the driver can show it. The default does nothing.
        """

    def describe_plan(self, plan: Any) -> list[str]:
        """Lines describing the plan for ``vts check``."""
        return [repr(plan)]

    def verifier(self, plan: Any) -> Any:
        """Driver: an object for ``vts verify`` (see ``vts.verify.Verifier``), or None if unsupported."""
        return None

    def field_mapping(self, plan: Any, table: str) -> list[tuple[str | None, str, str]]:
        """(source column, target field, target type) for ``vts check``'s side-by-side view."""
        return []


class Transform(Connector):
    """A row transform applied between source and sink, on workers."""

    @abstractmethod
    def schema(self, table: TableSchema) -> TableSchema:
        """Driver: the schema of the rows this transform outputs."""

    @abstractmethod
    def apply(self, batch: pa.RecordBatch, table: TableSchema) -> pa.RecordBatch:
        """Worker: transform a batch whose schema is ``table`` (this transform's input)."""
