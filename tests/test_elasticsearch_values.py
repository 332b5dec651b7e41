"""Values as Elasticsearch and OpenSearch return them -> column values: vectors as arrays, hex and base64,
dates by their mapping format, sparse tokens -> deterministic, collision-free ids."""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime

import pytest

from vts.connectors.elasticsearch import values


def test_float_vectors_come_as_arrays_or_big_endian_base64() -> None:
    want = [0.5, -1.25, 3.0]
    assert values.dense(want, "float", 3) == want
    assert values.dense(base64.b64encode(struct.pack(">3f", *want)).decode(), "float", 3) == want


def test_byte_and_bit_vectors_come_as_arrays_hex_or_base64() -> None:
    assert values.dense("7f80ff00", "byte", 4) == [127, -128, -1, 0]
    assert values.dense([1, -2, 3, -4], "byte", 4) == [1, -2, 3, -4]
    assert values.bits([-1, 1], 16) == b"\xff\x01"
    assert values.bits("ff01", 16) == b"\xff\x01"
    assert values.bits(base64.b64encode(b"\xff\x01").decode(), 16) == b"\xff\x01"


def test_a_vector_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(values.BadValue, match="2-d vector, the mapping says 3"):
        values.dense([1.0, 2.0], "float", 3)
    with pytest.raises(values.BadValue, match="8-bit vector, the mapping says 16"):
        values.bits([1], 16)


def test_dates_follow_the_mapping_format() -> None:
    at = datetime(2024, 3, 1, 12, 30, 5, 250000, tzinfo=UTC)
    assert values.timestamp("2024-03-01T12:30:05.250Z", None) == at
    assert values.timestamp(int(at.timestamp() * 1000), None) == at
    assert values.timestamp("2024-03-01T14:30:05.250+02:00", None) == at
    assert values.timestamp(1709296205, "epoch_second") == datetime(2024, 3, 1, 12, 30, 5, tzinfo=UTC)
    assert values.timestamp("01/03/2024 12:30", "dd/MM/yyyy HH:mm") == datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    assert values.timestamp("2024-03-01", "yyyy-MM-dd||epoch_millis") == datetime(2024, 3, 1, tzinfo=UTC)
    with pytest.raises(values.BadValue, match="matches none of the mapping's formats"):
        values.timestamp("yesterday", "yyyy-MM-dd")


def test_sparse_token_ids_are_deterministic_and_collision_free() -> None:
    tokens = {f"t{i}" for i in range(20_000)}
    ids, moved = values.vocabulary(tokens)
    assert len(set(ids.values())) == len(tokens) and all(0 <= i < 2**32 - 1 for i in ids.values())
    assert ids == values.vocabulary(set(tokens))[0]
    for token in list(tokens)[:50]:
        assert ids[token] == moved.get(token, values.token_id(token))


def test_colliding_tokens_are_moved_to_a_salted_id_the_same_way_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    real = values.token_id
    monkeypatch.setattr(values, "token_id", lambda t, salt=0: 7 if salt == 0 else real(t, salt))
    ids, moved = values.vocabulary({"a", "b", "c"})
    assert ids["a"] == 7 and set(moved) == {"b", "c"} and len(set(ids.values())) == 3
    indices, weights = values.sparse({"b": 0.5, "a": 1.0}, moved)
    assert dict(zip(indices, weights)) == {7: 1.0, moved["b"]: 0.5}
