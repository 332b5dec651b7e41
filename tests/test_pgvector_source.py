"""The pgvector source against a real PostgreSQL: conformance, types at the reader, splits."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pyarrow as pa
import pytest

from tests.pgvector_fixtures import execute, fetch, unique
from tests.source_conformance import check_source, read_split
from vts.connectors.pgvector.options import PgvectorOptions
from vts.connectors.pgvector.source import PgvectorSource
from vts.schema import LType


def _source(url: str, **options: object) -> PgvectorSource:
    return PgvectorSource(PgvectorOptions.model_validate({"url": url, **options}))


def _read(src: PgvectorSource, parallelism: int = 1) -> pa.Table:
    tables = src.discover()
    batches = [b for s in src.splits(tables, parallelism) for b, _ in read_split(src, s, tables[0])]
    return pa.Table.from_batches(batches, schema=tables[0].arrow_schema())


@pytest.fixture(scope="module")
def vectors(pg_url: str) -> str:
    t = unique("vecs")
    execute(
        pg_url,
        f"""CREATE TABLE {t} (id int PRIMARY KEY, v vector(3), h halfvec(3), s sparsevec(8), b bit(16),
            vb varbit(8), u vector)""",
        f"""INSERT INTO {t} VALUES
            (1, '[1.5,-2,3.25]', '[0.5,-1,65504]', '{{1:0.5,8:-3}}/8', B'1000000000000001', B'10100000', '[1,2]'),
            (2, NULL, NULL, NULL, NULL, NULL, NULL),
            (3, '[0,0,1e-30]', '[0.000061035156,2,3]', '{{}}/8', B'0000000011111111', B'00000001', '[3,4]')""",
    )
    return t


def test_vector_types_read_exactly(pg_url: str, vectors: str) -> None:
    src = _source(pg_url, table=vectors)
    fields = {f.name: f for f in src.discover()[0].fields}
    assert (fields["v"].type, fields["v"].dimension) == (LType.FLOAT_VECTOR, 3)
    assert (fields["h"].type, fields["h"].dimension) == (LType.FLOAT16_VECTOR, 3)
    assert fields["s"].type == LType.SPARSE_FLOAT_VECTOR
    assert (fields["b"].type, fields["b"].dimension, fields["vb"].dimension) == (LType.BINARY_VECTOR, 16, 8)
    assert (fields["u"].type, fields["u"].dimension) == (LType.FLOAT_VECTOR, 2)  # measured: declared without one
    assert all(fields[n].nullable for n in "vhsb")  # they hold a NULL
    rows = _read(src).to_pylist()
    assert rows[0]["v"] == [1.5, -2.0, 3.25]
    assert np.frombuffer(rows[0]["h"], "<f2").tolist() == [0.5, -1.0, 65504.0]  # little-endian float16 for Milvus
    assert rows[0]["s"] == {"indices": [0, 7], "values": [0.5, -3.0]}  # 0-based, as pgvector stores them
    assert rows[0]["b"] == bytes([0b10000000, 0b00000001]) and rows[0]["vb"] == bytes([0b10100000])
    assert rows[1] == {"id": 2, "v": None, "h": None, "s": None, "b": None, "vb": None, "u": None}
    assert rows[2]["v"] == [0.0, 0.0, np.float32(1e-30)]
    assert rows[2]["s"] == {"indices": [], "values": []}
    assert np.frombuffer(rows[2]["h"], "<f2").tolist() == [np.float16(0.000061035156), 2.0, 3.0]

    as_float = _source(pg_url, table=vectors, halfvec_as_float_vector=True)
    assert {f.name: f.type for f in as_float.discover()[0].fields}["h"] == LType.FLOAT_VECTOR
    assert _read(as_float).column("h").to_pylist()[0] == [0.5, -1.0, 65504.0]


def test_vector_columns_without_nulls_are_not_nullable(pg_url: str) -> None:
    t = unique("filled")
    execute(pg_url, f"CREATE TABLE {t} (id int PRIMARY KEY, v vector(2))", f"INSERT INTO {t} VALUES (1, '[1,2]')")
    (field,) = [f for f in _source(pg_url, table=t).discover()[0].fields if f.name == "v"]
    assert not field.nullable  # Milvus before 2.6 refuses nullable vector fields


@pytest.mark.parametrize("key_type", ["bigint", "text", "uuid"])
def test_conformance_with_a_primary_key(pg_url: str, key_type: str) -> None:
    t = unique("conf")
    key = {"bigint": "i", "text": "'k' || lpad(i::text, 5, '0')", "uuid": "md5(i::text)::uuid"}[key_type]
    execute(
        pg_url,
        f"CREATE TABLE {t} (id {key_type} PRIMARY KEY, v vector(4) NOT NULL, j jsonb)",
        f"INSERT INTO {t} SELECT {key}, ARRAY[i, 1, 2, 3]::vector, jsonb_build_object('i', i) "
        "FROM generate_series(1, 3000) i",
        f"ANALYZE {t}",
    )
    expected = {r[0] for r in fetch(pg_url, f"SELECT id::text FROM {t}")}
    if key_type == "bigint":
        expected = {int(k) for k in expected}
    src = _source(pg_url, table=t, batch_size=400)
    splits = src.splits(src.discover(), 4)
    assert len(splits) == 4 and all(s.spec["mode"] == "key" for s in splits)
    check_source(src, key="id", expected_keys=expected)


def test_conformance_composite_key_and_large_sampled_table(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from vts.connectors.pgvector import splits as splits_mod

    monkeypatch.setattr(splits_mod, "FULL_KEY_SCAN_ROWS", 1000)  # force TABLESAMPLE quantiles
    monkeypatch.setattr(splits_mod, "SAMPLE_ROWS", 500)
    t = unique("comp")
    execute(
        pg_url,
        f"CREATE TABLE {t} (a int, b text, v vector(2) NOT NULL, PRIMARY KEY (a, b))",
        f"INSERT INTO {t} SELECT i % 50, 'b' || i, ARRAY[i, 0]::vector FROM generate_series(1, 20000) i",
        f"ANALYZE {t}",
    )
    src = _source(pg_url, table=t, batch_size=1500, columns=["v"])
    table = src.discover()[0]
    assert [f.name for f in table.fields] == ["a", "b", "v"]  # key columns always travel
    first = [s.id for s in src.splits([table], 4)]
    assert len(first) == 4 and first == [s.id for s in src.splits([table], 4)]  # REPEATABLE sample: stable splits
    rows = _read(src, 4)
    assert sorted(zip(rows.column("a").to_pylist(), rows.column("b").to_pylist())) == sorted(
        (i % 50, f"b{i}") for i in range(1, 20001)
    )
    check_source(src, key="b", expected_keys={f"b{i}" for i in range(1, 20001)})


def test_conformance_without_a_primary_key_uses_block_ranges(pg_url: str) -> None:
    t = unique("heap")
    execute(
        pg_url,
        f"CREATE TABLE {t} (n int, v vector(8) NOT NULL)",
        f"INSERT INTO {t} SELECT i, array_fill(i::real, ARRAY[8])::vector FROM generate_series(1, 6000) i",
        f"DELETE FROM {t} WHERE n % 7 = 0",
        f"ANALYZE {t}",
    )
    src = _source(pg_url, table=t, batch_size=500)
    splits = src.splits(src.discover(), 3)
    assert [s.spec["mode"] for s in splits] == ["ctid"] * 3 and splits[-1].spec["hi"] is None
    check_source(src, key="n", expected_keys={i for i in range(1, 6001) if i % 7})


def test_conformance_of_queries(pg_url: str) -> None:
    t = unique("qsrc")
    execute(
        pg_url,
        f"CREATE TABLE {t} (id int PRIMARY KEY, v vector(2) NOT NULL, tag text)",
        f"INSERT INTO {t} SELECT i, ARRAY[i, i]::vector, 't' || i % 3 FROM generate_series(1, 2500) i",
    )
    query = f"SELECT id AS doc, v, upper(tag) AS tag FROM {t} WHERE id % 5 <> 0 ORDER BY id"
    expected = {i for i in range(1, 2501) if i % 5}
    keyed = _source(pg_url, query=query, primary_key="doc", batch_size=300)
    assert len(keyed.splits(keyed.discover(), 3)) == 3
    check_source(keyed, key="doc", expected_keys=expected)
    streamed = _source(pg_url, query=query, batch_size=300)
    assert [s.spec["mode"] for s in streamed.splits(streamed.discover(), 3)] == ["stream"]
    check_source(streamed, key="doc", expected_keys=expected)


def test_where_columns_and_reader_picklable(pg_url: str, vectors: str) -> None:
    src = _source(pg_url, table=vectors, columns=["s", "v"], where="id <> 2")
    table = src.discover()[0]
    assert table.names == ["id", "s", "v"]
    (split,) = src.splits([table], 1)
    clone = pickle.loads(pickle.dumps(src))
    rows = [r for b, _ in read_split(clone, pickle.loads(pickle.dumps(split)), table) for r in b.to_pylist()]
    assert [r["id"] for r in rows] == [1, 3]
    assert json.dumps(split.spec)  # split specs are plain JSON


def test_closing_a_reader_midway_releases_the_connection(pg_url: str) -> None:
    t = unique("close")
    execute(
        pg_url,
        f"CREATE TABLE {t} (id int PRIMARY KEY, v vector(2) NOT NULL)",
        f"INSERT INTO {t} SELECT i, ARRAY[i, i]::vector FROM generate_series(1, 50000) i",
    )
    src = _source(pg_url, table=t, batch_size=100)
    table = src.discover()[0]
    (split,) = src.splits([table], 1)
    reader = src.read(split, table)
    batch, position = next(reader)
    assert batch.num_rows == 100 and position == [100]
    reader.close()
    active = fetch(pg_url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'vts'")
    assert active == [(0,)]
