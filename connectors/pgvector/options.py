"""Options of the ``Pgvector`` source (job file block ``source: {Pgvector: {...}}``)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from vts import secrets
from vts.connector import Options

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class PgvectorOptions(Options):
    url: str | None = Field(
        None, description="postgresql://user:password@host:port/database (instead of host/port/user/...)."
    )
    host: str = Field("localhost", description="Server host (when 'url' is not set).")
    port: int = Field(5432, ge=1, le=65535, description="Server port (when 'url' is not set).")
    user: str | None = Field(None, description="User name (when 'url' is not set).")
    password: SecretStr | None = Field(None, description="Password; overrides the one in 'url'.")
    database: str | None = Field(None, description="Database name (when 'url' is not set).")
    table: str | None = Field(None, description="Table to read, as table or schema.table. Set this or 'query'.")
    query: str | None = Field(None, description="SELECT to read instead of a table. Set this or 'table'.")
    collection: str | None = Field(
        None, description="Name vts gives the table (the target collection); default: the table's name, or 'query'."
    )
    columns: list[str] = Field(default_factory=list, description="Columns to read (default: all).")
    where: str | None = Field(None, description="SQL condition rows must meet, e.g. \"lang = 'en'\" (tables only).")
    primary_key: list[str] | None = Field(
        None, description="Key column(s) splits and resume use (default: the table's primary key; none for a query)."
    )
    batch_size: int = Field(10_000, ge=1, le=1_000_000, description="Rows per batch handed to the sink.")
    halfvec_as_float_vector: bool = Field(
        False, description="Read halfvec as FloatVector (float32) for targets without Float16Vector (Milvus Lite)."
    )
    incremental_column: str | None = Field(
        None,
        description="Column that grows on insert/update (updated_at, serial): each run reads rows past the last mark.",
    )
    state_path: str = Field(
        "./vts-pgvector-state.json", description="JSON file keeping the incremental high-water marks between runs."
    )
    sslmode: SslMode | None = Field(None, description="libpq sslmode (default: libpq's 'prefer').")
    sslrootcert: str | None = Field(None, description="CA certificate file to verify the server with.")
    sslcert: str | None = Field(None, description="Client certificate file.")
    sslkey: str | None = Field(None, description="Client private key file.")
    connect_timeout: int = Field(10, ge=1, le=600, description="Seconds to wait for a connection.")
    mode: Literal["batch", "streaming"] = Field(
        "batch",
        description="batch: copy the table once. streaming (also set by env job.mode: STREAMING): change data "
        "capture, a snapshot then the table's changes from a logical replication slot until stopped.",
    )
    slot_name: str | None = Field(
        None,
        pattern=r"^[a-z0-9_]{1,63}$",
        description="Replication slot of a streaming run (created by vts); default: vts_<table>_<hash of server, "
        "database and table>, the same on every run.",
    )
    publication_name: str | None = Field(
        None,
        pattern=r"^[a-z0-9_]{1,63}$",
        description="Publication of a streaming run (created by vts, FOR TABLE the table); default: the slot's name.",
    )
    poll_interval: float = Field(
        1.0, gt=0, le=60, description="Seconds a streaming reader waits between two looks at its slot when idle."
    )

    @field_validator("primary_key", mode="before")
    @classmethod
    def _key_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("must start with postgresql:// (e.g. postgresql://user:password@host:5432/db)")
        # the URL's password must never reach a message, whatever prints it
        secrets.register(parts.password)
        return value

    @model_validator(mode="after")
    def _coherent(self) -> PgvectorOptions:
        if bool(self.table) == bool(self.query):
            raise ValueError("set exactly one of 'table' or 'query'")
        if self.query and (self.columns or self.where):
            raise ValueError("'columns' and 'where' apply to 'table'; write them into the 'query'")
        if self.url and (self.user or self.database):
            raise ValueError("set either 'url' or host/port/user/database, not both")
        if self.primary_key is not None and not self.primary_key:
            raise ValueError("'primary_key' must name at least one column")
        if self.mode == "streaming" and (self.query or self.incremental_column or self.primary_key):
            raise ValueError(
                "streaming reads a table's changes by its primary key: set 'table', "
                "not 'query', 'incremental_column' or 'primary_key'"
            )
        return self

    def slot(self) -> str:
        """The replication slot's name: the option, or one derived from the server, database and table."""
        if self.slot_name:
            return self.slot_name
        import hashlib
        import re

        digest = hashlib.sha256(f"{self.server_label()}|{self.table}".encode()).hexdigest()[:8]
        stem = re.sub(r"[^a-z0-9_]", "_", (self.table or "").lower())[:40]
        return f"vts_{stem}_{digest}"

    def publication(self) -> str:
        return self.publication_name or self.slot()

    def conninfo(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` (the password stays a secret until here)."""
        kw: dict[str, Any] = {"connect_timeout": self.connect_timeout, "application_name": "vts"}
        if self.url:
            kw["conninfo"] = self.url
        else:
            kw.update(host=self.host, port=self.port, dbname=self.database)
            if self.user:
                kw["user"] = self.user
        if self.password is not None:
            kw["password"] = self.password.get_secret_value()
        for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
            if getattr(self, key) is not None:
                kw[key] = getattr(self, key)
        # session settings our text casts and timestamp decoding rely on
        kw["options"] = "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=3"
        return kw

    def server_label(self) -> str:
        """host:port/database, for state keys and messages (never the password)."""
        if self.url:
            p = urlsplit(self.url)
            return f"{p.hostname or 'localhost'}:{p.port or 5432}{p.path or '/'}"
        return f"{self.host}:{self.port}/{self.database or ''}"
