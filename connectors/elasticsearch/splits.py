"""Cutting an index into splits, on the driver.

- ``SLICE`` (default): one point in time on the whole ``index`` expression,
  cut into ``max = parallelism`` slices (no slice when 1: Elasticsearch
  refuses ``max: 1``);
- ``SHARD``: the same, with ``max`` = the number of primary shards;
- ``INDEX``: one split per concrete index, each with its own point in time.

The PITs are opened here, so that every slice reads the same one (slices of
different PITs may overlap); ``finish`` closes them. Split ids name the
table and the slice, never a PIT, so they are the same on every run.

The sort is the ``pk`` field when one is set (its values are unique, and
slices are then cut by its value, so a reader can continue on a new PIT),
else ``_shard_doc`` (Elasticsearch 7.12+, OpenSearch 3.3+), else ``_id``
(older OpenSearch).
"""

from __future__ import annotations

from typing import Any

from vts.connector import Split
from vts.connectors.elasticsearch import values
from vts.connectors.elasticsearch.client import Wire
from vts.connectors.elasticsearch.options import ElasticsearchOptions
from vts.connectors.elasticsearch.reader import scroll_pages, search_pages
from vts.schema import LType, TableSchema

VOCABULARY_PAGE = 5000


def sort_mode(wire: Wire, options: ElasticsearchOptions) -> str:
    if options.pk != "_id":
        return "pk"
    return "_shard_doc" if wire.server.has_shard_doc else "_id"


def uses_pit(wire: Wire, options: ElasticsearchOptions) -> bool:
    return options.search_api_type == "PIT" and wire.server.has_pit


def table_splits(
    wire: Wire, options: ElasticsearchOptions, table: TableSchema, parallelism: int
) -> tuple[list[Split], list[str], dict[str, dict[str, int]]]:
    """The table's splits, the PITs they read, and each sparse field's token -> id vocabulary."""
    es = table.properties["es"]
    target = es["target"]
    pit = uses_pit(wire, options)
    sort = sort_mode(wire, options) if pit else "_doc"
    api = "PIT" if pit else "SCROLL"
    pieces: list[tuple[str, str, tuple[int, int] | None]] = []  # (id suffix, index expression, slice)
    if options.split_mode == "INDEX":
        pieces = [(name, name, None) for name in es["indices"]]
    else:
        n = max(1, parallelism)
        if options.split_mode == "SHARD":
            shards = wire.call("GET", f"/{target}/_search_shards", f"listing the shards of '{target}'", index=target)
            n = max(1, len(shards.get("shards", [])))
        pieces = [("all", target, None)] if n == 1 else [(f"slice-{i}-of-{n}", target, (i, n)) for i in range(n)]
    pits: dict[str, str] = {}
    if pit:
        for _, index, _ in pieces:
            if index not in pits:
                pits[index] = wire.open_pit(index)
    names = [f.name for f in table.fields if f.name not in ("_id", "_index")]
    vocab = _vocabulary(wire, options, table, target, pits.get(target), sort)
    moved = {name: values.vocabulary(set(tokens))[1] for name, tokens in vocab.items()}
    total = _count(wire, options, target)
    out = []
    for suffix, index, sl in pieces:
        spec: dict[str, Any] = {"api": api, "index": index, "sort": sort, "slice": list(sl) if sl else None}
        spec["pit"] = pits.get(index)
        spec["moved"] = moved
        spec["names"] = names
        rows = total // len(pieces) if pieces else 0
        out.append(Split(f"{table.name}/{suffix}", table.name, None, rows, spec))
    return out, list(pits.values()), vocab


def _count(wire: Wire, options: ElasticsearchOptions, target: str) -> int:
    answer = wire.call("POST", f"/{target}/_count", f"counting '{target}'", body={"query": options.query}, index=target)
    return int(answer.get("count", 0))


def _vocabulary(
    wire: Wire, options: ElasticsearchOptions, table: TableSchema, target: str, pit: str | None, sort: str
) -> dict[str, list[str]]:
    """Every token of every sparse field, read once on the split's PIT (so no reader meets a token not here)."""
    sparse = [f.name for f in table.fields if f.type == LType.SPARSE_FLOAT_VECTOR]
    if not sparse:
        return {}
    tokens: dict[str, set[str]] = {name: set() for name in sparse}
    scan = options.model_copy(update={"batch_size": VOCABULARY_PAGE})
    if pit is not None:
        spec = {"index": target, "pit": pit, "sort": sort, "slice": None}
        pages = search_pages(wire, scan, spec, sparse, None, f"{table.name} (sparse vocabulary)")
    else:
        pages = scroll_pages(wire, scan, {"index": target, "slice": None}, sparse, None, f"{table.name} (vocabulary)")
    for hits, _ in pages:
        for h in hits:
            src = h.get("_source") or {}
            for name in sparse:
                value = src.get(name)
                if isinstance(value, dict):
                    tokens[name].update(value)
    return {name: sorted(t) for name, t in tokens.items()}
