"""Arrow types of Lance columns -> vts fields and values, one column at a time."""

from __future__ import annotations

import datetime
import decimal

import pyarrow as pa
import pytest

from vts.connectors.lancedb import types
from vts.errors import VtsError
from vts.schema import LType


def _carry(column: pa.Array) -> tuple[LType, list[object]]:
    f = types.field_for(pa.field("c", column.type), "t")
    return f.type, types.cast_column(column, f, f.arrow_type(), "t").to_pylist()


def test_vectors_by_element_type() -> None:
    pairs = pa.array([1.5, 2.0, 3.0, 4.0], pa.float64())
    assert _carry(pa.FixedSizeListArray.from_arrays(pairs, 2)) == (LType.FLOAT_VECTOR, [[1.5, 2.0], [3.0, 4.0]])
    half = pa.array([1.5, 2.0], pa.float16())
    assert _carry(pa.FixedSizeListArray.from_arrays(half, 2)) == (LType.FLOAT_VECTOR, [[1.5, 2.0]])
    bits = pa.FixedSizeListArray.from_arrays(pa.array([1, 2, 3, 4], pa.uint8()), 2)
    assert _carry(bits) == (LType.BINARY_VECTOR, [b"\x01\x02", b"\x03\x04"])
    assert _carry(bits.slice(1)) == (LType.BINARY_VECTOR, [b"\x03\x04"])
    assert types.field_for(pa.field("b", bits.type), "t").dimension == 16


def test_scalars_keep_their_values() -> None:
    assert _carry(pa.array([0, 2**32 - 1], pa.uint32())) == (LType.BIGINT, [0, 2**32 - 1])
    assert _carry(pa.array([datetime.date(2024, 1, 2), None], pa.date32())) == (LType.DATE, ["2024-01-02", None])
    assert _carry(pa.array([decimal.Decimal("1.25"), None], pa.decimal128(5, 2))) == (LType.DECIMAL, [1.25, None])
    assert _carry(pa.array(["a", "b", "a"]).dictionary_encode()) == (LType.STRING, ["a", "b", "a"])
    assert _carry(pa.array([[1, 2], None], pa.list_(pa.int32()))) == (LType.ARRAY, [[1, 2], None])
    multivector = pa.array([[[1.0, 2.0]]], pa.list_(pa.list_(pa.float32(), 2)))
    assert _carry(multivector) == (LType.JSON, ["[[1.0,2.0]]"])
    ltype, values = _carry(pa.array([1_500], pa.timestamp("ns", tz="UTC")))
    assert ltype == LType.TIMESTAMP_TZ and values == [datetime.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=datetime.UTC)]


def test_a_uint64_above_int64_stops_the_read() -> None:
    with pytest.raises(VtsError) as info:
        _carry(pa.array([1, 2**63], pa.uint64()))
    assert info.value.code == "LANCEDB-09" and "column 'c'" in info.value.message


def test_binary_columns_are_refused() -> None:
    with pytest.raises(VtsError) as info:
        types.field_for(pa.field("raw", pa.binary()), "t")
    assert info.value.code == "LANCEDB-04" and info.value.exit_code == 4
