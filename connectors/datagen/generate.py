"""Deterministic column generation.

Rows are generated in fixed blocks of ``BLOCK`` rows, each from its own
random stream seeded by (seed, field index, block number). A row's values
depend only on its index, so any splits or batch size yield the same
rows, and tests can regenerate the expected data for any range.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from vts.schema import Field, LType, TableSchema

BLOCK = 4096
_WORDS = ["alpha", "beta", "gamma", "delta", "vector", "milvus", "données", "数据", "ünïcödé", "emoji🙂"]
_INT_RANGE = {
    LType.TINYINT: (np.int8, -128, 127),
    LType.SMALLINT: (np.int16, -32768, 32767),
    LType.INT: (np.int32, -(2**31), 2**31 - 1),
    LType.BIGINT: (np.int64, -(2**62), 2**62),
}
_EPOCH_2020_US = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)


class Generator:
    """Generates row ranges of one table, keeping the last blocks it made."""

    def __init__(self, table: TableSchema, seed: int, id_start: int = 0, invalid_ratio: float = 0.0) -> None:
        self.table, self.seed, self.id_start, self.invalid_ratio = table, seed, id_start, invalid_ratio
        self._cache: dict[int, pa.RecordBatch] = {}

    def rows(self, start: int, stop: int) -> pa.RecordBatch:
        """Rows ``[start, stop)``, identical for any caller."""
        if stop <= start:
            return pa.RecordBatch.from_pylist([], schema=self.table.arrow_schema())
        first, last = start // BLOCK, (stop - 1) // BLOCK
        blocks = [self._block(k) for k in range(first, last + 1)]
        merged = pa.Table.from_batches(blocks).slice(start - first * BLOCK, stop - start).combine_chunks()
        return merged.to_batches()[0]

    def _block(self, k: int) -> pa.RecordBatch:
        if k not in self._cache:
            if len(self._cache) >= 2:
                self._cache.pop(next(iter(self._cache)))
            self._cache[k] = _block(self.table, self.seed, k, self.id_start, self.invalid_ratio)
        return self._cache[k]


def _block(table: TableSchema, seed: int, k: int, id_start: int, invalid_ratio: float = 0.0) -> pa.RecordBatch:
    rows = np.arange(k * BLOCK, (k + 1) * BLOCK, dtype=np.int64)
    arrays = []
    spoil = next((f.name for f in table.fields if f.type == LType.FLOAT_VECTOR), None) if invalid_ratio else None
    for fi, f in enumerate(table.fields):
        rng = np.random.default_rng([seed, fi, k])
        arr = _column(f, rng, rows, id_start)
        if f.name == spoil:
            arr = _with_nan(arr, np.random.default_rng([seed, 999_983, k]).random(BLOCK) < invalid_ratio)
        if f.nullable and f.params.get("null_ratio"):
            mask = rng.random(BLOCK) < f.params["null_ratio"]
            arr = _with_nulls(arr, mask)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=table.arrow_schema())


def _with_nan(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    dim = arr.type.list_size
    flat = arr.flatten().to_numpy().copy().reshape(-1, dim)
    flat[mask, 0] = np.nan
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), dim)


def _with_nulls(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    import pyarrow.compute as pc

    return pc.if_else(pa.array(mask), pa.nulls(len(arr), arr.type), arr)


def _column(f: Field, rng: np.random.Generator, rows: np.ndarray, id_start: int) -> pa.Array:
    n = len(rows)
    t = f.type
    if f.primary_key and t.is_integer:
        return pa.array(rows + id_start, type=f.arrow_type())
    if f.primary_key and t == LType.STRING:
        return pa.array([f"id-{i + id_start:012d}" for i in rows], type=pa.string())
    if t in _INT_RANGE:
        dtype, lo, hi = _INT_RANGE[t]
        return pa.array(rng.integers(lo, hi, n, endpoint=True).astype(dtype))
    if t == LType.BOOLEAN:
        return pa.array(rng.random(n) < 0.5)
    if t == LType.FLOAT:
        return pa.array((rng.random(n) * 100).astype(np.float32))
    if t in (LType.DOUBLE, LType.DECIMAL):
        return pa.array(np.round(rng.random(n) * 1000, 4))
    if t == LType.STRING:
        words = rng.integers(0, len(_WORDS), n)
        return pa.array([_fit(f"{f.name}-{i} {_WORDS[w]}", f.max_length) for i, w in zip(rows, words)])
    if t in (LType.JSON, LType.MAP, LType.ROW):
        groups = rng.integers(0, 10, n)
        scores = rng.random(n)
        return pa.array(
            [
                json.dumps(
                    {"i": int(i), "group": int(g), "score": round(float(s), 6), "label": _WORDS[g]}, ensure_ascii=False
                )
                for i, g, s in zip(rows, groups, scores)
            ]
        )
    if t == LType.ARRAY:
        return _array(f, rng, rows)
    if t == LType.FLOAT_VECTOR:
        flat = rng.random(n * f.dimension, dtype=np.float32)  # type: ignore[operator]
        return pa.FixedSizeListArray.from_arrays(pa.array(flat), f.dimension)
    if t == LType.INT8_VECTOR:
        flat = rng.integers(-128, 127, n * f.dimension, endpoint=True).astype(np.int8)  # type: ignore[operator]
        return pa.FixedSizeListArray.from_arrays(pa.array(flat), f.dimension)
    if t == LType.BINARY_VECTOR:
        width = f.dimension // 8  # type: ignore[operator]
        raw = rng.integers(0, 256, n * width, dtype=np.uint8).tobytes()
        return _fixed_binary(raw, width, n)
    if t == LType.FLOAT16_VECTOR:
        raw = rng.random(n * f.dimension).astype(np.float16).tobytes()  # type: ignore[operator]
        return _fixed_binary(raw, 2 * f.dimension, n)  # type: ignore[operator]
    if t == LType.BFLOAT16_VECTOR:
        f32 = rng.random(n * f.dimension, dtype=np.float32)  # type: ignore[operator]
        raw = (f32.view(np.uint32) >> 16).astype(np.uint16).tobytes()
        return _fixed_binary(raw, 2 * f.dimension, n)  # type: ignore[operator]
    if t == LType.SPARSE_FLOAT_VECTOR:
        return _sparse(f, rng, n)
    if t in (LType.TIMESTAMP, LType.TIMESTAMP_TZ):
        us = _EPOCH_2020_US + rng.integers(0, 5 * 365 * 86400, n) * 1_000_000
        return pa.array(us, type=f.arrow_type())
    if t == LType.DATE:
        days = rng.integers(0, 3650, n)
        return pa.array((np.datetime64("2015-01-01") + days).astype(str).tolist())
    if t == LType.TIME:
        secs = rng.integers(0, 86400, n)
        return pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in secs])
    if t == LType.GEOMETRY:
        xy = np.round(rng.random((n, 2)) * 180 - 90, 4)
        return pa.array([f"POINT ({x} {y})" for x, y in xy])
    raise ValueError(f"datagen cannot generate {t}")


def _fit(text: str, max_length: int | None) -> str:
    """Truncate to ``max_length`` UTF-8 bytes (Milvus counts bytes) without splitting a character."""
    if max_length is None:
        return text
    return text.encode()[:max_length].decode(errors="ignore")


def _fixed_binary(raw: bytes, width: int, n: int) -> pa.Array:
    return pa.Array.from_buffers(pa.binary(width), n, [None, pa.py_buffer(raw)])


def _array(f: Field, rng: np.random.Generator, rows: np.ndarray) -> pa.Array:
    n = len(rows)
    cap = min(f.max_capacity or 8, 8)
    lengths = rng.integers(0, cap + 1, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    element = Field(f.name, f.element_type)  # type: ignore[arg-type]
    values = _column(element, rng, np.arange(int(offsets[-1]), dtype=np.int64), 0)
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _sparse(f: Field, rng: np.random.Generator, n: int) -> pa.Array:
    space = f.dimension or 10_000
    nnz = rng.integers(1, 9, n)
    indices = [np.sort(rng.choice(space, size=k, replace=False)).astype(np.uint32) for k in nnz]
    offsets = pa.array(np.concatenate([[0], np.cumsum(nnz)]).astype(np.int32))
    idx = pa.ListArray.from_arrays(offsets, pa.array(np.concatenate(indices), type=pa.uint32()))
    val = pa.ListArray.from_arrays(offsets, pa.array(rng.random(int(nnz.sum()), dtype=np.float32) + 0.01))
    return pa.StructArray.from_arrays([idx, val], fields=list(f.arrow_type()))
