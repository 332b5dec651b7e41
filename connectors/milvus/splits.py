"""The split enumerator of VTS (GUIDE §2), realised as primary-key ranges.

Per collection: with a partition key, one split for the collection (Milvus
routes rows itself); otherwise, with more than one partition, one split per
partition; else one split. Each is then cut into ``parallelism`` pieces of
~count/parallelism rows. VTS cuts by offset; real Milvus refuses
offset+limit beyond 16 384 and offset reads slow down with depth, so the cut
points are primary keys instead, found by one streaming scan of the keys
alone. A piece is the half-open key range (lo, hi], which is also what makes
a split resumable: its position is the last key read.
"""

from __future__ import annotations

import itertools
from typing import Any

from connectors.milvus.errors import Code, MilvusError, wrap
from vts.connector import Split
from vts.schema import TableSchema

KEY_PAGE = 16384  # the largest page real Milvus serves


def key_literal(value: Any, varchar: bool) -> str:
    if not varchar:
        return str(int(value))
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def every_key(pk: str, varchar: bool) -> str:
    """A filter matching every row. Not empty, because Milvus Lite's count(*) with an empty filter and
    partition_names counts the whole collection; and not ``>= -2**63``, which real Milvus cannot parse."""
    if varchar:
        return f'{pk} >= ""'
    edge = -(2**63) + 1
    return f"({pk} >= {edge} or {pk} < {edge})"


def range_filter(pk: str, varchar: bool, lo: Any, hi: Any, user_filter: str | None) -> str:
    """Milvus expression for keys in (lo, hi], and the user's filter."""
    parts = []
    if lo is not None:
        parts.append(f"{pk} > {key_literal(lo, varchar)}")
    if hi is not None:
        parts.append(f"{pk} <= {key_literal(hi, varchar)}")
    if not parts:
        parts.append(every_key(pk, varchar))
    if user_filter:
        parts.append(f"({user_filter})")
    return " and ".join(parts)


def whole_filter(pk: str, varchar: bool, partition: str | None, user_filter: str | None) -> str:
    """The filter that counts a whole collection or partition. Empty where that is right: Milvus Lite answers
    an empty one from its metadata but evaluates any other row by row (1 s per 20 000 rows)."""
    if partition is None and not user_filter:
        return ""
    return range_filter(pk, varchar, None, None, user_filter)


def count(client: Any, collection: str, partition: str | None, expr: str) -> int:
    try:
        res = client.query(
            collection,
            filter=expr,
            output_fields=["count(*)"],
            partition_names=[partition] if partition else None,
            consistency_level="Strong",
        )
    except Exception as exc:
        raise wrap(exc, Code.READ_DATA_FAIL, f"counting rows of {collection}") from None
    return int(res[0]["count(*)"])


def pages(
    client: Any,
    collection: str,
    partition: str | None,
    pk: str,
    varchar: bool,
    lo: Any,
    hi: Any,
    user_filter: str | None,
    fields: list[str],
    page_size: int,
) -> Any:
    """Yield pages of rows with keys in (lo, hi], in key order (see :func:`page`)."""
    last = lo
    while True:
        rows = page(client, collection, partition, pk, varchar, last, hi, user_filter, fields, page_size)
        if not rows:
            return
        last = rows[-1][pk]
        yield rows


def page(
    client: Any,
    collection: str,
    partition: str | None,
    pk: str,
    varchar: bool,
    after: Any,
    hi: Any,
    user_filter: str | None,
    fields: list[str],
    page_size: int,
) -> list[dict[str, Any]]:
    """The next page of rows with keys in (after, hi], in key order; [] at the end. One query, so it can be
    retried alone.

    The same protocol as pymilvus's query_iterator (``iterator`` and
    ``reduce_stop_for_best`` make the server return the smallest keys first,
    in order), with the key cursor written by vts: the iterator's own cursor
    does not escape quotes in VarChar keys and breaks on them.
    """
    rows = client.query(
        collection,
        filter=range_filter(pk, varchar, after, hi, user_filter),
        output_fields=fields,
        partition_names=[partition] if partition else None,
        limit=page_size,
        iterator="True",
        reduce_stop_for_best="True",
    )
    rows.sort(key=lambda row: row[pk])
    if rows and after is not None and rows[0][pk] <= after:
        raise MilvusError(Code.READ_DATA_FAIL, f"{collection}: the server returned keys out of order")
    return rows


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


def plan_table(
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
            splits.append(
                Split(sid, table.name, partition, estimate, {"lo": lo, "hi": hi, "pk": pk, "varchar": varchar})
            )
    return splits
