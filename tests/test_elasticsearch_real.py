"""Against a real cluster, when ES_URL (Elasticsearch) or OPENSEARCH_URL (OpenSearch) is set, e.g.
ES_URL=http://elastic:pw@localhost:9200: the same documents as the emulator tests, indexed through the
real client, read back by the source with every key once and every vector equal."""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from tests.es_fixtures import COMPAT8, create_es_index, create_os_index, doc_id, es_doc, os_doc
from vts.connector import Splits
from vts.connectors.elasticsearch.options import ElasticsearchOptions
from vts.connectors.elasticsearch.source import ElasticsearchSource, OpenSearchSource
from vts.testing.sources import read_split

ROWS = 500


def _read(source: ElasticsearchSource, parallelism: int) -> dict[str, dict]:
    tables = source.discover()
    splits = Splits.of(source.splits(tables, parallelism))
    rows = {r["_id"]: r for s in splits for b, _ in read_split(source, s, tables[0]) for r in b.to_pylist()}
    source.finish(tables, splits.state)
    return rows


@pytest.mark.skipif(not os.environ.get("ES_URL"), reason="ES_URL is not set (a real Elasticsearch to test against)")
def test_a_real_elasticsearch_index_is_read_whole(tmp_path: object) -> None:
    from elasticsearch import Elasticsearch

    url = os.environ["ES_URL"]
    name = f"vts-test-{uuid.uuid4().hex[:8]}"
    create_es_index(url, name, ROWS)
    try:
        opts = ElasticsearchOptions(hosts=[url], index=name, batch_size=97, sparse_vocabulary_path=f"{tmp_path}/v.json")
        rows = _read(ElasticsearchSource(opts), 2)
        assert sorted(rows) == [doc_id(i) for i in range(ROWS)]
        for i in range(ROWS):
            assert np.array_equal(
                np.asarray(rows[doc_id(i)]["emb"], np.float32), np.asarray(es_doc(i)["emb"], np.float32)
            )
    finally:
        Elasticsearch(url).perform_request("DELETE", f"/{name}", headers={"accept": COMPAT8})


@pytest.mark.skipif(not os.environ.get("OPENSEARCH_URL"), reason="OPENSEARCH_URL is not set")
def test_a_real_opensearch_knn_index_is_read_whole() -> None:
    from opensearchpy import OpenSearch

    url = os.environ["OPENSEARCH_URL"]
    name = f"vts-test-{uuid.uuid4().hex[:8]}"
    create_os_index(url, name, ROWS)
    try:
        rows = _read(OpenSearchSource(ElasticsearchOptions(hosts=[url], index=name, batch_size=97)), 2)
        assert sorted(rows) == [doc_id(i) for i in range(ROWS)]
        for i in range(ROWS):
            assert np.array_equal(np.asarray(rows[doc_id(i)]["v"], np.float32), np.asarray(os_doc(i)["v"], np.float32))
    finally:
        OpenSearch(url).indices.delete(index=name)
