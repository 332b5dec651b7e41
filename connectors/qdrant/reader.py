"""Reading one split: scroll pages -> Arrow batches, with a resumable position.

The position after a batch is ``{"offset": id}``: the id the next scroll
starts from (Qdrant's ``next_page_offset``), or ``{"offset": None}`` once the
split is done. A reader started with a position scrolls from that id, so
it neither repeats nor skips points (ids are unique and the scroll is
ordered by id).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from vts.connectors.qdrant.client import Handle
from vts.connectors.qdrant.errors import Code, QdrantError
from vts.connectors.qdrant.options import QdrantSourceOptions
from vts.connectors.qdrant.splits import at_or_after
from vts.schema import Field, LType, TableSchema

DONE = {"offset": None}


def read_split(
    handle: Handle,
    options: QdrantSourceOptions,
    table: TableSchema,
    start: Any,
    stop: Any,
    position: Any = None,
) -> Iterator[tuple[pa.RecordBatch, Any]]:
    collection = table.name
    if position is not None:
        if not isinstance(position, dict) or "offset" not in position:
            raise QdrantError(Code.INVALID_PARAM, f"cannot resume split of '{collection}' from {position!r}")
        if position["offset"] is None:
            return
        offset = position["offset"]
    else:
        offset = start
    layout = Layout(table, options)
    while True:
        points, next_offset = handle.call(
            f"scrolling '{collection}'",
            handle.client.scroll,
            collection,
            limit=options.batch_size,
            offset=offset,
            with_payload=layout.with_payload,
            with_vectors=layout.with_vectors,
            collection=collection,
        )
        if stop is not None:
            kept = [p for p in points if not at_or_after(p.id, stop)]
            if len(kept) < len(points) or (next_offset is not None and at_or_after(next_offset, stop)):
                points, next_offset = kept, None
        position = {"offset": next_offset}
        if points:
            yield layout.batch(points), position
        if next_offset is None:
            return
        offset = next_offset


class Layout:
    """How a table's columns come out of Qdrant records."""

    def __init__(self, table: TableSchema, options: QdrantSourceOptions) -> None:
        self.table = table
        self.schema = table.arrow_schema()
        self.fields = list(table.fields)
        self.vector_names = [f.params["qdrant"]["vector"] for f in self.fields if "vector" in _q(f)]
        self.typed_payload = [f.name for f in self.fields if _q(f).get("payload", "*") != "*"]
        self.payload_rest = next((f.name for f in self.fields if _q(f).get("payload") == "*"), None)
        self.with_vectors: bool | list[str] = (
            False if not self.vector_names else (True if self.vector_names == [""] else self.vector_names)
        )
        if options.payload_include is not None:
            self.with_payload: bool | list[str] = list(options.payload_include) or False
        else:
            self.with_payload = bool(self.payload_rest or self.typed_payload)
        self.other_columns = {f.name for f in self.fields} - {self.payload_rest}

    def batch(self, points: list[Any]) -> pa.RecordBatch:
        payloads = [p.payload or {} for p in points]
        arrays = []
        for f in self.fields:
            q = _q(f)
            if "id" in q:
                arrays.append(self._ids(points, f, q["id"]))
            elif "vector" in q:
                values = [_vector(p.vector, q["vector"]) for p in points]
                arrays.append(_vectors(values, f, q["kind"], self.table.name))
            elif q.get("payload") == "*":
                arrays.append(self._rest(points, payloads))
            else:
                arrays.append(_typed(points, [pl.get(f.name) for pl in payloads], f, self.table.name))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _ids(self, points: list[Any], f: Field, kind: str) -> pa.Array:
        ids = [p.id for p in points]
        if kind == "int":
            try:
                return pa.array(ids, pa.int64())
            except (OverflowError, pa.ArrowInvalid, pa.ArrowTypeError):
                bad = next(i for i in ids if not isinstance(i, int) or i >= 2**63)
                raise QdrantError(
                    Code.NOT_SUPPORT_TYPE,
                    f"collection '{self.table.name}': point id {bad} does not fit a Milvus Int64 key",
                    hint="ids above 2^63-1 cannot be carried as integers; ask for string ids (open an issue)",
                ) from None
        return pa.array([str(i) for i in ids], pa.string())

    def _rest(self, points: list[Any], payloads: list[dict[str, Any]]) -> pa.Array:
        texts: list[str | None] = []
        typed = self.typed_payload
        for p, payload in zip(points, payloads):
            rest = {k: v for k, v in payload.items() if k not in typed} if typed else payload
            if self.payload_rest == "$meta":
                clash = self.other_columns.intersection(rest)
                if clash:
                    raise QdrantError(
                        Code.PAYLOAD_CONFLICT,
                        f"collection '{self.table.name}': point {p.id} has payload key(s) {sorted(clash)} named like "
                        "a column, which the target's dynamic field cannot hold beside it",
                        hint="set 'payload_column: payload' to keep the payload as one JSON column, "
                        "or leave the key out with 'payload_include'",
                    )
            texts.append(orjson.dumps(rest).decode() if rest or self.payload_rest != "$meta" else None)
        return pa.array(texts, pa.string())


def _q(f: Field) -> dict[str, Any]:
    return f.params.get("qdrant", {})


def _vector(vector: Any, name: str) -> Any:
    if name == "":
        return vector.get("", None) if isinstance(vector, dict) else vector
    return vector.get(name) if isinstance(vector, dict) else None


def _vectors(values: list[Any], f: Field, kind: str, collection: str) -> pa.Array:
    if kind == "dense":
        return _dense(values, f, collection)
    if kind == "sparse":
        return _sparse(values)
    return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())


def _dense(values: list[Any], f: Field, collection: str) -> pa.Array:
    dim = f.dimension or 0
    missing = [v is None for v in values]
    if any(missing):
        zeros = [0.0] * dim
        values = [zeros if v is None else v for v in values]
    try:
        matrix = np.asarray(values, dtype=np.float32)
    except ValueError:
        matrix = None
    if matrix is None or matrix.shape != (len(values), dim):
        bad = next((len(v) for v in values if len(v) != dim), "?")
        raise QdrantError(
            Code.READ_DATA_FAIL,
            f"collection '{collection}': vector '{f.name}' has a {bad}-d value, the collection says {dim}",
        )
    flat = pa.array(matrix.reshape(-1))
    mask = pa.array(missing) if any(missing) else None
    return pa.FixedSizeListArray.from_arrays(flat, dim, mask=mask)


def _sparse(values: list[Any]) -> pa.Array:
    lengths = [0 if v is None else len(v.indices) for v in values]
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    idx = [i for v in values if v is not None for i in v.indices]
    val = [x for v in values if v is not None for x in v.values]
    offs = pa.array(offsets)
    indices = pa.ListArray.from_arrays(offs, pa.array(idx, pa.uint32()))
    vals = pa.ListArray.from_arrays(offs, pa.array(val, pa.float32()))
    mask = pa.array([v is None for v in values]) if any(v is None for v in values) else None
    from vts.schema import SPARSE_ARROW

    return pa.StructArray.from_arrays([indices, vals], fields=list(SPARSE_ARROW), mask=mask)


def _typed(points: list[Any], values: list[Any], f: Field, collection: str) -> pa.Array:
    t = f.type
    if t in (LType.JSON, LType.MAP, LType.ROW):
        return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())
    for p, v in zip(points, values):
        if v is not None and not _fits(v, t, f.element_type):
            raise QdrantError(
                Code.READ_DATA_FAIL,
                f"collection '{collection}': payload '{f.name}' of point {p.id} is {_short(v)}, "
                f"which the {t} column inferred from the sample cannot hold",
                hint=f"drop '{f.name}' from payload_fields (it then goes to the dynamic field), or raise 'sample_size'",
            )
    return pa.array(values, f.arrow_type())


def _fits(value: Any, t: LType, element: LType | None = None) -> bool:
    """Strict: the JSON value is of the column's kind (no bool as int, no int as string)."""
    if t == LType.BOOLEAN:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if t == LType.BIGINT:
        return isinstance(value, int) and -(2**63) <= value < 2**63
    if t == LType.DOUBLE:
        return isinstance(value, int | float)
    if t == LType.STRING:
        return isinstance(value, str)
    if t == LType.ARRAY and element is not None:
        return isinstance(value, list) and all(e is not None and _fits(e, element) for e in value)
    return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
