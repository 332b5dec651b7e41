"""The BulkWriter's preflight, on the driver before any save mode acts: can this run import at all?"""

from __future__ import annotations

from typing import Any

from vts.connectors.milvus.bulk.commit import choose_method
from vts.connectors.milvus.bulk.config import BulkWriterConfig
from vts.connectors.milvus.bulk.errors import writer_error
from vts.connectors.milvus.bulk.storage import open_storage


def preflight(opts: Any, layout: Any) -> list[str]:
    """Driver, before any save mode acts: the Import API exists here and the staging area takes files."""
    cfg: BulkWriterConfig = opts.bulk_writer_config
    if cfg.auto_import and layout.server.lite and not (cfg.cluster_id or cfg.rest_url):
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
        lines.append(f"import through {choose_method(cfg, layout.server)} on Milvus {layout.server.version}")
    else:
        lines.append("auto_import is false: files are staged, not imported")
    return lines
