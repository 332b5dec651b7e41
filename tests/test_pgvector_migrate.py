"""PostgreSQL + pgvector -> Milvus Lite through ``vts run``: every value comes back equal."""

from __future__ import annotations

import contextlib
import io
import json
import math
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import client_for, count, read_all, write_job
from tests.pgvector_fixtures import execute, fetch, unique
from vts import cli

ROWS = 100_000
DIM = 16

# Every supported type Milvus Lite can hold (bit and halfvec-as-Float16Vector are refused by
# Lite: tests/test_pgvector_source.py checks them at the reader). NULLs in ~1/10 of the
# nullable columns, unicode in text and varchar, a ~40 kB jsonb every 997 rows, empty arrays.
CREATE = """
CREATE TYPE {t}_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE {t} (
    id bigint PRIMARY KEY,
    emb vector({dim}) NOT NULL,
    half halfvec({dim}),
    sparse sparsevec(1000) NOT NULL,
    i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, num numeric(12, 4),
    flag boolean, title text, label varchar(12), code char(4),
    doc json, meta jsonb, uid uuid, day date, at_time time, ts timestamp, tstz timestamptz,
    tags text[], nums integer[], scores double precision[], flags boolean[], mood {t}_mood
);
INSERT INTO {t}
SELECT i,
       (SELECT array_agg(sin(i * 0.37 + k)::real) FROM generate_series(1, {dim}) k)::vector({dim}),
       (SELECT array_agg(cos(i * 0.11 + k)::real) FROM generate_series(1, {dim}) k)::halfvec({dim}),
       ('{{' || (i % 997) + 1 || ':' || (i % 13 + 0.5) || ',' || (i % 997) + 2 || ':1.25}}/1000')::sparsevec,
       nullif(i % 32000, 7), nullif(i * 7, 70), i::bigint * 1000003, nullif((i / 7.0)::real, 1::real),
       i / 3.0, nullif(round(i / 9.0, 4), 1.0),
       CASE WHEN i % 10 = 3 THEN NULL ELSE i % 2 = 0 END,
       CASE WHEN i % 10 = 4 THEN NULL ELSE 'title ' || i || ' — ünïcödé 数据 🙂' END,
       CASE WHEN i % 10 = 5 THEN NULL ELSE left('数据🙂é' || i, 12) END,
       CASE WHEN i % 10 = 6 THEN NULL ELSE chr(65 + i % 26) || 'x' END,
       CASE WHEN i % 10 = 7 THEN NULL ELSE ('{{"i": ' || i || ', "s": "ü数"}}')::json END,
       CASE WHEN i % 997 = 0 THEN jsonb_build_object('big', repeat('ü', 20000), 'i', i)
            WHEN i % 10 = 8 THEN NULL
            ELSE jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i % 5), 'nested', jsonb_build_object('x', i / 2.0)) END,
       CASE WHEN i % 10 = 9 THEN NULL ELSE md5(i::text)::uuid END,
       date '2000-01-01' + i % 20000,
       time '00:00' + (i % 86400) * interval '1 second' + (i % 1000) * interval '1 microsecond',
       timestamp '2001-02-03 04:05:06.789' + i * interval '17 minutes 3.000001 seconds',
       CASE WHEN i % 10 = 1 THEN NULL ELSE timestamptz '2020-01-01 00:00+05:30' + i * interval '1 minute' END,
       CASE WHEN i % 10 = 2 THEN NULL WHEN i % 11 = 0 THEN '{{}}'::text[] ELSE ARRAY['t' || i % 3, 'ü' || i % 5] END,
       ARRAY[i, -i, i % 7],
       ARRAY[i / 4.0, 0.5]::double precision[],
       ARRAY[i % 2 = 0],
       (ARRAY['sad', 'ok', 'happy'])[i % 3 + 1]::{t}_mood
FROM generate_series(1, {rows}) i;
ANALYZE {t};
"""

EXPECT = """
SELECT id, emb::text, half::text, sparse::text, i2, i4, i8, f4, f8, num::float8, flag, title, label, code,
       doc::text, meta::text, uid::text, day, at_time, ts, tstz, tags, nums, scores, flags, mood::text
FROM {t} ORDER BY id
"""
NAMES = [
    "id", "emb", "half", "sparse", "i2", "i4", "i8", "f4", "f8", "num", "flag", "title", "label", "code",
    "doc", "meta", "uid", "day", "at_time", "ts", "tstz", "tags", "nums", "scores", "flags", "mood",
]  # fmt: skip


def _sparse(text: str) -> dict[int, np.float32]:
    body = text.split("/")[0].strip("{}")
    # pgvector's text form is 1-based; vts keeps the 0-based indices of its storage and binary form
    return {int(k) - 1: np.float32(v) for k, v in (p.split(":") for p in body.split(",") if p)}


def _same(name: str, got: Any, want: Any) -> bool:
    if want is None:
        return got is None
    if name == "emb":
        return np.array_equal(np.asarray(got, np.float32), np.asarray(json.loads(want), np.float32))
    if name == "half":
        expect = np.asarray(json.loads(want), np.float16).astype(np.float32)
        return np.array_equal(np.asarray(got, np.float32), expect)
    if name == "sparse":
        return {int(k): np.float32(v) for k, v in got.items()} == _sparse(want)
    if name == "f4":
        return np.float32(got) == np.float32(want)
    if name in ("f8", "num"):
        return math.isclose(got, want, rel_tol=0, abs_tol=0)
    if name in ("doc", "meta"):
        return got == json.loads(want)
    if name == "day":
        return got == want.isoformat()
    if name == "at_time":
        return time.fromisoformat(got) == want
    if name in ("ts", "tstz"):
        parsed = datetime.fromisoformat(str(got).replace("Z", "+00:00"))
        return parsed == (want if want.tzinfo else want.replace(tzinfo=UTC))
    if name in ("tags", "nums", "scores", "flags"):
        return list(got) == want
    return got == want


def _migrate(tmp_path: Path, source: dict[str, Any], collection: str, parallelism: int = 2) -> Path:
    db = tmp_path / "target.db"
    job = {
        "env": {"parallelism": parallelism},
        "source": {"Pgvector": source},
        "sink": {"Milvus": {"url": str(db), "collection_rename": {source.get("collection", collection): collection}}},
    }
    path = write_job(tmp_path / "job.yaml", job)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["run", "-q", str(path)])
    assert code == 0, err.getvalue()
    return db


def read_by_key(client: Any, collection: str, fields: list[str], rows: int, step: int = 10_000) -> list[dict[str, Any]]:
    """Every row by primary-key ranges: several times faster on Milvus Lite than query_iterator with many fields."""
    client.load_collection(collection)
    out: list[dict[str, Any]] = []
    for lo in range(0, rows + 1, step):
        out += client.query(
            collection, filter=f"id >= {lo} and id < {lo + step}", output_fields=fields, limit=step,
            consistency_level="Strong",
        )  # fmt: skip
    return sorted(out, key=lambda r: r["id"])


def _assert_equal(rows: list[dict[str, Any]], expected: list[tuple[Any, ...]], names: list[str]) -> None:
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        for name, value in zip(names, want, strict=True):
            assert _same(name, got[name], value), (name, got["id"], got[name], value)


def test_100k_rows_of_every_type_arrive_equal(pg_url: str, tmp_path: Path) -> None:
    t = unique("items")
    execute(pg_url, CREATE.format(t=t, dim=DIM, rows=ROWS))
    db = _migrate(tmp_path, {"url": pg_url, "table": t, "halfvec_as_float_vector": True, "batch_size": 8000}, t)

    client = client_for(str(db))
    described = {f["name"]: f for f in client.describe_collection(t)["fields"]}
    assert described["id"]["is_primary"] and not described["id"].get("auto_id")
    assert described["emb"]["params"]["dim"] == DIM and described["half"]["type"].name == "FLOAT_VECTOR"
    assert described["label"]["params"]["max_length"] == 48  # varchar(12): 12 characters of up to 4 bytes
    assert described["uid"]["params"]["max_length"] == 36
    assert described["title"]["nullable"] and not described["emb"].get("nullable")
    assert {n: described[n]["type"].name for n in ("num", "meta", "day", "tstz", "tags", "mood")} == {
        "num": "DOUBLE", "meta": "JSON", "day": "VARCHAR", "tstz": "TIMESTAMPTZ", "tags": "ARRAY", "mood": "VARCHAR",
    }  # fmt: skip

    rows = read_by_key(client, t, NAMES, ROWS)
    _assert_equal(rows, fetch(pg_url, EXPECT.format(t=t)), NAMES)
    client.close()


def test_table_without_primary_key_gets_an_auto_id(pg_url: str, tmp_path: Path) -> None:
    t = unique("nopk")
    execute(
        pg_url,
        f"CREATE TABLE {t} (n integer, v vector(3) NOT NULL, note text)",
        f"INSERT INTO {t} SELECT i, ARRAY[i, i / 2.0, -i]::vector, CASE WHEN i % 3 = 0 THEN NULL ELSE 'n° ' || i END "
        "FROM generate_series(1, 5000) i",
        f"DELETE FROM {t} WHERE n % 17 = 0",  # holes in the heap: block ranges must still cover every row once
    )
    db = _migrate(tmp_path, {"url": pg_url, "table": t, "batch_size": 300}, t, parallelism=3)
    client = client_for(str(db))
    described = {f["name"]: f for f in client.describe_collection(t)["fields"]}
    assert described["id"]["is_primary"] and described["id"]["auto_id"]
    rows = read_all(client, t, ["n", "v", "note"], key="n")
    assert [r["n"] for r in rows] == [i for i in range(1, 5001) if i % 17]
    for r in rows:
        i = r["n"]
        assert np.array_equal(np.asarray(r["v"], np.float32), np.asarray([i, i / 2.0, -i], np.float32))
        assert r["note"] == (None if i % 3 == 0 else f"n° {i}")
    client.close()


@pytest.mark.parametrize("primary_key", [None, "doc_id"])
def test_query_source(pg_url: str, tmp_path: Path, primary_key: str | None) -> None:
    a, b = unique("docs"), unique("chunks")
    execute(
        pg_url,
        f"CREATE TABLE {a} (id int PRIMARY KEY, lang text)",
        f"CREATE TABLE {b} (doc int REFERENCES {a}, e sparsevec(50) NOT NULL, body text)",
        f"INSERT INTO {a} SELECT i, CASE WHEN i % 2 = 0 THEN 'en' ELSE 'fr' END FROM generate_series(1, 3000) i",
        f"INSERT INTO {b} SELECT i, ('{{' || i % 50 + 1 || ':0.5}}/50')::sparsevec, 'body ü ' || i FROM generate_series(1, 3000) i",
    )
    query = (
        f"SELECT {b}.doc AS doc_id, e, body, lang FROM {b} JOIN {a} ON {a}.id = {b}.doc WHERE lang = 'en' ORDER BY doc"
    )
    source: dict[str, Any] = {"url": pg_url, "query": query, "collection": "q", "batch_size": 250}
    if primary_key:
        source["primary_key"] = primary_key
    db = _migrate(tmp_path, source, b, parallelism=2)
    client = client_for(str(db))
    rows = read_all(client, b, ["doc_id", "e", "body", "lang"], key="doc_id")
    assert [r["doc_id"] for r in rows] == list(range(2, 3001, 2))
    for r in rows:
        i = r["doc_id"]
        assert {int(k): v for k, v in r["e"].items()} == {i % 50: 0.5}
        assert (r["body"], r["lang"]) == (f"body ü {i}", "en")
    assert count(client, b) == 1500
    client.close()
