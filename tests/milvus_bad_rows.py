"""Canned rows Milvus refuses, each with the reason vts gives, between good rows that must pass untouched.

Shared by the Milvus sink's tests (both write paths must agree on every case)
and meant for reuse by a sink conformance suite: :func:`bad_rows` returns
``(target, batch, expected_reasons)``, the reasons keyed by the row's ``id``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import orjson
import pyarrow as pa

from vts.connectors.milvus.target import TargetCollection, TargetField
from vts.schema import SPARSE_ARROW

DIM = 4

TARGET = TargetCollection(
    "canned",
    "canned",
    (
        TargetField("id", "INT64", "id", is_primary=True),
        TargetField("vector", "FLOAT_VECTOR", "vector", dim=DIM),  # fixed-size lists, vts's own layout
        TargetField("embedding", "FLOAT_VECTOR", "embedding", dim=DIM),  # variable-length lists: dimension per row
        TargetField("title", "VARCHAR", "title", max_length=8),
        TargetField("count", "INT32", "count"),  # fed int64, as a field_schema mapping may do
        TargetField("sparse", "SPARSE_FLOAT_VECTOR", "sparse"),
        TargetField("doc", "JSON", "doc", nullable=True),
        TargetField("tags", "ARRAY", "tags", element_type="VARCHAR", max_length=5, max_capacity=3, nullable=True),
        TargetField("score", "DOUBLE", "score", nullable=True),
    ),
    enable_dynamic_field=True,
)

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("vector", pa.list_(pa.float32(), DIM)),
        ("embedding", pa.list_(pa.float32())),
        ("title", pa.string()),
        ("count", pa.int64()),
        ("sparse", SPARSE_ARROW),
        ("doc", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("score", pa.float64()),
        ("$meta", pa.string()),
    ]
)


def _json_error(text: str) -> str:
    """orjson's own message for ``text``, which the reason quotes."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return str(exc)
    raise ValueError(f"{text!r} is valid JSON")


def _sparse(indices: list[int], values: list[float]) -> dict[str, list]:
    return {"indices": indices, "values": values}


BAD_JSON = '{"n": }'

# case -> (what the bad row changes in a good row, the reason both write paths give)
CASES: dict[str, tuple[dict[str, Any], str]] = {
    "nan_vector": ({"vector": [0.0, math.nan, 1.0, 2.0]}, "field 'vector': vector holds NaN or infinity"),
    "infinite_vector": ({"vector": [0.0, 1.0, -math.inf, 2.0]}, "field 'vector': vector holds NaN or infinity"),
    "null_vector_element": ({"embedding": [0.0, None, 1.0, 2.0]}, "field 'embedding': vector holds a null element"),
    "wrong_dimension": ({"embedding": [1.0] * 7}, "field 'embedding': dimension 7, target expects 4"),
    "null_vector": ({"vector": None}, "field 'vector' is not nullable but the value is null"),
    "long_varchar": ({"title": "données!"}, "field 'title': 9 bytes exceed max_length 8"),  # 8 characters, 9 bytes
    "null_required": ({"count": None}, "field 'count' is not nullable but the value is null"),
    "int_out_of_range": ({"count": 2**31}, "field 'count': 2147483648 is out of range for INT32"),
    "negative_sparse_weight": (
        {"sparse": _sparse([1, 5], [0.5, -1.0])},
        "field 'sparse': sparse weights must be finite and not negative",
    ),
    "nan_sparse_weight": (
        {"sparse": _sparse([1], [math.nan])},
        "field 'sparse': sparse weights must be finite and not negative",
    ),
    "empty_sparse": ({"sparse": _sparse([], [])}, "field 'sparse': empty sparse vector"),
    "sparse_counts_differ": ({"sparse": _sparse([1, 2], [0.5])}, "field 'sparse': 2 indices but 1 values"),
    "repeated_sparse_index": (
        {"sparse": _sparse([9, 3, 9], [0.5, 1.0, 2.0])},
        "field 'sparse': sparse index 9 repeats",
    ),
    "sparse_index_out_of_range": (
        {"sparse": _sparse([2**32 - 1], [1.0])},
        "field 'sparse': sparse indices must be from 0 to 4294967294",
    ),
    "invalid_json": ({"doc": BAD_JSON}, f"field 'doc': invalid JSON ({_json_error(BAD_JSON)})"),
    "array_over_capacity": ({"tags": ["a", "b", "c", "d"]}, "field 'tags': 4 elements exceed max_capacity 3"),
    "long_array_element": ({"tags": ["a", "abcdef"]}, "field 'tags': an element exceeds max_length 5"),
    "null_array_element": ({"tags": ["a", None]}, "field 'tags': arrays cannot hold null elements"),
    "infinite_double": ({"score": math.inf}, "field 'score': inf is not a finite number"),
    "nan_double": ({"score": math.nan}, "field 'score': nan is not a finite number"),
    "invalid_meta": ({"$meta": "{"}, f"field '$meta': invalid JSON ({_json_error('{')})"),
    "meta_not_an_object": ({"$meta": "[1, 2]"}, "field '$meta': not a JSON object"),
    # several problems: the first field in target order gives the reason
    "first_field_wins": (
        {"title": "much too long", "vector": [math.nan] * DIM, "score": math.inf},
        "field 'vector': vector holds NaN or infinity",
    ),
}


def good_row(i: int) -> dict[str, Any]:
    """A row both write paths take as it is; every fourth one has nulls where the target allows them."""
    row: dict[str, Any] = {
        "id": i,
        "vector": [float(i), 0.5, -1.25, 2.0],
        "embedding": [0.25 * i, 1.0, 2.0, 3.0],
        "title": f"row {i}"[:8],
        "count": i * 1000,
        "sparse": _sparse([i, i + 7], [0.5, 1.5]),
        "doc": orjson.dumps({"n": i, "tag": "ü"}).decode(),
        "tags": ["a", "bc"][: i % 3],
        "score": i / 4,
        "$meta": orjson.dumps({"extra": i}).decode(),
    }
    if i % 4 == 3:
        row.update(doc=None, tags=None, score=None, **{"$meta": None})
    return row


def bad_rows(cases: Iterable[str] | None = None) -> tuple[TargetCollection, pa.RecordBatch, dict[int, str]]:
    """A good row before and after each canned bad row (all cases unless named); reasons keyed by ``id``."""
    rows, expected = [good_row(0)], {}
    for name in CASES if cases is None else cases:
        change, reason = CASES[name]
        expected[len(rows)] = reason
        rows.append({**good_row(len(rows)), **change})
        rows.append(good_row(len(rows)))
    return TARGET, pa.RecordBatch.from_pylist(rows, schema=SCHEMA), expected
