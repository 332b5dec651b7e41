"""The Milvus sink: the layout (schema mapping), preflight and the target catalog on the driver; writers on workers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from vts import secrets
from vts.connector import Sink, SinkWriter, Split, WriteContext
from vts.connectors.milvus import lite
from vts.connectors.milvus.bulk.commit import import_staged
from vts.connectors.milvus.bulk.preflight import preflight
from vts.connectors.milvus.bulk.writer import StagingWriter
from vts.connectors.milvus.catalog import MilvusCatalog, wait_loading
from vts.connectors.milvus.connection import ServerInfo, check_lite_folder, connect, lite_file_bound, server_info
from vts.connectors.milvus.mapping import map_table
from vts.connectors.milvus.options import DataSaveMode, MilvusSinkOptions, SchemaSaveMode
from vts.connectors.milvus.target import MilvusLayout
from vts.connectors.milvus.verify import MilvusVerifier
from vts.connectors.milvus.writer import BufferBatchWriter
from vts.schema import DYNAMIC_FIELD, TableSchema
from vts.stage import Stage

log = logging.getLogger("vts.milvus")


class MilvusSink(Sink):
    name = "Milvus"
    doc = "Milvus or Milvus Lite through Insert/Upsert in batches (BufferBatchWriter), with schema mapping."
    Options = MilvusSinkOptions
    options: MilvusSinkOptions

    def process_bound(self) -> str | None:
        if not self.options.is_lite_file:
            return None
        return lite_file_bound(self.options.url)

    def layout(self, tables: list[TableSchema]) -> MilvusLayout:
        o = self.options
        if o.is_lite_file and not Path(o.url).exists():
            # connecting would create the file; what a new file can hold is known without it
            check_lite_folder(o)
            server = ServerInfo.parse("milvus_lite")
        else:
            client = connect(o)
            try:
                server = server_info(client)
            finally:
                client.close()
        return MilvusLayout(server, {t.name: map_table(t, o, server) for t in tables})

    def preflight(self, layout: MilvusLayout) -> list[str]:
        if not self.options.bulk_writer_config:
            return []
        return preflight(self.options, layout)

    def catalog(self, layout: MilvusLayout) -> MilvusCatalog:
        return MilvusCatalog(self.options, layout.targets)

    def save_modes(self) -> tuple[SchemaSaveMode, DataSaveMode]:
        return self.options.schema_save_mode, self.options.data_save_mode

    def finalize(self, layout: MilvusLayout, stage: Stage) -> None:
        """Driver, after ``commit``: block until every target collection is ready to search.

        Milvus Lite (a ``.db`` file, embedded in this process): wait for its
        background compaction, then load each collection, which builds the
        index of every segment once (see ``connectors/milvus/lite.py``); each
        collection's wait runs inside ``stage("building the index of <name>")``.
        Afterwards nothing is left for
        Lite to do when the process exits. A Milvus server builds indexes on
        its own; what is left is the load :meth:`MilvusCatalog.create` started,
        finished long before on all but the smallest runs.
        """
        if not layout.targets or (self.options.bulk_writer_config and self.options.is_lite_file):
            return
        client = connect(self.options)
        try:
            if not self.options.is_lite_file:
                for target in layout.targets.values():
                    wait_loading(client, target.name, self.options.timeout)
                return
            for target in layout.targets.values():
                what = f"building the index of {target.name}" if target.indexes else f"compacting {target.name}"
                with stage(what):
                    lite.wait_for_compaction(self.options.url, self.options.database, target.name)
                    if target.indexes:
                        lite.build_indexes(client, target.name)
        finally:
            client.close()

    def max_error_rows(self) -> int:
        return self.options.max_error_rows

    def stages(self, layout: MilvusLayout) -> bool:
        return self.options.bulk_writer_config is not None

    def writer(self, layout: MilvusLayout, split: Split, ctx: WriteContext) -> SinkWriter:
        target = layout.targets[split.table]
        partition = self.options.partition_name or (None if target.has_partition_key else split.partition)
        if self.options.bulk_writer_config:
            return StagingWriter(self.options.bulk_writer_config, target, split, partition, ctx)
        client = connect(self.options)
        try:
            return BufferBatchWriter(client, self.options, target, split, partition, ctx)
        except Exception:
            client.close()
            raise

    def describe_targets(self, layout: MilvusLayout) -> dict[str, str]:
        where = secrets.redact(self.options.url)
        return {source: f"collection {t.name} at {where}" for source, t in layout.targets.items()}

    def verifier(self, layout: MilvusLayout) -> Any:
        return MilvusVerifier(connect(self.options), layout)

    def commit(self, layout: MilvusLayout, infos: list[Any], journal: Any = None) -> int | None:
        """BulkWriter: import the staged files once; returns the rows the server reports imported."""
        if self.options.bulk_writer_config:
            return import_staged(self.options, layout, infos, journal)
        return None

    def field_mapping(self, layout: MilvusLayout, table: str) -> list[tuple[str | None, str, str]]:
        target = layout.targets[table]
        rows = [_mapping_row(f) for f in target.fields]
        rows += [(name, "(dynamic)", "dynamic key") for name in target.dynamic_sources]
        if target.enable_dynamic_field:
            rows.append((DYNAMIC_FIELD, "(dynamic field)", "its keys become dynamic keys"))
        return rows

    def describe_layout(self, layout: MilvusLayout) -> list[str]:
        lines = [f"target: Milvus {layout.server.version} at {self.options.url}"]
        for source, t in layout.targets.items():
            lines.append(f"collection {t.name} (from {source})" + (f": {t.description}" if t.description else ""))
            if t.enable_dynamic_field:
                extra = f" ({', '.join(t.dynamic_sources)})" if t.dynamic_sources else ""
                lines.append(f"  dynamic field on{extra}")
            lines.extend(
                f"  index on {i.field}: {i.index_type} {i.metric_type or ''} {i.params or ''}".rstrip()
                for i in t.indexes
            )
            if t.partitions:
                lines.append(f"  partitions: {', '.join(t.partitions)}")
        bulk_config = self.options.bulk_writer_config
        how = (
            f"Parquet staged to {bulk_config.cloud_id} storage, then Milvus's Import API"
            if bulk_config
            else f"{self.options.write_mode} in batches of {self.options.batch_size}"
        )
        lines.append(
            f"write: {how}; "
            f"schema_save_mode {self.options.schema_save_mode.value}, data_save_mode {self.options.data_save_mode.value}"
        )
        return lines


def _mapping_row(f: Any) -> tuple[str | None, str, str]:
    return (f.source, f.name, f.describe())
