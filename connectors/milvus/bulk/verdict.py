"""The import's verdict: the final state of every job -> the rows imported, or MILVUS-26/27/28."""

from __future__ import annotations

import logging

from vts.connectors.milvus.bulk.config import BulkWriterConfig
from vts.connectors.milvus.bulk.errors import completed_with_errors, import_failed, too_many_failed
from vts.connectors.milvus.bulk.importer import Progress

log = logging.getLogger("vts.milvus.bulk")


def verdict(states: list[Progress], cfg: BulkWriterConfig) -> int:
    """Rows imported, or the coded error: 26 all failed, 28 over max_error_rows, 27 any failed row when unset."""
    failed = sum(s.failed_rows for s in states)
    staged = sum(s.staged for s in states)
    imported = sum(s.imported for s in states)
    reasons = [r for s in states for r in s.reasons]
    names = ", ".join(sorted({s.group.collection for s in states if s.failed_rows})) or "?"
    if failed and imported == 0:
        text = "; ".join(dict.fromkeys(reasons))[:800] or "no reason given"
        hint = None
        if "does not exist" in text.lower() or "no such" in text.lower():
            hint = (
                "the server could not find the staged files: a self-hosted Milvus reads its own bucket, so "
                "bulk_writer_config.bucket_name must be the server's minio.bucketName (local: a folder the "
                "server can read at the same path); the staged files are kept"
            )
        raise import_failed(names, text, hint)
    if failed:
        if cfg.max_error_rows is None:
            raise completed_with_errors(names, failed, staged, reasons)
        if failed > cfg.max_error_rows:
            raise too_many_failed(names, failed, cfg.max_error_rows, reasons)
        log.warning(
            "import: %s row(s) failed, within max_error_rows=%d (%s)",
            f"{failed:,}",
            cfg.max_error_rows,
            "; ".join(dict.fromkeys(reasons))[:300],
        )
    return imported
