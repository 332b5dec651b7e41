from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

from vts.connector import Options
from vts.connectors.milvus.bulk.config import BulkWriterConfig
from vts.connectors.milvus.connection import ConnectionOptions
from vts.connectors.milvus.types import DISPLAY_NAMES
from vts.savemode import DataSaveMode, SchemaSaveMode

MILVUS_TYPES = list(DISPLAY_NAMES)  # field_schema's data_type and element_type names


class IndexOptions(Options):
    index_type: str = Field("AUTOINDEX", description="Milvus index type (AUTOINDEX, HNSW, IVF_FLAT, ...).")
    metric_type: str | None = Field(
        None, description="COSINE, IP, L2 (float), HAMMING/JACCARD (binary); default by vector kind."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Index build parameters, e.g. {M: 16}.")


class FieldSchemaOption(Options):
    """One target field when ``field_schema`` is set (VTS's keys)."""

    field_name: str
    source_field_name: str | None = Field(None, description="Source column (default: field_name).")
    data_type: Literal[tuple(MILVUS_TYPES)] = Field(description="Milvus type name.")  # type: ignore[valid-type]
    element_type: Literal[tuple(MILVUS_TYPES)] | None = None  # type: ignore[valid-type]
    max_capacity: int = Field(4096, ge=1, le=4096)
    max_length: int | None = Field(None, ge=1, le=65535)
    dimension: int | None = Field(None, ge=1)
    is_nullable: bool = False
    default_value: Any = None
    is_primary_key: bool = False
    auto_id: bool = False
    is_partition_key: bool = False
    enable_analyzer: bool | None = None
    analyzer_params: dict[str, Any] | None = None
    enable_match: bool | None = None
    timezone: str | None = None


class MilvusSinkOptions(ConnectionOptions):
    schema_save_mode: SchemaSaveMode = Field(
        SchemaSaveMode.CREATE_SCHEMA_WHEN_NOT_EXIST, description="What to do with the target collection's schema."
    )
    data_save_mode: DataSaveMode = Field(
        DataSaveMode.APPEND_DATA, description="What to do with rows already in an existing target collection."
    )
    write_mode: Literal["upsert", "insert"] = Field(
        "upsert",
        description="upsert (default) makes a re-run replace rows by primary key instead of doubling them; "
        "insert is faster on some servers. Auto-id targets always insert.",
    )
    batch_size: int = Field(
        1000,
        ge=1,
        le=100_000,
        validation_alias=AliasChoices("batch_size", "sink.buffer-flush.max-rows"),
        description="Rows per Insert/Upsert call.",  # also sink.buffer-flush.max-rows, as the Flink sink names it
    )
    buffer_flush_interval: float | None = Field(
        None,
        gt=0,
        validation_alias=AliasChoices("buffer_flush_interval", "sink.buffer-flush.interval"),
        description="Seconds a buffered row may wait before it is sent, however few are buffered (Flink's "
        "sink.buffer-flush.interval); default: until batch_size rows or the next checkpoint (env checkpoint.interval).",
    )
    rate_limit_backoff: float = Field(
        60.0, ge=0, description="Seconds to wait after 'rate limit exceeded' before retrying with half the batch."
    )
    grow_after: int = Field(
        10, ge=1, description="Successful batches after which a halved batch size doubles back toward batch_size."
    )
    max_error_rows: int = Field(0, ge=0, description="Rejected rows tolerated before the run fails (MILVUS-28).")
    create_index: bool = Field(True, description="Create indexes on vector fields (and load the collection).")
    index: IndexOptions = Field(default_factory=IndexOptions, description="Index for vector fields without their own.")
    indexes: dict[str, IndexOptions] = Field(default_factory=dict, description="Per-field index, by target field.")
    collection_rename: dict[str, str] = Field(default_factory=dict, description="Source table -> target collection.")
    collection_description: dict[str, str] = Field(default_factory=dict, description="Target collection -> text.")
    field_schema: list[FieldSchemaOption] = Field(
        default_factory=list, description="When set, the target fields exactly (VTS's field_schema)."
    )
    enable_dynamic_field: bool | None = Field(None, description="Dynamic field on the target (default: as the source).")
    consistency_level: Literal["Strong", "Session", "Bounded", "Eventually"] | None = Field(
        None, description="Consistency level of created collections (server default if unset)."
    )
    shard_num: int | None = Field(None, ge=1, description="Shards of created collections.")
    partition_num: int | None = Field(
        None, ge=1, le=4096, description="Partitions when the target has a partition key."
    )
    partition_name: str | None = Field(None, description="Write every row into this partition (created if missing).")
    default_max_length: int = Field(65535, ge=1, le=65535, description="VarChar max_length when the source has none.")
    bulk_writer_config: BulkWriterConfig | None = Field(
        None,
        description="When set (non-empty), stage Parquet files and call the Import API instead of inserting "
        "(BulkWriter; README.md, 'BulkWriter: Parquet staging + Milvus's Import API').",
    )

    @field_validator("bulk_writer_config", mode="before")
    @classmethod
    def _empty_bulk_config(cls, v: Any) -> Any:
        return None if v == {} else v

    @model_validator(mode="after")
    def _coherent(self) -> MilvusSinkOptions:
        if self.field_schema and sum(f.is_primary_key for f in self.field_schema) != 1:
            raise ValueError("field_schema must mark exactly one field is_primary_key: true")
        return self
