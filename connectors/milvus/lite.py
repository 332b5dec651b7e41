"""Embedded Milvus Lite: keep its index builds out of the copy, and do them once, visibly, at the end.

Milvus Lite 3.x (``url: ./file.db``) runs inside the vts process, as Python
threads. Every flush (vts flushes at each checkpoint) writes a segment and
queues background work on one thread: compaction, which merges small
segments, and, while the collection is loaded and has an index, an HNSW build
for each segment not yet indexed. Compaction then merges those segments and
their index is built again; the build of the final merged segment is still
queued when the copy ends, and Lite waits for it at interpreter exit. That
was the silent minute after the summary (measured: 30 000 768-d rows, 57 s
to build the last segment's index after the copy ended).

So vts keeps the collection released while it writes (:func:`hold_index_builds`):
only compaction runs, which is cheap. At the end of the run
:func:`build_indexes` waits for compaction to finish and loads the
collection, which builds each final segment's index exactly once, inside
the run and under a stage the user sees. Nothing is left for the exit.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from vts.connectors.milvus.errors import Code, wrap

log = logging.getLogger("vts.milvus")


def hold_index_builds(client: Any, collection: str) -> None:
    """Release ``collection`` so Milvus Lite builds no index while rows arrive (writes need no load)."""
    try:
        client.release_collection(collection)
    except Exception as exc:
        raise wrap(exc, Code.SERVER_RESPONSE_FAILED, f"releasing {collection} before writing") from None


def wait_for_compaction(url: str, database: str, collection: str) -> None:
    """Block until the embedded Lite instance of ``url`` has no background work queued for ``collection``.

    Milvus Lite exposes no call for this (its own close waits the same way),
    so this reaches the in-process instance; milvus-lite is pinned. When
    this process has no instance of the file open, nothing can be queued.
    """
    from milvus_lite.server_manager import server_manager_instance

    servers = getattr(server_manager_instance, "_servers", None)
    entry = servers.get(os.path.abspath(url)) if isinstance(servers, dict) else None
    if entry is None:
        return
    lite_db = entry[1]
    try:
        lite_collection = lite_db.get_collection(collection, database_name=database)
    except Exception:
        log.debug("Milvus Lite has no collection %s to wait for", collection, exc_info=True)
        return
    drain = getattr(lite_collection, "_wait_for_bg", None)
    if drain is None:
        log.warning(
            "this milvus-lite cannot be asked to finish its compaction of %s: the index may be built again "
            "when vts exits",
            collection,
        )
        return
    drain()


def build_indexes(client: Any, collection: str) -> None:
    """Load ``collection``: Milvus Lite builds the missing segment indexes now, and returns when they exist."""
    try:
        # no deadline: the build is the work itself (HNSW on 100 000 768-d rows takes minutes on 2 cores)
        client.load_collection(collection, timeout=None)
    except Exception as exc:
        raise wrap(exc, Code.CREATE_INDEX_ERROR, f"building the index of {collection}") from None
