"""Fetched vectors -> an Arrow batch of the discovered table."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from vts.connectors.pinecone import schema as s
from vts.connectors.pinecone.errors import Code, PineconeError
from vts.schema import SPARSE_ARROW, Field, LType, TableSchema


def as_dict(vector: Any) -> dict[str, Any]:
    """The SDK's Vector as plain values (what sampling and the batch builder read)."""
    sparse = vector.sparse_values
    return {
        "id": vector.id,
        "values": vector.values,
        "sparse_values": (list(sparse.indices), list(sparse.values)) if sparse is not None else None,
        "metadata": vector.metadata or {},
    }


class Layout:
    """How one table's columns come out of fetched vectors."""

    def __init__(self, table: TableSchema, namespace: str) -> None:
        self.table = table
        self.schema = table.arrow_schema()
        self.namespace = namespace
        self.typed_names = {f.name for f in table.fields if s.role(f) == "metadata"}

    def batch(self, vectors: list[dict[str, Any]]) -> pa.RecordBatch:
        arrays: list[pa.Array] = []
        for f in self.table.fields:
            r = s.role(f)
            if r == "id":
                arrays.append(pa.array([v["id"] for v in vectors], pa.string()))
            elif r == "dense":
                arrays.append(self._dense(vectors, f))
            elif r == "sparse":
                arrays.append(_sparse([v["sparse_values"] for v in vectors]))
            elif r == "namespace":
                arrays.append(pa.array([self.namespace] * len(vectors), pa.string()))
            elif r == "rest":
                arrays.append(self._rest(vectors))
            elif r == "metadata":
                arrays.append(self._typed(vectors, f))
            else:
                raise PineconeError(Code.INVALID_PARAM, f"column '{f.name}' is not one the Pinecone source writes")
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _dense(self, vectors: list[dict[str, Any]], f: Field) -> pa.Array:
        dim = f.dimension or 0
        matrix = np.asarray([v["values"] for v in vectors], dtype=np.float32) if vectors else np.zeros((0, dim))
        if matrix.shape != (len(vectors), dim):
            bad = next((v for v in vectors if len(v["values"]) != dim), vectors[0])
            raise PineconeError(
                Code.SERVER_RESPONSE_FAILED,
                f"vector '{bad['id']}' in namespace '{self.namespace}' has {len(bad['values'])} dense values, "
                f"the index says {dim}",
            )
        return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1), pa.float32()), dim)

    def _rest(self, vectors: list[dict[str, Any]]) -> pa.Array:
        out: list[str | None] = []
        for v in vectors:
            meta = v["metadata"]
            if self.typed_names:
                meta = {k: x for k, x in meta.items() if k not in self.typed_names}
            out.append(orjson.dumps(meta).decode() if meta else None)
        return pa.array(out, pa.string())

    def _typed(self, vectors: list[dict[str, Any]], f: Field) -> pa.Array:
        values = [v["metadata"].get(f.name) for v in vectors]
        if f.type == LType.JSON:
            return pa.array([None if x is None else orjson.dumps(x).decode() for x in values], pa.string())
        for v, x in zip(vectors, values):
            if x is not None and not s.fits(x, f):
                raise PineconeError(
                    Code.METADATA_TYPE,
                    f"metadata '{f.name}' of vector '{v['id']}' in namespace '{self.namespace}' is {_short(x)}, "
                    f"which the {f.type} column inferred from the sample cannot hold",
                    hint=f"drop '{f.name}' from metadata_fields (it then goes to the dynamic field), raise "
                    "'sample_size', or type it yourself with the sink's field_schema",
                )
        if f.type == LType.BIGINT:
            values = [None if x is None else int(x) for x in values]
        return pa.array(values, f.arrow_type())


def _sparse(values: list[tuple[list[int], list[float]] | None]) -> pa.Array:
    lengths = [0 if v is None else len(v[0]) for v in values]
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    offs = pa.array(offsets)
    idx = pa.array([i for v in values if v is not None for i in v[0]], pa.uint32())
    val = pa.array([x for v in values if v is not None for x in v[1]], pa.float32())
    indices = pa.ListArray.from_arrays(offs, idx)
    vals = pa.ListArray.from_arrays(offs, val)
    mask = pa.array([v is None for v in values]) if any(v is None for v in values) else None
    return pa.StructArray.from_arrays([indices, vals], fields=list(SPARSE_ARROW), mask=mask)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
