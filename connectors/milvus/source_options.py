from __future__ import annotations

from pydantic import AliasChoices, Field

from vts.connectors.milvus.connection import ConnectionOptions
from vts.retry import RetryPolicy


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
    # named like every retry option (vts.retry); VTS's rate_limit_retries / rate_limit_wait stay valid
    rate_limit_attempts: int = Field(
        3,
        ge=0,
        validation_alias=AliasChoices("rate_limit_attempts", "rate_limit_retries"),
        description="Retries of a rate-limited read before MILVUS-18; the count restarts after each good page "
        "(VTS: rate_limit_retries).",
    )
    rate_limit_backoff: float = Field(
        30.0,
        ge=0,
        validation_alias=AliasChoices("rate_limit_backoff", "rate_limit_wait"),
        description="Seconds to wait before retrying a rate-limited read (VTS: rate_limit_wait).",
    )
    rate_limit_max_backoff: float | None = Field(
        None,
        ge=0,
        description="Longest wait; each retry doubles the last wait up to it. Default: rate_limit_backoff, so every "
        "wait is the same, as in VTS.",
    )
    rate_limit_jitter: float = Field(
        0.0, ge=0, le=1, description="Each wait is multiplied by a random factor in 1 +- rate_limit_jitter."
    )

    @property
    def rate_limit_retry(self) -> RetryPolicy:
        """How a rate-limited page read is retried."""
        cap = self.rate_limit_backoff if self.rate_limit_max_backoff is None else self.rate_limit_max_backoff
        return RetryPolicy(self.rate_limit_attempts, self.rate_limit_backoff, cap, self.rate_limit_jitter)
