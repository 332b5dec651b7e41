from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pyarrow as pa

from vts.connector import Position, Source, Split
from vts.connectors.file import fs as files
from vts.connectors.file.conform import conform
from vts.connectors.file.errors import FileSourceError, wrap
from vts.connectors.file.formats import parquet
from vts.connectors.file.schema import float64_vectors, infer
from vts.connectors.vdf import meta
from vts.connectors.vdf.errors import Code, VdfError, recode
from vts.connectors.vdf.options import VdfSourceOptions
from vts.schema import Field, IndexSpec, LType, TableSchema

INDEX_COLUMN = "__index_level_"  # a pandas index pandas kept as a column: not data


class VdfSource(Source):
    """vector-io's VDF folders: every namespace of every index as a table, read by Parquet row-group ranges."""

    name = "VDF"
    doc = (
        "A vector-io (VDF) export folder: VDF_META.json plus Parquet; every index and namespace as a table, "
        "vectors and metadata as stored, the index metric from the metadata."
    )
    Options = VdfSourceOptions
    options: VdfSourceOptions

    def discover(self) -> list[TableSchema]:
        return [self._describe(ns) for ns in self._namespaces()]

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> list[Split]:
        by_table = {ns.table: ns for ns in self._namespaces()}
        out = []
        for table in tables:
            for uri in self._files(by_table[table.name]):
                for spec, rows in self._guard(lambda u=uri: parquet.pieces(self.options, u), uri):
                    a, b = spec["row_groups"]
                    digest = hashlib.sha1(uri.encode()).hexdigest()[:8]
                    sid = f"{table.name}/{uri.rsplit('/', 1)[-1]}-{digest}/rg{a}-{b}"
                    out.append(Split(sid, table.name, None, rows, spec))
        return out

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        reader = parquet.read(self.options, split.spec, position)
        while True:
            try:
                batch, pos = next(reader)
            except StopIteration:
                return
            except Exception as exc:
                raise self._error(exc, f"reading split {split.id}", split.spec["file"]) from None
            yield conform(batch, table), pos

    # -- driver helpers --------------------------------------------------------------------------

    def _error(self, exc: BaseException, what: str, where: str) -> VdfError:
        if isinstance(exc, VdfError):
            return exc
        if isinstance(exc, FileSourceError):
            return recode(exc)
        return wrap(exc, what, where, VdfError)  # type: ignore[return-value]

    def _guard(self, fn, where: str):  # type: ignore[no-untyped-def]
        try:
            return fn()
        except Exception as exc:
            raise self._error(exc, "a Parquet file", where) from None

    def _namespaces(self) -> list[meta.Namespace]:
        try:
            _, spaces = meta.read(self.options)
        except Exception as exc:
            raise self._error(exc, "reading VDF_META.json", self.options.path) from None
        if not spaces:
            raise VdfError(
                Code.META_INVALID, f"{self.options.path}/VDF_META.json lists no namespace", hint="export again"
            )
        return spaces

    def _files(self, ns: meta.Namespace) -> list[str]:
        return self._guard(lambda: files.expand(self.options, ns.data_path, parquet.suffixes), ns.data_path)

    def _describe(self, ns: meta.Namespace) -> TableSchema:
        uris = self._files(ns)
        schemas = []
        samples: dict[str, pa.ChunkedArray] = {}
        for uri in uris:
            schema, rows = self._guard(lambda u=uri: parquet.sample(self.options, u), uri)
            schemas.append((uri, schema))
            for name in rows.column_names:
                samples.setdefault(name, rows.column(name))
        try:
            unified = pa.unify_schemas([s for _, s in schemas])
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            first_uri, first = schemas[0]
            for uri, schema in schemas[1:]:
                try:
                    pa.unify_schemas([first, schema])
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    raise VdfError(
                        Code.SCHEMA_MISMATCH,
                        f"{uri} has another schema than {first_uri} in namespace '{ns.namespace}' of index "
                        f"{ns.index}: {' '.join(str(exc).split())[:200]}",
                        hint="export the namespace again, or remove the odd file",
                    ) from None
            raise
        fields: list[Field] = []
        for f in unified:
            if f.name.startswith(INDEX_COLUMN):
                continue
            if f.name in ns.vector_columns:
                fields.append(Field(f.name, LType.FLOAT_VECTOR, dimension=ns.dimensions))
                continue
            try:
                field = infer(f.name, f.type, samples.get(f.name), uris[0])
            except FileSourceError as exc:
                raise recode(exc) from None
            if field.type.is_vector:  # a list of floats vector-io did not name as a vector: metadata
                field = Field(f.name, LType.ARRAY, element_type=LType.DOUBLE, nullable=True)
            fields.append(field.with_(primary_key=True, nullable=False) if f.name == ns.id_column else field)
        missing = [c for c in (ns.id_column, *ns.vector_columns) if c not in unified.names]
        if missing:
            raise VdfError(
                Code.META_INVALID,
                f"the Parquet files of {ns.data_path} have no column {', '.join(missing)} that VDF_META.json names",
                hint="export the data again with vector-io",
            )
        wide = float64_vectors(fields, unified)
        if wide:
            import logging

            logging.getLogger("vts.vdf").warning(
                "%s: vector column(s) %s are stored as float64; Milvus's FloatVector keeps float32, so each value "
                "is carried rounded to the nearest float32",
                ns.table,
                ", ".join(wide),
            )
        metric = self._guard(lambda: meta.milvus_metric(ns, self.options.metric), ns.data_path)
        indexes = tuple(IndexSpec(c, metric_type=metric) for c in ns.vector_columns) if metric else ()
        described = f"vector-io index {ns.index}" + (f", namespace {ns.namespace}" if ns.namespace else "")
        return TableSchema(ns.table, tuple(fields), description=described, indexes=indexes)
