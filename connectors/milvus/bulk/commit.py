"""The BulkWriter's commit, on the driver, once: import every staged file of the run, wait, judge."""

from __future__ import annotations

import logging
from typing import Any

from vts.connectors.milvus.bulk.config import BulkWriterConfig
from vts.connectors.milvus.bulk.grpc_import import GrpcImporter
from vts.connectors.milvus.bulk.importer import Group, Importer, wait
from vts.connectors.milvus.bulk.rest_import import RestImporter
from vts.connectors.milvus.bulk.storage import open_storage
from vts.connectors.milvus.bulk.verdict import verdict
from vts.connectors.milvus.catalog import wait_loading
from vts.connectors.milvus.connection import connect
from vts.connectors.milvus.writer import ensure_partition

log = logging.getLogger("vts.milvus.bulk")


def choose_method(cfg: BulkWriterConfig, server: Any) -> str:
    """``grpc`` or ``rest`` for this server (``server``: connection.ServerInfo)."""
    if cfg.import_method != "auto":
        return cfg.import_method
    if cfg.cluster_id or cfg.rest_url:
        return "rest"
    return "rest" if server.major_minor >= (2, 4) else "grpc"


def _groups(infos: list[Any]) -> list[Group]:
    by_key: dict[tuple[str, str | None], Group] = {}
    for info in infos:
        if not info or not info.get("files"):
            continue
        key = (info["collection"], info.get("partition"))
        group = by_key.setdefault(key, Group(key[0], key[1], []))
        group.files.extend(info["files"])
    return list(by_key.values())


def import_staged(opts: Any, layout: Any, infos: list[Any], journal: Any = None) -> int:
    """Driver: import every staged file once; returns the rows Milvus reports imported."""
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
    method = choose_method(cfg, layout.server)
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
        if not layout.server.lite:  # Milvus Lite never finishes a refresh load
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
            state = wait_loading(client, name, timeout)  # the load vts started when it created the collection
            if "Loaded" in state and "NotLoad" not in state:
                client.load_collection(name, refresh=True, timeout=timeout)
        except Exception:
            log.debug("refreshing %s after the import failed", name, exc_info=True)
