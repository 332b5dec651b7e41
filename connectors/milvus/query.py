"""Queries by primary key: the expressions, row counts and key-ordered pages that the split enumerator
(:mod:`.splits`), the reader, the catalog and the verifier all use.

Pages follow a primary-key cursor, never an offset: real Milvus refuses
offset+limit beyond 16 384 and offset reads slow down with depth.
"""

from __future__ import annotations

from typing import Any

from vts.connectors.milvus.errors import Code, MilvusError, wrap

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
        # float vectors as float32 views of one array, not lists of Python floats: a third of the reader's CPU
        strict_float32=True,
    )
    rows.sort(key=lambda row: row[pk])
    if rows and after is not None and rows[0][pk] <= after:
        raise MilvusError(Code.READ_DATA_FAIL, f"{collection}: the server returned keys out of order")
    return rows
