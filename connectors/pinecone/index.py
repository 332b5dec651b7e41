"""What the driver learns about an index: its shape (control plane), its namespaces and their counts (data plane).

An index is a *vector* index when its 2026-07 schema declares its vectors
under Pinecone's reserved names (``_values`` dense, ``_sparse_values``
sparse); any other vector field makes it a *document* index, which the
vectors API (list, fetch) refuses with 400, so it is refused here before any
data moves. ``deployment.deployment_type`` tells pod indexes (no ``list``, no
``/namespaces``) from serverless and BYOC ones.

Namespaces come from ``describe_index_stats`` (every namespace holding
vectors, with its count) and, where the index has it, ``/namespaces`` (also
empty ones). Stats name the default namespace ``"__default__"`` (older
servers: ``""``); both become :data:`DEFAULT`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vts.connectors.pinecone import client
from vts.connectors.pinecone.errors import Code, PineconeError
from vts.connectors.pinecone.options import PineconeSourceOptions

DEFAULT = "__default__"
DENSE, SPARSE = "_values", "_sparse_values"


@dataclass(frozen=True)
class IndexInfo:
    url: str  # the data plane
    kind: str  # managed | pod | byoc | unknown (host given, no control plane asked)
    dimension: int | None
    metric: str | None
    sparse: bool  # declares sparse values (a sparse or hybrid index)
    counts: dict[str, int] = field(default_factory=dict)  # namespace -> vectors, from stats

    @property
    def listable(self) -> bool:
        return self.kind != "pod"


def api_namespace(namespace: str) -> str:
    """What the data plane is sent for a namespace: the default one as ''."""
    return "" if namespace == DEFAULT else namespace


def describe(options: PineconeSourceOptions, idx: Any | None = None) -> IndexInfo:
    """The index's shape and per-namespace counts; ``idx`` is an open data-plane client to reuse."""
    described: dict[str, Any] = {}
    if options.index:
        described = _control_plane(options)
    url = client.data_url(options, described.get("host"))
    own = idx is None
    idx = client.data(options, url) if own else idx
    try:
        stats = client.call(options, "reading describe_index_stats", idx.describe_index_stats)
        counts = {(DEFAULT if ns in ("", DEFAULT) else ns): int(s.vector_count) for ns, s in stats.namespaces.items()}
        kind = described.get("kind", "unknown")
        if kind != "pod" and options.ids_file is None:
            for ns in _listed_namespaces(options, idx, kind):
                counts.setdefault(ns, 0)
    finally:
        if own:
            client.close(idx)
    dimension = described.get("dimension", stats.dimension)
    metric = described.get("metric", stats.metric)
    sparse = described.get("sparse", (stats.vector_type or "dense") == "sparse")
    return IndexInfo(url, kind, dimension or None, metric, sparse, dict(sorted(counts.items())))


def _control_plane(options: PineconeSourceOptions) -> dict[str, Any]:
    pc = client.control(options)
    try:
        model = client.call(options, "describing the index", pc.describe_index, options.index)
    finally:
        client.close(pc)
    fields = dict(model.schema.fields)
    vectors = {n: f for n, f in fields.items() if type(f).__name__ in ("DenseVectorField", "SparseVectorField")}
    embedded = [n for n, f in fields.items() if type(f).__name__ in ("SemanticTextField", "StringField")]
    others = [n for n in vectors if n not in (DENSE, SPARSE)]
    if others or (not vectors and embedded):
        raise PineconeError(
            Code.DOCUMENT_INDEX,
            f"{options.where()} is a document-schema index (fields {sorted(fields)}): Pinecone serves its records "
            "through the documents API only and refuses list and fetch, so no vector can be read from it",
            hint="export its documents with the SDK's index.documents API, or read a vector index",
        )
    dense = vectors.get(DENSE)
    out: dict[str, Any] = {
        "host": model.host,
        "kind": _kind(model),
        "sparse": SPARSE in vectors,
    }
    if dense is not None:
        out.update(dimension=int(dense.dimension), metric=dense.metric)
    elif SPARSE in vectors:
        out.update(dimension=None, metric="dotproduct")
    return out


def _kind(model: Any) -> str:
    return {"ManagedDeployment": "managed", "PodDeployment": "pod", "ByocDeployment": "byoc"}.get(
        type(model.deployment).__name__, "unknown"
    )


def _listed_namespaces(options: PineconeSourceOptions, idx: Any, kind: str) -> list[str]:
    out: list[str] = []
    token: str | None = None
    while True:
        try:
            page = client.call(
                options, "listing namespaces", idx.list_namespaces_paginated, limit=100, pagination_token=token
            )
        except PineconeError as err:
            if kind == "unknown" and err.kind is Code.SERVER_RESPONSE_FAILED and "400" in err.message:
                return out  # a pod index reached by host alone: stats already named its namespaces
            raise
        out += [DEFAULT if ns.name in ("", DEFAULT) else ns.name for ns in page.namespaces]
        token = page.pagination.next if page.pagination else None
        if not token:
            return out
