"""Options of the Pinecone source (VTS's keys kept: api_key, index, batch_size, merge_namespace)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from vts.connector import Options

NamespaceMode = Literal["partition", "partition_key", "column"]


class PineconeSourceOptions(Options):
    api_key: SecretStr = Field(description="Pinecone API key (use ${PINECONE_API_KEY}).")
    index: str | None = Field(None, description="Index name; its host is looked up on the control plane.")
    host: str | None = Field(
        None,
        description="The index's data-plane host (https://NAME-PROJECT.svc....pinecone.io); with 'index' too "
        "it skips nothing but the host lookup.",
    )
    controller_host: str | None = Field(
        None, description="Control-plane URL (default https://api.pinecone.io): a private endpoint or a local emulator."
    )
    namespaces: list[str] | None = Field(
        None, description="Namespaces to read ('__default__' is the default one); default: every namespace."
    )
    merge_namespace: bool = Field(
        False, description="VTS's switch: false -> one Milvus partition per namespace; true -> a 'namespace' column."
    )
    namespace_mode: NamespaceMode | None = Field(
        None,
        description="partition (one partition per namespace), partition_key (a 'namespace' partition-key field: "
        "Milvus's multi-tenancy pattern, for more namespaces than partitions) or column; default from merge_namespace, "
        "and partition_key with a warning when partitions would not do.",
    )
    batch_size: int = Field(100, ge=1, le=100, description="Ids per list page (Pinecone allows 1-100).")
    fetch_size: int = Field(100, ge=1, le=1000, description="Ids per fetch request (Pinecone allows up to 1000).")
    concurrency: int = Field(4, ge=1, le=64, description="Fetch requests in flight per split.")
    id_prefix: str | None = Field(None, description="Read only ids starting with this prefix (list's 'prefix').")
    split_prefixes: list[str] = Field(
        default_factory=list,
        description="Id prefixes that together cover every id of a namespace (e.g. the 16 hex digits for UUID "
        "ids): each becomes a split of its own, read in parallel; their rows must add up to the namespace's count.",
    )
    ids_file: str | None = Field(
        None,
        description="A file of ids, one per line, fetched from every namespace read: the way to read a pod "
        "index, which cannot list its ids.",
    )
    metadata_fields: list[str] = Field(
        default_factory=list,
        description="Metadata keys written as typed columns (type inferred from a sample across all namespaces); "
        "the other keys go to the dynamic field.",
    )
    sample_size: int = Field(1000, ge=1, description="Vectors sampled across all namespaces to type metadata_fields.")
    count_tolerance: int = Field(
        0, ge=0, description="Rows a namespace may fall short of its describe_index_stats count (a live index)."
    )
    max_retries: int = Field(8, ge=0, description="Retries of a rate-limited request beyond the SDK's own three.")
    timeout: float = Field(30.0, gt=0, description="Seconds a request may take.")

    @model_validator(mode="after")
    def _coherent(self) -> PineconeSourceOptions:
        if not self.index and not self.host:
            raise ValueError("set 'index' (the index name) or 'host' (its data-plane URL)")
        if self.id_prefix is not None and self.ids_file:
            raise ValueError("'id_prefix' filters a listing and 'ids_file' replaces it: set one of them")
        if self.split_prefixes and self.ids_file:
            raise ValueError("'split_prefixes' cut a listing and 'ids_file' replaces it: set one of them")
        overlapping = sorted(
            (a, b) for a in self.split_prefixes for b in self.split_prefixes if a != b and b.startswith(a)
        )
        if overlapping or len(set(self.split_prefixes)) < len(self.split_prefixes) or "" in self.split_prefixes:
            raise ValueError(
                "split_prefixes must be distinct, non-empty and none the start of another (each id in one split"
                + (f"; {overlapping[0][0]!r} starts {overlapping[0][1]!r}" if overlapping else "")
                + ")"
            )
        if self.namespace_mode is not None and self.merge_namespace and self.namespace_mode == "partition":
            raise ValueError("merge_namespace: true contradicts namespace_mode: partition")
        dupes = {n for n in self.metadata_fields if self.metadata_fields.count(n) > 1}
        if dupes:
            raise ValueError(f"metadata_fields repeats {sorted(dupes)}")
        return self

    def where(self) -> str:
        return f"Pinecone index '{self.index}'" if self.index else f"Pinecone index at {self.host}"
