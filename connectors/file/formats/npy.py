"""NumPy ``.npy``: a 2-d matrix of vectors (one row each) and an optional 1-d ids file; row-range splits.

The header is read with ``numpy.lib.format``; rows are read by seeking to
``header + row * row_bytes``, so a split reads only its rows, locally or from
an object store. Without ``ids_path`` a row's id is its number across the
files, in the order the files are listed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from vts.connectors.file.errors import Code, FileSourceError
from vts.connectors.file.fs import open_fs

suffixes = (".npy",)


def header(opts: Any, uri: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, byte offset of the data)."""
    fs, path = open_fs(opts, uri)
    with fs.open_input_file(path) as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        offset = f.tell()
    if fortran and len(shape) > 1:
        raise FileSourceError(
            Code.NOT_SUPPORT_TYPE,
            f"{uri} is stored in Fortran order",
            hint="save it again with numpy.save(path, numpy.ascontiguousarray(matrix))",
        )
    if dtype.hasobject:
        raise FileSourceError(Code.NOT_SUPPORT_TYPE, f"{uri} holds Python objects", hint="save a numeric matrix")
    return shape, dtype, offset


def rows_of(opts: Any, uri: str, start: int, stop: int) -> np.ndarray:
    shape, dtype, offset = header(opts, uri)
    width = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    row_bytes = width * dtype.itemsize
    fs, path = open_fs(opts, uri)
    with fs.open_input_file(path) as f:
        f.seek(offset + start * row_bytes)
        data = f.read((stop - start) * row_bytes)
    arr = np.frombuffer(data, dtype=dtype)
    return arr.reshape((stop - start, *shape[1:])) if len(shape) > 1 else arr


def sample(opts: Any, uri: str) -> tuple[pa.Schema, pa.Table]:
    shape, dtype, _ = header(opts, uri)
    if len(shape) != 2:
        raise FileSourceError(
            Code.NOT_SUPPORT_TYPE,
            f"{uri} holds an array of shape {shape}; the npy format reads a 2-d matrix, one vector per row",
            hint="save the vectors as an (n, dim) matrix",
        )
    if dtype.kind == "f":
        vector = pa.list_(pa.from_numpy_dtype(dtype), shape[1])
    elif dtype == np.int8:
        vector = pa.list_(pa.int8(), shape[1])
    else:
        raise FileSourceError(
            Code.NOT_SUPPORT_TYPE, f"{uri} holds {dtype} values", hint="save float32 (or int8) vectors"
        )
    ids = pa.int64()
    if opts.ids_path:
        id_shape, id_dtype, _ = header(opts, opts.ids_path)
        if len(id_shape) != 1 or id_shape[0] != shape[0]:
            raise FileSourceError(
                Code.INVALID_PARAM,
                f"ids_path {opts.ids_path} has shape {id_shape}, but {uri} has {shape[0]:,} vectors",
                hint="give one id per vector row, as a 1-d array",
            )
        if id_dtype.kind in "US":
            ids = pa.string()
        elif id_dtype.kind not in "iu":
            raise FileSourceError(
                Code.NOT_SUPPORT_TYPE, f"ids_path {opts.ids_path} holds {id_dtype}", hint="save integer or string ids"
            )
    schema = pa.schema([pa.field(opts.id_field, ids, nullable=False), pa.field(opts.vector_field, vector)])
    return schema, schema.empty_table()


def pieces(opts: Any, uri: str) -> list[tuple[dict[str, Any], int]]:
    shape, dtype, _ = header(opts, uri)
    row_bytes = max(1, int(np.prod(shape[1:])) * dtype.itemsize)
    step = max(1, opts.split_bytes // row_bytes)
    n = shape[0]
    return [({"file": uri, "start": a, "stop": min(a + step, n)}, min(a + step, n) - a) for a in range(0, n, step)]


def read(opts: Any, spec: dict[str, Any], position: Any) -> Iterator[tuple[pa.RecordBatch, Any]]:
    base = spec.get("base", 0)  # rows of the files listed before this one (the default ids)
    pos = int(position) if position is not None else spec["start"]
    while pos < spec["stop"]:
        stop = min(pos + opts.batch_size, spec["stop"])
        matrix = rows_of(opts, spec["file"], pos, stop)
        dim = matrix.shape[1]
        value = pa.array(matrix.reshape(-1))
        vectors = pa.FixedSizeListArray.from_arrays(value, dim)
        if opts.ids_path:
            raw = rows_of(opts, opts.ids_path, pos, stop)
            ids = pa.array(raw.astype(str) if raw.dtype.kind in "US" else raw.astype(np.int64))
        else:
            ids = pa.array(np.arange(base + pos, base + stop, dtype=np.int64))
        yield pa.RecordBatch.from_arrays([ids, vectors], names=[opts.id_field, opts.vector_field]), stop
        pos = stop
