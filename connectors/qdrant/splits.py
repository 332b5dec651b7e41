"""Cutting a collection into id ranges.

Qdrant's scroll (without ``order_by``) returns points ordered by id, and its
``offset`` is the id to start from (inclusive). Ids are unsigned integers or
UUIDs; all integer ids sort before all UUIDs, UUIDs by their 128-bit value
(which is also the order of their canonical text). So a split is a half-open
id range ``[start, stop)``: the reader scrolls from ``offset=start`` and stops
at the first id ``>= stop``, which the next split reads. This needs no
filter, works for integer ids, UUIDs and a mix of both, and on a server and
in local mode alike.

Boundaries are exact quantiles: the driver scrolls the ids only (no
payload, no vectors) once and keeps the id at every ``k * n / pieces`` rank,
so splits are equal whatever the ids' distribution, and the splits are the same
on every run over the same data (split ids embed their bounds, so a changed
collection yields new split ids rather than a wrong resume). The scan costs
one light request per ``ID_PAGE`` points.
"""

from __future__ import annotations

import uuid
from typing import Any

from vts.connectors.qdrant.client import Handle

ID_PAGE = 10_000
PointId = int | str


def id_key(point_id: PointId) -> tuple[int, int]:
    """Qdrant's id order: integers first, then UUIDs by value."""
    if isinstance(point_id, int):
        return (0, point_id)
    return (1, uuid.UUID(str(point_id)).int)


def at_or_after(point_id: PointId, bound: PointId | None) -> bool:
    """Whether ``point_id`` lies at or beyond ``bound`` (``None``: no bound)."""
    return bound is not None and id_key(point_id) >= id_key(bound)


def count(handle: Handle, collection: str) -> int:
    res = handle.call(
        f"counting points of '{collection}'", handle.client.count, collection, exact=True, collection=collection
    )
    return int(res.count)


def cut_points(handle: Handle, collection: str, pieces: int, total: int | None = None) -> list[tuple[int, PointId]]:
    """(rank, id) of the first point of each piece after the first: ``pieces - 1`` at most, ascending."""
    n = count(handle, collection) if total is None else total
    if pieces <= 1 or n < 2:
        return []
    ranks = sorted({n * k // pieces for k in range(1, pieces)} - {0})
    cuts: list[tuple[int, PointId]] = []
    seen, offset = 0, None
    want = iter(ranks)
    next_rank = next(want, None)
    while next_rank is not None:
        page, offset = scroll_ids(handle, collection, offset, ID_PAGE)
        for pid in page:
            while next_rank is not None and seen == next_rank:
                cuts.append((seen, pid))
                next_rank = next(want, None)
            seen += 1
        if offset is None:
            break
    return cuts


def scroll_ids(handle: Handle, collection: str, offset: PointId | None, limit: int) -> tuple[list[PointId], Any]:
    points, next_offset = handle.call(
        f"scrolling ids of '{collection}'",
        handle.client.scroll,
        collection,
        limit=limit,
        offset=offset,
        with_payload=False,
        with_vectors=False,
        collection=collection,
    )
    return [p.id for p in points], next_offset


def ranges(cuts: list[tuple[int, PointId]], total: int) -> list[tuple[PointId | None, PointId | None, int]]:
    """Consecutive ``[start, stop)`` id ranges covering every id, with their sizes; ``None`` is an open end."""
    ids: list[PointId | None] = [None, *(pid for _, pid in cuts), None]
    ranks = [0, *(rank for rank, _ in cuts), total]
    return [(ids[i], ids[i + 1], ranks[i + 1] - ranks[i]) for i in range(len(ids) - 1)]
