"""The Parquet sink: the Milvus sink's schema mapping and the BulkWriter's staging writer, into a folder.

The files are exactly what the Milvus sink's BulkWriter stages for an import
(:mod:`vts.connectors.milvus.bulk.parquet` makes the columns,
:class:`~vts.connectors.milvus.bulk.writer.StagingWriter` the per-split file names
that a resumed or retried split replaces), so Milvus's Import API reads them
as they are; the schema is mapped as for a Milvus of ``milvus_version``.
Rows that Milvus would refuse go to the dead letters with the Milvus sink's
reasons. The files are the target: a flushed file is written, nothing is
committed but the manifest (:mod:`vts.connectors.parquet.manifest`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vts.connector import Sink, SinkWriter, Split, WriteContext
from vts.connectors.milvus.bulk.config import BulkWriterConfig
from vts.connectors.milvus.bulk.writer import StagingWriter
from vts.connectors.milvus.connection import ServerInfo
from vts.connectors.milvus.mapping import map_table
from vts.connectors.milvus.options import MilvusSinkOptions
from vts.connectors.milvus.target import TargetCollection
from vts.connectors.parquet import manifest
from vts.connectors.parquet.catalog import FolderCatalog
from vts.connectors.parquet.errors import Code, ParquetSinkError
from vts.connectors.parquet.options import ParquetSinkOptions
from vts.savemode import DataSaveMode, SchemaSaveMode
from vts.schema import TableSchema


@dataclass(frozen=True)
class ParquetLayout:
    """The Parquet sink's layout (``Sink.layout``): the root folder and each table's target collection. The
    ``layout`` option (``milvus`` or ``vdf``) is another thing: the files' format, kept under its job-file name."""

    root: str
    targets: dict[str, TargetCollection]  # by source table name


class ParquetSink(Sink):
    name = "Parquet"
    doc = (
        "Parquet files in a folder, laid out as Milvus's Import API reads them (plus vector-io's VDF_META.json "
        "with layout: vdf); per-split file names, so a resumed run replaces files instead of adding them."
    )
    Options = ParquetSinkOptions
    options: ParquetSinkOptions

    def _mapping_options(self) -> MilvusSinkOptions:
        o = self.options
        # the Milvus schema mapping reads only schema options; the url is never contacted
        return MilvusSinkOptions(
            url="parquet-sink.db",
            collection_rename=o.collection_rename,
            field_schema=o.field_schema,
            enable_dynamic_field=o.enable_dynamic_field,
            default_max_length=o.default_max_length,
            create_index=True,
        )

    def layout(self, tables: list[TableSchema]) -> ParquetLayout:
        server = ServerInfo.parse(f"v{self.options.milvus_version.lstrip('v')}")
        opts = self._mapping_options()
        return ParquetLayout(
            str(Path(self.options.path).resolve()), {t.name: map_table(t, opts, server) for t in tables}
        )

    def preflight(self, layout: ParquetLayout) -> list[str]:
        root = Path(layout.root)
        existing = next(p for p in (root, *root.parents) if p.exists())
        if not existing.is_dir():
            raise ParquetSinkError(
                Code.PATH_NOT_WRITABLE,
                f"{existing} is a file, so the folder {root} cannot be created",
                hint="set 'path' to a folder (or a place one can be created)",
            )
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ParquetSinkError(
                Code.PATH_NOT_WRITABLE,
                f"{existing} is not writable, so {root} cannot take the files",
                hint="choose a 'path' this user may write, or fix its permissions",
            )
        return [f"folder {root}: writable", f"layout {self.options.layout}, for Milvus {self.options.milvus_version}"]

    def catalog(self, layout: ParquetLayout) -> FolderCatalog:
        return FolderCatalog(Path(layout.root), layout.targets)

    def save_modes(self) -> tuple[SchemaSaveMode, DataSaveMode]:
        return self.options.schema_save_mode, self.options.data_save_mode

    def max_error_rows(self) -> int:
        return self.options.max_error_rows

    def writer(self, layout: ParquetLayout, split: Split, ctx: WriteContext) -> SinkWriter:
        target = layout.targets[split.table]
        partition = None if target.has_partition_key else split.partition
        cfg = BulkWriterConfig(
            cloud_id="local",
            local_path=layout.root,
            prefix="",
            chunk_size=self.options.chunk_size,
            row_group_mb=self.options.row_group_mb,
            auto_import=False,
        )
        Path(layout.root).mkdir(parents=True, exist_ok=True)
        return StagingWriter(cfg, target, split, partition, ctx)

    def commit(self, layout: ParquetLayout, infos: list[Any], journal: Any = None) -> int | None:
        """Write each collection's manifest (and VDF_META.json): the files were written by the writers."""
        root = Path(layout.root)
        for target in layout.targets.values():
            (root / target.name).mkdir(parents=True, exist_ok=True)
            manifest.write_json(root / target.name / manifest.MANIFEST, manifest.describe(root, target, files=True))
        if self.options.layout == "vdf":
            manifest.write_json(root / manifest.VDF_META, manifest.vdf_meta(root, list(layout.targets.values())))
        return None

    def verifier(self, layout: ParquetLayout) -> Any:
        from vts.connectors.parquet.verify import ParquetVerifier

        return ParquetVerifier(Path(layout.root), layout.targets)

    def describe_targets(self, layout: ParquetLayout) -> dict[str, str]:
        return {source: f"Parquet files in {Path(layout.root) / t.name}" for source, t in layout.targets.items()}

    def describe_layout(self, layout: ParquetLayout) -> list[str]:
        lines = [f"target: Parquet files under {layout.root} (layout {self.options.layout})"]
        for source, t in layout.targets.items():
            lines.append(f"collection {t.name} (from {source}): {', '.join(f.describe() for f in t.fields)}")
        return lines

    def field_mapping(self, layout: ParquetLayout, table: str) -> list[tuple[str | None, str, str]]:
        return [(f.source, f.name, f.describe()) for f in layout.targets[table].fields]
