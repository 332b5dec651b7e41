"""The split enumerator of VTS, realised as primary-key ranges.

Per collection: with a partition key, one split for the collection (Milvus
routes rows itself); otherwise, with more than one partition, one split per
partition; else one split. Each is then cut into ``parallelism`` pieces of
~count/parallelism rows. VTS cuts by offset; real Milvus refuses
offset+limit beyond 16 384 and offset reads slow down with depth, so the cut
points are primary keys instead, found by one streaming scan of the keys
alone (:mod:`.query`). A piece is the half-open key range (lo, hi], which is
also what makes a split resumable: its position is the last key read.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from vts.connector import Split
from vts.connectors.milvus.query import KEY_PAGE, count, pages, whole_filter
from vts.schema import TableSchema


@dataclass(frozen=True)
class KeyRange:
    """A Milvus split's spec: the rows whose primary key ``pk`` is in (lo, hi] (None: no bound there)."""

    pk: str
    varchar: bool  # a VarChar key (else Int64): how a key is written in an expression
    lo: Any = None
    hi: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"lo": self.lo, "hi": self.hi, "pk": self.pk, "varchar": self.varchar}

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> KeyRange:
        return cls(spec["pk"], bool(spec["varchar"]), spec.get("lo"), spec.get("hi"))


def cut_points(
    client: Any,
    collection: str,
    partition: str | None,
    pk: str,
    varchar: bool,
    user_filter: str | None,
    n: int,
    pieces: int,
) -> list[Any]:
    """Keys after which each piece but the last ends: a streaming scan of keys, O(pieces) memory."""
    size = max(1, n // pieces)
    marks = {size * i for i in range(1, pieces) if size * i < n}
    cuts: list[Any] = []
    seen = 0
    for rows in pages(client, collection, partition, pk, varchar, None, None, user_filter, [pk], KEY_PAGE):
        for row in rows:
            seen += 1
            if seen in marks:
                cuts.append(row[pk])
        if len(cuts) == len(marks):
            break
    return cuts


def table_splits(
    client: Any, table: TableSchema, partitions_filter: list[str], parallelism: int, user_filter: str | None
) -> list[Split]:
    pk_field = next(f for f in table.fields if f.primary_key)
    pk, varchar = pk_field.name, pk_field.type.name == "STRING"
    has_key = any(f.partition_key for f in table.fields)
    units: list[str | None]
    if has_key:
        units = [None]  # Milvus routes by key; its internal partitions are not the user's
    elif partitions_filter:
        units = [p for p in table.partitions if p in partitions_filter]
    elif len(table.partitions) > 1:
        units = list(table.partitions)
    else:
        units = [None]
    splits = []
    for partition in units:
        n = count(client, table.name, partition, whole_filter(pk, varchar, partition, user_filter))
        many = parallelism > 1 and n > 1
        cuts = cut_points(client, table.name, partition, pk, varchar, user_filter, n, parallelism) if many else []
        bounds = [None, *cuts, None]
        size = max(1, n // parallelism) if cuts else n
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            estimate = size if i < len(cuts) else n - size * len(cuts)
            sid = f"{table.name}/{partition or '*'}/{i + 1}-of-{len(bounds) - 1}"
            splits.append(Split(sid, table.name, partition, estimate, KeyRange(pk, varchar, lo, hi).to_json()))
    return splits
