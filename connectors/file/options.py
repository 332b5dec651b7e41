"""Options of the File source."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from vts.connector import Options
from vts.connectors.milvus.options import MILVUS_TYPES

FORMATS = ("parquet", "jsonl", "csv", "npy")


class FieldOverride(Options):
    """One column's type, where the files' own types are not what the target should get."""

    field_name: str
    data_type: Literal[tuple(MILVUS_TYPES)] | None = None  # type: ignore[valid-type]
    element_type: Literal[tuple(MILVUS_TYPES)] | None = None  # type: ignore[valid-type]
    dimension: int | None = Field(None, ge=1)
    max_length: int | None = Field(None, ge=1, le=65535)
    max_capacity: int | None = Field(None, ge=1, le=4096)
    is_nullable: bool | None = None
    is_primary_key: bool | None = None


class StorageOptions(Options):
    """Where files are and how to read them: what the File and VDF sources share."""

    batch_size: int = Field(4096, ge=1, le=1_000_000, description="Rows per batch.")
    split_mb: float = Field(
        64, gt=0, description="Target split size in MB: Parquet row-group ranges, JSONL byte ranges, npy row ranges."
    )
    sample_rows: int = Field(1000, ge=1, description="Rows read to infer types (JSONL/CSV) and vector lengths.")
    # object stores (pyarrow's S3FileSystem / AzureFileSystem)
    endpoint: str | None = Field(None, description="S3-compatible endpoint, e.g. http://127.0.0.1:9000.")
    region: str | None = Field(None, description="S3 region (default: us-east-1).")
    access_key: SecretStr | None = Field(None, description="S3 access key (default: the AWS environment).")
    secret_key: SecretStr | None = Field(None, description="S3 secret key.")
    account_name: str | None = Field(None, description="Azure storage account (abfs:// paths).")
    account_key: SecretStr | None = Field(None, description="Azure account key.")
    blob_endpoint: str | None = Field(
        None, description="Azure blob endpoint host:port (Azurite: 127.0.0.1:10000), for a non-default service."
    )

    @property
    def split_bytes(self) -> int:
        return int(self.split_mb * (1 << 20))


class FileSourceOptions(StorageOptions):
    path: list[str] = Field(
        description="Files, folders or globs (data/*.parquet, data/**/*.jsonl); local, s3://bucket/key or "
        "abfs://container/key. A folder means every file of 'format' in it."
    )
    format: Literal["auto", "parquet", "jsonl", "csv", "npy"] = Field(
        "auto", description="File format; auto: from the extension (.parquet, .jsonl/.ndjson, .csv, .npy)."
    )
    table: str | None = Field(None, description="Table name the rows become (default: the first file's stem).")
    primary_key: str | None = Field(
        None, description="Column that is the primary key (default: 'id' when present, else an auto id)."
    )
    field_schema: list[FieldOverride] = Field(
        default_factory=list, description="Per-column type overrides (Milvus type names: FloatVector, VarChar...)."
    )
    ids_path: str | None = Field(None, description="npy: a 1-d .npy of ids, one per vector row (default: 0, 1, ...).")
    vector_field: str = Field("vector", description="npy: name of the vector column.")
    id_field: str = Field("id", description="npy: name of the id column.")

    @field_validator("path", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _coherent(self) -> FileSourceOptions:
        if not self.path or any(not p.strip() for p in self.path):
            raise ValueError("'path' needs at least one file, folder or glob")
        if self.ids_path and self.format not in ("auto", "npy"):
            raise ValueError("'ids_path' belongs to format npy")
        names = [f.field_name for f in self.field_schema]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"field_schema repeats {dupes}")
        return self
