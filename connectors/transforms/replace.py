"""SeaTunnel's Replace transform: replace text (or a regular expression) in one string column."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from vts.connector import Options, Transform
from vts.connectors.transforms.errors import Code, fail, require_columns
from vts.rejects import SplitRejects
from vts.schema import LType, TableSchema

_TEXT = (LType.STRING, LType.JSON, LType.GEOMETRY, LType.DATE, LType.TIME)


class ReplaceOptions(Options):
    replace_field: str = Field(description="The string column to change.")
    pattern: str = Field(description="Text to find (a regular expression, RE2 syntax, when is_regex is true).")
    replacement: str = Field(description="What replaces it (\\1 ... refer to regex groups).")
    is_regex: bool = Field(False, description="Read 'pattern' as a regular expression.")
    replace_first: bool = Field(False, description="Replace only the first match in each value.")


class Replace(Transform):
    name = "Replace"
    doc = "Replace text or a regex match in a string column; NULLs stay NULL."
    Options = ReplaceOptions
    options: ReplaceOptions

    def schema(self, table: TableSchema) -> TableSchema:
        o = self.options
        require_columns(self.name, table.names, [o.replace_field])
        field = table.field(o.replace_field)
        if field.type not in _TEXT:
            fail(
                Code.NOT_SUPPORT_TYPE,
                self.name,
                f"column '{o.replace_field}' is {field.type}, not text",
                hint="cast it first with a Sql transform: CAST(col AS VARCHAR) AS col",
            )
        try:
            self._replace(pa.array([""], pa.string()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            fail(Code.INVALID_OPTION, self.name, f"pattern {o.pattern!r}: {exc}")
        # Replacing can lengthen a value past the source's max_length: the target keeps the text whole.
        return table.with_(
            fields=tuple(f.with_(max_length=None) if f.name == o.replace_field else f for f in table.fields)
        )

    def _replace(self, values: pa.Array) -> pa.Array:
        o = self.options
        limit = 1 if o.replace_first else None
        if o.is_regex:
            return pc.replace_substring_regex(values, o.pattern, o.replacement, max_replacements=limit)
        return pc.replace_substring(values, o.pattern, o.replacement, max_replacements=limit)

    def apply(self, batch: pa.RecordBatch, table: TableSchema, rejects: SplitRejects | None = None) -> pa.RecordBatch:
        i = batch.schema.get_field_index(self.options.replace_field)
        return batch.set_column(i, batch.schema.field(i), self._replace(batch.column(i)))
