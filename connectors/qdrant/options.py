"""Options of the Qdrant source (VTS's keys where VTS has them: host, port, api_key, collection_name, use_tls)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from vts.connector import Options


class QdrantSourceOptions(Options):
    # where: a server (url, or host/port) or a local-mode folder (path)
    url: str | None = Field(
        None, description="Server URL, e.g. http://localhost:6333 (REST) or https://xyz.cloud.qdrant.io."
    )
    host: str | None = Field(None, description="Server host name (instead of url).")
    port: int = Field(6333, ge=1, le=65535, description="REST port, with host.")
    grpc_port: int = Field(6334, ge=1, le=65535, description="gRPC port, used when prefer_grpc is true.")
    prefer_grpc: bool = Field(False, description="Talk gRPC (grpc_port) instead of REST.")
    https: bool = Field(False, alias="use_tls", description="Use TLS with host/port (VTS's 'use_tls').")
    api_key: SecretStr | None = Field(None, description="API key (Qdrant Cloud or a server with service.api_key).")
    timeout: int = Field(60, ge=1, description="Seconds a request may take.")
    path: str | None = Field(
        None,
        description="Folder of an embedded (local-mode) Qdrant, as written by QdrantClient(path=...); "
        "instead of url/host. One process at a time can open it.",
    )
    # what
    collection_name: str | None = Field(None, description="Collection to read (VTS's key).")
    collections: list[str] = Field(
        default_factory=list, description="Collections to read; with neither this nor collection_name: all of them."
    )
    vectors: list[str] | None = Field(
        None, description="Vector names to read (the unnamed vector is 'vector'); default: every vector."
    )
    multivector: Literal["refuse", "json"] = Field(
        "refuse",
        description="Multivectors (ColBERT-style): 'refuse' stops before moving data (exclude them with "
        "'vectors'), 'json' writes each as a JSON column holding the list of vectors (kept, not searchable).",
    )
    payload_include: list[str] | None = Field(
        None, description="Top-level payload keys to keep; default: all of them; [] keeps no payload."
    )
    payload_fields: list[str] = Field(
        default_factory=list,
        description="Payload keys written as typed columns (type inferred from sample_size points across the "
        "collection); the other keys go to the dynamic field.",
    )
    payload_column: str | None = Field(
        None,
        description="Write the payload as one JSON column with this name instead of the target's dynamic field.",
    )
    sample_size: int = Field(1000, ge=1, description="Points sampled across the collection to type payload_fields.")
    # how
    batch_size: int = Field(1000, ge=1, le=100_000, description="Points per scroll request (VTS: 64).")
    parallelism: int | None = Field(None, ge=1, le=1024, description="Splits per collection; default: env.parallelism.")

    @model_validator(mode="after")
    def _coherent(self) -> QdrantSourceOptions:
        given = [k for k in ("url", "host", "path") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "set exactly one of 'url', 'host' or 'path' (a local-mode folder)"
                + (f", got {' and '.join(given)}" if given else "")
            )
        if self.collection_name and self.collections:
            raise ValueError("set 'collection_name' or 'collections', not both")
        if self.path and self.api_key:
            raise ValueError("'api_key' has no meaning with 'path' (local mode has no authentication)")
        dupes = {n for n in self.payload_fields if self.payload_fields.count(n) > 1}
        if dupes:
            raise ValueError(f"payload_fields repeats {sorted(dupes)}")
        if self.payload_include is not None:
            missing = [n for n in self.payload_fields if n not in self.payload_include]
            if missing:
                raise ValueError(f"payload_fields {missing} are not in payload_include")
        return self

    @property
    def collection_list(self) -> list[str]:
        """The collections named in the job ([] = all on the server)."""
        return [self.collection_name] if self.collection_name else list(self.collections)

    @property
    def keeps_payload(self) -> bool:
        return self.payload_include is None or bool(self.payload_include)

    def where(self) -> str:
        """The source, for messages (never the key)."""
        if self.path:
            return f"local-mode folder {self.path}"
        if self.url:
            return self.url
        scheme = "https" if self.https else "http"
        return f"{scheme}://{self.host}:{self.grpc_port if self.prefer_grpc else self.port}"
