"""The Milvus source on Milvus Lite: splits, resume, load state, retries, conformance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pymilvus import DataType, MilvusClient

import vts.connectors.milvus.reader as reader_module
from tests.conftest import run_vts, write_job
from tests.source_conformance import check_source, keys_of, read_split
from vts.connectors.milvus.source import MilvusSource
from vts.connectors.milvus.source_options import MilvusSourceOptions


def _collection(c: MilvusClient, name: str, n: int, varchar: bool = False, partitions: tuple[str, ...] = (),
                partition_key: bool = False) -> list[Any]:  # fmt: skip
    s = MilvusClient.create_schema(auto_id=False)
    if varchar:
        s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=32)
    else:
        s.add_field("pk", DataType.INT64, is_primary=True)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("g", DataType.INT64, is_partition_key=partition_key)
    idx = c.prepare_index_params()
    idx.add_index("v", index_type="AUTOINDEX", metric_type="L2")
    c.create_collection(name, schema=s, index_params=idx, **({"num_partitions": 4} if partition_key else {}))
    for p in partitions:
        c.create_partition(name, p)
    keys = [f"k{i:06d}" if varchar else i * 3 - 500 for i in range(n)]
    units = list(partitions) or [None]
    for j, unit in enumerate(units):
        rows = [{"pk": k, "v": [float(i), 1.0], "g": i % 5} for i, k in enumerate(keys) if i % len(units) == j]
        if rows:
            c.insert(name, rows, partition_name=unit or "")
    return keys


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, list[Any]]]:
    url = str(tmp_path_factory.mktemp("src") / "src.db")
    c = MilvusClient(url)
    keys = {
        "plain": _collection(c, "plain", 1000),
        "parts": _collection(c, "parts", 900, partitions=("a", "b", "c")),
        "keyed": _collection(c, "keyed", 500, partition_key=True),
        "strs": _collection(c, "strs", 700, varchar=True),
        "empty": _collection(c, "empty", 0),
        "tiny": _collection(c, "tiny", 3),
    }
    c.close()
    return url, keys


def _source(url: str, **options: Any) -> MilvusSource:
    return MilvusSource(MilvusSourceOptions(url=url, load_collection=True, batch_size=128, **options))


@pytest.mark.parametrize("parallelism", [1, 2, 4])
def test_splits_follow_vts_partition_rules(lite: tuple[str, dict], parallelism: int) -> None:
    url, keys = lite
    src = _source(url)
    tables = src.discover()
    splits = src.splits(tables, parallelism)
    by_table: dict[str, list] = {}
    for s in splits:
        by_table.setdefault(s.table, []).append(s)
    assert {s.partition for s in by_table["plain"]} == {None} and len(by_table["plain"]) == parallelism
    assert {s.partition for s in by_table["keyed"]} == {None} and len(by_table["keyed"]) == parallelism
    parts = by_table["parts"]
    assert sorted({s.partition for s in parts}) == ["_default", "a", "b", "c"]
    assert len([s for s in parts if s.partition == "a"]) == parallelism
    assert [s.partition for s in parts if s.partition == "_default"] == ["_default"]  # empty partition: one empty split
    assert len(by_table["empty"]) == 1 and by_table["empty"][0].estimated_rows == 0
    assert len(by_table["tiny"]) == min(3, parallelism)
    assert sum(s.estimated_rows for s in by_table["plain"]) == 1000
    for name in ("plain", "parts", "keyed", "strs", "empty", "tiny"):
        table = next(t for t in tables if t.name == name)
        got = [k for s in by_table[name] for k in keys_of((b for b, _ in read_split(src, s, table)), "pk")]
        assert sorted(got) == sorted(keys[name]) and len(got) == len(set(got)), name


def test_milvus_source_passes_the_conformance_suite(lite: tuple[str, dict]) -> None:
    url, keys = lite
    for name in ("parts", "strs"):
        check_source(_source(url, collections=[name]), key="pk", expected_keys=set(keys[name]))


def test_a_reader_interrupted_mid_split_resumes_without_rereading_or_skipping(lite: tuple[str, dict]) -> None:
    url, keys = lite
    src = _source(url, collections=["strs"])
    table = src.discover()[0]
    split = src.splits([table], 1)[0]
    reader = src.read(split, table)
    first = [next(reader) for _ in range(2)]
    reader.close()  # the process died here
    position = first[-1][1]
    rest = keys_of((b for b, _ in read_split(src, split, table, position)), "pk")
    done = keys_of((b for b, _ in first), "pk")
    assert done + rest == sorted(keys["strs"])


def test_a_filter_and_a_partition_choice_narrow_what_is_read(lite: tuple[str, dict]) -> None:
    url, keys = lite
    src = _source(url, collections=["parts"], partitions=["b"], filter="g == 1")
    table = src.discover()[0]
    got = [k for s in src.splits([table], 2) for k in keys_of((b for b, _ in read_split(src, s, table)), "pk")]
    want = [k for i, k in enumerate(keys["parts"]) if i % 3 == 1 and i % 5 == 1]
    assert sorted(got) == sorted(want)


def test_an_unloaded_source_fails_with_milvus_06_unless_asked_to_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "u.db")
    c = MilvusClient(url)
    _collection(c, "cold", 50)
    c.release_collection("cold")
    c.close()
    job = {"source": {"Milvus": {"url": url}}, "sink": {"Milvus": {"url": str(tmp_path / "t.db")}}}
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "j.yaml", job)), capsys=capsys)
    assert code == 1 and "MILVUS-06" in err and "load_collection: true" in err
    job["source"]["Milvus"]["load_collection"] = True
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "j.yaml", job)), capsys=capsys)
    assert code == 0, err


def test_missing_collections_are_named(
    lite: tuple[str, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = lite
    job = {
        "source": {"Milvus": {"url": url, "collections": ["plain", "nope"]}},
        "sink": {"Milvus": {"url": str(tmp_path / "t.db")}},
    }
    code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "j.yaml", job)), capsys=capsys)
    assert code == 1 and "MILVUS-02" in err and "nope" in err and "existing collections" in err


def test_a_missing_lite_source_file_is_an_error_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    job = {"source": {"Milvus": {"url": str(missing)}}, "sink": {"Milvus": {"url": str(tmp_path / "t.db")}}}
    code, _, err = run_vts("check", str(write_job(tmp_path / "j.yaml", job)), capsys=capsys)
    assert code != 0 and "MILVUS-" in err and "no Milvus Lite file" in err and "Traceback" not in err
    assert not missing.exists()


class _Throttled:
    """Every other query is throttled while ``left`` lasts; with ``stuck``, every query after the first."""

    def __init__(self, client: Any, left: int, stuck: bool = False) -> None:
        self._client, self.left, self.stuck, self.calls = client, left, stuck, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        throttled = self.calls > 1 if self.stuck else self.calls % 2 == 0 and self.left > 0
        if throttled:
            self.left -= 1
            raise RuntimeError("rate limit exceeded[rate=10]")
        return self._client.query(*args, **kwargs)


@pytest.mark.parametrize(("failures", "retries", "ok"), [(4, 1, True), (3, 2, False)])
def test_rate_limited_reads_retry_then_fail_with_milvus_18(
    lite: tuple[str, dict], monkeypatch: pytest.MonkeyPatch, failures: int, retries: int, ok: bool
) -> None:
    url, keys = lite
    src = _source(url, collections=["plain"], rate_limit_retries=retries, rate_limit_wait=0.5)
    table = src.discover()[0]
    split = src.splits([table], 1)[0]
    waits: list[float] = []
    monkeypatch.setattr(reader_module, "sleep", waits.append)
    client = MilvusClient(url)
    throttled = _Throttled(client, failures, stuck=not ok)
    if ok:  # isolated failures: the counter resets after each good page, so 1 retry is enough
        rows = keys_of((b for b, _ in reader_module.read_split(throttled, src.options, split, table, None)), "pk")
        assert rows == sorted(keys["plain"]) and waits == [0.5] * failures
    else:
        with pytest.raises(Exception, match="MILVUS-18") as info:
            list(reader_module.read_split(throttled, src.options, split, table, None))
        assert "still rate limited after 2 retries" in str(info.value)
        assert waits == [0.5, 0.5]
