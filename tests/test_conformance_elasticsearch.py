"""The Elasticsearch and OpenSearch sources pass the shipped source suite (vts.testing.sources), against the
strict emulator (tests/es_emulator.py) driven by the real clients: an ES 8 index (vectors in _source), an
ES 9.2 index (vectors left out of _source), a pk-sorted read, and an OpenSearch knn_vector index."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from tests.es_emulator import Emulator
from tests.es_fixtures import create_es_index, create_os_index, doc_id
from vts.connector import Source, Splits
from vts.connectors.elasticsearch.options import ElasticsearchOptions
from vts.connectors.elasticsearch.source import ElasticsearchSource, OpenSearchSource
from vts.testing.sources import SourceSuite, read_split, through_checkpoint

ROWS = 400


def _es(version: str) -> Iterator[Emulator]:
    with Emulator(version=version) as emulator:
        create_es_index(emulator.url, "docs", ROWS, shards=3)
        yield emulator


@pytest.fixture(scope="module")
def es8() -> Iterator[Emulator]:
    yield from _es("8.15.0")


@pytest.fixture(scope="module")
def es92() -> Iterator[Emulator]:
    yield from _es("9.2.0")


@pytest.fixture(scope="module")
def opensearch() -> Iterator[Emulator]:
    with Emulator(flavor="opensearch", version="2.19.0") as emulator:
        create_os_index(emulator.url, "knn", ROWS)
        yield emulator


class _EsSuite(SourceSuite):
    key = "_id"

    @pytest.fixture
    def expected_keys(self) -> set[Any]:
        return {doc_id(i) for i in range(ROWS)}

    def test_splitting_on_one_instance_and_finishing_on_a_fresh_one(self, source: Source) -> None:  # type: ignore[override]
        """The suite's version takes any state for an incremental window; this source's state is the
        PITs to close and the sparse vocabulary to write. So: the state survives the checkpoint's codec, a
        fresh instance's finish closes the PITs, and the next run's splits read every row again."""
        tables = source.discover()
        splits = Splits.of(source.splits(tables, 2))
        state = through_checkpoint(splits.state)
        assert state == splits.state
        pickle.loads(pickle.dumps(source)).finish(tables, state)
        by_name = {t.name: t for t in tables}
        again = Splits.of(source.splits(tables, 2))
        assert sum(b.num_rows for s in again for b, _ in read_split(source, s, by_name[s.table])) == ROWS
        source.finish(tables, again.state)


class TestElasticsearch8Conformance(_EsSuite):
    @pytest.fixture
    def source(self, es8: Emulator, tmp_path: Any) -> Source:
        opts = ElasticsearchOptions(
            hosts=[es8.url], index="docs", batch_size=53, sparse_vocabulary_path=str(tmp_path / "{field}.json")
        )
        return ElasticsearchSource(opts)

    @pytest.fixture
    def failing_source(self) -> Source:
        return ElasticsearchSource(ElasticsearchOptions(hosts=["http://127.0.0.1:1"], index="docs", timeout=2))


class TestElasticsearch92Conformance(_EsSuite):
    @pytest.fixture
    def source(self, es92: Emulator, tmp_path: Any) -> Source:
        opts = ElasticsearchOptions(
            hosts=[es92.url], index="docs", batch_size=53, sparse_vocabulary_path=str(tmp_path / "{field}.json")
        )
        return ElasticsearchSource(opts)

    @pytest.fixture
    def failing_source(self, es92: Emulator) -> Source:
        return ElasticsearchSource(ElasticsearchOptions(hosts=[es92.url], index="absent"))


class TestElasticsearchKeyedByFieldConformance(_EsSuite):
    """``pk: n``: sorted and sliced by a unique field instead of _shard_doc."""

    key = "n"

    @pytest.fixture
    def expected_keys(self) -> set[Any]:
        return {i * 3 - 7 for i in range(ROWS)}

    @pytest.fixture
    def source(self, es92: Emulator, tmp_path: Any) -> Source:
        opts = ElasticsearchOptions(
            hosts=[es92.url], index="docs", pk="n", batch_size=41, sparse_vocabulary_path=str(tmp_path / "{field}.json")
        )
        return ElasticsearchSource(opts)

    @pytest.fixture
    def failing_source(self, es92: Emulator) -> Source:
        return ElasticsearchSource(ElasticsearchOptions(hosts=[es92.url], index="docs", pk="nope"))


class TestOpenSearchConformance(_EsSuite):
    @pytest.fixture
    def source(self, opensearch: Emulator) -> Source:
        return OpenSearchSource(ElasticsearchOptions(hosts=[opensearch.url], index="knn", batch_size=47))

    @pytest.fixture
    def failing_source(self, opensearch: Emulator) -> Source:
        return OpenSearchSource(ElasticsearchOptions(hosts=[opensearch.url], index="absent"))
