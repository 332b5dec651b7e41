from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any, ClassVar

import pyarrow as pa

from vts.connector import Position, Source, Split, Splits
from vts.connectors.elasticsearch import schema, values
from vts.connectors.elasticsearch.client import connect
from vts.connectors.elasticsearch.errors import Code, ElasticsearchError
from vts.connectors.elasticsearch.options import ElasticsearchOptions
from vts.connectors.elasticsearch.reader import Layout, scroll_pages, search_pages
from vts.connectors.elasticsearch.splits import table_splits
from vts.schema import TableSchema

log = logging.getLogger("vts.elasticsearch")


class ElasticsearchSource(Source):
    """Elasticsearch indexes (7.10+ with point in time, older with scroll); OpenSearch through ``flavor``."""

    name = "Elasticsearch"
    doc = (
        "Elasticsearch indexes: dense (float, byte, bit) and sparse vectors, also where 9.2+ keeps them out "
        "of _source; sliced point-in-time reads resumable at every page; OpenSearch detected and read too."
    )
    Options = ElasticsearchOptions
    options: ElasticsearchOptions
    flavor: ClassVar[str] = "elasticsearch"

    def discover(self) -> list[TableSchema]:
        with connect(self.options, self.flavor) as wire:
            tables = [schema.describe(wire, self.options, target) for target in self.options.targets]
        names = [t.name for t in tables]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise ElasticsearchError(
                Code.INVALID_PARAM,
                f"index_list entries map to the same collection name {clash}",
                hint="list each index once (a wildcard already covers the indexes it matches)",
            )
        return tables

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> Splits:
        out: list[Split] = []
        pits: list[str] = []
        vocabularies: dict[str, dict[str, list[str]]] = {}
        with connect(self.options, self.flavor) as wire:
            try:
                for table in tables:
                    cut, opened, vocab = table_splits(wire, self.options, table, parallelism)
                    out += cut
                    pits += opened
                    if vocab:
                        vocabularies[table.name] = vocab
            except BaseException:
                for pit in pits:
                    wire.close_pit(pit)
                raise
        return Splits(tuple(out), {"pits": pits, "sparse": vocabularies})

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        spec = split.spec
        layout = Layout(table, spec.get("moved", {}))
        with connect(self.options, self.flavor) as wire:
            pages = (search_pages if spec["api"] == "PIT" else scroll_pages)(
                wire, self.options, spec, spec["names"], position, split.id
            )
            try:
                for hits, pos in pages:
                    yield layout.batch(hits), pos
            finally:
                pages.close()

    def finish(self, tables: list[TableSchema], state: dict[str, Any]) -> None:
        """Close the PITs the splits read and write each sparse field's token -> id mapping for encoding queries."""
        for table, fields in (state.get("sparse") or {}).items():
            target = next((t.properties["es"]["target"] for t in tables if t.name == table), table)
            for name, tokens in fields.items():
                ids, moved = values.vocabulary(set(tokens))
                path = self.options.sparse_vocabulary_path.format(index=schema.table_name(target), field=name)
                doc = {
                    "index": target,
                    "field": name,
                    "id": "blake2b-32 of the token, modulo 2^32-1; tokens in 'moved' collided and were re-hashed",
                    "moved": moved,
                    "tokens": ids,
                }
                tmp = f"{path}.tmp"
                with open(tmp, "w", encoding="utf-8") as fh:
                    json.dump(doc, fh, ensure_ascii=False, indent=0, sort_keys=True)
                os.replace(tmp, path)
                log.info("sparse field %s of %s: %d token ids written to %s", name, target, len(ids), path)
        pits = state.get("pits") or []
        if pits:
            with connect(self.options, self.flavor) as wire:
                for pit in pits:
                    wire.close_pit(pit)


class OpenSearchSource(ElasticsearchSource):
    """OpenSearch indexes (knn_vector by data_type), read with opensearch-py."""

    name = "OpenSearch"
    doc = (
        "OpenSearch indexes: knn_vector (float, byte, binary) by data_type and space_type; sliced "
        "point-in-time reads (2.4+) resumable at every page, scroll before."
    )
    flavor: ClassVar[str] = "opensearch"
