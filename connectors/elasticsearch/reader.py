"""Reading one split: point in time + ``search_after`` (or a scroll) -> Arrow batches, with a position.

PIT position after a batch: ``{"pit": newest id, "after": last sort values,
"read": hits so far, "total": the slice's hit count}``. A reader started
with it searches after those sort values on that PIT, so it neither repeats
nor skips. When the PIT has expired (a 404 ``search_context_missing_exception``,
or a 200 whose shards failed with it), the reader opens a new PIT and:

- with ``sort: pk`` (a unique field, slices cut by that field's value, so
  independent of the PIT) continues after the last key: nothing repeated;
- with ``_shard_doc`` and a split that is the whole index, restarts the split
  (its rows are written again, which the Milvus sink's upsert replaces);
- with ``_shard_doc`` and several slices of one PIT, stops with ES-06: slices
  of two different PITs may overlap or miss documents.

It logs which. At the end every split's rows are checked against the
slice's ``hits.total`` (tracked exactly): a shortfall is ES-11, never a gap.

Scroll (``search_api_type: SCROLL``, or servers without PIT) cannot be
repositioned: a resumed scroll split starts again from its first document.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from vts.connectors.elasticsearch import values
from vts.connectors.elasticsearch.client import Wire
from vts.connectors.elasticsearch.errors import Code, ElasticsearchError
from vts.connectors.elasticsearch.options import ElasticsearchOptions
from vts.connectors.elasticsearch.schema import ID, INDEX, source_spec
from vts.schema import Field, LType, TableSchema

log = logging.getLogger("vts.elasticsearch")

MAX_RECOVERIES = 3


def sort_clause(sort: str, pk: str) -> list[Any]:
    return [{pk: "asc"}] if sort == "pk" else [{sort: "asc"}]


def slice_clause(spec: dict[str, Any], pk: str) -> dict[str, Any] | None:
    if spec.get("slice") is None:
        return None
    sid, smax = spec["slice"]
    out: dict[str, Any] = {"id": sid, "max": smax}
    if spec["sort"] == "pk":
        out["field"] = pk  # slices by value: the same documents on every PIT
    return out


def search_pages(
    wire: Wire, options: ElasticsearchOptions, spec: dict[str, Any], names: list[str], position: Any, split_id: str
) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Pages of hits of one PIT split, each with the position after it."""
    pos = dict(position) if position else {"pit": spec["pit"], "after": None, "read": 0, "total": None}
    pit, after, read, total = pos["pit"], pos["after"], pos["read"], pos["total"]
    own: list[str] = []
    recoveries = 0
    what = f"reading split {split_id}"
    try:
        while True:
            body: dict[str, Any] = {
                "size": options.batch_size,
                "query": options.query,
                "pit": {"id": pit, "keep_alive": options.keep_alive},
                "sort": sort_clause(spec["sort"], options.pk),
                "_source": source_spec(wire, names),
                "track_total_hits": total is None,
            }
            sl = slice_clause(spec, options.pk)
            if sl is not None:
                body["slice"] = sl
            if after is not None:
                body["search_after"] = after
            try:
                answer = wire.call("POST", "/_search", what, body=body)
            except ElasticsearchError as err:
                if err.kind != Code.CONTEXT_EXPIRED or recoveries >= MAX_RECOVERIES:
                    raise
                recoveries += 1
                pit = wire.open_pit(spec["index"])
                own.append(pit)
                if spec["sort"] == "pk":
                    log.warning("%s: the point in time expired; continuing on a new one after key %s", split_id, after)
                    total = None
                    continue
                if spec.get("slice") is None:
                    log.warning(
                        "%s: the point in time expired; restarting the split from its first document "
                        "(rows already written are written again and replaced by the sink's upsert)",
                        split_id,
                    )
                    after, read, total = None, 0, None
                    continue
                raise ElasticsearchError(
                    Code.CONTEXT_EXPIRED,
                    f"{split_id}: the point in time shared by the index's slices expired; slices of a new one "
                    "could overlap or miss documents, so this split cannot go on",
                    hint="raise 'keep_alive' and run with --fresh, or set 'pk' to a unique keyword/numeric field "
                    "(slices by its value survive a new point in time and resume where they stopped)",
                ) from None
            pit = answer.get("pit_id") or pit
            hits = answer["hits"]["hits"]
            if total is None:
                total = _total(answer)
            if hits:
                after = hits[-1]["sort"]
                read += len(hits)
                yield hits, {"pit": pit, "after": after, "read": read, "total": total}
            if len(hits) < options.batch_size:
                check_count(split_id, read, total)
                return
    finally:
        for p in own:
            wire.close_pit(p)


def scroll_pages(
    wire: Wire, options: ElasticsearchOptions, spec: dict[str, Any], names: list[str], position: Any, split_id: str
) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Pages of one scroll split. A scroll cannot be repositioned: a resumed split starts over."""
    if position and position.get("read"):
        log.warning(
            "%s: a scroll cannot resume where it stopped; reading the split again from its first document "
            "(rows already written are replaced by the sink's upsert)",
            split_id,
        )
    what = f"reading split {split_id}"
    body: dict[str, Any] = {
        "size": options.batch_size,
        "query": options.query,
        "sort": ["_doc"],
        "_source": source_spec(wire, names),
        "track_total_hits": True,
    }
    sl = slice_clause({**spec, "sort": "_doc"}, options.pk)
    if sl is not None:
        body["slice"] = sl
    index = spec["index"]
    answer = wire.call("POST", f"/{index}/_search", what, params={"scroll": options.keep_alive}, body=body, index=index)
    scroll_id = answer.get("_scroll_id")
    total, read = _total(answer), 0
    try:
        while True:
            hits = answer["hits"]["hits"]
            if not hits:
                check_count(split_id, read, total)
                return
            read += len(hits)
            yield hits, {"read": read, "total": total}
            scroll_id = answer.get("_scroll_id") or scroll_id
            answer = wire.call(
                "POST", "/_search/scroll", what, body={"scroll": options.keep_alive, "scroll_id": scroll_id}
            )
    finally:
        if scroll_id:
            try:
                wire.call("DELETE", "/_search/scroll", "clearing the scroll", body={"scroll_id": [scroll_id]})
            except ElasticsearchError as exc:
                log.debug("clearing a scroll: %s", exc)


def _total(answer: dict[str, Any]) -> int | None:
    total = answer["hits"].get("total")
    if isinstance(total, dict):
        return int(total["value"]) if total.get("relation", "eq") == "eq" else None
    return int(total) if isinstance(total, int) else None


def check_count(split_id: str, read: int, total: int | None) -> None:
    if total is not None and read != total:
        raise ElasticsearchError(
            Code.COUNT_MISMATCH,
            f"{split_id}: read {read} document(s), the slice holds {total}",
        )


class Layout:
    """How a table's columns come out of hits."""

    def __init__(self, table: TableSchema, moved: dict[str, dict[str, int]]) -> None:
        self.table = table
        self.schema = table.arrow_schema()
        self.moved = moved
        self.prefix_ids = any(f.name == INDEX for f in table.fields)
        self.source_names = [f.name for f in table.fields if f.name not in (ID, INDEX)]

    def batch(self, hits: list[dict[str, Any]]) -> pa.RecordBatch:
        arrays = []
        for f in self.table.fields:
            if f.name == ID:
                ids = [h["_id"] for h in hits]
                if self.prefix_ids and f.primary_key:
                    ids = [f"{h['_index']}/{h['_id']}" for h in hits]
                arrays.append(pa.array(ids, pa.string()))
            elif f.name == INDEX:
                arrays.append(pa.array([h["_index"] for h in hits], pa.string()))
            else:
                arrays.append(self._column(hits, f))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _column(self, hits: list[dict[str, Any]], f: Field) -> pa.Array:
        raw = [_value(h, f.name) for h in hits]
        try:
            return _to_arrow(raw, f, self.moved.get(f.name, {}))
        except values.BadValue as bad:
            hit = hits[bad.args[1]] if len(bad.args) > 1 else hits[0]
            raise ElasticsearchError(
                Code.READ_DATA_FAIL,
                f"'{self.table.name}': document {hit['_id']} field '{f.name}': {bad.args[0]}",
                hint="the sample behind the schema missed this form of the field: raise 'sample_size', "
                "or leave the field out with 'source'",
            ) from None


def _value(hit: dict[str, Any], name: str) -> Any:
    source = hit.get("_source") or {}
    if name in source:
        return source[name]
    fields = hit.get("fields") or {}
    return fields.get(name)


def _to_arrow(raw: list[Any], f: Field, moved: dict[str, int]) -> pa.Array:
    t = f.type
    es = f.params.get("es", {})
    out: list[Any] = []
    for row, v in enumerate(raw):
        try:
            out.append(None if v is None else _one(v, f, t, es, moved))
        except values.BadValue as bad:
            raise values.BadValue(bad.args[0], row) from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise values.BadValue(f"{values._short(v)} does not fit {t} ({exc})", row) from None
    if t == LType.SPARSE_FLOAT_VECTOR:
        return pa.array([None if v is None else {"indices": v[0], "values": v[1]} for v in out], f.arrow_type())
    if t == LType.FLOAT_VECTOR or t == LType.INT8_VECTOR:
        dim = f.dimension or 0
        missing = [v is None for v in out]
        zero = [0] * dim
        dtype = np.float32 if t == LType.FLOAT_VECTOR else np.int8
        matrix = np.asarray([zero if v is None else v for v in out], dtype=dtype).reshape(len(out), dim)
        mask = pa.array(missing) if any(missing) else None
        return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), dim, mask=mask)
    return pa.array(out, f.arrow_type())


def _one(v: Any, f: Field, t: LType, es: dict[str, Any], moved: dict[str, int]) -> Any:
    if t == LType.FLOAT_VECTOR:
        return values.dense(v, "float" if es.get("element") != "byte" else "byte", f.dimension or 0)
    if t == LType.INT8_VECTOR:
        return values.dense(v, "byte", f.dimension or 0)
    if t == LType.BINARY_VECTOR:
        return values.bits(v, f.dimension or 0)
    if t == LType.SPARSE_FLOAT_VECTOR:
        return values.sparse(v, moved)
    if t in (LType.JSON, LType.MAP, LType.ROW):
        return orjson.dumps(v).decode()
    if t == LType.ARRAY:
        items = v if isinstance(v, list) else [v]
        element = f.element_type or LType.STRING
        return [_scalar(x, element, f.params.get("es", {}).get("format")) for x in items if x is not None]
    if isinstance(v, list):
        if len(v) == 1:
            v = v[0]
        else:
            raise values.BadValue(f"holds an array {values._short(v)}, the column holds single values")
    return _scalar(v, t, es.get("format"))


def _scalar(v: Any, t: LType, fmt: str | None) -> Any:
    if t == LType.STRING:
        return v if isinstance(v, str) else orjson.dumps(v).decode()
    if t == LType.BOOLEAN:
        if isinstance(v, bool):
            return v
        if v in ("true", "false"):
            return v == "true"
        raise values.BadValue(f"{values._short(v)} is not a boolean")
    if t.is_integer:
        if isinstance(v, bool):
            raise values.BadValue(f"{v} is not an integer")
        n = int(v) if not isinstance(v, float) or v.is_integer() else None
        if n is None:
            raise values.BadValue(f"{v} is not an integer")
        return n
    if t in (LType.FLOAT, LType.DOUBLE):
        if isinstance(v, bool):
            raise values.BadValue(f"{v} is not a number")
        return float(v)
    if t == LType.TIMESTAMP_TZ:
        return values.timestamp(v, fmt)
    raise values.BadValue(f"no conversion to {t}")
