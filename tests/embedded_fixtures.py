"""Test data for the Chroma and LanceDB sources, written with the real libraries, and what it holds.

``build_chroma`` writes a PersistentClient folder: one collection per space
(cosine, l2, ip), ids added in shuffled order (Chroma's get() order is the
order of insertion, not of ids), some records without a document or without
metadata, metadata of every scalar kind. ``build_lance`` writes a LanceDB
table in two fragments (two writes) with vectors and scalars of many Arrow
types, nulls included.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

DIM = 8
SPACES = {"docs_cosine": "cosine", "docs_l2": "l2", "docs_ip": "ip"}


@dataclass(frozen=True)
class Record:
    embedding: np.ndarray
    document: str | None
    metadata: dict[str, Any] | None


def chroma_records(name: str, rows: int, seed: int = 7) -> dict[str, Record]:
    rng = np.random.default_rng(seed + len(name))
    vectors = rng.standard_normal((rows, DIM)).astype(np.float32)
    out: dict[str, Record] = {}
    for i in range(rows):
        doc = None if i % 11 == 0 else f"{name} document {i} — ünïcode"
        meta: dict[str, Any] | None
        if i % 7 == 0:
            meta = None
        else:
            meta = {"n": i, "score": i / 4, "even": i % 2 == 0, "tag": f"t{i % 5}"}
            if i % 3 == 0:
                meta["only_some"] = "x"
        out[f"{name}-{i:05d}"] = Record(vectors[i], doc, meta)
    return out


def chroma_client(path: Path) -> Any:
    """A client on the folder; chromadb refuses two settings for one folder in a process, so the
    settings of a client opened before (by vts, say) are reused."""
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import Settings

    existing = SharedSystemClient._identifier_to_system.get(str(path))
    settings = existing.settings if existing is not None else Settings(anonymized_telemetry=False)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def build_chroma(path: Path, rows: int, names: dict[str, str] = SPACES) -> dict[str, dict[str, Record]]:
    client = chroma_client(path)
    everything = {}
    for name, space in names.items():
        records = chroma_records(name, rows)
        col = client.create_collection(name, metadata={"hnsw:space": space}, embedding_function=None)
        ids = list(records)
        random.Random(name).shuffle(ids)
        for lo in range(0, len(ids), 2000):
            part = ids[lo : lo + 2000]
            col.add(
                ids=part,
                embeddings=np.stack([records[i].embedding for i in part]),
                documents=[records[i].document for i in part],  # type: ignore[misc]
                metadatas=[records[i].metadata for i in part],  # type: ignore[misc]
            )
        everything[name] = records
    return everything


def stored_embeddings(path: Path, name: str) -> dict[str, np.ndarray]:
    """The embeddings as Chroma itself returns them: in a cosine collection they can differ from what was
    added in the last bit (its index keeps them normalised), and a copy must equal what Chroma holds."""
    got = chroma_client(path).get_collection(name).get(include=["embeddings"])
    return {i: np.asarray(e, np.float32) for i, e in zip(got["ids"], got["embeddings"])}


def lance_table(lo: int, hi: int) -> pa.Table:
    ids = list(range(lo, hi))
    n = len(ids)
    rng = np.random.default_rng(lo)
    vec = rng.standard_normal((n, DIM)).astype(np.float32)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vec.reshape(-1)), DIM),
            "title": pa.array([None if i % 9 == 0 else f"title {i}" for i in ids], pa.string()),
            "small": pa.array([i % 100 for i in ids], pa.int8()),
            "count": pa.array([i * 3 for i in ids], pa.uint32()),
            "price": pa.array([None if i % 5 == 0 else i / 8 for i in ids], pa.float64()),
            "ratio": pa.array([i / 16 for i in ids], pa.float32()),
            "flag": pa.array([i % 2 == 0 for i in ids], pa.bool_()),
            "tags": pa.array([[f"a{i % 3}", f"b{i % 4}"] for i in ids], pa.list_(pa.string())),
            "attrs": pa.array([{"k": i, "s": str(i)} for i in ids], pa.struct([("k", pa.int64()), ("s", pa.string())])),
            "at": pa.array([1_700_000_000_000_000 + i for i in ids], pa.timestamp("us", tz="UTC")),
        }
    )


def build_lance(uri: str, rows_per_fragment: int, name: str = "items", storage_options: Any = None) -> pa.Table:
    """A table of two fragments (two appends); returns every row it holds."""
    import lancedb

    db = lancedb.connect(uri, storage_options=storage_options)
    first, second = lance_table(0, rows_per_fragment), lance_table(rows_per_fragment, 2 * rows_per_fragment)
    tbl = db.create_table(name, first)
    tbl.add(second)
    return pa.concat_tables([first, second])
