"""The insert writer's requests: float vectors packed from their bytes, everything else as pymilvus encodes it.

Each request vts builds must be the request pymilvus builds from the same rows (field by field), and the
rows must come back from a real Milvus Lite server as written.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.client.prepare import Prepare

from tests.conftest import client_for, read_all
from vts.connectors.milvus.payload import Payload

DIM = 8


def _collection(c: MilvusClient, name: str, *, dynamic: bool, nullable_vector: bool = False) -> None:
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=dynamic)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("other", DataType.FLOAT_VECTOR, dim=2, nullable=nullable_vector)
    s.add_field("title", DataType.VARCHAR, max_length=64, nullable=True)
    idx = c.prepare_index_params()
    idx.add_index("vector", index_type="AUTOINDEX", metric_type="L2")
    idx.add_index("other", index_type="AUTOINDEX", metric_type="L2")
    c.create_collection(name, schema=s, index_params=idx)


def _rows(n: int, dynamic: bool) -> list[dict[str, Any]]:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    vectors[0, 0] = np.float32(1e-45)  # a subnormal and a negative zero survive bit for bit
    vectors[0, 1] = np.float32(-0.0)
    rows = [
        {"id": i, "vector": vectors[i], "other": rng.random(2, dtype=np.float32), "title": None if i % 3 else f"t{i}"}
        for i in range(n)
    ]
    if dynamic:
        for row in rows[::2]:
            row["colour"] = "red"
    return rows


def _by_field(request: Any) -> dict[str, bytes]:
    return {f.field_name: f.SerializeToString() for f in request.fields_data}


@pytest.mark.parametrize("upsert", [False, True], ids=["insert", "upsert"])
@pytest.mark.parametrize("dynamic", [False, True], ids=["fixed", "dynamic"])
def test_a_request_is_the_one_pymilvus_builds_from_the_same_rows(lite_server: str, upsert: bool, dynamic: bool) -> None:
    c = client_for(lite_server)
    name = f"payload_{int(upsert)}{int(dynamic)}"
    _collection(c, name, dynamic=dynamic)
    rows = _rows(50, dynamic)
    payload = Payload(c, name, upsert)
    assert set(payload.packed) == {"vector", "other"}

    ours = payload.request(rows, "")
    schema = c.describe_collection(name)
    build = Prepare.row_upsert_param if upsert else Prepare.row_insert_param
    theirs = build(name, rows, "", schema["fields"], enable_dynamic=dynamic)

    assert ours.num_rows == theirs.num_rows == 50
    assert _by_field(ours) == _by_field(theirs)


def test_vectors_as_lists_doubles_or_strided_views_are_packed_as_pymilvus_packs_them(lite_server: str) -> None:
    c = client_for(lite_server)
    _collection(c, "payload_shapes", dynamic=False)
    rows = _rows(6, dynamic=False)
    wide = np.random.default_rng(5).standard_normal((6, 2 * DIM), dtype=np.float32)
    for i, row in enumerate(rows):
        row["vector"] = [row["vector"].tolist(), row["vector"].astype(np.float64), wide[i, ::2]][i % 3]
    ours = Payload(c, "payload_shapes", upsert=False).request(rows, "")
    theirs = Prepare.row_insert_param("payload_shapes", rows, "", c.describe_collection("payload_shapes")["fields"])
    assert _by_field(ours) == _by_field(theirs)


def test_a_nullable_float_vector_is_left_to_pymilvus(lite_server: str) -> None:
    c = client_for(lite_server)
    _collection(c, "payload_nullable", dynamic=False, nullable_vector=True)
    assert set(Payload(c, "payload_nullable", False).packed) == {"vector"}


def test_rows_sent_come_back_bit_for_bit(lite_server: str) -> None:
    c = client_for(lite_server)
    _collection(c, "payload_roundtrip", dynamic=True)
    rows = _rows(20, dynamic=True)
    Payload(c, "payload_roundtrip", upsert=False).send(rows, "")

    back = {r["id"]: r for r in read_all(c, "payload_roundtrip", ["id", "vector", "title", "colour"])}
    assert sorted(back) == list(range(20))
    for row in rows:
        got = back[row["id"]]
        assert np.asarray(got["vector"], dtype=np.float32).tobytes() == row["vector"].tobytes()
        assert got["title"] == row["title"]
        assert got.get("colour") == row.get("colour")
