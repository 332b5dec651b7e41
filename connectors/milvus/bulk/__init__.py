"""The Milvus sink's BulkWriter: Parquet staged in S3 / Azure / a local folder, then Milvus's Import API.

Switched on by a non-empty ``bulk_writer_config`` (:class:`BulkWriterConfig`).
The sink keeps its plan and catalog (schema and save modes); this package
supplies the rest of the contract:

- :func:`preflight` (driver, before any save mode acts): Milvus Lite has no
  Import API; the staging area must take a probe file;
- :func:`open_writer` (workers): a :class:`StagingWriter` per split, whose
  ``finish`` returns the list of files it made durable (the commit info);
- :func:`commit` (driver, once): imports exactly the files in the commit
  infos, waits, and returns the rows the server reports imported. Only these
  count as written (``vts run``'s summary); staged rows are reported apart.

Layout and file naming: :mod:`.writer`; Parquet layout: :mod:`.parquet`;
import and the MILVUS-26/27/28 verdict: :mod:`.importer`.
"""

from __future__ import annotations

import logging
from typing import Any

from connectors.milvus.bulk.config import BulkWriterConfig
from connectors.milvus.bulk.errors import writer_error
from connectors.milvus.bulk.importer import Group, GrpcImporter, Importer, RestImporter, verdict, wait
from connectors.milvus.bulk.storage import open_storage
from connectors.milvus.bulk.writer import StagingWriter
from connectors.milvus.target import TargetCollection
from vts.connector import Split, WriteContext

log = logging.getLogger("vts.milvus.bulk")

__all__ = ["BulkWriterConfig", "StagingWriter", "choose_method", "commit", "open_writer", "preflight"]


def choose_method(cfg: BulkWriterConfig, server: Any) -> str:
    """``grpc`` or ``rest`` for this server (``server``: connection.ServerInfo)."""
    if cfg.import_method != "auto":
        return cfg.import_method
    if cfg.cluster_id or cfg.rest_url:
        return "rest"
    return "rest" if server.major_minor >= (2, 4) else "grpc"


def preflight(opts: Any, plan: Any) -> list[str]:
    """Driver, before any save mode acts: the Import API exists here and the staging area takes files."""
    cfg: BulkWriterConfig = opts.bulk_writer_config
    if cfg.auto_import and plan.server.lite and not (cfg.cluster_id or cfg.rest_url):
        raise writer_error(
            "Milvus Lite has no Import API, so the BulkWriter cannot load the staged files into it",
            hint="remove bulk_writer_config to use the insert writer, or point 'url' at a Milvus server",
        )
    storage = open_storage(cfg)
    try:
        storage.probe(cfg.clean_prefix)
    finally:
        storage.close()
    where = f"{storage.kind} {getattr(storage, 'bucket', None) or getattr(storage, 'container', None) or ''}"
    lines = [f"staging area ({where.strip()}, prefix '{cfg.clean_prefix}'): reachable and writable"]
    if cfg.auto_import:
        lines.append(f"import through {choose_method(cfg, plan.server)} on Milvus {plan.server.version}")
    else:
        lines.append("auto_import is false: files are staged, not imported")
    return lines


def open_writer(
    opts: Any, plan: Any, target: TargetCollection, split: Split, partition: str | None, ctx: WriteContext
) -> StagingWriter:
    """Worker: a staging writer for one split (``opts``: MilvusSinkOptions, ``plan``: MilvusPlan)."""
    return StagingWriter(opts.bulk_writer_config, target, split, partition, ctx)


def _groups(infos: list[Any]) -> list[Group]:
    by_key: dict[tuple[str, str | None], Group] = {}
    for info in infos:
        if not info or not info.get("files"):
            continue
        key = (info["collection"], info.get("partition"))
        group = by_key.setdefault(key, Group(key[0], key[1], []))
        group.files.extend(info["files"])
    return list(by_key.values())


def commit(opts: Any, plan: Any, infos: list[Any], journal: Any = None) -> int:
    """Driver: import every staged file once; returns the rows Milvus reports imported."""
    from connectors.milvus.connection import connect
    from connectors.milvus.writer import ensure_partition

    cfg: BulkWriterConfig = opts.bulk_writer_config
    groups = _groups(infos)
    staged = sum(g.rows for g in groups)
    files = [f for g in groups for f in g.files]
    if not groups:
        log.info("bulk writer: nothing was staged, nothing to import")
        return 0
    if not cfg.auto_import:
        log.warning(
            "bulk writer: %s row(s) staged in %d file(s) under %s; auto_import is false, so nothing was imported",
            f"{staged:,}",
            len(files),
            cfg.clean_prefix or "/",
        )
        return 0
    storage = open_storage(cfg)
    method = choose_method(cfg, plan.server)
    client = connect(opts)
    try:
        for g in groups:
            if g.partition:
                ensure_partition(client, g.collection, g.partition)
        importer: Importer
        if method == "grpc":
            importer = GrpcImporter(client, timeout=opts.timeout, journal=journal)
        else:
            token = cfg.secret("rest_token") if cfg.rest_token is not None else opts.token.get_secret_value()
            importer = RestImporter(cfg, cfg.rest_url or opts.url, token, opts.database, storage, journal=journal)
        log.info("importing %s row(s) from %d file(s) through %s", f"{staged:,}", len(files), method)
        handles = [importer.submit(g) for g in groups]
        states = wait(importer, handles, cfg)
        imported = verdict(states, cfg)
        if not plan.server.lite:  # Milvus Lite never finishes a refresh load
            _refresh(client, {g.collection for g in groups}, timeout=opts.timeout)
    finally:
        client.close()
    if not cfg.keep_staged_files:
        storage.delete([f["key"] for f in files])
        log.info("deleted %d staged file(s) (keep_staged_files is false)", len(files))
    return imported


def _refresh(client: Any, collections: set[str], timeout: float) -> None:
    """A loaded collection shows imported segments after a refresh load; best effort."""
    for name in collections:
        try:
            state = str(client.get_load_state(name).get("state", ""))
            if "Loaded" in state and "NotLoad" not in state:
                client.load_collection(name, refresh=True, timeout=timeout)
        except Exception:
            log.debug("refreshing %s after the import failed", name, exc_info=True)
