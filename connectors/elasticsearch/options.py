"""Options of the Elasticsearch / OpenSearch source (VTS's keys where VTS has them: hosts, index, query, ...)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from vts.connector import Options


class ElasticsearchOptions(Options):
    # where
    hosts: list[str] = Field(default_factory=list, description="Node URLs, e.g. ['https://es1:9200'].")
    cloud_id: str | None = Field(None, description="Elastic Cloud deployment id (instead of hosts).")
    username: str | None = Field(None, description="User for basic authentication.")
    password: SecretStr | None = Field(None, description="Password for basic authentication.")
    api_key: SecretStr | None = Field(None, description="API key (the encoded form Kibana shows).")
    tls_verify_certificate: bool = Field(True, description="Verify the server's TLS certificate.")
    tls_verify_hostname: bool = Field(True, description="Check the certificate's host name.")
    ca_certs: str | None = Field(None, alias="tls_ca_file", description="CA bundle (PEM) for the server's certificate.")
    timeout: int = Field(60, ge=1, description="Seconds a request may take.")
    flavor: Literal["elasticsearch", "opensearch"] | None = Field(
        None, description="elasticsearch | opensearch; detected from GET / when not set."
    )
    # what
    index: str | None = Field(None, description="Index, alias or wildcard pattern to read (VTS's key).")
    index_list: list[str] = Field(default_factory=list, description="Several indexes/aliases/patterns.")
    query: dict[str, Any] = Field(
        default_factory=lambda: {"match_all": {}}, description="Query DSL; default match_all."
    )
    source: list[str] | None = Field(None, description="Fields to read (besides the key); default: every mapped field.")
    pk: str = Field("_id", description="Primary key: _id (default) or a unique keyword/numeric field.")
    # how
    search_api_type: Literal["PIT", "SCROLL"] = Field("PIT", description="PIT (point in time, default) or SCROLL.")
    split_mode: Literal["SLICE", "SHARD", "INDEX"] = Field(
        "SLICE",
        description="SLICE: slices of one PIT (max = parallelism); SHARD: one slice per primary shard; "
        "INDEX: one split per concrete index.",
    )
    batch_size: int = Field(1000, ge=1, le=10_000, description="Hits per search request.")
    keep_alive: str = Field(
        "10m", pattern=r"^\d+(ms|s|m|h|d)$", description="How long a PIT/scroll lives between requests."
    )
    sample_size: int = Field(200, ge=1, le=10_000, description="Documents sampled to tell arrays from single values.")
    byte_vectors: Literal["float", "int8"] = Field(
        "float",
        description="dense_vector element_type byte -> FloatVector (default: every Milvus has it, values exact) "
        "or Int8Vector (Milvus 2.6+).",
    )
    sparse_vocabulary_path: str = Field(
        "./{index}.{field}.tokens.json",
        description="Where the sparse token -> integer id mapping is written ({index}, {field} substituted).",
    )

    @model_validator(mode="after")
    def _coherent(self) -> ElasticsearchOptions:
        if bool(self.hosts) == bool(self.cloud_id):
            raise ValueError("set exactly one of 'hosts' or 'cloud_id'")
        if bool(self.index) == bool(self.index_list):
            raise ValueError("set exactly one of 'index' or 'index_list'")
        if (self.username is None) != (self.password is None):
            raise ValueError("'username' and 'password' go together")
        if self.api_key and self.username:
            raise ValueError("set 'api_key' or 'username'/'password', not both")
        return self

    @property
    def targets(self) -> list[str]:
        return [self.index] if self.index else list(self.index_list)

    def where(self) -> str:
        """The source, for messages (never a secret)."""
        return ", ".join(self.hosts) if self.hosts else f"cloud id {self.cloud_id}"
