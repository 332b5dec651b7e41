"""PostgreSQL column types -> vts logical types, the SELECT expression and the wire decoder.

Every column is read in binary. Types whose binary form is cheap to decode
in bulk (integers, floats, bool, text, json(b), timestamps, pgvector types,
bit strings, 1-d arrays of those) are read as they are; a few are cast on the
server to a type that is (numeric -> float8, uuid/date/time/enum -> text),
which is exactly the Arrow representation vts wants for them anyway.

Anything else (bytea, interval, money, geometric types, ranges, composite
types...) is refused with PGVECTOR-07 naming the column, before any data
moves: cast it in a ``query`` or leave it out with ``columns``.
"""

from __future__ import annotations

from dataclasses import dataclass

from vts.connectors.pgvector.errors import Code, PgvectorError
from vts.schema import Field, LType


@dataclass(frozen=True)
class PgColumn:
    """A column as the catalog (or a query's result description) gives it."""

    name: str
    typname: str  # base type name (domains resolved), e.g. int4, vector, _int8 for int8[]
    typmod: int = -1
    elem: str | None = None  # element type name of an array
    is_enum: bool = False
    elem_is_enum: bool = False
    not_null: bool = False
    primary_key: bool = False


@dataclass(frozen=True)
class ColumnMapping:
    """How one PostgreSQL column maps to a vts field: the field, and how the column is selected and decoded."""

    field: Field
    cast: str | None  # SQL type the column is cast to in the SELECT list, or None
    decoder: str  # a key of vts.connectors.pgvector.wire.DECODERS, or "array:<elem decoder>"


_SCALARS: dict[str, tuple[LType, str | None, str]] = {
    "bool": (LType.BOOLEAN, None, "bool"),
    "int2": (LType.SMALLINT, None, "int2"),
    "int4": (LType.INT, None, "int4"),
    "int8": (LType.BIGINT, None, "int8"),
    "float4": (LType.FLOAT, None, "float4"),
    "float8": (LType.DOUBLE, None, "float8"),
    "numeric": (LType.DECIMAL, "float8", "float8"),
    "text": (LType.STRING, None, "text"),
    "varchar": (LType.STRING, None, "text"),
    "bpchar": (LType.STRING, None, "text"),
    "name": (LType.STRING, None, "text"),
    "citext": (LType.STRING, None, "text"),
    "uuid": (LType.STRING, "text", "text"),
    "json": (LType.JSON, None, "text"),
    "jsonb": (LType.JSON, None, "jsonb"),
    "date": (LType.DATE, "text", "text"),
    "time": (LType.TIME, "text", "text"),
    "timetz": (LType.TIME, "text", "text"),
    "timestamp": (LType.TIMESTAMP, None, "timestamp"),
    "timestamptz": (LType.TIMESTAMP_TZ, None, "timestamptz"),
}
_ARRAY_ELEMENTS: dict[str, tuple[LType, str | None, str]] = {
    k: v
    for k, v in _SCALARS.items()
    if k in ("bool", "int2", "int4", "int8", "float4", "float8", "numeric", "text", "varchar", "bpchar", "uuid", "date")
}
UUID_LENGTH = 36
UTF8_MAX_BYTES = 4
MILVUS_MAX_LENGTH = 65_535
SUPPORTED = sorted(
    [*_SCALARS, "vector", "halfvec", "sparsevec", "bit", "varbit", "enum", "1-d arrays of " + "/".join(_ARRAY_ELEMENTS)]
)


def varchar_length(typname: str, typmod: int) -> int | None:
    """Milvus max_length for varchar(n)/char(n): the most UTF-8 bytes n characters can take.

    PostgreSQL's n counts characters; Milvus's max_length counts bytes (by
    design, milvus-io/milvus#26806), so keeping n itself would make the sink
    reject every value with non-ASCII text near its limit. typmod holds
    n + 4 (VARHDRSZ); -1 means no limit (the sink's default applies).
    """
    if typname in ("varchar", "bpchar") and typmod > 4:
        return min(MILVUS_MAX_LENGTH, UTF8_MAX_BYTES * (typmod - 4))
    return None


def map_column(
    col: PgColumn, *, halfvec_as_float: bool = False, dimension: int | None = None, where: str = ""
) -> ColumnMapping:
    """The field, cast and decoder of one column.

    ``dimension`` is the dimension found in the data for vector columns
    declared without one (``vector`` rather than ``vector(768)``).
    """
    t, mod = col.typname, col.typmod
    common = {"name": col.name, "nullable": not col.not_null and not col.primary_key, "primary_key": col.primary_key}
    if t in ("vector", "halfvec", "bit", "varbit"):
        dim = mod if mod > 0 else dimension
        if t == "vector" or (t == "halfvec" and halfvec_as_float):
            return ColumnMapping(Field(type=LType.FLOAT_VECTOR, dimension=dim, **common), None, f"{t}:{dim}")
        if t == "halfvec":
            return ColumnMapping(Field(type=LType.FLOAT16_VECTOR, dimension=dim, **common), None, f"halfvec16:{dim}")
        if not dim or dim % 8:
            raise PgvectorError(
                Code.UNSUPPORTED_TYPE,
                f"column '{col.name}'{where}: {_shown(col)} is not a binary vector with a dimension that is a multiple "
                "of 8 (Milvus BinaryVector needs one)",
                hint=f"pad it in a query, e.g. ({col.name} || B'0000')::bit(n), or leave it out with 'columns'",
            )
        return ColumnMapping(Field(type=LType.BINARY_VECTOR, dimension=dim, **common), None, f"bit:{dim}")
    if t == "sparsevec":
        params = {"pg_dimension": mod} if mod > 0 else {}
        return ColumnMapping(Field(type=LType.SPARSE_FLOAT_VECTOR, params=params, **common), None, "sparsevec")
    if col.is_enum:
        return ColumnMapping(Field(type=LType.STRING, **common), "text", "text")
    if t in _SCALARS:
        ltype, cast, decoder = _SCALARS[t]
        length = varchar_length(t, mod) or (UUID_LENGTH if t == "uuid" else None)
        return ColumnMapping(Field(type=ltype, max_length=length, **common), cast, decoder)
    if col.elem is not None and (col.elem in _ARRAY_ELEMENTS or col.elem_is_enum):
        ltype, cast, decoder = (LType.STRING, "text", "text") if col.elem_is_enum else _ARRAY_ELEMENTS[col.elem]
        length = varchar_length(col.elem, mod) or (UUID_LENGTH if col.elem == "uuid" else None)
        return ColumnMapping(
            Field(type=LType.ARRAY, element_type=ltype, max_length=length, **common),
            f"{cast}[]" if cast else None,
            f"array:{decoder}",
        )
    raise PgvectorError(
        Code.UNSUPPORTED_TYPE,
        f"column '{col.name}'{where} has type {_shown(col)}, which vts cannot carry to Milvus",
        hint=f"leave it out with 'columns', or read it through 'query' with a cast (e.g. {col.name}::text); "
        f"supported: {', '.join(SUPPORTED)}",
    )


def _shown(col: PgColumn) -> str:
    if col.elem:
        return f"{col.elem}[]"
    return col.typname + (f"({col.typmod})" if col.typmod > 0 and col.typname in ("vector", "halfvec", "bit") else "")
