"""L2-normalise float vectors, for a change of metric (L2 -> IP gives cosine ranking on unit vectors)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import Field

from vts.connector import Options, Transform
from vts.connectors.transforms.errors import Code, fail, require_columns
from vts.connectors.transforms.rows import reject
from vts.rejects import SplitRejects
from vts.schema import IndexSpec, LType, TableSchema

_METRICS = ("IP", "COSINE", "L2")


class NormalizeVectorOptions(Options):
    fields: list[str] | None = Field(None, description="Float vector columns to normalise (default: all of them).")
    metric_type: str | None = Field(
        None, description="Metric of these fields' indexes on the target (IP, COSINE, L2); default: as the source."
    )


class NormalizeVector(Transform):
    name = "NormalizeVector"
    doc = "Scale float vectors to unit length (L2); zero or non-finite vectors go to the dead letters."
    Options = NormalizeVectorOptions
    options: NormalizeVectorOptions

    def _fields(self, table: TableSchema) -> list[str]:
        vectors = [f.name for f in table.fields if f.type == LType.FLOAT_VECTOR]
        wanted = self.options.fields if self.options.fields is not None else vectors
        require_columns(self.name, table.names, wanted)
        wrong = [n for n in wanted if n not in vectors]
        if wrong:
            fail(
                Code.NOT_SUPPORT_TYPE,
                self.name,
                f"column(s) {wrong} are not FLOAT_VECTOR",
                hint=f"its float vector columns are: {', '.join(vectors) or 'none'}",
            )
        if not wanted:
            fail(Code.INVALID_OPTION, self.name, "its input has no FLOAT_VECTOR column to normalise")
        return wanted

    def schema(self, table: TableSchema) -> TableSchema:
        fields = self._fields(table)
        metric = self.options.metric_type
        if metric is None:
            return table
        if metric.upper() not in _METRICS:
            fail(Code.INVALID_OPTION, self.name, f"metric_type {metric!r} is not one of {_METRICS}")
        indexes = [
            i.__class__(i.field, i.index_type, metric.upper(), i.params, i.name) if i.field in fields else i
            for i in table.indexes
        ]
        indexed = {i.field for i in indexes}
        indexes += [IndexSpec(f, metric_type=metric.upper()) for f in fields if f not in indexed]
        return table.with_(indexes=tuple(indexes))

    def apply(self, batch: pa.RecordBatch, table: TableSchema, rejects: SplitRejects | None = None) -> pa.RecordBatch:
        reasons: dict[int, str] = {}
        for name in self._fields(table):
            i = batch.schema.get_field_index(name)
            column = batch.column(i)
            dim = column.type.list_size
            # A fixed-size list's values are one flat buffer: view it as rows x dim without a Python loop
            # (``flatten`` would skip null rows and break the shape).
            flat = column.values.slice(column.offset * dim, len(column) * dim).to_numpy(zero_copy_only=False)
            matrix = flat.astype(np.float32, copy=False).reshape(len(column), dim)
            valid = np.asarray(column.is_valid())
            norms = np.full(len(column), np.nan, dtype=np.float32)
            with np.errstate(over="ignore", invalid="ignore"):
                norms[valid] = np.linalg.norm(matrix[valid], axis=1)
            bad = valid & ~(np.isfinite(norms) & (norms > 0))
            for row in np.flatnonzero(bad):
                what = "zero" if norms[row] == 0 else "non-finite"
                reasons.setdefault(int(row), f"'{name}' is a {what} vector, which has no direction to keep")
            good = valid & ~bad
            values = np.zeros((len(column), dim), dtype=np.float32)
            values[good] = matrix[good] / norms[good][:, None]
            normed = pa.FixedSizeListArray.from_arrays(
                pa.array(values.reshape(-1), pa.float32()), dim, mask=pa.array(~valid)
            )
            batch = batch.set_column(i, batch.schema.field(i), normed)
        return reject(batch, reasons, self.name, rejects)
