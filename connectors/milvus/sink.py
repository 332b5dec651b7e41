"""The Milvus sink: schema conversion and save modes on the driver, BufferBatchWriter on workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.milvus import bulk, lite
from connectors.milvus.connection import ServerInfo, check_lite_folder, connect, server_info
from connectors.milvus.convert import convert
from connectors.milvus.errors import Code, MilvusError, wrap
from connectors.milvus.options import DataSaveMode, MilvusSinkOptions, SchemaSaveMode
from connectors.milvus.splits import every_key
from connectors.milvus.target import TargetCollection
from connectors.milvus.writer import BufferBatchWriter, ensure_partition
from vts.connector import Sink, SinkWriter, Split, WriteContext
from vts.errors import DataExistsError
from vts.schema import TableSchema
from vts.stage import Stage, logged

log = logging.getLogger("vts.milvus")


@dataclass(frozen=True)
class MilvusPlan:
    server: ServerInfo
    targets: dict[str, TargetCollection]  # by source table name


class MilvusSink(Sink):
    name = "Milvus"
    doc = "Milvus or Milvus Lite through Insert/Upsert in batches (BufferBatchWriter), with schema conversion."
    Options = MilvusSinkOptions
    options: MilvusSinkOptions

    def _plan(self, client: Any, tables: list[TableSchema]) -> MilvusPlan:
        server = server_info(client)
        targets = {t.name: convert(t, self.options, server) for t in tables}
        return MilvusPlan(server, targets)

    def plan(self, tables: list[TableSchema]) -> MilvusPlan:
        client = connect(self.options)
        try:
            return self._plan(client, tables)
        finally:
            client.close()

    def check(self, tables: list[TableSchema]) -> MilvusPlan:
        """The plan, and every refusal ``prepare`` would raise, without changing anything."""
        o = self.options
        if o.is_lite_file and not Path(o.url).exists():
            # connecting would create the file; a new file holds no collection
            check_lite_folder(o)
            plan = MilvusPlan(
                ServerInfo.parse("milvus_lite"),
                {t.name: convert(t, o, ServerInfo.parse("milvus_lite")) for t in tables},
            )
            for target in plan.targets.values():
                self._check_modes(None, target, exists=False)
            return plan
        client = connect(o)
        try:
            plan = self._plan(client, tables)
            for target in plan.targets.values():
                self._check_modes(client, target, exists=client.has_collection(target.name))
            return plan
        finally:
            client.close()

    def _check_modes(self, client: Any, target: TargetCollection, exists: bool) -> None:
        o = self.options
        if exists and o.schema_save_mode == SchemaSaveMode.RECREATE_SCHEMA:
            return
        if not exists:
            if o.schema_save_mode in (SchemaSaveMode.ERROR_WHEN_SCHEMA_NOT_EXIST, SchemaSaveMode.IGNORE):
                raise _missing(target.name, o.schema_save_mode)
            return
        if o.schema_save_mode != SchemaSaveMode.IGNORE:
            _compare_existing(client, target)
        if o.data_save_mode == DataSaveMode.ERROR_WHEN_DATA_EXISTS:
            _refuse_if_rows(client, target.name)

    def prepare(self, tables: list[TableSchema], resuming: bool = False) -> MilvusPlan:
        client = connect(self.options)
        try:
            plan = self._plan(client, tables)
            for target in plan.targets.values():
                if resuming:
                    if not client.has_collection(target.name):
                        raise MilvusError(
                            Code.COLLECTION_NOT_FOUND,
                            f"collection '{target.name}', written by the interrupted run, is gone: resuming would lose rows",
                            hint="run again with --fresh (an embedded Milvus Lite file can lose data when the "
                            "process writing it is killed; use a Milvus server for long migrations)",
                        )
                    _compare_existing(client, target)
                else:
                    self._save_modes(client, target)
                if self.options.partition_name:
                    ensure_partition(client, target.name, self.options.partition_name)
                if self.options.is_lite_file and target.indexes:
                    lite.hold_index_builds(client, target.name)  # finalize() builds them once
            return plan
        finally:
            client.close()

    def finalize(self, plan: MilvusPlan, stage: Stage | None = None) -> None:
        """Driver, after ``commit``: block until every target collection is ready to search.

        Milvus Lite (a ``.db`` file, embedded in this process): wait for its
        background compaction, then load each collection, which builds the
        index of every segment once (see ``connectors/milvus/lite.py``); each
        collection's wait runs inside ``stage("building the index of <name>")``
        (default: :func:`vts.stage.logged`). Afterwards nothing is left for
        Lite to do when the process exits. A Milvus server builds indexes on
        its own: nothing to wait for, no stage.
        """
        if not self.options.is_lite_file or self.options.bulk_writer_config:
            return
        stage = stage or logged
        client = connect(self.options)
        try:
            for target in plan.targets.values():
                what = f"building the index of {target.name}" if target.indexes else f"compacting {target.name}"
                with stage(what):
                    lite.wait_for_compaction(self.options.url, self.options.database, target.name)
                    if target.indexes:
                        lite.build_indexes(client, target.name)
        finally:
            client.close()

    def _save_modes(self, client: Any, target: TargetCollection) -> None:
        o, name = self.options, target.name
        exists = _call(client.has_collection, Code.SHOW_COLLECTIONS_ERROR, f"looking up {name}", name)
        if exists and o.schema_save_mode == SchemaSaveMode.RECREATE_SCHEMA:
            log.info("dropping collection %s (schema_save_mode RECREATE_SCHEMA)", name)
            _call(client.drop_collection, Code.CREATE_COLLECTION_ERROR, f"dropping {name}", name)
            exists = False
        if not exists:
            if o.schema_save_mode in (SchemaSaveMode.ERROR_WHEN_SCHEMA_NOT_EXIST, SchemaSaveMode.IGNORE):
                raise _missing(name, o.schema_save_mode)
            self._create(client, target)
            return
        if o.schema_save_mode != SchemaSaveMode.IGNORE:
            _compare_existing(client, target)
        if o.bulk_writer_config and o.data_save_mode == DataSaveMode.APPEND_DATA and count_rows(client, name):
            log.warning(
                "collection %s already holds rows and the Import API only inserts: rows with the same keys "
                "will be there twice (use data_save_mode DROP_DATA to replace them)",
                name,
            )
        if o.data_save_mode == DataSaveMode.DROP_DATA:
            _drop_data(client, target)
        elif o.data_save_mode == DataSaveMode.ERROR_WHEN_DATA_EXISTS:
            _refuse_if_rows(client, name)

    def _create(self, client: Any, target: TargetCollection) -> None:
        kwargs: dict[str, Any] = {"schema": target.pymilvus_schema()}
        if target.indexes:
            kwargs["index_params"] = target.index_params(client)
        if target.consistency_level:
            kwargs["consistency_level"] = target.consistency_level
        if target.shard_num:
            kwargs["num_shards"] = target.shard_num
        if target.num_partitions and target.has_partition_key:
            kwargs["num_partitions"] = target.num_partitions
        log.info("creating collection %s", target.name)
        _call(
            client.create_collection,
            Code.CREATE_COLLECTION_ERROR,
            f"creating collection {target.name}",
            target.name,
            **kwargs,
        )

    def writer(self, plan: MilvusPlan, split: Split, ctx: WriteContext) -> SinkWriter:
        target = plan.targets[split.table]
        partition = self.options.partition_name or (None if target.has_partition_key else split.partition)
        if self.options.bulk_writer_config:
            return bulk.open_writer(self.options, plan, target, split, partition, ctx)
        client = connect(self.options)
        try:
            return BufferBatchWriter(client, self.options, target, split, partition, ctx)
        except Exception:
            client.close()
            raise

    def verifier(self, plan: MilvusPlan) -> Any:
        from connectors.milvus.verify import MilvusVerifier

        return MilvusVerifier(connect(self.options), plan)

    def commit(self, plan: MilvusPlan, infos: list[Any], journal: Any = None) -> int | None:
        """BulkWriter: import the staged files once; returns the rows the server reports imported."""
        if self.options.bulk_writer_config:
            return bulk.commit(self.options, plan, infos, journal)
        return None

    def field_mapping(self, plan: MilvusPlan, table: str) -> list[tuple[str | None, str, str]]:
        target = plan.targets[table]
        rows = [_mapping_row(f) for f in target.fields]
        rows += [(name, "(dynamic)", "dynamic key") for name in target.dynamic_sources]
        if target.enable_dynamic_field:
            rows.append(("$meta", "(dynamic field)", "its keys become dynamic keys"))
        return rows

    def describe_plan(self, plan: MilvusPlan) -> list[str]:
        lines = [f"target: Milvus {plan.server.version} at {self.options.url}"]
        for source, t in plan.targets.items():
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


def _missing(name: str, mode: SchemaSaveMode) -> MilvusError:
    return MilvusError(
        Code.COLLECTION_NOT_FOUND,
        f"collection '{name}' does not exist and schema_save_mode is {mode.value}",
        hint="create it first, or use schema_save_mode CREATE_SCHEMA_WHEN_NOT_EXIST",
    )


def _refuse_if_rows(client: Any, name: str) -> None:
    rows = count_rows(client, name)
    if rows:
        raise DataExistsError(
            f"collection '{name}' already holds {rows} row(s) and data_save_mode is ERROR_WHEN_DATA_EXISTS",
            hint="use data_save_mode APPEND_DATA (upserts by key) or DROP_DATA, or pick another collection",
        )


def _call(fn: Any, code: Code, what: str, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        raise wrap(exc, code, what) from None


def count_rows(client: Any, collection: str) -> int:
    """Exact row count (Strong consistency), loading the collection if it can be."""
    state = str(client.get_load_state(collection).get("state", ""))
    if "NotLoad" in state:
        try:
            client.load_collection(collection)
        except Exception:
            return int(client.get_collection_stats(collection).get("row_count", 0))
    res = client.query(collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(res[0]["count(*)"])


def _drop_data(client: Any, target: TargetCollection) -> None:
    name, pk = target.name, target.primary
    log.info("deleting every row of %s (data_save_mode DROP_DATA)", name)
    count_rows(client, name)  # loads the collection: delete by expression needs it
    expr = every_key(pk.name, pk.dtype == "VARCHAR")
    _call(client.delete, Code.WRITE_DATA_FAIL, f"deleting rows of {name}", name, filter=expr)
    left = count_rows(client, name)
    if left:
        raise MilvusError(Code.WRITE_DATA_FAIL, f"DROP_DATA left {left} row(s) in {name}")


def _compare_existing(client: Any, target: TargetCollection) -> None:
    """Refuse to write into an existing collection whose schema cannot take the rows."""
    desc = _call(client.describe_collection, Code.DESC_COLLECTION_ERROR, f"describing {target.name}", target.name)
    existing = {f["name"]: f for f in desc["fields"]}
    problems = []
    for f in target.fields:
        have = existing.get(f.name)
        if have is None:
            if not desc.get("enable_dynamic_field"):
                problems.append(f"field '{f.name}' is missing")
            continue
        if have["type"].name != f.dtype:
            problems.append(f"field '{f.name}' is {have['type'].name}, the source gives {f.dtype}")
            continue
        params = have.get("params", {})
        if f.dim is not None and "dim" in params and int(params["dim"]) != f.dim:
            problems.append(f"field '{f.name}' has dimension {params['dim']}, the source gives {f.dim}")
        if f.is_primary and bool(have.get("auto_id")) != f.auto_id:
            problems.append(f"primary key '{f.name}' auto_id is {bool(have.get('auto_id'))} on the target")
    wanted = {f.name for f in target.fields}
    for name, have in existing.items():
        if name in wanted or have.get("is_primary") or have.get("nullable") or "default_value" in have:
            continue
        if have.get("is_function_output"):
            continue
        problems.append(f"target field '{name}' has no source column and no default")
    if problems:
        raise MilvusError(
            Code.INVALID_PARAM,
            f"existing collection '{target.name}' does not match the source: " + "; ".join(problems),
            hint="use schema_save_mode RECREATE_SCHEMA to rebuild it, collection_rename to write elsewhere, "
            "or field_schema to map the fields",
        )
