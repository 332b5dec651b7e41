"""The logical field an Arrow column computed by a transform becomes (the reverse of ``Field.arrow_type``)."""

from __future__ import annotations

import pyarrow as pa

from vts.connectors.transforms.errors import Code, fail
from vts.schema import SPARSE_ARROW, Field, LType

_SCALARS: list[tuple[LType, pa.DataType]] = [
    (LType.BOOLEAN, pa.bool_()),
    (LType.TINYINT, pa.int8()),
    (LType.SMALLINT, pa.int16()),
    (LType.INT, pa.int32()),
    (LType.BIGINT, pa.int64()),
    (LType.SMALLINT, pa.uint8()),
    (LType.INT, pa.uint16()),
    (LType.BIGINT, pa.uint32()),
    (LType.FLOAT, pa.float32()),
    (LType.DOUBLE, pa.float64()),
    (LType.STRING, pa.string()),
    (LType.STRING, pa.large_string()),
    (LType.DATE, pa.date32()),
    (LType.DATE, pa.date64()),
]


def _scalar(t: pa.DataType) -> LType | None:
    for ltype, arrow in _SCALARS:
        if t == arrow:
            return ltype
    if pa.types.is_decimal(t):
        return LType.DOUBLE
    if pa.types.is_timestamp(t):
        return LType.TIMESTAMP_TZ if t.tz else LType.TIMESTAMP
    if pa.types.is_time(t):
        return LType.TIME
    return None


def field_for(transform: str, name: str, t: pa.DataType, like: Field | None, copied: bool) -> Field:
    """The field for output column ``name`` of Arrow type ``t``.

    A column ``copied`` unchanged from input field ``like`` keeps everything
    the source said about it (primary key, max_length, nullability, partition
    key), under its new name. A computed one is typed from ``t`` and nullable
    (an expression can yield NULL); if it replaces an input field of the same
    name (``like``), it keeps that field's key flags, so ``CAST(id AS VARCHAR)
    AS id`` is still the primary key.
    """
    if like is not None and copied and _same(like.arrow_type(), t):
        return like.with_(name=name)
    made = _new(transform, name, t)
    if like is None or copied:
        return made
    if like.primary_key:
        return made.with_(primary_key=True, auto_id=like.auto_id, nullable=False)
    return made.with_(partition_key=like.partition_key)


def _same(a: pa.DataType, b: pa.DataType) -> bool:
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b):
        return a.unit == b.unit and bool(a.tz) == bool(b.tz)  # DuckDB names UTC "Etc/UTC"
    return a == b


def _new(transform: str, name: str, t: pa.DataType) -> Field:
    scalar = _scalar(t)
    if scalar is not None:
        return Field(name, scalar, nullable=True)
    if pa.types.is_fixed_size_list(t) and pa.types.is_floating(t.value_type):
        return Field(name, LType.FLOAT_VECTOR, dimension=t.list_size)
    if pa.types.is_fixed_size_list(t) and t.value_type == pa.int8():
        return Field(name, LType.INT8_VECTOR, dimension=t.list_size)
    if t == SPARSE_ARROW:
        return Field(name, LType.SPARSE_FLOAT_VECTOR)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        element = _scalar(t.value_type)
        if element is not None and element not in (LType.DATE, LType.TIME, LType.TIMESTAMP, LType.TIMESTAMP_TZ):
            return Field(name, LType.ARRAY, nullable=True, element_type=element)
    fail(
        Code.NOT_SUPPORT_TYPE,
        transform,
        f"column '{name}' comes out as {t}, which no target field can hold",
        hint="turn it into text with to_json(...) or CAST(... AS VARCHAR), or into a list of numbers or strings",
    )
