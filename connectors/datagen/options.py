from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from vts.connector import Options
from vts.schema import LType


class DataGenField(Options):
    name: str = Field(description="Column name.")
    type: LType = Field(description="Logical type (BIGINT, STRING, FLOAT_VECTOR, JSON, ARRAY, ...).")
    primary_key: bool = Field(False, description="The column is the primary key (values are the row number).")
    nullable: bool = Field(False, description="The column may hold NULL.")
    null_ratio: float = Field(0.0, ge=0.0, le=1.0, description="Share of NULLs in a nullable column.")
    default: Any = Field(None, description="Default value the target applies to NULLs.")
    max_length: int | None = Field(None, ge=1, description="Max bytes of a STRING column.")
    dimension: int | None = Field(None, ge=1, description="Dimension of a vector column.")
    element_type: LType | None = Field(None, description="Element type of an ARRAY column.")
    max_capacity: int | None = Field(None, ge=1, description="Max elements of an ARRAY column.")
    partition_key: bool = Field(False, description="Use this column as the Milvus partition key.")

    @model_validator(mode="after")
    def _coherent(self) -> DataGenField:
        if self.type.is_vector and self.type != LType.SPARSE_FLOAT_VECTOR and not self.dimension:
            raise ValueError(f"field '{self.name}' of type {self.type} needs 'dimension'")
        if self.type == LType.BINARY_VECTOR and self.dimension and self.dimension % 8:
            raise ValueError(f"field '{self.name}': BINARY_VECTOR dimension must be a multiple of 8")
        if self.type == LType.ARRAY and self.element_type is None:
            raise ValueError(f"field '{self.name}' of type ARRAY needs 'element_type'")
        if self.nullable and self.primary_key:
            raise ValueError(f"field '{self.name}': a primary key cannot be nullable")
        return self


def _default_fields() -> list[DataGenField]:
    return [
        DataGenField(name="id", type=LType.BIGINT, primary_key=True),
        DataGenField(name="vector", type=LType.FLOAT_VECTOR, dimension=128),
        DataGenField(name="title", type=LType.STRING, max_length=256),
    ]


class DataGenOptions(Options):
    collection: str = Field("datagen", description="Name of the generated table.")
    row_count: int = Field(1000, ge=0, description="Rows to generate.")
    seed: int = Field(42, description="Seed: the same seed gives the same rows, whatever the parallelism.")
    batch_size: int = Field(1000, ge=1, description="Rows per batch.")
    id_start: int = Field(0, description="Value of the first primary key.")
    partitions: list[str] = Field(
        default_factory=list, description="Named partitions; rows are spread over them in contiguous ranges."
    )
    fields: list[DataGenField] = Field(default_factory=_default_fields, description="Columns to generate.")
    invalid_ratio: float = Field(
        0.0, ge=0.0, le=1.0, description="Share of rows whose first float vector holds NaN: rehearse dead letters."
    )

    @model_validator(mode="after")
    def _coherent(self) -> DataGenOptions:
        names = [f.name for f in self.fields]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate field names: {sorted(dupes)}")
        if sum(f.primary_key for f in self.fields) > 1:
            raise ValueError("at most one field can be the primary key")
        if self.partitions and any(f.partition_key for f in self.fields):
            raise ValueError("use either named 'partitions' or a partition_key field, not both")
        return self
