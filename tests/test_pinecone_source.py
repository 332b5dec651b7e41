"""The Pinecone source against the emulator, through the real SDK: what it reads, and how it fails."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_vts, write_job
from tests.pinecone_emulator import DEFAULT, Emulator, Record
from tests.pinecone_fixtures import KEY, fill, options, same_dense, same_sparse
from vts.connectors.pinecone.errors import PineconeError
from vts.connectors.pinecone.options import PineconeSourceOptions
from vts.connectors.pinecone.source import PineconeSource
from vts.schema import LType, TableSchema
from vts.testing.sources import check_source, read_split


def read_all(source: PineconeSource) -> tuple[TableSchema, dict[str, dict[str, Any]]]:
    """Every row the source yields, by namespace then id (failing on a repeat)."""
    (table,) = source.discover()
    out: dict[str, dict[str, Any]] = {}
    for split in source.splits([table], 2):
        rows = out.setdefault(split.spec["namespace"], {})
        for batch, _ in read_split(source, split, table):
            for row in batch.to_pylist():
                assert row["id"] not in rows, row["id"]
                rows[row["id"]] = row
    return table, out


def assert_equal(
    got: dict[str, dict[str, Any]], held: dict[str, dict[str, Record]], typed: tuple[str, ...] = ()
) -> None:
    assert {ns: set(rows) for ns, rows in got.items()} == {ns: set(space) for ns, space in held.items()}
    for ns, rows in got.items():
        for vid, row in rows.items():
            want = held[ns][vid]
            if "values" in row:
                assert same_dense(row["values"], want.values), vid
            if "sparse_values" in row:
                s = row["sparse_values"]
                assert same_sparse(dict(zip(s["indices"], s["values"])), want.sparse), vid
            meta = dict(want.metadata or {})
            for key in typed:
                value = meta.pop(key, None)
                assert row[key] == value, (vid, key, row[key], value)
            assert (json.loads(row["$meta"]) if row["$meta"] else {}) == meta, vid


def test_every_namespace_is_read_with_dense_sparse_and_metadata_values_equal(clean: Emulator) -> None:
    index, held = fill(clean, {DEFAULT: 120, "alpha": 80, "beta": 45})
    table, got = read_all(PineconeSource(options(clean, index, batch_size=30, fetch_size=70)))
    assert [f.name for f in table.fields] == ["id", "values", "sparse_values", "$meta"]
    assert table.partitions == ("_default", "alpha", "beta")
    assert {i.field: i.metric_type for i in table.indexes} == {"values": "IP", "sparse_values": "IP"}
    assert_equal(got, held)


def test_a_sparse_only_index_has_no_dense_column(clean: Emulator) -> None:
    index, held = fill(clean, {DEFAULT: 60, "s": 40}, dimension=None, sparse=True)
    table, got = read_all(PineconeSource(options(clean, index)))
    assert [f.name for f in table.fields] == ["id", "sparse_values", "$meta"]
    assert table.field("sparse_values").type == LType.SPARSE_FLOAT_VECTOR
    assert_equal(got, held)


def test_metadata_fields_are_typed_from_a_sample_across_every_namespace(clean: Emulator) -> None:
    index, held = fill(clean, {DEFAULT: 50, "alpha": 50}, metric="cosine", sparse=False)
    # a key only the second namespace holds: a sample of the first namespace alone would not find it
    late = [Record(f"late#{i}", [0.5] * 8, None, {"only_here": i * 2, "ratio": i + 0.5}) for i in range(10)]
    index.upsert("zeta", late)
    held["zeta"] = {
        r.id: Record(r.id, r.values, None, {"only_here": float(i * 2), "ratio": i + 0.5}) for i, r in enumerate(late)
    }
    typed = ("n", "score", "flag", "tags", "title", "only_here", "ratio")
    table, got = read_all(PineconeSource(options(clean, index, metadata_fields=list(typed))))
    types = {f.name: (f.type, f.element_type) for f in table.fields if f.name in typed}
    assert types == {
        "n": (LType.BIGINT, None), "score": (LType.DOUBLE, None), "flag": (LType.BOOLEAN, None),
        "tags": (LType.ARRAY, LType.STRING), "title": (LType.STRING, None), "only_here": (LType.BIGINT, None),
        "ratio": (LType.DOUBLE, None),
    }  # fmt: skip
    assert_equal(got, held, typed)


def test_a_value_that_does_not_fit_its_inferred_column_stops_with_pinecone_10(clean: Emulator) -> None:
    index, _ = fill(clean, {"alpha": 30}, metric="cosine", sparse=False)
    index.upsert("alpha", [Record("zzz-last", [0.1] * 8, None, {"n": 2.5})])  # after the sampled ids
    source = PineconeSource(options(clean, index, metadata_fields=["n"], sample_size=10))
    with pytest.raises(PineconeError) as info:
        read_all(source)
    assert info.value.code == "PINECONE-10" and "zzz-last" in info.value.message and "2.5" in info.value.message


def test_rate_limits_on_30_percent_of_calls_are_waited_out(clean: Emulator) -> None:
    index, held = fill(clean, {DEFAULT: 400, "alpha": 300})
    clean.reset_counts()
    clean.rate_limit = 0.3
    _, got = read_all(PineconeSource(options(clean, index, batch_size=50, max_retries=20)))
    assert clean.throttled > 10  # the faults did happen
    assert_equal(got, held)


def test_vectors_deleted_after_the_splits_were_cut_fail_the_namespace_unless_tolerated(clean: Emulator) -> None:
    index, _ = fill(clean, {"alpha": 60, "beta": 20})
    for tolerance, fails in ((0, True), (5, False)):
        source = PineconeSource(options(clean, index, count_tolerance=tolerance))
        (table,) = source.discover()
        splits = source.splits([table], 1)
        with index.lock:  # three vectors go between splits and read: the stats counted them
            for vid in sorted(index.namespaces["alpha"])[:3]:
                del index.namespaces["alpha"][vid]
        alpha = next(s for s in splits if s.spec["namespace"] == "alpha")
        if fails:
            with pytest.raises(PineconeError) as info:
                read_split(source, alpha, table)
            err = info.value
            assert err.code == "PINECONE-05" and "'alpha'" in err.message and "57 vectors read" in err.message
            assert "60" in err.message and "count_tolerance" in (err.hint or "")
        else:
            assert sum(b.num_rows for b, _ in read_split(source, alpha, table)) == 54


def test_an_expired_pagination_token_restarts_the_namespace_with_a_warning(
    clean: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    index, held = fill(clean, {"alpha": 250})
    source = PineconeSource(options(clean, index, batch_size=25, fetch_size=25))
    (table,) = source.discover()
    (split,) = source.splits([table], 1)
    first = read_split(source, split, table)[:3]
    clean.expire_tokens()
    with caplog.at_level(logging.WARNING, logger="vts.pinecone"):
        rest = read_split(source, split, table, first[-1][1])
    assert "no longer accepts the pagination token" in caplog.text
    assert {i for b, _ in rest for i in b.column("id").to_pylist()} == set(held["alpha"])  # read again from the start


def test_a_pod_index_is_read_from_an_ids_file_and_refused_without_one(clean: Emulator, tmp_path: Path) -> None:
    index, held = fill(clean, {DEFAULT: 90, "p": 70}, kind="pod")
    with pytest.raises(PineconeError) as info:
        PineconeSource(options(clean, index)).discover()
    assert info.value.code == "PINECONE-07" and "ids_file" in (info.value.hint or "")
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(i for space in held.values() for i in space) + "\n")
    source = PineconeSource(options(clean, index, ids_file=str(ids), fetch_size=40))
    _, got = read_all(source)
    assert_equal(got, held)
    # a file that misses ids is caught by the count check, naming the namespace
    ids.write_text("\n".join(list(held["p"])[:-4]) + "\n" + "\n".join(held[DEFAULT]))
    (table,) = source.discover()
    p = next(s for s in source.splits([table], 1) if s.spec["namespace"] == "p")
    with pytest.raises(PineconeError) as info:
        read_split(source, p, table)
    assert (
        info.value.code == "PINECONE-05"
        and "66 vectors read" in info.value.message
        and "ids_file" in info.value.message
    )


def test_namespaces_that_cannot_be_partitions_go_to_a_partition_key_with_a_warning(
    clean: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    index, _ = fill(clean, {"en-US": 10, "de-DE": 10})
    with caplog.at_level(logging.WARNING, logger="vts.pinecone"):
        (table,) = PineconeSource(options(clean, index)).discover()
    assert "not valid Milvus partition names" in caplog.text
    assert table.field("namespace").partition_key and table.partitions == ()
    (merged,) = PineconeSource(options(clean, index, merge_namespace=True)).discover()
    assert not merged.field("namespace").partition_key
    with pytest.raises(PineconeError) as info:
        PineconeSource(options(clean, index, namespace_mode="partition")).discover()
    assert info.value.code == "PINECONE-09"


def test_namespace_column_holds_each_rows_namespace(clean: Emulator) -> None:
    index, _ = fill(clean, {DEFAULT: 20, "alpha": 15})
    _, got = read_all(PineconeSource(options(clean, index, namespace_mode="column")))
    assert {ns: {r["namespace"] for r in rows.values()} for ns, rows in got.items()} == {
        DEFAULT: {DEFAULT}, "alpha": {"alpha"}
    }  # fmt: skip


def test_only_the_namespaces_asked_for_are_read_and_an_unknown_one_is_pinecone_12(clean: Emulator) -> None:
    index, _ = fill(clean, {DEFAULT: 20, "alpha": 15, "beta": 5})
    _, got = read_all(PineconeSource(options(clean, index, namespaces=["alpha", ""])))
    assert set(got) == {"alpha", DEFAULT}
    with pytest.raises(PineconeError) as info:
        PineconeSource(options(clean, index, namespaces=["alpah"])).discover()
    assert info.value.code == "PINECONE-12" and "alpha" in (info.value.hint or "")


def test_a_host_alone_reads_without_the_control_plane(clean: Emulator) -> None:
    index, held = fill(clean, {"alpha": 30})
    source = PineconeSource(PineconeSourceOptions(api_key=KEY, host=index.url))
    table, got = read_all(source)
    assert table.name == "pinecone"
    assert_equal(got, held)


@pytest.mark.parametrize(
    ("case", "code", "exit_code"),
    [("wrong key", "PINECONE-01", 3), ("unknown index", "PINECONE-02", 2), ("document index", "PINECONE-03", 4)],
)
def test_user_mistakes_end_in_a_coded_error_before_any_data_moves(
    clean: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, code: str, exit_code: int
) -> None:
    index, _ = fill(clean, {"alpha": 10})
    src: dict[str, Any] = {"api_key": KEY, "index": index.name, "controller_host": clean.url}
    if case == "wrong key":
        src["api_key"] = "not-the-key"
    elif case == "unknown index":
        src["index"] = "no-such-index"
    else:
        doc = clean.add_index(index.name + "-doc", document=True)
        src["index"] = doc.name
    target = tmp_path / "t.db"
    job = {"source": {"Pinecone": src}, "sink": {"Milvus": {"url": str(target)}}}
    rc, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert rc == exit_code, err
    assert f"[{code}]" in err and "fix:" in err and "Traceback" not in err
    assert "not-the-key" not in err
    if target.exists():
        from pymilvus import MilvusClient

        assert MilvusClient(str(target)).list_collections() == []


def test_an_ids_file_source_resumes_from_every_position(clean: Emulator, tmp_path: Path) -> None:
    index, held = fill(clean, {DEFAULT: 30, "p": 20}, kind="pod")
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(i for space in held.values() for i in space) + "\n")
    source = PineconeSource(options(clean, index, ids_file=str(ids), fetch_size=12))
    check_source(source, expected_keys={i for space in held.values() for i in space})


def test_rate_limits_that_outlast_every_retry_are_a_transient_pinecone_04(clean: Emulator) -> None:
    index, _ = fill(clean, {"alpha": 5})
    clean.rate_limit = 1.0
    with pytest.raises(PineconeError) as info:
        PineconeSource(options(clean, index, max_retries=1)).splits([], 1)
    assert info.value.code == "PINECONE-04" and info.value.transient
