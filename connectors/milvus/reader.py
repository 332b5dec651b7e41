"""Reads one split as Arrow batches, in primary-key order, resumable by key.

Pages come from primary-key-cursor queries (so no offset limits apply)
over the split's key range. The position after each batch is
its last key; a reader started from it continues with the next key. On
"rate limit exceeded" a page is retried as the source's ``rate_limit_retry``
policy says (``rate_limit_attempts`` times, ``rate_limit_backoff`` apart by
default); each page has its own count. When the retries run out the split
fails with MILVUS-18 — never a silent stop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from time import sleep
from typing import Any

import orjson
import pyarrow as pa

from vts.connector import Split
from vts.connectors.milvus.errors import Code, MilvusError, is_rate_limited, wrap
from vts.connectors.milvus.query import page
from vts.connectors.milvus.source_options import MilvusSourceOptions
from vts.connectors.milvus.splits import KeyRange
from vts.connectors.milvus.types import MilvusType
from vts.schema import DYNAMIC_FIELD, Field, TableSchema

log = logging.getLogger("vts.milvus")


def read_split(
    client: Any, opts: MilvusSourceOptions, split: Split, table: TableSchema, position: Any
) -> Iterator[tuple[pa.RecordBatch, Any]]:
    keys = KeyRange.from_json(split.spec)
    names = [f.name for f in table.fields if f.name != DYNAMIC_FIELD and not f.params.get("function_output")]
    output = [*names, DYNAMIC_FIELD] if table.enable_dynamic_field else names
    last = position if position is not None else keys.lo
    while True:
        rows = _page(client, opts, split, keys, table.name, output, last)
        if not rows:
            return
        try:
            batch = to_batch(rows, table, names)
        except Exception as exc:
            raise wrap(exc, Code.READ_DATA_FAIL, f"reading {split.id}") from None
        last = rows[-1][keys.pk]
        yield batch, last


def _page(
    client: Any,
    opts: MilvusSourceOptions,
    split: Split,
    keys: KeyRange,
    collection: str,
    output: list[str],
    after: Any,
) -> list[dict[str, Any]]:
    """One page after ``after``, retried while the server rate-limits it."""
    policy = opts.rate_limit_retry

    def query() -> list[dict[str, Any]]:
        return page(
            client, collection, split.partition, keys.pk, keys.varchar, after, keys.hi, opts.filter, output,
            opts.batch_size,
        )  # fmt: skip

    def on_retry(exc: BaseException, attempt: int, wait: float) -> None:
        log.warning("split %s: rate limited, retry %d/%d in %.0fs", split.id, attempt, policy.attempts, wait)

    try:
        return policy.run(query, transient=_rate_limited, on_retry=on_retry, sleep=sleep)
    except MilvusError:
        raise
    except Exception as exc:
        if not is_rate_limited(exc):
            raise wrap(exc, Code.READ_DATA_FAIL, f"reading {split.id}") from None
        raise MilvusError(
            Code.READ_DATA_FAIL,
            f"reading {split.id}: still rate limited after {policy.attempts} retries",
            hint="lower env.parallelism or 'batch_size', or raise 'rate_limit_backoff'; the run can be resumed",
            transient=True,  # a later split retry, from its checkpoint, may find the server less busy
        ) from None


def _rate_limited(exc: BaseException) -> bool:
    return not isinstance(exc, MilvusError) and is_rate_limited(exc)


def to_batch(rows: list[dict[str, Any]], table: TableSchema, names: list[str]) -> pa.RecordBatch:
    """Query results (dicts) -> a batch matching ``table.arrow_schema()``."""
    known = set(names)
    arrays = []
    for f in table.fields:
        if f.params.get("function_output"):
            arrays.append(pa.nulls(len(rows), f.arrow_type()))  # recomputed by the target's function
        elif f.name == DYNAMIC_FIELD:
            arrays.append(pa.array([_meta(r, known) for r in rows], pa.string()))
        else:
            arrays.append(_column([r.get(f.name) for r in rows], f))
    return pa.RecordBatch.from_arrays(arrays, schema=table.arrow_schema())


def _meta(row: dict[str, Any], known: set[str]) -> str | None:
    extra = {k: v for k, v in row.items() if k not in known}
    if isinstance(extra.get(DYNAMIC_FIELD), dict):
        extra.update(extra.pop(DYNAMIC_FIELD))
    return orjson.dumps(extra).decode() if extra else None


def _column(values: list[Any], f: Field) -> pa.Array:
    milvus_type = MilvusType.read_as(f.type)
    return milvus_type.spec.decode(values, f) if milvus_type else pa.array(values, f.arrow_type())
