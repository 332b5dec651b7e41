"""Options of the Parquet sink (the Milvus sink's names where they mean the same)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vts.connector import Options
from vts.connectors.milvus.options import FieldSchemaOption
from vts.savemode import DataSaveMode, SchemaSaveMode


class ParquetSinkOptions(Options):
    path: str = Field(description="Folder the files go to: <path>/<collection>/<partition>/<split>-<row>.parquet.")
    layout: Literal["milvus", "vdf"] = Field(
        "milvus",
        description="milvus: the files and a manifest for Milvus's Import API; vdf: the same files plus a "
        "VDF_META.json, so vector-io can read the folder too.",
    )
    milvus_version: str = Field(
        "2.5",
        description="The Milvus the files are for: what it cannot import (2.3: nullable fields, sparse vectors, "
        "more than one vector field) is refused before anything is written.",
    )
    schema_save_mode: SchemaSaveMode = Field(
        SchemaSaveMode.CREATE_SCHEMA_WHEN_NOT_EXIST, description="What to do when the collection folder exists."
    )
    data_save_mode: DataSaveMode = Field(
        DataSaveMode.APPEND_DATA, description="What to do with files already in the collection folder."
    )
    max_error_rows: int = Field(0, ge=0, description="Rejected rows tolerated before the run fails.")
    collection_rename: dict[str, str] = Field(default_factory=dict, description="Source table -> collection folder.")
    field_schema: list[FieldSchemaOption] = Field(
        default_factory=list, description="The target schema, as the Milvus sink's field_schema."
    )
    enable_dynamic_field: bool | None = Field(None, description="Write a $meta column (default: as the source).")
    default_max_length: int = Field(65535, ge=1, le=65535, description="VarChar max_length when the source has none.")
    chunk_size: float = Field(512, gt=0, le=16384, description="Max size of one Parquet file in MB.")
    row_group_mb: float = Field(32, gt=0, description="Target row group size in MB.")

    @model_validator(mode="after")
    def _coherent(self) -> ParquetSinkOptions:
        if not self.path.strip() or "://" in self.path:
            raise ValueError("'path' must be a local folder (copy it to object storage afterwards to import there)")
        if self.field_schema and sum(f.is_primary_key for f in self.field_schema) != 1:
            raise ValueError("field_schema must mark exactly one field is_primary_key: true")
        return self
