"""Connectors that fail on purpose: a real source or sink wrapped, failing where a test says.

A wrapper behaves exactly as the connector it wraps, except that it raises
:class:`InjectedFault` (transient or fatal, as asked) at the chosen moment,
a chosen number of times. Budgets are counted per process (the thread
executor shares one wrapper between its splits).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from vts.connector import Flushed, Position, Sink, SinkWriter, Source, Split, TargetCatalog, WriteContext
from vts.errors import VtsError
from vts.schema import TableSchema


class InjectedFault(VtsError):
    code = "TEST-01"


class _Budget:
    """How many more times to fail; shared by the wrapper's readers or writers."""

    def __init__(self, times: int) -> None:
        self.left = times
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True

    def __getstate__(self) -> dict[str, Any]:
        return {"left": self.left}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.left, self._lock = state["left"], threading.Lock()


def _fault(where: str, transient: bool) -> InjectedFault:
    err = InjectedFault(f"injected {'transient' if transient else 'fatal'} fault {where}", hint="a test asked for it")
    err.transient = transient
    return err


class FaultySource(Source):
    """Fails a split's read after ``after_batches`` batches, ``times`` times in all."""

    name = "FaultySource"
    doc = "A source that fails on purpose (tests)."

    def __init__(self, inner: Source, after_batches: int = 1, transient: bool = True, times: int = 1) -> None:
        super().__init__(inner.options)
        self.inner, self.after, self.transient, self.budget = inner, after_batches, transient, _Budget(times)

    def process_bound(self) -> str | None:
        return self.inner.process_bound()

    def discover(self) -> list[TableSchema]:
        return self.inner.discover()

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> Any:
        return self.inner.splits(tables, parallelism, incremental=incremental)

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        for i, item in enumerate(self.inner.read(split, table, position)):
            if i == self.after and self.budget.take():
                raise _fault(f"reading split {split.id}", self.transient)
            yield item

    def finish(self, tables: list[TableSchema], state: dict[str, Any]) -> None:
        self.inner.finish(tables, state)


class FaultySink(Sink):
    """The wrapped sink, failing ``times`` times in one place.

    ``at``: ``"write"`` (a writer's write after ``after_rows`` rows reached
    it), ``"preflight"`` or ``"commit"``.
    """

    name = "FaultySink"
    doc = "A sink that fails on purpose (tests)."

    def __init__(
        self, inner: Sink, at: str = "write", after_rows: int = 0, transient: bool = False, times: int = 1
    ) -> None:
        super().__init__(inner.options)
        self.inner, self.at, self.after, self.transient = inner, at, after_rows, transient
        self.budget = _Budget(times)

    def _maybe_fail(self, where: str) -> None:
        if self.at == where and self.budget.take():
            raise _fault(f"in {where}", self.transient)

    def process_bound(self) -> str | None:
        return self.inner.process_bound()

    def layout(self, tables: list[TableSchema]) -> Any:
        return self.inner.layout(tables)

    def preflight(self, layout: Any) -> list[str]:
        self._maybe_fail("preflight")
        return self.inner.preflight(layout)

    def catalog(self, layout: Any) -> TargetCatalog:
        return self.inner.catalog(layout)

    def save_modes(self) -> Any:
        return self.inner.save_modes()

    def max_error_rows(self) -> int:
        return self.inner.max_error_rows()

    def stages(self, layout: Any) -> bool:
        return self.inner.stages(layout)

    def writer(self, layout: Any, split: Split, ctx: WriteContext) -> SinkWriter:
        inner = self.inner.writer(layout, split, ctx)
        return _FaultyWriter(inner, lambda rows: rows >= self.after and self.at == "write" and self.budget.take(), self)

    def commit(self, layout: Any, infos: list[Any], journal: Any = None) -> int | None:
        self._maybe_fail("commit")
        return self.inner.commit(layout, infos, journal)

    def finalize(self, layout: Any, stage: Callable[[str], None]) -> None:
        self.inner.finalize(layout, stage)

    def describe_layout(self, layout: Any) -> list[str]:
        return self.inner.describe_layout(layout)

    def describe_targets(self, layout: Any) -> dict[str, str]:
        return self.inner.describe_targets(layout)

    def verifier(self, layout: Any) -> Any:
        return self.inner.verifier(layout)

    def field_mapping(self, layout: Any, table: str) -> list[tuple[str | None, str, str]]:
        return self.inner.field_mapping(layout, table)


class PassingWriter(SinkWriter):
    """A writer that hands every call to ``inner``: a test's writer overrides only what it changes."""

    def __init__(self, inner: SinkWriter) -> None:
        self.inner = inner

    def write(self, batch: pa.RecordBatch) -> None:
        self.inner.write(batch)

    def flush(self) -> Flushed:
        return self.inner.flush()

    def finish(self) -> Any:
        return self.inner.finish()

    def close(self) -> None:
        self.inner.close()


class _FaultyWriter(PassingWriter):
    def __init__(self, inner: SinkWriter, due: Callable[[int], bool], sink: FaultySink) -> None:
        super().__init__(inner)
        self.due, self.sink, self.rows = due, sink, 0

    def write(self, batch: pa.RecordBatch) -> None:
        if self.due(self.rows):
            raise _fault("in write", self.sink.transient)
        self.inner.write(batch)
        self.rows += batch.num_rows
