"""The sink conformance suite: subclass :class:`SinkSuite` in a connector's tests.

A sink's tests describe its real service with a :class:`SinkTarget` and hand
it to the suite as the ``target`` fixture::

    class MyTarget(SinkTarget):
        paths = ("insert", "bulk")            # its write paths, each tested
        def sink(self, path, **options): ...  # a sink writing to the service by that path
        def failing_preflight(self): ...      # options that make the preflight fail (unreachable staging)
        def rows(self, table): ...            # rows the target holds for a source table (None: no target)
        def keys(self, table): ...            # every key it holds

    class TestMySinkConformance(SinkSuite):
        @pytest.fixture
        def target(self, my_service) -> SinkTarget:
            return MyTarget(my_service)

The suite drives the sink as ``vts run`` does (:func:`vts.engine.run`), or
its writers directly where a test needs to look between two calls.
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pytest

from vts import engine, savemode
from vts.connector import Resume, Sink, Split, WriteContext
from vts.errors import VtsError
from vts.rejects import RejectLog, SplitRejects
from vts.savemode import DataSaveMode, SchemaSaveMode
from vts.schema import Field, LType, TableSchema
from vts.testing.faults import FaultySource
from vts.testing.jobs import make_job
from vts.testing.table_source import TableSource

DIM = 4
MAX_TITLE = 16


class SinkTarget(ABC):
    """How the suite reaches one sink and its real service."""

    paths: ClassVar[tuple[str, ...]] = ("default",)
    sparse: ClassVar[bool] = True  # the target holds sparse vectors (the canned bad rows include one)

    @abstractmethod
    def sink(self, path: str, **options: Any) -> Sink:
        """A sink writing to this service by ``path``, with ``options`` (VTS's names) overriding its defaults."""

    @abstractmethod
    def failing_preflight(self) -> dict[str, Any]:
        """Options under which the sink's preflight fails (an unreachable staging area, say)."""

    @abstractmethod
    def rows(self, table: str) -> int | None:
        """Rows the target of source table ``table`` holds; None when there is no such target."""

    @abstractmethod
    def keys(self, table: str) -> list[Any]:
        """Every primary key the target of ``table`` holds (repeats included)."""

    def visible(self, path: str) -> bool:
        """Whether rows written by ``path`` are in the target at the end of a run (False: staged only)."""
        return True

    def modes(self, schema: SchemaSaveMode, data: DataSaveMode) -> dict[str, Any]:
        return {"schema_save_mode": schema.value, "data_save_mode": data.value}


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def good_table(name: str) -> TableSchema:
    return TableSchema(
        name,
        (
            Field("id", LType.BIGINT, primary_key=True),
            Field("vector", LType.FLOAT_VECTOR, dimension=DIM),
            Field("title", LType.STRING, max_length=MAX_TITLE),
        ),
    )


def good_batches(table: TableSchema, rows: int, per_batch: int) -> list[pa.RecordBatch]:
    out = []
    for lo in range(0, rows, per_batch):
        ids = np.arange(lo, min(lo + per_batch, rows), dtype=np.int64)
        vectors = np.stack([ids, ids + 1, ids + 2, ids + 3], axis=1).astype(np.float32) / 7
        out.append(
            pa.RecordBatch.from_arrays(
                [
                    pa.array(ids),
                    pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), DIM),
                    pa.array([f"t{i}" for i in ids]),
                ],
                schema=table.arrow_schema(),
            )
        )
    return out


# Canned bad rows: each id is refused for one reason, beside good rows in the same batch.
NAN_VECTOR, WRONG_DIMENSION, LONG_TITLE, NULL_TITLE, NEGATIVE_WEIGHT = 101, 102, 103, 104, 105


def bad_rows(name: str, sparse: bool) -> tuple[TableSchema, list[pa.RecordBatch], set[int], set[int]]:
    """(table, batches, good ids, bad ids). The wrong-dimension row comes in a batch of variable-length
    vectors, as a source without a declared dimension sends them."""
    fields = [*good_table(name).fields]
    if sparse:
        fields.append(Field("sparse", LType.SPARSE_FLOAT_VECTOR))
    table = TableSchema(name, tuple(fields))
    good = list(range(10))
    first = [*good, NAN_VECTOR, LONG_TITLE, NULL_TITLE] + ([NEGATIVE_WEIGHT] if sparse else [])
    second = [10, 11, WRONG_DIMENSION]

    def vec(i: int) -> list[float]:
        if i == NAN_VECTOR:
            return [float("nan"), 0.0, 0.0, 1.0]
        return [i / 7, 1.0, 2.0, 3.0][: 3 if i == WRONG_DIMENSION else DIM]

    def columns(ids: list[int], vectors: pa.Array) -> list[pa.Array]:
        cols = [
            pa.array(ids, pa.int64()),
            vectors,
            pa.array(
                [None if i == NULL_TITLE else ("x" * (MAX_TITLE + 1) if i == LONG_TITLE else f"t{i}") for i in ids]
            ),
        ]
        if sparse:
            weights = [[-0.5 if i == NEGATIVE_WEIGHT else 0.5, 1.0] for i in ids]
            cols.append(
                pa.array(
                    [{"indices": [1, 7 + i], "values": w} for i, w in zip(ids, weights)],
                    table.arrow_schema().field("sparse").type,
                )
            )
        return cols

    schema = table.arrow_schema()
    fixed = pa.FixedSizeListArray.from_arrays(pa.array([x for i in first for x in vec(i)], pa.float32()), DIM)
    batch1 = pa.RecordBatch.from_arrays(columns(first, fixed), schema=schema)
    loose = pa.array([vec(i) for i in second], pa.list_(pa.float32()))
    loose_schema = schema.set(1, pa.field("vector", loose.type))
    batch2 = pa.RecordBatch.from_arrays(columns(second, loose), schema=loose_schema)
    bad = {NAN_VECTOR, LONG_TITLE, NULL_TITLE, WRONG_DIMENSION} | ({NEGATIVE_WEIGHT} if sparse else set())
    return table, [batch1, batch2], {*good, 10, 11}, bad


def prepare(sink: Sink, tables: list[TableSchema]) -> Any:
    """The sink's layout, its preflight and its save modes applied, as ``vts run`` does before the writers."""
    layout = sink.layout(tables)
    sink.preflight(layout)
    catalog = sink.catalog(layout)
    try:
        savemode.apply(catalog, savemode.decide(catalog, *sink.save_modes()))
    finally:
        catalog.close()
    return layout


class _Journal:
    """A commit journal as the checkpoint keeps it (get/put of JSON values)."""

    def __init__(self) -> None:
        self.steps: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.steps.get(key)

    def put(self, key: str, value: Any) -> None:
        self.steps[key] = json.loads(json.dumps(value))


class SinkSuite:
    rows_per_run: ClassVar[int] = 60

    @pytest.fixture
    def target(self) -> SinkTarget:
        raise NotImplementedError("a SinkSuite subclass provides the `target` fixture")

    def _fill(self, target: SinkTarget, tmp_path: Path, path: str, name: str, **options: Any) -> None:
        table = good_table(name)
        source = TableSource(table, good_batches(table, self.rows_per_run, 20))
        engine.run(make_job(tmp_path / unique("fill"), source, target.sink(path, **options)))
        if target.visible(path):
            assert target.rows(name) == self.rows_per_run

    def test_check_changes_nothing(self, target: SinkTarget, tmp_path: Path) -> None:
        path, name = target.paths[0], unique("check")
        table = good_table(name)
        source = TableSource(table, good_batches(table, 20, 10))
        res = engine.check(make_job(tmp_path / "new", source, target.sink(path)))
        assert [a.op for a in res.actions] == ["create"]
        assert target.rows(name) is None, "check created the target"
        self._fill(target, tmp_path, path, name)
        for schema, data, op in (
            (SchemaSaveMode.RECREATE_SCHEMA, DataSaveMode.APPEND_DATA, "recreate"),
            (SchemaSaveMode.CREATE_SCHEMA_WHEN_NOT_EXIST, DataSaveMode.DROP_DATA, "delete_rows"),
        ):
            sink = target.sink(path, **target.modes(schema, data))
            res = engine.check(make_job(tmp_path / "again", source, sink))
            assert [(a.op, a.rows) for a in res.actions] == [(op, self.rows_per_run)]
            assert f"{self.rows_per_run:,} row(s)" in res.actions[0].describe(dry_run=True)
            assert target.rows(name) == self.rows_per_run, f"check under {schema.value}/{data.value} changed rows"

    @pytest.mark.parametrize(
        ("schema", "data"),
        [
            (SchemaSaveMode.CREATE_SCHEMA_WHEN_NOT_EXIST, DataSaveMode.DROP_DATA),
            (SchemaSaveMode.RECREATE_SCHEMA, DataSaveMode.APPEND_DATA),
        ],
    )
    def test_a_failing_preflight_leaves_the_target_untouched(
        self, target: SinkTarget, tmp_path: Path, schema: SchemaSaveMode, data: DataSaveMode
    ) -> None:
        path, name = target.paths[0], unique("preflight")
        self._fill(target, tmp_path, path, name)
        table = good_table(name)
        sink = target.sink(path, **target.modes(schema, data), **target.failing_preflight())
        job = make_job(tmp_path / "failing", TableSource(table, good_batches(table, 10, 10)), sink)
        with pytest.raises(VtsError) as check_error:
            engine.check(job)
        with pytest.raises(VtsError) as run_error:
            engine.run(job)
        assert run_error.value.code == check_error.value.code, "check and run disagree on the preflight"
        assert target.rows(name) == self.rows_per_run, f"{schema.value}/{data.value} acted before the preflight"

    def test_flushed_rows_are_durable(self, target: SinkTarget, tmp_path: Path) -> None:
        for path in target.paths:
            name = unique("durable")
            table = good_table(name)
            sink = target.sink(path)
            layout = prepare(sink, [table])
            split = Split(f"{name}/all", name, None, 30)
            log = RejectLog(tmp_path / f"{name}.jsonl")
            writer = sink.writer(layout, split, WriteContext(Resume(), SplitRejects(log, split.id, name)))
            try:
                for batch in good_batches(table, 30, 10):
                    writer.write(batch)
                assert writer.flush().rows == 30, f"{path}: flush does not report the rows it made durable"
                if not sink.stages(layout):
                    assert target.rows(name) == 30, f"{path}: flushed rows are not in the target"
                assert writer.flush().rows == 0, f"{path}: a second flush reports rows again"
                info = writer.finish()
            finally:
                writer.close()
            if sink.stages(layout) and target.visible(path):
                sink.commit(layout, [info], _Journal())
                assert target.rows(name) == 30, f"{path}: the commit did not make the staged rows visible"

    def test_a_split_retried_from_its_start_writes_each_row_once(self, target: SinkTarget, tmp_path: Path) -> None:
        for path in (p for p in target.paths if target.visible(p)):
            name = unique("retry")
            table = good_table(name)
            # no checkpoint before the fault: the retry writes the first batches again
            source = FaultySource(TableSource(table, good_batches(table, 60, 10), batches_per_split=6), after_batches=3)
            engine.run(make_job(tmp_path / unique("retry"), source, target.sink(path), interval=3600))
            assert source.budget.left == 0, "the fault was not injected"
            keys = target.keys(name)
            assert sorted(keys) == list(range(60)), f"{path}: rows lost or written twice after a retry: {sorted(keys)}"

    def test_bad_rows_reach_the_dead_letters_with_the_same_reason_on_every_path(
        self, target: SinkTarget, tmp_path: Path
    ) -> None:
        reasons: dict[str, dict[int, str]] = {}
        for path in target.paths:
            name = unique("bad")
            table, batches, good, bad = bad_rows(name, target.sparse)
            folder = tmp_path / unique(path)
            job = make_job(folder, TableSource(table, batches, 2), target.sink(path, max_error_rows=len(bad)))
            result = engine.run(job)
            letters = [json.loads(line) for line in (folder / "dead-letters.jsonl").read_text().splitlines()]
            reasons[path] = {int(d["row"]["id"]): d["reason"] for d in letters}
            assert set(reasons[path]) == bad, f"{path}: other rows rejected than the bad ones"
            assert result.stats["rows_rejected"] == len(bad)
            if target.visible(path):
                assert sorted(target.keys(name)) == sorted(good), f"{path}: good rows lost beside bad ones"
        first = next(iter(reasons.values()))
        for path, got in reasons.items():
            assert got == first, f"{path} gives other reasons than {target.paths[0]}: {got} vs {first}"

    def test_too_many_bad_rows_fail_the_run_with_their_count(self, target: SinkTarget, tmp_path: Path) -> None:
        for path in target.paths:
            table, batches, _, _bad = bad_rows(unique("limit"), target.sparse)
            job = make_job(tmp_path / unique(path), TableSource(table, batches, 2), target.sink(path, max_error_rows=1))
            with pytest.raises(VtsError) as err:
                engine.run(job)
            assert err.value.code == "VTS-12" and "max_error_rows=1" in err.value.message, (path, err.value)

    def test_a_commit_replayed_from_its_journal_does_not_import_twice(self, target: SinkTarget, tmp_path: Path) -> None:
        for path in (p for p in target.paths if target.visible(p)):
            sink, name = target.sink(path), unique("replay")
            table = good_table(name)
            if not sink.stages(sink.layout([table])):
                continue  # writes directly: nothing is committed
            layout = prepare(sink, [table])
            split = Split(f"{name}/all", name, None, 30)
            writer = sink.writer(
                layout, split, WriteContext(Resume(), SplitRejects(RejectLog(tmp_path / "r"), split.id, name))
            )
            try:
                for batch in good_batches(table, 30, 10):
                    writer.write(batch)
                writer.flush()
                info = writer.finish()
            finally:
                writer.close()
            journal = _Journal()
            first = sink.commit(layout, [info], journal)
            assert journal.steps, f"{path}: the commit journaled nothing a resumed run could wait on"
            again = sink.commit(layout, [info], journal)  # the run died after the import, before forgetting it
            assert first == again == 30 and sorted(target.keys(name)) == list(range(30)), path
