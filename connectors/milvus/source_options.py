from __future__ import annotations

from pydantic import Field

from connectors.milvus.connection import ConnectionOptions


class MilvusSourceOptions(ConnectionOptions):
    collections: list[str] = Field(
        default_factory=list, description="Collections to read ([] = every one in the database)."
    )
    partitions: list[str] = Field(default_factory=list, description="Only these partitions ([] = all).")
    filter: str | None = Field(None, description="Boolean expression rows must match, e.g. 'year >= 2020'.")
    batch_size: int = Field(1000, ge=1, le=16384, description="Rows per query page (real Milvus caps it at 16384).")
    parallelism: int | None = Field(
        None, ge=1, description="Pieces each collection/partition is cut into (default: env.parallelism)."
    )
    load_collection: bool = Field(
        False, description="Load an unloaded source collection instead of failing (MILVUS-06)."
    )
    rate_limit_retries: int = Field(3, ge=0, description="Retries of a rate-limited read before MILVUS-18.")
    rate_limit_wait: float = Field(30.0, ge=0, description="Seconds between rate-limited read retries.")
