"""SeaTunnel's SQL transform: ``SELECT ... FROM <table> WHERE ...`` over each batch, run by DuckDB."""

from __future__ import annotations

import pyarrow as pa
from pydantic import Field

from vts.connector import Options, Transform
from vts.connectors.transforms import duck
from vts.rejects import SplitRejects
from vts.schema import TableSchema


class SqlOptions(Options):
    query: str = Field(
        description='One SELECT over the rows, e.g. "SELECT id, lower(title) AS title FROM t WHERE year > 2000".'
    )
    table_name: str | None = Field(
        None,
        description="Name the query reads the rows as (a .conf job's plugin_input); default: the source table's name.",
    )


class Sql(Transform):
    name = "Sql"
    doc = "A SQL SELECT over each batch (DuckDB's dialect): filter rows, cast, compute, drop and rename columns."
    Options = SqlOptions
    options: SqlOptions

    def _table_name(self, table: TableSchema) -> str:
        return self.options.table_name or table.name

    def schema(self, table: TableSchema) -> TableSchema:
        duck.check_select(self.name, self.options.query)
        return duck.output_schema(self.name, self.options.query, self._table_name(table), table)

    def apply(self, batch: pa.RecordBatch, table: TableSchema, rejects: SplitRejects | None = None) -> pa.RecordBatch:
        # The output schema is recomputed per batch (one run over no rows, well under a millisecond) rather
        # than cached on the transform, which holds options only.
        out = duck.output_schema(self.name, self.options.query, self._table_name(table), table)
        return duck.run(self.name, self.options.query, self._table_name(table), batch, out, rejects)
