"""The Elasticsearch / OpenSearch source's own behaviour against the strict emulator: what the servers do
(compat media types, vectors left out of _source), PIT expiry and shard failures mid-split, scroll, old
servers, wildcards, and every mistake a user can make ending in its coded error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch

from tests.conftest import run_vts, write_job
from tests.es_emulator import Emulator
from tests.es_fixtures import COMPAT8, create_es_index, create_os_index, doc_id
from vts.connector import Source, Splits
from vts.connectors.elasticsearch.errors import ElasticsearchError
from vts.connectors.elasticsearch.options import ElasticsearchOptions
from vts.connectors.elasticsearch.source import ElasticsearchSource, OpenSearchSource
from vts.testing.sources import keys_of, read_split

ROWS = 300
ALL = {doc_id(i) for i in range(ROWS)}


@pytest.fixture(scope="module")
def es92() -> Iterator[Emulator]:
    with Emulator(version="9.2.0") as emulator:
        create_es_index(emulator.url, "docs", ROWS, shards=3)
        yield emulator


@pytest.fixture(scope="module")
def es8() -> Iterator[Emulator]:
    with Emulator(version="8.15.0") as emulator:
        create_es_index(emulator.url, "docs", ROWS, shards=2)
        yield emulator


def _source(url: str, **kw: Any) -> ElasticsearchSource:
    return ElasticsearchSource(ElasticsearchOptions(hosts=[url], **{"index": "docs", "batch_size": 40, **kw}))


def _read_all(source: Source, parallelism: int) -> list[Any]:
    tables = source.discover()
    splits = Splits.of(source.splits(tables, parallelism))
    keys = [k for s in splits for k in keys_of((b for b, _ in read_split(source, s, tables[0])), source_key(source))]
    source.finish(tables, splits.state)
    return keys


def source_key(source: Source) -> str:
    return "_id" if source.options.pk == "_id" else source.options.pk  # type: ignore[attr-defined]


# -- what the servers do, and that vts copes ------------------------------------------------------------------


def test_an_8x_server_refuses_the_default_9x_client_and_vts_still_reads_it(es8: Emulator) -> None:
    with pytest.raises(BadRequestError) as info:
        Elasticsearch(es8.url).info()
    assert info.value.error == "media_type_header_exception"
    assert sorted(_read_all(_source(es8.url), 2)) == sorted(ALL)


def test_a_92_index_leaves_vectors_out_of_source_and_vts_asks_for_them(es92: Emulator) -> None:
    client = Elasticsearch(es92.url)
    plain = client.search(index="docs", size=1)["hits"]["hits"][0]["_source"]
    assert "emb" not in plain and "sp" not in plain and "title" in plain
    source = _source(es92.url)
    tables = source.discover()
    splits = Splits.of(source.splits(tables, 1))
    batch = read_split(source, splits[0], tables[0])[0][0]
    assert None not in batch.column("emb").to_pylist() and None not in batch.column("sp").to_pylist()
    assert all(len(b) == 2 for b in batch.column("b").to_pylist())  # bit vectors: 16 bits = 2 bytes
    source.finish(tables, splits.state)


def test_servers_before_8_19_never_get_exclude_vectors(es8: Emulator) -> None:
    before = len(es8.requests)
    _read_all(_source(es8.url), 1)
    assert not [r for r in es8.requests[before:] if r[2] is not None], "a request was refused"


def test_the_splits_point_in_time_is_closed_by_finish(es92: Emulator) -> None:
    es92.expire_contexts()
    _read_all(_source(es92.url), 3)
    assert es92.open_contexts() == 0


def test_an_elasticsearch_source_pointed_at_opensearch_reads_it_with_opensearch_py() -> None:
    with Emulator(flavor="opensearch", version="3.3.0") as os_:
        create_os_index(os_.url, "knn", 120)
        source = ElasticsearchSource(ElasticsearchOptions(hosts=[os_.url], index="knn", batch_size=50))
        assert sorted(_read_all(source, 2)) == sorted(doc_id(i) for i in range(120))
        assert any(path.endswith("/_search/point_in_time") for _, path, _ in os_.requests)


# -- PIT expiry, shard failures, count checks ---------------------------------------------------------------


def _expire_after(emulator: Emulator, searches: int) -> None:
    seen = {"n": 0}

    def hook(body: dict[str, Any]) -> None:
        if "pit" in body:
            seen["n"] += 1
            if seen["n"] == searches:
                emulator.expire_contexts()

    emulator.on_search = hook


def test_a_pit_expired_mid_split_continues_after_the_last_key_when_sorted_on_pk(
    es92: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    source = _source(es92.url, pk="n")
    tables = source.discover()
    splits = Splits.of(source.splits(tables, 2))
    _expire_after(es92, 3)
    try:
        with caplog.at_level(logging.WARNING, "vts.elasticsearch"):
            keys = [k for s in splits for k in keys_of((b for b, _ in read_split(source, s, tables[0])), "n")]
    finally:
        es92.on_search = None
    assert sorted(keys) == sorted(i * 3 - 7 for i in range(ROWS)), "rows repeated or missing"
    assert "continuing on a new one after key" in caplog.text
    source.finish(tables, splits.state)


def test_a_pit_expired_mid_split_restarts_a_whole_index_split_and_says_so(
    es92: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    source = _source(es92.url)
    tables = source.discover()
    splits = Splits.of(source.splits(tables, 1))
    _expire_after(es92, 3)
    try:
        with caplog.at_level(logging.WARNING, "vts.elasticsearch"):
            batches = read_split(source, splits[0], tables[0])
    finally:
        es92.on_search = None
    keys = keys_of((b for b, _ in batches), "_id")
    assert set(keys) == ALL and len(keys) == ROWS + 80  # two pages read before the restart, read again
    assert "restarting the split from its first document" in caplog.text


def test_a_pit_expired_under_several_slices_stops_with_es06(es92: Emulator) -> None:
    source = _source(es92.url)
    tables = source.discover()
    splits = Splits.of(source.splits(tables, 2))
    _expire_after(es92, 2)
    try:
        with pytest.raises(ElasticsearchError) as info:
            read_split(source, splits[0], tables[0])
    finally:
        es92.on_search = None
    assert info.value.code == "ES-06" and "pk" in (info.value.hint or "")


def test_a_200_answer_with_a_failed_shard_is_a_transient_es07_not_a_short_page(es92: Emulator) -> None:
    source = _source(es92.url)
    tables = source.discover()
    splits = Splits.of(source.splits(tables, 1))
    es92.fail_shard_searches = 1
    with pytest.raises(ElasticsearchError) as info:
        read_split(source, splits[0], tables[0])
    assert (info.value.code, info.value.transient) == ("ES-07", True)
    source.finish(tables, splits.state)


def test_a_failed_shard_mid_run_is_retried_and_every_row_arrives(
    es92: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import client_for, count

    job = {
        "env": {"parallelism": 2, "retry_backoff": 0.01},
        "source": {"Elasticsearch": {"hosts": [es92.url], "index": "docs", "batch_size": 50, "source": ["n", "emb"]}},
        "sink": {"Milvus": {"url": str(tmp_path / "x.db")}},
    }
    es92.fail_shard_searches = 2
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert code == 0, err
    milvus = client_for(str(tmp_path / "x.db"))
    try:
        assert count(milvus, "docs") == ROWS
    finally:
        milvus.close()


def test_a_slice_that_returns_fewer_documents_than_its_total_fails_with_es11(es92: Emulator) -> None:
    source = _source(es92.url)
    tables = source.discover()
    splits = Splits.of(source.splits(tables, 1))
    ctx = es92.contexts[splits[0].spec["pit"]]
    first = {"done": False}

    def drop_one(body: dict[str, Any]) -> None:
        if "search_after" in body and not first["done"]:
            first["done"] = True
            ctx.shards[-1][1].pop()  # a document vanishes from under the reader

    es92.on_search = drop_one
    try:
        with pytest.raises(ElasticsearchError) as info:
            read_split(source, splits[0], tables[0])
    finally:
        es92.on_search = None
    assert info.value.code == "ES-11" and f"the slice holds {ROWS}" in info.value.message


# -- scroll and old servers -----------------------------------------------------------------------------------


def test_scroll_reads_every_row_once_and_clears_its_scrolls(es92: Emulator) -> None:
    es92.expire_contexts()
    assert sorted(_read_all(_source(es92.url, search_api_type="SCROLL"), 3)) == sorted(ALL)
    assert es92.open_contexts() == 0


def test_a_7_9_server_without_point_in_time_is_read_by_scroll() -> None:
    with Emulator(version="7.9.3") as old:
        create_es_index_7(old.url)
        keys = _read_all(_source(old.url), 2)
        assert sorted(keys) == sorted(ALL)
        assert not any("_pit" in path for _, path, _ in old.requests)


def create_es_index_7(url: str) -> None:
    """A 7.x server understands compatible-with=7 only."""
    import tests.es_fixtures as fx

    compat7 = COMPAT8.replace("8", "7")
    saved = fx.COMPAT8
    fx.COMPAT8 = compat7
    try:
        mapping = {"properties": {k: v for k, v in fx.ES_MAPPING["properties"].items() if k not in ("b", "q", "sp")}}
        fx.create_es_index(url, "docs", ROWS, mapping=mapping)
    finally:
        fx.COMPAT8 = saved


def test_split_mode_index_reads_each_index_of_a_wildcard_with_its_own_pit() -> None:
    with Emulator(version="9.2.0") as e:
        create_es_index(e.url, "logs-a", 50)
        create_es_index(e.url, "logs-b", 70)
        source = _source(e.url, index="logs-*", split_mode="INDEX")
        tables = source.discover()
        assert tables[0].name == "logs" and "_index" in tables[0].names
        splits = Splits.of(source.splits(tables, 4))
        assert [s.id for s in splits] == ["logs/logs-a", "logs/logs-b"]
        keys = [k for s in splits for k in keys_of((b for b, _ in read_split(source, s, tables[0])), "_id")]
        # the same _id may exist in both indexes: the key carries the index
        assert sorted(keys) == sorted(
            [f"logs-a/{doc_id(i)}" for i in range(50)] + [f"logs-b/{doc_id(i)}" for i in range(70)]
        )
        source.finish(tables, splits.state)
        assert e.open_contexts() == 0


# -- user mistakes: coded errors, documented exit codes, no traceback ------------------------------------------


def _run(tmp_path: Path, source: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    job = {"source": {"Elasticsearch": source}, "sink": {"Milvus": {"url": str(tmp_path / "x.db")}}}
    code, out, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert "Traceback" not in out + err
    return code, out + err


def test_a_missing_index_is_es03(es92: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(tmp_path, {"hosts": [es92.url], "index": "nope"}, capsys)
    assert code == 1 and "[ES-03]" in text and "'nope'" in text


def test_wrong_credentials_are_es02_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Emulator(version="9.2.0", auth=("elastic", "right")) as e:
        code, text = _run(
            tmp_path, {"hosts": [e.url], "index": "docs", "username": "elastic", "password": "wrong"}, capsys
        )
    assert code == 3 and "[ES-02]" in text and "wrong" not in text.replace("wrong_", "")


def test_nothing_listening_is_es01_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(tmp_path, {"hosts": ["http://127.0.0.1:1"], "index": "docs", "timeout": 2}, capsys)
    assert code == 3 and "[ES-01]" in text


def test_an_index_without_vectors_is_es05_listing_its_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator(version="9.2.0") as e:
        mapping = {"properties": {"title": {"type": "keyword"}, "n": {"type": "long"}}}
        _put(e.url, "plain", mapping)
        code, text = _run(tmp_path, {"hosts": [e.url], "index": "plain"}, capsys)
    assert code == 4 and "[ES-05]" in text and "title (keyword)" in text and "n (long)" in text


def test_a_wildcard_over_indexes_whose_mappings_disagree_is_es08(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator(version="9.2.0") as e:
        _put(e.url, "a-1", {"properties": {"v": {"type": "dense_vector", "dims": 4}}})
        _put(e.url, "a-2", {"properties": {"v": {"type": "dense_vector", "dims": 8}}})
        code, text = _run(tmp_path, {"hosts": [e.url], "index": "a-*"}, capsys)
    assert code == 4 and "[ES-08]" in text and "'a-1'" in text and "'a-2'" in text


def test_rank_vectors_are_refused_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Emulator(version="9.2.0") as e:
        _put(
            e.url,
            "r",
            {"properties": {"v": {"type": "dense_vector", "dims": 4}, "m": {"type": "rank_vectors", "dims": 4}}},
        )
        code, text = _run(tmp_path, {"hosts": [e.url], "index": "r"}, capsys)
    assert code == 4 and "[ES-09]" in text and "'source'" in text


def test_option_mistakes_are_vts01_before_connecting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(tmp_path, {"hosts": ["http://127.0.0.1:1"]}, capsys)
    assert code == 2 and "[VTS-01]" in text and "index" in text


def _put(url: str, name: str, mapping: dict[str, Any]) -> None:
    client = Elasticsearch(url)
    client.perform_request(
        "PUT", f"/{name}", headers={"accept": COMPAT8, "content-type": COMPAT8}, body={"mappings": mapping}
    )
    client.close()


def test_an_opensearch_source_refuses_an_elasticsearch_cluster(es92: Emulator) -> None:
    with pytest.raises(ElasticsearchError) as info:
        OpenSearchSource(ElasticsearchOptions(hosts=[es92.url], index="docs")).discover()
    assert info.value.code == "ES-04" and "Elasticsearch" in (info.value.hint or "")


def test_source_limits_the_columns_and_keeps_a_pk_field_listed_or_not(es92: Emulator) -> None:
    for fields in (["emb"], ["emb", "n"]):
        tables = _source(es92.url, pk="n", source=fields).discover()
        assert tables[0].names == ["_id", "emb", "n"] or tables[0].names == ["_id", "n", "emb"]
        assert tables[0].field("n").primary_key and not tables[0].field("_id").primary_key


def test_split_mode_shard_cuts_one_slice_per_primary_shard(es92: Emulator) -> None:
    source = _source(es92.url, split_mode="SHARD")
    tables = source.discover()
    splits = Splits.of(source.splits(tables, 8))
    assert [s.id for s in splits] == [f"docs/slice-{i}-of-3" for i in range(3)]
    keys = [k for s in splits for k in keys_of((b for b, _ in read_split(source, s, tables[0])), "_id")]
    assert sorted(keys) == sorted(ALL)
    source.finish(tables, splits.state)
