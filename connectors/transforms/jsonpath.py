"""SeaTunnel's JsonPath transform: keys of a JSON column (a payload, Milvus's dynamic field) -> typed columns.

The extraction is compiled to one DuckDB query (``json_extract`` and a
``CAST``), so it runs columnar, and a row whose JSON does not parse or whose
value does not convert fails alone and goes to the dead letters.
"""

from __future__ import annotations

import pyarrow as pa
from pydantic import Field, field_validator

from vts import typenames
from vts.connector import Options, Transform
from vts.connectors.transforms import duck
from vts.connectors.transforms.errors import Code, fail, require_columns
from vts.rejects import SplitRejects
from vts.schema import LType, TableSchema

_TEXT = (LType.STRING, LType.JSON, LType.MAP, LType.ROW)
_DUCK: dict[LType, str] = {
    LType.BOOLEAN: "BOOLEAN",
    LType.TINYINT: "TINYINT",
    LType.SMALLINT: "SMALLINT",
    LType.INT: "INTEGER",
    LType.BIGINT: "BIGINT",
    LType.FLOAT: "FLOAT",
    LType.DOUBLE: "DOUBLE",
    LType.TIMESTAMP: "TIMESTAMP",
    LType.TIMESTAMP_TZ: "TIMESTAMPTZ",
}
_STRINGS = (LType.STRING, LType.DATE, LType.TIME, LType.GEOMETRY)
_TABLE = "__vts_rows"


class JsonPathColumn(Options):
    src_field: str = Field(description="The JSON column to read (text holding JSON).")
    path: str = Field(description="JSONPath of the value, e.g. $.author.name or $.tags[0].")
    dest_field: str = Field(description="The new column.")
    dest_type: str = Field(
        "string", description="Its type: string, int, bigint, double, boolean, array<int>, json, ..."
    )
    dimension: int | None = Field(None, ge=1, description="Dimension when dest_type is float_vector.")

    @field_validator("dest_type")
    @classmethod
    def _known(cls, value: str) -> str:
        parsed = typenames.parse(value)
        if parsed is None or (parsed.type.is_vector and parsed.type != LType.FLOAT_VECTOR):
            raise ValueError(f"unknown dest_type {value!r}; known: {', '.join(typenames.KNOWN)}")
        return value


class JsonPathOptions(Options):
    columns: list[JsonPathColumn] = Field(min_length=1, description="One entry per value to extract.")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _expr(c: JsonPathColumn) -> str:
    parsed = typenames.parse(c.dest_type)
    assert parsed is not None  # the option validator saw to it
    src, path = _ident(c.src_field), _literal(c.path)
    t = parsed.type
    if t in _STRINGS:
        return f"json_extract_string({src}, {path})"
    if t in (LType.JSON, LType.MAP, LType.ROW):
        return f"CAST(json_extract({src}, {path}) AS VARCHAR)"
    if t == LType.ARRAY:
        element = parsed.element_type
        inner = "VARCHAR" if element in _STRINGS else _DUCK.get(element)  # type: ignore[arg-type]
        if inner is None:
            raise ValueError(c.dest_type)
        return f"CAST(json_extract({src}, {path}) AS {inner}[])"
    if t == LType.FLOAT_VECTOR:
        if not c.dimension:
            raise ValueError("float_vector needs 'dimension'")
        return f"CAST(json_extract({src}, {path}) AS FLOAT[{c.dimension}])"
    if t in _DUCK:
        return f"CAST(json_extract({src}, {path}) AS {_DUCK[t]})"
    raise ValueError(c.dest_type)


class JsonPath(Transform):
    name = "JsonPath"
    doc = "Extract values of a JSON column into typed columns (path -> dest_field of dest_type)."
    Options = JsonPathOptions
    options: JsonPathOptions

    def _query(self, table: TableSchema) -> str:
        cols = self.options.columns
        require_columns(self.name, table.names, [c.src_field for c in cols])
        for c in cols:
            if table.field(c.src_field).type not in _TEXT:
                fail(
                    Code.NOT_SUPPORT_TYPE,
                    self.name,
                    f"column '{c.src_field}' is {table.field(c.src_field).type}, not JSON text",
                    hint="point src_field at a JSON or string column",
                )
        dests = [c.dest_field for c in cols]
        clash = sorted({d for d in dests if d in table.names or dests.count(d) > 1})
        if clash:
            fail(
                Code.INVALID_OPTION,
                self.name,
                f"dest_field(s) {clash} already taken",
                hint="give each extracted value a new column name",
            )
        exprs = []
        for c in cols:
            try:
                exprs.append(f"{_expr(c)} AS {_ident(c.dest_field)}")
            except ValueError as exc:
                fail(Code.INVALID_OPTION, self.name, f"'{c.dest_field}': cannot extract as {exc}")
        return f"SELECT *, {', '.join(exprs)} FROM {_TABLE}"

    def schema(self, table: TableSchema) -> TableSchema:
        out = duck.output_schema(self.name, self._query(table), _TABLE, table)
        # JSON, DATE, TIME and GEOMETRY are text in Arrow: the query's result cannot tell them from STRING.
        declared = {c.dest_field: typenames.parse(c.dest_type) for c in self.options.columns}
        fields = []
        for f in out.fields:
            parsed = declared.get(f.name)
            if parsed is not None and parsed.type in (*_STRINGS, LType.JSON, LType.MAP, LType.ROW):
                f = f.with_(type=LType.JSON if parsed.type in (LType.MAP, LType.ROW) else parsed.type)
            fields.append(f)
        return out.with_(fields=tuple(fields))

    def apply(self, batch: pa.RecordBatch, table: TableSchema, rejects: SplitRejects | None = None) -> pa.RecordBatch:
        return duck.run(self.name, self._query(table), _TABLE, batch, self.schema(table), rejects)
