"""Cutting splits on the driver: primary-key ranges from sampled quantiles, or block ranges.

Three modes, chosen per relation:

- ``key``: the relation has a key of a splittable type (integers, text,
  uuid, date; composite keys too). Bounds are quantiles of the key, from
  every key when the relation is small, else from a ``TABLESAMPLE SYSTEM
  ... REPEATABLE`` page sample (a query: a seeded ``random()`` filter), so
  two runs over the same data get the same splits. Splits are half-open
  ranges ``[lo, hi)``; the first and last are open-ended, so rows beyond the
  sampled range are still read exactly once. A reader orders by the key and
  reports the last key read as its position (never OFFSET).
- ``ctid``: a plain table without a usable key. Splits are ranges of heap
  blocks; a reader scans them a few blocks at a time (TID range scans,
  PostgreSQL 14+) and reports the next block as its position.
- ``stream``: a query, view or partitioned table without a key. One split;
  its position is the number of rows delivered, and a resumed reader skips
  that many rows of the stream, which is exact only when the query has an
  ORDER BY.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from vts.connectors.pgvector.catalog import SPLITTABLE_KEY_TYPES, Relation

FULL_KEY_SCAN_ROWS = 200_000  # below this estimate, quantiles come from every key (an index-only scan)
SAMPLE_ROWS = 50_000  # keys sampled above it


def mode_of(rel: Relation) -> str:
    by_name = {c.name: c for c in rel.columns}
    if rel.key and all(by_name[k].typname in SPLITTABLE_KEY_TYPES for k in rel.key):
        return "key"
    if rel.relkind in ("r", "m"):
        return "ctid"
    return "stream"


def key_exprs(rel: Relation) -> list[str]:
    """SELECT expressions giving each key column as a JSON-friendly value (int or text)."""
    from psycopg import sql

    by_name = {c.name: c for c in rel.columns}
    out = []
    for k in rel.key:
        ident = sql.Identifier(k).as_string(None)
        out.append(ident if by_name[k].typname in ("int2", "int4", "int8") else f"{ident}::text")
    return out


def estimate_rows(conn: Any, rel: Relation, conditions: list[str]) -> int:
    """PostgreSQL's row estimate (EXPLAIN): cheap, good enough for progress and for choosing how to sample."""
    explained = conn.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {rel.source_sql}{_where(conditions)}").fetchone()[0]
    return max(0, int(explained[0]["Plan"]["Plan Rows"]))


def key_bounds(conn: Any, rel: Relation, conditions: list[str], parallelism: int, estimate: int) -> list[list[Any]]:
    """At most ``parallelism - 1`` distinct cut points (each a list of key values), in key order."""
    if parallelism <= 1:
        return []
    from psycopg import sql

    order = ", ".join(sql.Identifier(k).as_string(None) for k in rel.key)
    select = ", ".join(key_exprs(rel))
    source, conds = rel.source_sql, list(conditions)
    if estimate > FULL_KEY_SCAN_ROWS:
        fraction = min(1.0, SAMPLE_ROWS / estimate)
        if rel.is_query or rel.relkind not in ("r", "m"):
            conn.execute("SELECT setseed(0.42)")
            conds.append(f"random() < {fraction!r}")
        else:
            source = f"{source} TABLESAMPLE SYSTEM ({100 * fraction!r}) REPEATABLE (42)"
    keys = conn.execute(f"SELECT {select} FROM {source}{_where(conds)} ORDER BY {order}").fetchall()
    cuts: list[list[Any]] = []
    for i in range(1, parallelism):
        if not keys:
            break
        cut = list(keys[i * len(keys) // parallelism])
        if (not cuts or cut != cuts[-1]) and cut != list(keys[0]):
            cuts.append(cut)
    return cuts


def block_count(conn: Any, rel: Relation) -> int:
    return int(
        conn.execute("SELECT pg_relation_size(%s::oid) / current_setting('block_size')::int", [rel.oid]).fetchone()[0]
    )


def block_bounds(blocks: int, parallelism: int) -> list[tuple[int, int | None]]:
    """Half-open block ranges; the last is open-ended so blocks added since the splits were cut are read too."""
    n = max(1, min(parallelism, blocks))
    cuts = [blocks * i // n for i in range(n)]
    return [(lo, cuts[i + 1] if i + 1 < n else None) for i, lo in enumerate(cuts)]


def split_id(table: str, index: int, spec: dict[str, Any]) -> str:
    """Stable for the same bounds and marks; changes when they do, so a checkpoint never misapplies."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{table}/{spec['mode']}-{index:03d}-{digest}"


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(f"({c})" for c in conditions) if conditions else ""
