"""Column-level transforms (SeaTunnel's names): FieldMapper, FieldRename, Filter, Copy."""

from __future__ import annotations

import pyarrow as pa
from pydantic import Field, model_validator

from vts.connector import Options, Transform
from vts.connectors.transforms.errors import Code, fail, require_columns
from vts.rejects import SplitRejects
from vts.schema import IndexSpec, TableSchema


def _renamed_indexes(table: TableSchema, names: dict[str, str]) -> tuple[IndexSpec, ...]:
    """Indexes of kept columns, following their new names (``names``: old -> new; others are dropped)."""
    return tuple(
        IndexSpec(names[i.field], i.index_type, i.metric_type, i.params, i.name)
        for i in table.indexes
        if i.field in names
    )


class FieldMapperOptions(Options):
    field_mapper: dict[str, str] = Field(description="source column -> output column; unlisted columns are dropped.")


class FieldMapper(Transform):
    name = "FieldMapper"
    doc = "Keep only the listed columns, renamed (source -> output), in the listed order."
    Options = FieldMapperOptions
    options: FieldMapperOptions

    def schema(self, table: TableSchema) -> TableSchema:
        require_columns(self.name, table.names, list(self.options.field_mapper))
        m = self.options.field_mapper
        fields = tuple(table.field(src).with_(name=dst) for src, dst in m.items())
        return table.with_(fields=fields, indexes=_renamed_indexes(table, m))

    def apply(self, batch: pa.RecordBatch, table: TableSchema, rejects: SplitRejects | None = None) -> pa.RecordBatch:
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
        require_columns(self.name, table.names, list(self.options.fields))
        ren = self.options.fields
        fields = tuple(f.with_(name=ren.get(f.name, f.name)) for f in table.fields)
        _no_duplicates(self.name, [f.name for f in fields])
        return table.with_(fields=fields, indexes=_renamed_indexes(table, {n: ren.get(n, n) for n in table.names}))

    def apply(self, batch: pa.RecordBatch, table: TableSchema, rejects: SplitRejects | None = None) -> pa.RecordBatch:
        ren = self.options.fields
        return batch.rename_columns([ren.get(n, n) for n in batch.schema.names])


def _no_duplicates(transform: str, names: list[str]) -> None:
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        fail(
            Code.INVALID_OPTION,
            transform,
            f"its output would have column(s) {dupes} twice",
            hint="choose output names no other column has",
        )


class FilterOptions(Options):
    include_fields: list[str] | None = Field(None, description="Keep only these columns, in the input's order.")
    exclude_fields: list[str] | None = Field(None, description="Drop these columns; keep the others.")

    @model_validator(mode="after")
    def _one_of(self) -> FilterOptions:
        if (self.include_fields is None) == (self.exclude_fields is None):
            raise ValueError("set exactly one of 'include_fields' and 'exclude_fields'")
        return self


class Filter(Transform):
    name = "Filter"
    doc = "Keep (include_fields) or drop (exclude_fields) columns. To filter rows, use Sql with a WHERE clause."
    Options = FilterOptions
    options: FilterOptions

    def _kept(self, table: TableSchema) -> list[str]:
        o = self.options
        listed = o.include_fields if o.include_fields is not None else o.exclude_fields or []
        require_columns(self.name, table.names, listed)
        if o.include_fields is not None:
            return [n for n in table.names if n in o.include_fields]
        return [n for n in table.names if n not in listed]

    def schema(self, table: TableSchema) -> TableSchema:
        kept = self._kept(table)
        if not kept:
            fail(Code.INVALID_OPTION, self.name, "it would drop every column", hint="keep at least one")
        return table.with_(
            fields=tuple(table.field(n) for n in kept), indexes=_renamed_indexes(table, {n: n for n in kept})
        )

    def apply(self, batch: pa.RecordBatch, table: TableSchema, rejects: SplitRejects | None = None) -> pa.RecordBatch:
        return batch.select(self._kept(table))


class CopyOptions(Options):
    fields: dict[str, str] = Field(description="new column -> the column it copies, e.g. {title_raw: title}.")


class Copy(Transform):
    name = "Copy"
    doc = "Add copies of columns under new names (new -> source); the copies are plain fields, never keys."
    Options = CopyOptions
    options: CopyOptions

    def schema(self, table: TableSchema) -> TableSchema:
        require_columns(self.name, table.names, list(self.options.fields.values()))
        copies = tuple(
            table.field(src).with_(name=dst, primary_key=False, auto_id=False, partition_key=False)
            for dst, src in self.options.fields.items()
        )
        fields = table.fields + copies
        _no_duplicates(self.name, [f.name for f in fields])
        return table.with_(fields=fields)

    def apply(self, batch: pa.RecordBatch, table: TableSchema, rejects: SplitRejects | None = None) -> pa.RecordBatch:
        arrays = [*batch.columns, *(batch.column(src) for src in self.options.fields.values())]
        return pa.RecordBatch.from_arrays(arrays, names=[*batch.schema.names, *self.options.fields])
