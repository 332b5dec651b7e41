"""Built-in transforms (SeaTunnel's names): FieldMapper and FieldRename."""

from __future__ import annotations

import pyarrow as pa
from pydantic import Field

from vts.connector import Options, Transform
from vts.errors import ConfigError
from vts.schema import TableSchema


def _require_columns(transform: str, table: TableSchema, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.names]
    if missing:
        raise ConfigError(
            f"{transform}: column(s) {missing} not in table '{table.name}'",
            hint=f"columns are: {', '.join(table.names)}",
        )


class FieldMapperOptions(Options):
    field_mapper: dict[str, str] = Field(description="source column -> output column; unlisted columns are dropped.")


class FieldMapper(Transform):
    name = "FieldMapper"
    doc = "Keep only the listed columns, renamed (source -> output), in the listed order."
    Options = FieldMapperOptions
    options: FieldMapperOptions

    def schema(self, table: TableSchema) -> TableSchema:
        _require_columns("FieldMapper", table, list(self.options.field_mapper))
        fields = tuple(table.field(src).with_(name=dst) for src, dst in self.options.field_mapper.items())
        return table.with_(fields=fields, indexes=())

    def apply(self, batch: pa.RecordBatch, table: TableSchema) -> pa.RecordBatch:
        m = self.options.field_mapper
        return pa.RecordBatch.from_arrays([batch.column(src) for src in m], names=list(m.values()))


class FieldRenameOptions(Options):
    fields: dict[str, str] = Field(description="old name -> new name; other columns pass unchanged.")


class FieldRename(Transform):
    name = "FieldRename"
    doc = "Rename columns (old -> new); every other column passes unchanged."
    Options = FieldRenameOptions
    options: FieldRenameOptions

    def schema(self, table: TableSchema) -> TableSchema:
        _require_columns("FieldRename", table, list(self.options.fields))
        ren = self.options.fields
        fields = tuple(f.with_(name=ren.get(f.name, f.name)) for f in table.fields)
        indexes = tuple(
            i.__class__(ren.get(i.field, i.field), i.index_type, i.metric_type, i.params, i.name) for i in table.indexes
        )
        return table.with_(fields=fields, indexes=indexes)

    def apply(self, batch: pa.RecordBatch, table: TableSchema) -> pa.RecordBatch:
        ren = self.options.fields
        return batch.rename_columns([ren.get(n, n) for n in batch.schema.names])
