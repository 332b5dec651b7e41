"""The connector contract: sources, sinks and transforms.

Vocabulary from SeaTunnel/Beam. A job runs in two places:

- the **driver** (the ``vts`` process, :func:`vts.engine.run`) discovers
  schemas, cuts splits, runs the sink's preflight and the save modes, writes
  the checkpoint, commits and finishes;
- **workers** (threads of the local executor, or processes / Ray tasks of
  another :class:`vts.executor.Executor`) read splits and write them, and
  report back with events; they never write the checkpoint.

Everything that crosses from driver to worker (connector objects, splits,
schemas, positions, writer state, commit info) must be picklable, and what the
checkpoint keeps (positions, writer state, commit info, the splits' state) must
survive the checkpoint's JSON codec (:func:`vts.checkpoint.encode`).
Connectors hold validated options, never open clients, and keep no state
between driver calls: what one driver call learns that a later one needs
travels in a value the engine hands back (``Splits.state`` -> ``finish``).

:mod:`vts.testing` ships the conformance suites that check these promises
against a connector's real service.
"""

from __future__ import annotations

import json
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
from pydantic import AliasChoices, BaseModel, ConfigDict, model_validator
from pydantic.fields import FieldInfo

from vts.savemode import DataSaveMode, SchemaSaveMode
from vts.schema import TableSchema

if TYPE_CHECKING:
    from vts.rejects import SplitRejects
    from vts.stage import Stage

Position = Any
"""A resumable place inside a split: opaque to the engine, JSON-serialisable,
``None`` meaning "from the start"."""

OP_COLUMN = "__vts_op"
"""The change a row carries, for sources that read a changelog (Kafka, CDC).

A batch without this column upserts (or inserts) every row, as before. A
batch with it (a string column, which transforms pass through untouched)
says per row: :data:`OP_UPSERT` writes the row, :data:`OP_DELETE` removes
the row with that primary key (its other columns are null and are not
checked). A sink applies the rows in order, within a batch and across
batches, so a delete after an upsert of the same key removes it and an
upsert after a delete writes it back. A sink that cannot delete refuses
such a batch with a coded error; it never writes a delete as a row."""
OP_UPSERT = "upsert"
OP_DELETE = "delete"


@dataclass(frozen=True)
class Rejected:
    """What a reader yields in place of a batch for records it cannot turn into rows (undecodable messages).

    ``rows`` are JSON-able dicts saying where each record is and what it held
    (topic, partition, offset, raw value...), ``reasons`` one line each; the
    engine puts them in the run's dead letters and counts them against
    ``max_error_rows``, exactly as it does the rows a sink refuses. The
    position yielded with it is where a reader resumes without skipping a
    row (it may repeat these rejects, never skip a good row).
    """

    rows: list[dict[str, Any]]
    reasons: list[str]

    @property
    def nbytes(self) -> int:
        """About what these rejects hold in memory, for the engine's read-ahead bound (raw values can be large)."""
        return sum(len(json.dumps(row, default=str)) for row in self.rows) + sum(map(len, self.reasons))


class Options(BaseModel):
    """Base of every connector's options: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _one_name_per_option_and_no_bool_as_number(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, info in cls.model_fields.items():
                given = [key for key in option_names(name, info) if key in data]
                if len(given) > 1:  # pydantic would take one and call the other unknown
                    raise ValueError(f"'{given[0]}' and '{given[1]}' are the same option: give only one of them")
                for key in given:
                    # pydantic's lax mode reads `batch_size: true` as 1; a job file meaning that is a mistake
                    if isinstance(data[key], bool) and _numeric(info.annotation):
                        raise ValueError(f"'{key}' must be a number, not {str(data[key]).lower()}")
        return data


def option_names(name: str, info: FieldInfo) -> list[str]:
    """Every key a job file may use for a field: its own name first, then its aliases (VTS's names, say)."""
    names = [info.alias or name]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        names += [choice for choice in alias.choices if isinstance(choice, str)]
    elif isinstance(alias, str):
        names.append(alias)
    return list(dict.fromkeys(names))


def fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """An options model's fields by every key a job file may use for them (aliases included)."""
    return {key: info for name, info in model.model_fields.items() for key in option_names(name, info)}


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


@dataclass(frozen=True)
class Splits(Sequence[Split]):
    """What :meth:`Source.splits` returns: the splits, and the enumerator's state.

    ``state`` is JSON the checkpoint keeps beside the splits; the engine hands
    it back to :meth:`Source.finish` (also after a resume, when ``splits`` was
    not called). A source that keeps nothing across runs leaves it empty.
    It reads as the sequence of its splits.
    """

    splits: tuple[Split, ...] = ()
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, splits: Splits | Sequence[Split]) -> Splits:
        return splits if isinstance(splits, Splits) else cls(tuple(splits))

    def __len__(self) -> int:
        return len(self.splits)

    def __getitem__(self, i: Any) -> Any:
        return self.splits[i]

    def __iter__(self) -> Iterator[Split]:
        return iter(self.splits)


class Connector(ABC):
    """What every connector has: its job-file name, a line of docs, and validated options (no clients)."""

    name: ClassVar[str]
    doc: ClassVar[str]
    Options: ClassVar[type[Options]]

    def __init__(self, options: Options) -> None:
        self.options = options

    def process_bound(self) -> str | None:
        """Why this connector's splits cannot run in another process, and what to use instead; None if they can.

        An embedded database that one process alone may open (a Milvus Lite
        file, a Qdrant local-mode folder) is bound to the driver's process:
        executors whose workers are other processes (Ray) refuse the job
        with this reason before anything is written.
        """
        return None


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
    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> Splits | list[Split]:
        """Driver: cut the tables into splits that cover every row exactly once.

        ``parallelism`` is a hint for how many pieces a table may be cut
        into. Splits come in a stable order with stable ids. A source that
        reads a window of the data on each run (an incremental high-water
        mark) returns the window's end in ``Splits.state``; with
        ``incremental=False`` (``vts verify``) it covers every row it holds and
        changes no state. Returning a plain list means "no state".
        """

    @abstractmethod
    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch | Rejected, Position]]:
        """Worker: yield the split's rows as batches matching ``table.arrow_schema()``.

        A changelog source may add the :data:`OP_COLUMN` to a batch, and
        may yield :class:`Rejected` records in place of a batch.

        Each batch comes with the position just after its last row: a reader
        started again with that position (after a trip through the
        checkpoint's JSON codec) yields exactly the rows that followed, none
        repeated and none skipped. The reader opens its own client and
        closes it when the generator ends or is closed. Failures a retry may
        cure are raised as a ``VtsError`` with ``transient=True``: the engine
        retries nothing else.
        """

    def unbounded(self) -> bool:
        """True when ``read`` never ends on its own (a streaming source: Kafka in streaming mode, CDC).

        Such a reader yields a batch (an empty one when nothing arrived)
        every few seconds, so the engine can flush and checkpoint it on
        time and stop it between batches. The run ends when it is stopped
        (``RunOptions.stop``; the CLI sets it on SIGINT/SIGTERM): every
        split flushes what it read, checkpoints, and the run ends
        *stopped*, keeping the checkpoint, so the next run resumes there.
        Every split of such a source runs at once (the run's parallelism is
        raised to the number of splits).
        """
        return False

    def streaming(self) -> Source:
        """Driver: this source set up for ``env: {job.mode: STREAMING}`` (its :meth:`unbounded` then says True).

        Called once when the job is loaded. A source that reads a changelog
        (Kafka, PostgreSQL CDC) returns a copy with its streaming options
        set; the default refuses with a coded error, before anything is
        contacted.
        """
        from vts.errors import ConfigError

        raise ConfigError(
            f"the {self.name} source cannot stream (job.mode: STREAMING)",
            hint="use job.mode: BATCH, or a source that can stream (Kafka, Pgvector)",
        )

    def phase(self, split: Split) -> int:
        """Driver: the splits of a phase start once every split of the earlier phases has finished.

        A change-data-capture source puts its stream split after the
        snapshot's splits, so no change is overwritten by an older snapshot
        read of its row. The default (0 for every split) runs them all at once.
        """
        return 0

    def prepare(self, splits: list[Split], resuming: bool) -> list[str]:
        """Driver, in ``vts run`` only: after every check and save mode passed, before any split reads.

        A source that needs something on its service for the reads (a
        replication slot and publication) creates or reuses it here —
        ``resuming`` says whether the checkpoint's positions rely on what a
        previous run created — and returns lines saying what it did. The
        checks that can refuse the job run earlier, in :meth:`splits`, so
        ``vts check`` runs them too. The default does nothing.
        """
        return []

    def release(self) -> list[str]:
        """Driver: drop what :meth:`prepare` created (``vts cutover``, ``vts run --fresh``); say what was dropped.

        Called when the job will never resume (a cutover, an abandoned
        stream) or starts afresh. The default has nothing to drop.
        """
        return []

    def acknowledge(self, split: Split, position: Position) -> None:
        """Driver: everything of ``split`` before ``position`` is durable in the sink and in the checkpoint.

        Called after each checkpoint of the split is saved (and when it
        finishes). A source whose service tracks consumption (a Kafka
        group's committed offsets, a replication slot's confirmed position)
        tells it here, so that service never runs ahead of the sink. The
        checkpoint stays the source of truth: a failure here is logged as a
        warning and the run goes on. The default does nothing.
        """

    def audit(self, splits: list[Split], positions: dict[str, Position]) -> None:
        """Driver: every split finished; before the commit, check that together they read all the source holds.

        ``positions`` maps each split id to its last position (after a trip
        through the checkpoint). A source whose splits each see part of a
        unit it can count as a whole (Pinecone id-prefix splits of one
        namespace, against describe_index_stats) sums them here and raises
        its coded error on a shortfall, so a gap fails the run before the
        commit instead of passing quietly. A split that can check itself does
        so in ``read``; the default checks nothing.
        """

    def backlog(self, splits: list[Split], positions: dict[str, Position]) -> dict[str, int]:
        """Driver: how many records of each split lie after its checkpointed position (a stream's lag).

        Asked by ``vts status``, possibly from another process while the run
        goes on; ``positions`` maps split ids to what the checkpoint holds
        (``None``: not started). Answer only for the splits the service can
        tell (a Kafka partition: its high watermark minus the position); the
        default knows none. Read-only: it must not move any committed offset.
        """
        return {}

    def lag(self, splits: list[Split], positions: dict[str, Position]) -> dict[str, dict[str, Any]]:
        """Driver: more of what ``vts status`` shows per split, as JSON (a CDC stream's WAL bytes behind).

        Same rules as :meth:`backlog` (read-only, any process); the default adds nothing.
        """
        return {}

    def finish(self, tables: list[TableSchema], state: dict[str, Any]) -> None:
        """Driver: called once after the sink committed every split of a successful run.

        ``state`` is the ``Splits.state`` of this run's splits (restored from
        the checkpoint when the run was resumed). A source that keeps state
        across runs (an incremental high-water mark) saves it here, so a
        failed run is simply read again.
        """


@dataclass(frozen=True)
class Flushed:
    """What :meth:`SinkWriter.flush` made durable since the previous flush.

    ``rows`` is counted by the engine (written, or staged for a sink whose
    commit makes them visible); ``state`` is optional writer state kept in the
    checkpoint with the split's position and handed back in
    :attr:`WriteContext.resume` when the split resumes.
    """

    rows: int = 0
    state: Any = None


@dataclass(frozen=True)
class Resume:
    """Where a split's writer starts: what the checkpoint says is already durable."""

    rows: int = 0  # rows of this split the sink holds already (0 for a split started afresh)
    state: Any = None  # the writer state of that checkpoint (Flushed.state)


@dataclass
class WriteContext:
    """What the engine hands a writer besides its split (built on the worker).

    ``rejects`` takes rows the sink refuses, with their reasons, and raises
    once the run's rejects pass ``max_error_rows``; ``throttled()`` tells the
    engine the target pushed back (counted in the report).
    """

    resume: Resume
    rejects: SplitRejects
    throttled: Callable[[], None] = lambda: None


class SinkWriter(ABC):
    """Worker side of a sink: writes one split's batches.

    Call order: ``write`` any number of times, ``flush`` between writes
    whenever the engine checkpoints, a last ``flush`` and ``finish`` at the
    end of the split, and ``close`` always (also after a failure).
    """

    @abstractmethod
    def write(self, batch: pa.RecordBatch) -> None:
        """Accept a batch (already in the sink's target shape). May buffer.

        Rows the target would refuse go to ``ctx.rejects`` with their reason;
        the others are written, never silently dropped.
        """

    @abstractmethod
    def flush(self) -> Flushed:
        """Make everything accepted so far durable; say how many rows became durable."""

    def finish(self) -> Any:
        """Commit info for :meth:`Sink.commit` (JSON; ``None`` if nothing to commit), after the last flush."""
        return None

    def close(self) -> None:
        """Release clients. Called once, after ``finish`` or after a failure."""


class TargetCatalog(ABC):
    """Driver: the sink's view of its targets, for the engine's save modes (:mod:`vts.savemode`).

    ``targets`` names the target of every table of the layout. Only the engine
    calls the methods that change anything, and only after every check and
    refusal passed.
    """

    targets: list[str]

    @abstractmethod
    def exists(self, target: str) -> bool: ...

    @abstractmethod
    def rows(self, target: str) -> int:
        """Rows the existing target holds (exact)."""

    @abstractmethod
    def mismatches(self, target: str) -> list[str]:
        """Why the existing target cannot take the rows the layout describes ([] when it can)."""

    @abstractmethod
    def create(self, target: str) -> None:
        """Create the target as the layout describes it (fields, indexes, partitions)."""

    @abstractmethod
    def drop(self, target: str) -> None:
        """Drop the target, schema and rows."""

    @abstractmethod
    def delete_rows(self, target: str) -> None:
        """Delete every row of the target, keeping its schema."""

    def prepare_writes(self, target: str) -> None:
        """Get the target ready for writers, after the save modes acted (also on a resumed run)."""

    def append_warning(self, target: str, rows: int) -> str | None:
        """A warning for appending to a target that holds ``rows`` rows (None: appending is safe)."""
        return None

    def close(self) -> None:
        """Release the client."""


class Sink(Connector):
    """A sink connector.

    Driver sequence (``vts.engine``): ``layout`` -> ``preflight`` ->
    ``catalog`` (save modes, decided and applied by the engine) -> writers on
    workers -> ``commit`` -> ``finalize``. ``vts check`` runs ``layout``,
    ``preflight`` and a dry run of the save modes; ``vts verify`` runs
    ``layout`` and ``verifier``. Every method after ``layout`` is handed the
    layout it returned. Nothing but the engine's save modes, the
    writers and ``commit`` changes the target.
    """

    @abstractmethod
    def layout(self, tables: list[TableSchema]) -> Any:
        """Driver: the target layout: where each table goes, with its converted schema; changes nothing.

        The layout is picklable (every writer gets it). Raises a coded error
        when a table cannot be carried to the target.
        """

    def preflight(self, layout: Any) -> list[str]:
        """Driver: every check that can still fail before data moves (credentials, a staging area
        reachable and writable, an API the layout needs); changes nothing in the target.

        Runs in ``vts check`` and in ``vts run`` before any save mode acts.
        Returns lines for ``vts check`` saying what was checked.
        """
        return []

    @abstractmethod
    def catalog(self, layout: Any) -> TargetCatalog:
        """Driver: a catalog of the layout's targets (opens a client; the engine closes it)."""

    def save_modes(self) -> tuple[SchemaSaveMode, DataSaveMode]:
        """The job's schema and data save modes (VTS's option names)."""
        return SchemaSaveMode.CREATE_SCHEMA_WHEN_NOT_EXIST, DataSaveMode.APPEND_DATA

    def max_error_rows(self) -> int:
        """Rejected rows tolerated in a run before it fails."""
        return 0

    def stages(self, layout: Any) -> bool:
        """True when writers only stage rows and :meth:`commit` makes them visible (bulk import)."""
        return False

    @abstractmethod
    def writer(self, layout: Any, split: Split, ctx: WriteContext) -> SinkWriter:
        """Worker: open a writer for one split's rows, starting at ``ctx.resume``."""

    def commit(self, layout: Any, infos: list[Any], journal: Any = None) -> int | None:
        """Driver: called once after every split has finished (e.g. an import job).

        A sink whose writers only stage data returns the rows the commit made
        visible in the target; a sink whose writers write directly returns None.
        ``journal`` (``get(key)`` / ``put(key, value)``, kept in the checkpoint)
        records each step as it is taken — a submitted import job, say — so a
        run resumed after a crash during the commit waits on that job instead
        of submitting it again.
        """
        return None

    def finalize(self, layout: Any, stage: Stage) -> None:
        """Driver: called once after :meth:`commit`; returns when the target is ready to use.

        A sink whose target still has work to do once the rows are in (an
        embedded Milvus Lite building its indexes) does it here, inside the
        run, so that it counts in the run's time and nothing waits silently
        at exit. ``with stage("building the index of c"):`` (see
        :mod:`vts.stage`) wraps each piece of that work so the user sees it.
        The default does nothing.
        """

    def describe_layout(self, layout: Any) -> list[str]:
        """Lines describing the layout for ``vts check``."""
        return [repr(layout)]

    def describe_targets(self, layout: Any) -> dict[str, str]:
        """Source table -> where its rows go, for the run summary (``collection c at http://host``)."""
        return {}

    def verifier(self, layout: Any) -> Any:
        """Driver: an object for ``vts verify`` (see ``vts.verify.Verifier``), or None if unsupported."""
        return None

    def field_mapping(self, layout: Any, table: str) -> list[tuple[str | None, str, str]]:
        """(source column, target field, target type) for ``vts check``'s side-by-side view."""
        return []


class Transform(Connector):
    """A row transform applied between source and sink, on workers."""

    @abstractmethod
    def schema(self, table: TableSchema) -> TableSchema:
        """Driver: the schema of the rows this transform outputs, given its input ``table``.

        Runs during discovery (``vts check`` and ``vts run``), before anything is
        written: every mistake in the transform's options that the input
        schema can reveal (a missing column, a bad SQL statement, a type the
        output cannot hold) is raised here as a coded error, so the sink
        creates its target from what the rows will really be.
        """

    @abstractmethod
    def apply(self, batch: pa.RecordBatch, table: TableSchema, rejects: SplitRejects | None = None) -> pa.RecordBatch:
        """Worker: transform a batch whose schema is ``table`` (this transform's input).

        The result matches ``self.schema(table).arrow_schema()``. A row the
        transform cannot handle (JSON that does not parse, a value a cast
        refuses, a zero vector to normalise) is left out of the result and
        given to ``rejects`` with its reason, so it ends in the dead letters;
        with ``rejects=None`` (``vts verify`` re-reading the source) it is only
        left out. Rows a transform filters on purpose (a SQL ``WHERE``) are
        simply not in the result.
        """
