"""What the Parquet sink writes beside the data, so another site can import it with nothing else.

``<path>/<collection>/_vts_collection.json``: the target collection (fields,
types, dimension, max_length, primary key, indexes and metric) — written when
the folder is created, so it describes the files before the first one lands —
and, after a successful run, ``files``: every Parquet file of the collection
with its partition and rows. :mod:`vts.connectors.parquet.load` reads it to create
the collection and call the BulkWriter's commit step on those files.

With ``layout: vdf`` the commit also writes ``<path>/VDF_META.json`` (vector-io's
layout: one index per collection, its folder as ``data_path``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from vts.connectors.milvus.target import TargetCollection, TargetField
from vts.schema import IndexSpec, LType

MANIFEST = "_vts_collection.json"
VDF_META = "VDF_META.json"
FORMAT = "vts-parquet/1"
SPOOL = ".vts-spool"

_VDF_METRICS = {"COSINE": "Cosine", "L2": "Euclid", "IP": "Dot"}  # vector-io's (qdrant-client's) names


def to_json(target: TargetCollection) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(target), default=str))


def from_json(doc: dict[str, Any]) -> TargetCollection:
    fields = []
    for f in doc["fields"]:
        f = dict(f)
        f["source_type"] = LType(f["source_type"]) if f.get("source_type") else None
        fields.append(TargetField(**f))
    indexes = tuple(IndexSpec(**i) for i in doc.get("indexes", ()))
    rest = {k: v for k, v in doc.items() if k not in ("fields", "indexes")}
    for key in ("dynamic_sources", "partitions", "functions"):
        rest[key] = tuple(rest.get(key) or ())
    return TargetCollection(fields=tuple(fields), indexes=indexes, **rest)


def parquet_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.parquet") if SPOOL not in p.parts)


def rows_in(folder: Path) -> int:
    return sum(pq.read_metadata(p).num_rows for p in parquet_files(folder))


def write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    os.replace(tmp, path)  # a reader sees the old manifest or the new one, never half of one


def describe(root: Path, target: TargetCollection, files: bool) -> dict[str, Any]:
    folder = root / target.name
    doc: dict[str, Any] = {"format": FORMAT, "collection": to_json(target)}
    if files:
        listed = []
        for p in parquet_files(folder):
            rel = p.relative_to(folder)
            partition = rel.parts[0] if len(rel.parts) > 1 else "_default"
            rows, size = pq.read_metadata(p).num_rows, p.stat().st_size
            listed.append({"file": rel.as_posix(), "partition": partition, "rows": rows, "bytes": size})
        doc["files"] = listed
        doc["rows"] = sum(f["rows"] for f in listed)
    return doc


def read(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text())


def vdf_meta(root: Path, targets: list[TargetCollection]) -> dict[str, Any]:
    indexes: dict[str, list[dict[str, Any]]] = {}
    structure = []
    for t in targets:
        vectors = [f for f in t.fields if f.dtype == "FLOAT_VECTOR"]
        metric = next((i.metric_type for i in t.indexes if i.metric_type), None)
        rows = rows_in(root / t.name)
        structure += [p.relative_to(root).as_posix() for p in parquet_files(root / t.name)]
        indexes[t.name] = [
            {
                "namespace": "",
                "index_name": t.name,
                "total_vector_count": rows,
                "exported_vector_count": rows,
                "dimensions": vectors[0].dim if vectors else 0,
                "model_name": None,
                "vector_columns": [f.name for f in vectors],
                "data_path": t.name,
                "metric": _VDF_METRICS.get(str(metric).upper(), "Cosine") if metric else None,
            }
        ]
    from datetime import UTC, datetime

    primary = {t.primary.name for t in targets}
    return {
        "version": "vts",
        "file_structure": structure,
        "author": "vts",
        "exported_from": "milvus",
        "indexes": indexes,
        "exported_at": datetime.now(UTC).isoformat(),
        **({"id_column": primary.pop()} if len(primary) == 1 else {}),
    }
