from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from vts.connector import Position, Source, Split
from vts.connectors.pinecone import client, schema
from vts.connectors.pinecone.errors import Code, PineconeError
from vts.connectors.pinecone.index import DEFAULT, IndexInfo, describe
from vts.connectors.pinecone.options import PineconeSourceOptions
from vts.connectors.pinecone.reader import check_complete, fetch, list_page, read_ids, read_namespace
from vts.schema import TableSchema


class PineconeSource(Source):
    """A Pinecone index: one split per namespace (or per id prefix of it), list + fetch pipelined, each namespace
    checked against describe_index_stats."""

    name = "Pinecone"
    doc = (
        "A Pinecone index (serverless, BYOC, or pod with an ids_file): every namespace, dense + sparse values and "
        "metadata; each namespace's rows checked against describe_index_stats; resumable at every page."
    )
    Options = PineconeSourceOptions
    options: PineconeSourceOptions

    def discover(self) -> list[TableSchema]:
        info = describe(self.options)
        namespaces = self._namespaces(info)
        samples: list[dict[str, Any]] = []
        # a sample types metadata_fields, and finds sparse values a dense dotproduct index may hold undeclared
        if self.options.metadata_fields or (not info.sparse and info.metric == "dotproduct"):
            idx = client.data(self.options, info.url)
            try:
                samples = _sample(self.options, idx, namespaces)
            finally:
                client.close(idx)
        return [schema.build(self.options, info, namespaces, samples)]

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> list[Split]:
        info = describe(self.options)
        out: list[Split] = []
        for table in tables:
            mode = table.properties.get("pinecone", {}).get("namespace_mode", "partition")
            for ns in self._namespaces(info):
                count = info.counts.get(ns, 0)
                spec: dict[str, Any] = {"namespace": ns, "url": info.url, "count": count}
                partition = schema.partition_of(ns) if mode == "partition" else None
                cuts = self.options.split_prefixes
                if not cuts:
                    out.append(Split(f"{table.name}/{ns}", table.name, partition, count, spec))
                for cut in cuts:  # the rows of a namespace's cuts are summed and checked in audit()
                    split_spec = {**spec, "prefix": cut, "cuts": len(cuts)}
                    out.append(Split(f"{table.name}/{ns}/{cut}", table.name, partition, count // len(cuts), split_spec))
        return out

    def audit(self, splits: list[Split], positions: dict[str, Position]) -> None:
        read: dict[str, int] = {}
        for split in splits:
            if "prefix" in split.spec:
                ns = split.spec["namespace"]
                read[ns] = read.get(ns, 0) + int((positions.get(split.id) or {}).get("read", 0))
        for split in splits:
            ns = split.spec["namespace"]
            if "prefix" in split.spec and ns in read:
                check_complete(self.options, ns, read.pop(ns), split.spec["count"], split.spec["cuts"])

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        spec = split.spec
        yield from read_namespace(
            self.options, table, spec["namespace"], spec["url"], spec["count"], position, spec.get("prefix", "")
        )

    def _namespaces(self, info: IndexInfo) -> list[str]:
        if not info.listable and not self.options.ids_file:
            raise PineconeError(
                Code.POD_ENUMERATION,
                f"{self.options.where()} is pod-based: Pinecone cannot list its ids (list is serverless-only), so "
                "vts cannot enumerate its vectors",
            )
        wanted = self.options.namespaces
        if wanted is None:
            return list(info.counts)
        names = [DEFAULT if n == "" else n for n in wanted]
        unknown = [n for n in names if n not in info.counts]
        if unknown:
            raise PineconeError(
                Code.NAMESPACE_NOT_FOUND,
                f"{self.options.where()} has no namespace {', '.join(repr(n) for n in unknown)}",
                hint=f"its namespaces are: {', '.join(info.counts) or 'none'} (the default one is '{DEFAULT}')",
            )
        return list(dict.fromkeys(names))


def _sample(options: PineconeSourceOptions, idx: Any, namespaces: list[str]) -> list[dict[str, Any]]:
    """Up to ``sample_size`` vectors, the first ids of every namespace (as many from each)."""
    if not namespaces:
        return []
    per = max(1, options.sample_size // len(namespaces))
    out: list[dict[str, Any]] = []
    for ns in namespaces:
        if len(out) >= options.sample_size and not options.metadata_fields:
            break
        if options.ids_file:
            ids, _ = read_ids(options.ids_file, 0, min(per, 1000))
        else:
            ids, token = [], None
            while len(ids) < per:
                page, token = list_page(options, idx, ns, token, min(100, per - len(ids)))
                ids += page
                if token is None:
                    break
        for start in range(0, len(ids), 1000):
            out += fetch(options, idx, ns, ids[start : start + 1000])
    return out
