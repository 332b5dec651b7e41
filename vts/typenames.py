"""Type names as job files write them: vts's logical names and SeaTunnel's lower-case ones.

SeaTunnel jobs spell column types ``string``, ``int``, ``bigint``,
``array<int>``, ``decimal(30, 8)``, ``float_vector``; vts's own files use the
:class:`~vts.schema.LType` names. Both read the same here, case-insensitively,
so a FakeSource schema and a JsonPath ``dest_type`` take either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vts.schema import LType

_SEATUNNEL: dict[str, LType] = {
    "string": LType.STRING,
    "varchar": LType.STRING,
    "text": LType.STRING,
    "boolean": LType.BOOLEAN,
    "bool": LType.BOOLEAN,
    "tinyint": LType.TINYINT,
    "smallint": LType.SMALLINT,
    "int": LType.INT,
    "integer": LType.INT,
    "bigint": LType.BIGINT,
    "long": LType.BIGINT,
    "float": LType.FLOAT,
    "double": LType.DOUBLE,
    "decimal": LType.DECIMAL,
    "json": LType.JSON,
    "map": LType.MAP,
    "row": LType.ROW,
    "date": LType.DATE,
    "time": LType.TIME,
    "timestamp": LType.TIMESTAMP,
    "timestamp_tz": LType.TIMESTAMP_TZ,
    "timestamptz": LType.TIMESTAMP_TZ,
    "geometry": LType.GEOMETRY,
    "float_vector": LType.FLOAT_VECTOR,
    "binary_vector": LType.BINARY_VECTOR,
    "float16_vector": LType.FLOAT16_VECTOR,
    "bfloat16_vector": LType.BFLOAT16_VECTOR,
    "int8_vector": LType.INT8_VECTOR,
    "sparse_float_vector": LType.SPARSE_FLOAT_VECTOR,
}

_ARRAY = re.compile(r"^array\s*<\s*(?P<element>[^<>]+?)\s*>$", re.IGNORECASE)
_MAP = re.compile(r"^(?:map|row)\s*<.*>$", re.IGNORECASE)  # kept as JSON text, whatever the key and value types
_PARAMS = re.compile(r"^(?P<base>[a-z_0-9]+)\s*\(\s*[^)]*\)$", re.IGNORECASE)  # decimal(30, 8), varchar(64)


@dataclass(frozen=True)
class TypeName:
    type: LType
    element_type: LType | None = None


def parse(name: str) -> TypeName | None:
    """The logical type a job file's type name means, or None when it names none."""
    text = name.strip()
    m = _ARRAY.match(text)
    if m:
        element = parse(m["element"])
        if element is None or element.type == LType.ARRAY or element.type.is_vector:
            return None
        return TypeName(LType.ARRAY, element.type)
    if _MAP.match(text):
        return TypeName(LType.MAP)
    m = _PARAMS.match(text)
    if m:
        text = m["base"]
    lowered = text.lower()
    if lowered in _SEATUNNEL:
        return TypeName(_SEATUNNEL[lowered])
    for t in LType:
        if t.value.lower() == lowered and t != LType.ARRAY:
            return TypeName(t)
    return None


KNOWN = [*sorted(_SEATUNNEL), "array<TYPE>", "map<K, V>"]
