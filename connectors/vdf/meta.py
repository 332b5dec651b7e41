"""``VDF_META.json``, as vector-io (vdf-io) writes it (read from its ``meta_types.py`` and exporters).

::

    {"version": "0.1.x", "file_structure": [...], "author": ..., "exported_from": "pinecone",
     "exported_at": ..., "id_column": "id" (optional),
     "indexes": {"<index>": [{"namespace": "", "index_name": ..., "total_vector_count": N,
                             "exported_vector_count": N, "dimensions": 768,
                             "vector_columns": ["vector"], "data_path": "<index>",
                             "metric": "Cosine" | "Euclid" | "Dot", "model_name": ..., ...}]}}

``data_path`` is relative to the VDF folder: a folder whose ``.parquet`` files
(recursively) hold the namespace's rows, or one ``.parquet`` file. Each file
holds ``id``, the vector columns (pandas writes Python float lists, so
list<double>) and the metadata columns; metric names are qdrant-client's
``Distance`` values, which vector-io uses as its standard.

vector-io's own importers name a target ``<index>`` or ``<index>_<namespace>``;
the VDF source names its tables the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from vts.connectors.file.fs import open_fs
from vts.connectors.vdf.errors import Code, VdfError

META_FILE = "VDF_META.json"

METRICS = {"cosine": "COSINE", "euclid": "L2", "euclidean": "L2", "l2": "L2", "dot": "IP", "ip": "IP"}
METRICS |= {"dotproduct": "IP", "dot_product": "IP"}


@dataclass(frozen=True)
class Namespace:
    table: str
    index: str
    namespace: str
    data_path: str  # a URI, resolved against the VDF folder
    dimensions: int
    vector_columns: tuple[str, ...]
    metric: str | None  # vector-io's name, as stored
    id_column: str
    exported: int


def read(opts: Any) -> tuple[dict[str, Any], list[Namespace]]:
    root = opts.path.rstrip("/")
    uri = f"{root}/{META_FILE}"
    fs, path = open_fs(opts, uri)
    try:
        with fs.open_input_stream(path) as f:
            raw = f.read()
    except FileNotFoundError:
        raise VdfError(
            Code.META_NOT_FOUND,
            f"{root} holds no {META_FILE}",
            hint="point 'path' at the folder vector-io exported (the one with VDF_META.json in it)",
        ) from None
    except Exception as exc:
        from vts.connectors.file.errors import wrap

        raise wrap(exc, f"reading {META_FILE}", uri, VdfError) from None
    try:
        doc = json.loads(raw)
        indexes = doc["indexes"]
        if not isinstance(indexes, dict):
            raise TypeError("'indexes' is not an object")
        out = []
        for index, spaces in indexes.items():
            if opts.indexes and index not in opts.indexes:
                continue
            for ns in spaces:
                name = ns.get("namespace") or ""
                out.append(
                    Namespace(
                        table=_table(index, name),
                        index=index,
                        namespace=name,
                        data_path=_resolve(root, ns["data_path"]),
                        dimensions=int(ns["dimensions"]),
                        vector_columns=tuple(ns.get("vector_columns") or ["vector"]),
                        metric=ns.get("metric"),
                        id_column=doc.get("id_column") or "id",
                        exported=int(ns.get("exported_vector_count") or 0),
                    )
                )
    except (ValueError, KeyError, TypeError) as exc:
        raise VdfError(
            Code.META_INVALID,
            f"{uri} is not a VDF_META.json vts can read ({type(exc).__name__}: {exc})",
            hint="export the data again with vector-io, or fix the file (see the VDF source in the README)",
        ) from None
    missing = [i for i in opts.indexes if i not in indexes]
    if missing:
        raise VdfError(
            Code.INDEX_NOT_FOUND,
            f"{uri} lists no index {', '.join(missing)}",
            hint=f"indexes it lists: {', '.join(indexes) or 'none'}",
        )
    return doc, out


def milvus_metric(ns: Namespace, override: str | None) -> str | None:
    if override:
        return override.upper()
    if ns.metric is None:
        return None
    metric = METRICS.get(str(ns.metric).lower())
    if metric is None:
        raise VdfError(
            Code.NOT_SUPPORT_METRIC,
            f"index {ns.index} uses metric {ns.metric!r}, which Milvus has no equivalent of for float vectors",
            hint="set 'metric' (COSINE, L2 or IP) to choose one",
        )
    return metric


def _resolve(root: str, data_path: str) -> str:
    data_path = data_path.strip("/") if data_path not in ("", ".") else ""
    return f"{root}/{data_path}" if data_path else root


def _table(index: str, namespace: str) -> str:
    name = f"{index}_{namespace}" if namespace else index
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return name if name and not name[0].isdigit() else f"t_{name}"
