"""Options of the LanceDB source (job file block ``source: {LanceDB: {...}}``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from vts import secrets
from vts.connector import Options

SECRET_KEYS = ("secret", "token", "password", "key")


class LanceDBOptions(Options):
    uri: str = Field(
        ...,
        description="A LanceDB database (a local folder or s3://bucket/path, as given to lancedb.connect), "
        "or one Lance dataset (a path ending in .lance).",
        json_schema_extra={"group": "connection"},
    )
    tables: list[str] = Field(default_factory=list, description="Tables to read; default: every table of the database.")
    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description="Object-store settings passed to lance, e.g. aws_access_key_id, aws_secret_access_key, "
        "aws_region, aws_endpoint, allow_http.",
        json_schema_extra={"group": "connection"},
    )
    primary_key: str | None = Field(
        None,
        description="Column that becomes the primary key; default: a column named 'id' if the table has one, "
        "else none (the Milvus sink adds an auto-id key).",
    )
    metric: Literal["L2", "COSINE", "IP", "HAMMING", "JACCARD"] | None = Field(
        None,
        description="Index metric of the vector columns on the target; default: the metric of the column's "
        "LanceDB vector index, else L2 (LanceDB's default; HAMMING for binary vectors).",
    )
    batch_size: int = Field(4096, ge=1, le=1_000_000, description="Rows per batch read from a fragment.")
    parallelism: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="Splits per table; a table with fewer fragments has its fragments cut into row ranges. "
        "Default: env.parallelism.",
    )

    @field_validator("storage_options")
    @classmethod
    def _secret_values(cls, value: dict[str, str]) -> dict[str, str]:
        for key, v in value.items():
            if any(s in key.lower() for s in SECRET_KEYS) and "id" not in key.lower():
                secrets.register(v)  # keys must never reach a message
        return value

    @model_validator(mode="after")
    def _coherent(self) -> LanceDBOptions:
        if self.single_dataset and self.tables:
            raise ValueError("'tables' applies to a database; 'uri' names one dataset (it ends in .lance)")
        dupes = sorted({t for t in self.tables if self.tables.count(t) > 1})
        if dupes:
            raise ValueError(f"'tables' repeats {dupes}")
        return self

    @property
    def single_dataset(self) -> bool:
        return self.uri.rstrip("/").endswith(".lance")

    @property
    def local(self) -> bool:
        return "://" not in self.uri or self.uri.startswith("file://")

    def where(self) -> str:
        return f"LanceDB dataset {self.uri}" if self.single_dataset else f"LanceDB database {self.uri}"
