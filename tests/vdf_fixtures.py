"""VDF folders written as vector-io writes them (read from vector-io's exporters, without depending on it).

vector-io's ``save_vectors_to_parquet`` builds a pandas DataFrame of ``id``
and ``vector`` (Python float lists, so Parquet list<double>), merges the
metadata columns, and writes ``<folder>/<index>/<n>.parquet`` with
``DataFrame.to_parquet``; ``VDF_META.json`` lists every index with its
namespaces (``NamespaceMeta``), the metric as qdrant-client's ``Distance``
value ("Cosine", "Euclid", "Dot").
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Namespace:
    index: str
    namespace: str
    rows: int
    dim: int = 8
    metric: str = "Cosine"
    files: int = 3


def rows_of(ns: Namespace) -> list[dict[str, Any]]:
    """The rows of a namespace: a pure function of it (ids unique across namespaces by their offset)."""
    rng = np.random.default_rng(zlib.crc32(f"{ns.index}/{ns.namespace}".encode()))
    base = 1_000_000 * (1 + sorted([ns.index, ns.namespace]).index(ns.index)) if ns.namespace else 0
    vectors = rng.standard_normal((ns.rows, ns.dim))  # float64, as vector-io exports
    out = []
    for i in range(ns.rows):
        out.append(
            {
                "id": f"{ns.namespace or 'doc'}-{base + i}",
                "vector": vectors[i].tolist(),
                "title": f"title {i} ünïcode",
                "year": 1990 + i % 30,
                "score": float(i) / 3,
            }
        )
    return out


def write(folder: Path, spaces: list[Namespace], exported_from: str = "pinecone") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    indexes: dict[str, list[dict[str, Any]]] = {}
    structure = []
    for ns in spaces:
        data_path = ns.index if not ns.namespace else f"{ns.index}_{ns.namespace}"
        (folder / data_path).mkdir(exist_ok=True)
        rows = rows_of(ns)
        per = -(-len(rows) // ns.files)
        for n in range(ns.files):
            part = rows[n * per : (n + 1) * per]
            if not part:
                continue
            vectors = pd.DataFrame([(r["id"], r["vector"]) for r in part], columns=["id", "vector"])
            metadata = pd.DataFrame.from_records([{k: v for k, v in r.items() if k != "vector"} for r in part])
            df = vectors.merge(metadata, on="id", how="outer")
            path = folder / data_path / f"{n + 1}.parquet"
            df.to_parquet(path)
            structure.append(str(path.relative_to(folder.parent)))
        indexes.setdefault(ns.index, []).append(
            {
                "namespace": ns.namespace,
                "index_name": ns.index,
                "total_vector_count": ns.rows,
                "exported_vector_count": ns.rows,
                "dimensions": ns.dim,
                "model_name": "NOT_PROVIDED",
                "vector_columns": ["vector"],
                "data_path": data_path,
                "metric": ns.metric,
            }
        )
    meta = {
        "version": "0.1.248",
        "file_structure": structure,
        "author": "test",
        "exported_from": exported_from,
        "indexes": indexes,
        "exported_at": "2026-12-01T22:00:00+00:00",
    }
    (folder / "VDF_META.json").write_text(json.dumps(meta, indent=2))
    return folder
