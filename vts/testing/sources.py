"""The source conformance suite: subclass :class:`SourceSuite` in a connector's tests.

::

    class TestMySourceConformance(SourceSuite):
        key = "id"                        # a column unique per row

        @pytest.fixture
        def source(self, my_service) -> Source:   # on non-empty data in the real service
            return MySource(MyOptions(...))

        @pytest.fixture
        def failing_source(self, my_service) -> Source:   # one whose discover fails (wrong port, say)
            return MySource(MyOptions(port=1))

Optionally ``expected_keys`` (a fixture returning every key the source holds)
and ``parallelisms``. Every test reads the real service; none needs a sink.
"""

from __future__ import annotations

import copy
import pickle
from collections import Counter
from typing import Any, ClassVar

import pyarrow as pa
import pytest

from vts.checkpoint import decode, encode
from vts.connector import Source, Split, Splits
from vts.errors import VtsError
from vts.schema import TableSchema


def read_split(
    source: Source, split: Split, table: TableSchema, position: Any = None
) -> list[tuple[pa.RecordBatch, Any]]:
    reader = source.read(split, table, position)
    try:
        return list(reader)
    finally:
        reader.close()


def through_checkpoint(value: Any) -> Any:
    """What a resumed run gets back: the value after the checkpoint's own codec."""
    return decode(encode(value))


def _keys(batches: list[pa.RecordBatch], key: str) -> list[Any]:
    return [k for b in batches for k in b.column(key).to_pylist()]


class SourceSuite:
    key: ClassVar[str] = "id"
    parallelisms: ClassVar[tuple[int, ...]] = (1, 2, 4)

    @pytest.fixture
    def source(self) -> Source:
        raise NotImplementedError("a SourceSuite subclass provides the `source` fixture")

    @pytest.fixture
    def failing_source(self) -> Source:
        raise NotImplementedError("a SourceSuite subclass provides the `failing_source` fixture")

    @pytest.fixture
    def expected_keys(self) -> set[Any] | None:
        return None

    def _splits(self, source: Source, parallelism: int, **kw: Any) -> tuple[list[TableSchema], Splits]:
        tables = source.discover()
        return tables, Splits.of(source.splits(tables, parallelism, **kw))

    def test_the_connector_holds_options_not_clients(self, source: Source) -> None:
        clone = pickle.loads(pickle.dumps(source))
        assert clone.options == source.options

    def test_splits_cover_every_row_exactly_once(self, source: Source, expected_keys: set[Any] | None) -> None:
        reference: Counter[Any] | None = None
        for p in self.parallelisms:
            tables, splits = self._splits(source, p)
            by_name = {t.name: t for t in tables}
            ids = [s.id for s in splits]
            assert len(ids) == len(set(ids)), f"split ids repeat at parallelism {p}: {ids}"
            seen: Counter[Any] = Counter()
            worker = pickle.loads(pickle.dumps(source))  # splits and the connector travel to workers
            for split in pickle.loads(pickle.dumps(list(splits))):
                for batch, _ in read_split(worker, split, by_name[split.table]):
                    seen.update((split.table, k) for k in batch.column(self.key).to_pylist())
            assert seen, "the suite needs a source with rows"
            repeated = [k for k, n in seen.items() if n > 1]
            assert not repeated, f"parallelism {p}: rows read twice: {repeated[:10]}"
            if reference is None:
                reference = seen
                if expected_keys is not None:
                    assert {k for _, k in seen} == expected_keys, f"parallelism {p}: rows missing or extra"
            else:
                assert seen == reference, f"parallelism {p} reads other rows than parallelism {self.parallelisms[0]}"

    def test_split_ids_are_stable_between_calls(self, source: Source) -> None:
        for p in self.parallelisms:
            assert [s.id for s in self._splits(source, p)[1]] == [s.id for s in self._splits(source, p)[1]]

    def test_batches_match_the_discovered_schema(self, source: Source) -> None:
        tables, splits = self._splits(source, 2)
        by_name = {t.name: t for t in tables}
        for split in splits:
            want = by_name[split.table].arrow_schema()
            for batch, _ in read_split(source, split, by_name[split.table]):
                assert batch.schema.names == want.names and batch.schema.types == want.types, (batch.schema, want)

    def test_a_reader_resumed_from_every_position_neither_skips_nor_repeats(self, source: Source) -> None:
        tables, splits = self._splits(source, 2)
        by_name = {t.name: t for t in tables}
        for split in splits:
            table = by_name[split.table]
            full = read_split(source, split, table)
            everything = _keys([b for b, _ in full], self.key)
            consumed: list[Any] = []
            for batch, position in full:
                consumed += batch.column(self.key).to_pylist()
                rest = read_split(pickle.loads(pickle.dumps(source)), split, table, through_checkpoint(position))
                assert consumed + _keys([b for b, _ in rest], self.key) == everything, (
                    f"split {split.id}: resuming at {position!r} skips or repeats rows"
                )

    def test_splitting_on_one_instance_and_finishing_on_a_fresh_one(self, source: Source) -> None:
        tables, splits = self._splits(source, 2)
        state = through_checkpoint(splits.state)  # a resumed run has only the checkpoint's copy
        assert state == splits.state, "the splits' state does not survive the checkpoint's JSON codec"
        fresh = pickle.loads(pickle.dumps(source))
        fresh.finish(tables, state)
        if splits.state:  # it keeps a window: the next run reads nothing new, verify still sees every row
            again = pickle.loads(pickle.dumps(source))
            tables2, nxt = self._splits(again, 2)
            by_name = {t.name: t for t in tables2}
            assert sum(_rows(again, s, by_name) for s in nxt) == 0, "the next run reads rows the last one finished"
            _, whole = self._splits(again, 2, incremental=False)
            assert sum(_rows(again, s, by_name) for s in whole) == sum(_rows(source, s, by_name) for s in splits)

    def test_errors_carry_their_code_across_processes(self, failing_source: Source) -> None:
        with pytest.raises(VtsError) as info:
            failing_source.discover()
        err = info.value
        assert err.code and err.code != VtsError.code and err.hint, f"an uncoded or unhinted error: {err!r}"
        for clone in (pickle.loads(pickle.dumps(err)), copy.deepcopy(err)):
            assert type(clone) is type(err) and str(clone) == str(err)
            assert (clone.code, clone.hint, clone.exit_code, clone.transient) == (
                err.code,
                err.hint,
                err.exit_code,
                err.transient,
            )

    def test_every_discovered_schema_maps_to_a_milvus_target(self, source: Source) -> None:
        from vts.connectors.milvus.connection import ServerInfo
        from vts.connectors.milvus.mapping import map_table
        from vts.connectors.milvus.options import MilvusSinkOptions

        for table in source.discover():
            map_table(table, MilvusSinkOptions(url="./x.db"), ServerInfo.parse("v2.6.0"))


def _rows(source: Source, split: Split, by_name: dict[str, TableSchema]) -> int:
    return sum(b.num_rows for b, _ in read_split(source, split, by_name[split.table]))


def check_source(source: Source, key: str = "id", expected_keys: set[Any] | None = None) -> None:
    """Every :class:`SourceSuite` check that needs no failing source, on one source.

    For a connector's own tests that cover several modes of it (key types,
    split modes) beside its suite class.
    """
    suite = SourceSuite()
    suite.key = key  # type: ignore[misc]
    suite.test_the_connector_holds_options_not_clients(source)
    suite.test_every_discovered_schema_maps_to_a_milvus_target(source)
    suite.test_batches_match_the_discovered_schema(source)
    suite.test_splits_cover_every_row_exactly_once(source, expected_keys)
    suite.test_split_ids_are_stable_between_calls(source)
    suite.test_a_reader_resumed_from_every_position_neither_skips_nor_repeats(source)
    suite.test_splitting_on_one_instance_and_finishing_on_a_fresh_one(source)


def keys_of(batches: Any, key: str) -> list[Any]:
    return [k for b in batches for k in b.column(key).to_pylist()]
