"""Which source rows Milvus would refuse, and why: one verdict for both write paths.

The insert path (``rows.insert_rows``) and the bulk path
(``bulk.parquet.ParquetBatches``) both call :func:`validate` first and convert only
the good rows, so a row is refused with the same reason whichever path a job
takes. A refused row sent on would fail a whole insert call, or a whole
import job long after the row was staged.

Checks are vectorised in Arrow/NumPy and a reason is formatted only for a
row that fails; the one per-row Python step is parsing JSON texts. A bad row
gets the first problem found: fields in target order, then the dynamic
``$meta`` column; within a field, a null first, then the checks below in the
order they are listed.

======================  ===================================================================
Milvus type             refused
======================  ===================================================================
any                     null in a field that is neither nullable nor has a default
FloatVector             dimension other than ``dim``; a null element; NaN or infinity
Int8Vector              dimension; a null element; a value that is not an integer in int8
Binary/F16/BF16Vector   byte length other than ``dim/8`` (binary) or ``2*dim``; NaN or
                        infinity in a float16/bfloat16 vector (Milvus checks those too)
SparseFloatVector       null (even in a nullable field, see below); index and value counts
                        that differ; empty; a weight that is negative, NaN, infinite or null;
                        an index outside 0..2^32-2; an index given twice
Float, Double           NaN or infinity; for Float, a number beyond float32's range
Int8 .. Int64           a value out of the type's range (a source column may be wider)
VarChar                 more than ``max_length`` bytes (UTF-8)
JSON, ``$meta``         text that is not JSON; ``$meta`` that is not a JSON object
Array                   more than ``max_capacity`` elements; a null element; a VarChar
                        element over ``max_length`` bytes; an integer element out of range
======================  ===================================================================

A null sparse vector is refused on both paths even when the field is
nullable: pymilvus cannot put one in an insert request (the whole call
fails), and a row the insert path cannot carry must not be accepted by the
bulk path. Duplicate sparse indices are refused rather than merged: Milvus
refuses them on import, and merging them on insert would change the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from vts.connectors.milvus.target import TargetCollection, TargetField
from vts.connectors.milvus.types import MilvusType as T
from vts.schema import DYNAMIC_FIELD

SPARSE_INDEX_MAX = 2**32 - 2  # Milvus keeps 2^32-1 for itself and refuses it
INT_RANGES = {
    T.INT8: (-(2**7), 2**7 - 1),
    T.INT16: (-(2**15), 2**15 - 1),
    T.INT32: (-(2**31), 2**31 - 1),
    T.INT64: (-(2**63), 2**63 - 1),  # only a uint64 source can leave it
}

Reason = str | Callable[[int], str]  # the text, or a function of the row number for texts that quote the row
Reject = Callable[[np.ndarray, Reason], None]


@dataclass(frozen=True)
class Verdict:
    """The rows of one batch Milvus would refuse: ``bad`` per row, and one reason per bad row in row order."""

    bad: np.ndarray  # bool, one per source row
    reasons: list[str]

    def good_rows(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return batch.filter(pa.array(~self.bad)) if self.reasons else batch

    def rejected_rows(self, batch: pa.RecordBatch) -> list[dict[str, Any]]:
        """The refused source rows, as Python values (what the rejects log keeps)."""
        return batch.filter(pa.array(self.bad)).to_pylist() if self.reasons else []


def validate(batch: pa.RecordBatch, target: TargetCollection) -> Verdict:
    """Every row of ``batch`` that Milvus would refuse for ``target``, with the first problem of each."""
    found = _Found(batch.num_rows)
    for f in target.fields:
        if f.source is None:
            continue  # filled by Milvus: an auto id, a function output
        if f.source not in batch.schema.names:
            raise KeyError(f"source column '{f.source}' for field '{f.name}' is missing from the batch")
        _check_field(_plain(batch.column(f.source)), f, found.reject)
    if target.enable_dynamic_field and DYNAMIC_FIELD in batch.schema.names:
        meta = _plain(batch.column(DYNAMIC_FIELD))
        if _is_text(meta.type):
            _check_json(meta, DYNAMIC_FIELD, found.reject, objects_only=True)
    return found.verdict()


class _Found:
    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.why: dict[int, str] = {}

    def reject(self, mask: np.ndarray, why: Reason) -> None:
        rows = np.flatnonzero(mask & ~self.bad)
        if not rows.size:
            return
        for i in rows.tolist():
            self.why[i] = why if isinstance(why, str) else why(i)
        self.bad[rows] = True

    def verdict(self) -> Verdict:
        return Verdict(self.bad, [self.why[i] for i in np.flatnonzero(self.bad).tolist()])


def _check_field(arr: pa.Array, f: TargetField, reject: Reject) -> None:
    if arr.null_count and not (f.nullable or f.default is not None):
        reject(_nulls(arr), f"field '{f.name}' is not nullable but the value is null")
    check = _CHECKS.get(f.dtype)
    if check is not None:
        check(arr, f, reject)


# -- helpers ------------------------------------------------------------------------------------


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _why(f: TargetField | str, text: str) -> str:
    return f"field '{f if isinstance(f, str) else f.name}': {text}"


def _nulls(arr: pa.Array) -> np.ndarray:
    if not arr.null_count:
        return np.zeros(len(arr), dtype=bool)
    return np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _counts(arr: pa.Array) -> np.ndarray:
    """An integer Array (lengths) as int64 numpy, nulls as 0."""
    return np.asarray(pc.fill_null(arr, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def _rows(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _elements(arr: pa.Array) -> tuple[pa.Array, Callable[[np.ndarray], np.ndarray]]:
    """A list column's elements, and a map from element positions to row numbers (built only when asked).

    A fixed-size list keeps the elements under null rows (so position // size is the row); callers mask
    null rows out of what they find.
    """
    if pa.types.is_fixed_size_list(arr.type):
        size = arr.type.list_size
        return arr.values.slice(arr.offset * size, len(arr) * size), lambda at: at // size
    return pc.list_flatten(arr), lambda at: pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)[at]


def _too_wide(values: pa.Array, dtype: T) -> np.ndarray | None:
    """Integers outside ``dtype``'s range (nulls are not), or None when the source type cannot hold any."""
    t = values.type
    if not pa.types.is_integer(t):
        return None
    bits = int(dtype.value[3:])
    if t.bit_width < bits or (t.bit_width == bits and pa.types.is_signed_integer(t)):
        return None
    lo, hi = INT_RANGES[dtype]
    x = pc.fill_null(values, 0).to_numpy(zero_copy_only=False)
    return (x < lo) | (x > hi)


# -- vectors ------------------------------------------------------------------------------------


def _dimension(arr: pa.Array, f: TargetField, reject: Reject) -> bool:
    """Refuse rows of another dimension; False when the column's fixed size is wrong (every row refused)."""
    dim = f.dim or 0
    if pa.types.is_fixed_size_list(arr.type):
        if arr.type.list_size != dim:
            reject(np.ones(len(arr), dtype=bool), _why(f, f"dimension {arr.type.list_size}, target expects {dim}"))
            return False
        return True
    lengths = _counts(pc.list_value_length(arr))
    reject((lengths != dim) & ~_nulls(arr), lambda i: _why(f, f"dimension {lengths[i]}, target expects {dim}"))
    return True


def _dense_vector(arr: pa.Array, f: TargetField, reject: Reject) -> None:
    if not _is_list(arr.type) or not _dimension(arr, f, reject):
        return
    values, row_of = _elements(arr)
    valid = ~_nulls(arr)
    if values.null_count:
        reject(_rows(len(arr), row_of(np.flatnonzero(_nulls(values)))) & valid, _why(f, "vector holds a null element"))
    if f.dtype is T.INT8_VECTOR and pa.types.is_int8(values.type):
        return
    x = values.to_numpy(zero_copy_only=False)  # a null element reads as NaN
    if f.dtype is T.FLOAT_VECTOR:
        if not np.issubdtype(x.dtype, np.floating):
            return
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(x.sum()):
                return  # NaN and infinity carry through a sum, which is cheaper than testing every element
        wrong, why = ~np.isfinite(x), "vector holds NaN or infinity"  # (or the sum overflowed: look closer)
    else:  # an Int8Vector fed wider integers or floats
        with np.errstate(invalid="ignore"):
            wrong = (x < -128) | (x > 127)
            if np.issubdtype(x.dtype, np.floating):
                wrong |= ~np.isfinite(x) | (x != np.round(x))
        why = "vector values must be integers from -128 to 127"
    if wrong.any():
        reject(_rows(len(arr), row_of(np.flatnonzero(wrong))) & valid, _why(f, why))


def _byte_vector(arr: pa.Array, f: TargetField, reject: Reject) -> None:
    dim = f.dim or 0
    width = dim // 8 if f.dtype is T.BINARY_VECTOR else 2 * dim

    def needs(got: int) -> str:
        return _why(f, f"{got} bytes, dimension {dim} needs {width}")

    t = arr.type
    if pa.types.is_fixed_size_binary(t):
        if t.byte_width != width:
            reject(np.ones(len(arr), dtype=bool), needs(t.byte_width))
            return
        lengths = None
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or _is_text(t):
        lengths = _counts(pc.binary_length(arr))
    elif _is_list(t):
        lengths = _counts(pc.list_value_length(arr))
    else:
        return
    valid = ~_nulls(arr)
    if lengths is not None:
        reject(valid & (lengths != width), lambda i: needs(int(lengths[i])))
    if f.dtype is not T.BINARY_VECTOR:
        _half_floats(arr, f, valid if lengths is None else valid & (lengths == width), width, reject)


def _half_floats(arr: pa.Array, f: TargetField, rows: np.ndarray, width: int, reject: Reject) -> None:
    """NaN or infinity in float16/bfloat16 vectors: an all-ones exponent, read from the raw little-endian bits."""
    if not width or not rows.any():
        return
    picked = arr if rows.all() else arr.filter(pa.array(rows))
    if _is_list(picked.type):
        data = pc.list_flatten(picked).to_numpy(zero_copy_only=False).astype(np.uint8, copy=False)
    else:
        fixed = picked if pa.types.is_fixed_size_binary(picked.type) else pc.cast(picked, pa.binary(width))
        start = fixed.offset * width
        data = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)[start : start + len(fixed) * width]
    bits = np.ascontiguousarray(data).view("<u2").reshape(len(picked), width // 2)
    exponent = 0x7C00 if f.dtype is T.FLOAT16_VECTOR else 0x7F80
    special = ((bits & exponent) == exponent).any(axis=1)
    if special.any():
        reject(_rows(len(arr), np.flatnonzero(rows)[special]), _why(f, "vector holds NaN or infinity"))


def _sparse(arr: pa.Array, f: TargetField, reject: Reject) -> None:
    """struct<indices, values> (vts's sparse layout) or map<index, weight>."""
    n, valid = len(arr), ~_nulls(arr)
    reject(~valid, _why(f, "null sparse vector"))  # even when nullable: see the module docstring
    if pa.types.is_map(arr.type):
        indices = pa.ListArray.from_arrays(arr.offsets, arr.keys)
        weights = pa.ListArray.from_arrays(arr.offsets, arr.items)
    elif pa.types.is_struct(arr.type):
        indices, weights = pc.struct_field(arr, "indices"), pc.struct_field(arr, "values")
    else:
        return
    counts, sizes = _counts(pc.list_value_length(indices)), _counts(pc.list_value_length(weights))
    reject(valid & (counts != sizes), lambda i: _why(f, f"{counts[i]} indices but {sizes[i]} values"))
    reject(valid & (counts == 0), _why(f, "empty sparse vector"))

    w = pc.list_flatten(weights).to_numpy(zero_copy_only=False)  # a null weight reads as NaN
    with np.errstate(invalid="ignore"):
        wrong = ~np.isfinite(w) | (w < 0)
    if wrong.any():
        parents = pc.list_parent_indices(weights).to_numpy(zero_copy_only=False)
        reject(_rows(n, parents[wrong]) & valid, _why(f, "sparse weights must be finite and not negative"))

    flat = pc.list_flatten(indices)
    if not len(flat):
        return
    at = flat.to_numpy(zero_copy_only=False).astype(np.float64)  # a null index reads as NaN
    parents = pc.list_parent_indices(indices).to_numpy(zero_copy_only=False)
    outside = ~((at >= 0) & (at <= SPARSE_INDEX_MAX))
    if outside.any():
        reject(_rows(n, parents[outside]) & valid, _why(f, f"sparse indices must be from 0 to {SPARSE_INDEX_MAX}"))
    # duplicates: only possible where a row's indices do not strictly increase (the usual layout is sorted)
    same_row = parents[1:] == parents[:-1]
    if not (same_row & (at[1:] <= at[:-1])).any():
        return
    keys = np.sort((parents.astype(np.int64) << 32) | np.clip(np.nan_to_num(at), 0, 2**32 - 1).astype(np.int64))
    repeated = keys[1:][keys[1:] == keys[:-1]]
    first: dict[int, int] = {}
    for key in repeated.tolist():
        first.setdefault(key >> 32, key & 0xFFFFFFFF)
    reject(_rows(n, np.fromiter(first, dtype=np.int64)) & valid, lambda i: _why(f, f"sparse index {first[i]} repeats"))


# -- scalars ------------------------------------------------------------------------------------


def _float(arr: pa.Array, f: TargetField, reject: Reject) -> None:
    t = arr.type
    if pa.types.is_floating(t):
        x = arr.to_numpy(zero_copy_only=False)
        reject(~np.isfinite(x) & ~_nulls(arr), lambda i: _why(f, f"{arr[i].as_py()} is not a finite number"))
    narrow = pa.types.is_float16(t) or pa.types.is_float32(t)
    if f.dtype is T.FLOAT and not narrow and (pa.types.is_floating(t) or pa.types.is_decimal(t)):
        wide = pc.cast(arr, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
        with np.errstate(over="ignore"):
            overflow = np.isfinite(wide) & ~np.isfinite(wide.astype(np.float32))
        reject(overflow, lambda i: _why(f, f"{arr[i].as_py()} is out of range for FLOAT"))


def _integer(arr: pa.Array, f: TargetField, reject: Reject) -> None:
    wrong = _too_wide(arr, f.dtype)
    if wrong is not None:
        reject(wrong, lambda i: _why(f, f"{arr[i].as_py()} is out of range for {f.dtype}"))


def _varchar(arr: pa.Array, f: TargetField, reject: Reject) -> None:
    if f.max_length is None:
        return
    text = arr if _is_text(arr.type) else pc.cast(arr, pa.string())
    lengths = _counts(pc.binary_length(text))
    reject(lengths > f.max_length, lambda i: _why(f, f"{lengths[i]} bytes exceed max_length {f.max_length}"))


def _json(arr: pa.Array, f: TargetField, reject: Reject) -> None:
    t = arr.type
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and _is_text(t.value_type):
        # ARRAY<ROW> arrives as a list of JSON texts: one JSON array per row
        joined = pc.binary_join(arr, ",")  # null where an element is null
        reject(_nulls(joined) & ~_nulls(arr), _why(f, "a list of JSON texts holds a null"))
        _check_json(pc.binary_join_element_wise("[", joined, "]", ""), f.name, reject)
    elif _is_text(t):
        _check_json(arr, f.name, reject)
    # any other type is serialised to JSON by the writers


def _check_json(texts: pa.Array, name: str, reject: Reject, objects_only: bool = False) -> None:
    errors: dict[int, str] = {}
    for i, text in enumerate(texts.to_pylist()):
        if text is None:
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            errors[i] = _why(name, f"invalid JSON ({exc})")
            continue
        if objects_only and not isinstance(value, dict):
            errors[i] = _why(name, "not a JSON object")
    if errors:
        reject(_rows(len(texts), np.fromiter(errors, dtype=np.int64)), errors.__getitem__)


def _array(arr: pa.Array, f: TargetField, reject: Reject) -> None:
    if not _is_list(arr.type):
        return
    n, cap = len(arr), f.max_capacity or 4096
    lengths = _counts(pc.list_value_length(arr))
    reject(lengths > cap, lambda i: _why(f, f"{lengths[i]} elements exceed max_capacity {cap}"))
    flat = pc.list_flatten(arr)
    if not len(flat):
        return
    parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
    if flat.null_count:
        reject(_rows(n, parents[_nulls(flat)]), _why(f, "arrays cannot hold null elements"))
    if f.element_type is T.VARCHAR and f.max_length:
        text = flat if _is_text(flat.type) else pc.cast(flat, pa.string())
        over = _counts(pc.binary_length(text)) > f.max_length
        if over.any():
            reject(_rows(n, parents[over]), _why(f, f"an element exceeds max_length {f.max_length}"))
    wrong = _too_wide(flat, f.element_type) if f.element_type in INT_RANGES else None
    if wrong is not None and wrong.any():
        reject(_rows(n, parents[wrong]), _why(f, f"an element is out of range for {f.element_type}"))


_CHECKS: dict[T, Callable[[pa.Array, TargetField, Reject], None]] = {
    T.FLOAT_VECTOR: _dense_vector,
    T.INT8_VECTOR: _dense_vector,
    T.BINARY_VECTOR: _byte_vector,
    T.FLOAT16_VECTOR: _byte_vector,
    T.BFLOAT16_VECTOR: _byte_vector,
    T.SPARSE_FLOAT_VECTOR: _sparse,
    T.FLOAT: _float,
    T.DOUBLE: _float,
    T.INT8: _integer,
    T.INT16: _integer,
    T.INT32: _integer,
    T.INT64: _integer,
    T.VARCHAR: _varchar,
    T.JSON: _json,
    T.ARRAY: _array,
}
