"""Options of the Chroma source (job file block ``source: {Chroma: {...}}``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from vts import secrets
from vts.connector import Options


class ChromaOptions(Options):
    path: str | None = Field(
        None,
        description="Folder of an embedded Chroma, as given to chromadb.PersistentClient(path=...). Never created.",
    )
    url: str | None = Field(None, description="URL of a Chroma server, e.g. http://localhost:8000 (instead of path).")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="HTTP headers for the server, e.g. {x-chroma-token: ${CHROMA_TOKEN}}.",
        json_schema_extra={"group": "connection"},
    )
    tenant: str = Field("default_tenant", description="Chroma tenant.", json_schema_extra={"group": "connection"})
    database: str = Field("default_database", description="Chroma database.")
    collections: list[str] = Field(
        default_factory=list, description="Collections to read; default: every collection of the database."
    )
    metadata_column: str | None = Field(
        None,
        description="Write each record's metadata as one JSON column with this name instead of the target's "
        "dynamic field.",
    )
    batch_size: int = Field(1000, ge=1, le=100_000, description="Records per get() request.")
    parallelism: int | None = Field(
        None, ge=1, le=1024, description="Offset-range splits per collection; default: env.parallelism."
    )
    lock_timeout: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="Seconds to wait for another process to release a locked folder.",
        json_schema_extra={"group": "advanced"},
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must start with http:// or https:// (e.g. http://localhost:8000)")
        return value

    @field_validator("headers")
    @classmethod
    def _secret_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for header in value.values():  # tokens must never reach a message
            secrets.register(header)
        return value

    @model_validator(mode="after")
    def _coherent(self) -> ChromaOptions:
        if bool(self.path) == bool(self.url):
            raise ValueError("set exactly one of 'path' (a PersistentClient folder) or 'url' (a Chroma server)")
        if self.path and self.headers:
            raise ValueError("'headers' apply to a server ('url'), not to a folder")
        dupes = sorted({c for c in self.collections if self.collections.count(c) > 1})
        if dupes:
            raise ValueError(f"'collections' repeats {dupes}")
        return self

    def where(self) -> str:
        """The source, for messages (never a header)."""
        return f"Chroma folder {self.path}" if self.path else f"Chroma server {self.url}"
