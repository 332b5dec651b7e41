"""The table of a topic: from ``field_schema``, or inferred from the first messages of every partition.

Inference: bool -> BOOLEAN, int -> BIGINT, float (or ints and floats) ->
DOUBLE, str -> STRING, a non-empty list of numbers -> FLOAT_VECTOR of its
length (two lengths in one field is KAFKA-06), another list -> JSON, an
object -> JSON. A field missing or null in some message is nullable. The
primary key comes first and may not be null.
"""

from __future__ import annotations

from typing import Any

from vts.connectors.kafka.errors import Code, KafkaError
from vts.connectors.kafka.options import KafkaSourceOptions
from vts.schema import Field, LType, TableSchema

_MAX_STRING = 65535


def declared(opts: KafkaSourceOptions, topic: str) -> TableSchema:
    fields = tuple(
        Field(
            f.name,
            f.type,
            nullable=f.nullable and not f.primary_key,
            primary_key=f.primary_key,
            max_length=f.max_length or (_MAX_STRING if f.type == LType.STRING else None),
            dimension=f.dimension,
            element_type=f.element_type,
            max_capacity=f.max_capacity,
        )
        for f in opts.field_schema
    )
    return TableSchema(topic, fields)


def inferred(opts: KafkaSourceOptions, topic: str, rows: list[dict[str, Any]]) -> TableSchema:
    if not rows:
        raise KafkaError(
            Code.SCHEMA_MISMATCH,
            f"topic '{topic}' holds no message to infer its schema from",
            hint="give the columns in 'field_schema', or produce messages first",
        )
    key = opts.key_name
    seen: dict[str, list[Any]] = {key: []}
    for row in rows:
        for name, value in row.items():
            seen.setdefault(name, []).append(value)
    fields = []
    for name, values in seen.items():
        present = [v for v in values if v is not None]
        if name == key and (len(present) < len(rows)):
            raise KafkaError(
                Code.SCHEMA_MISMATCH,
                f"topic '{topic}': {len(rows) - len(present)} of {len(rows)} sampled messages have no "
                f"primary key '{key}'",
                hint="set 'primary_key' to the field holding it, or 'key_field' to take it from the message key",
            )
        if not present:
            continue  # always null in the sample: nothing says its type (give it in field_schema)
        fields.append(_field(topic, name, present, nullable=len(present) < len(rows) and name != key, key=name == key))
    return TableSchema(topic, tuple(fields))


def _field(topic: str, name: str, values: list[Any], nullable: bool, key: bool) -> Field:
    kinds = {_kind(v) for v in values}
    if kinds == {"vector"}:
        dims = sorted({len(v) for v in values})
        if len(dims) > 1:
            raise KafkaError(
                Code.SCHEMA_MISMATCH,
                f"topic '{topic}': field '{name}' holds vectors of {len(dims)} dimensions ({', '.join(map(str, dims[:5]))})",
                hint="produce one dimension per field, or declare the field in 'field_schema' "
                "(the other messages then go to the dead letters)",
            )
        return Field(name, LType.FLOAT_VECTOR, dimension=dims[0])
    if kinds == {"bool"}:
        t = LType.BOOLEAN
    elif kinds == {"int"}:
        t = LType.BIGINT
    elif kinds <= {"int", "float"}:
        t = LType.DOUBLE
    elif kinds == {"str"}:
        t = LType.STRING
    else:
        t = LType.JSON
    if key and t not in (LType.BIGINT, LType.STRING):
        raise KafkaError(
            Code.SCHEMA_MISMATCH,
            f"topic '{topic}': primary key '{name}' holds {t.value} values; Milvus keys are integers or strings",
            hint="set 'primary_key' to an integer or string field",
        )
    return Field(
        name,
        t,
        nullable=nullable,
        primary_key=key,
        max_length=_MAX_STRING if t == LType.STRING else None,
    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list) and value and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        return "vector"
    return "json"
