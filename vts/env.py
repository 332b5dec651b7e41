"""The job's ``env`` block: how vts runs the job (parallelism, checkpoints, retries, dead letters, executor)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from vts.connector import Options
from vts.ray_options import RayOptions
from vts.retry import RetryPolicy


class CheckpointOptions(Options):
    path: str = Field(
        "./.vts-checkpoints", description="Folder, or s3://bucket/prefix, keeping one checkpoint per job file."
    )
    interval: float = Field(
        5.0, gt=0, description="Seconds between checkpoints of a split (each one flushes the writer)."
    )
    s3_endpoint: str | None = Field(None, description="S3 endpoint for an s3:// path (MinIO, ...); AWS when unset.")


class EnvOptions(Options):
    parallelism: int = Field(1, ge=1, le=1024, description="Splits read and written at once.")
    job_mode: Literal["BATCH", "STREAMING"] = Field(
        "BATCH",
        alias="job.mode",
        description="BATCH: copy what the source holds, then end. STREAMING: keep applying the source's changes "
        "until stopped (Kafka, Pgvector change data capture).",
    )
    checkpoint: CheckpointOptions = Field(default_factory=CheckpointOptions, description="Resume after a failure.")
    # Retry options are named <what>_attempts/_backoff/_max_backoff/_jitter everywhere (vts.retry); VTS's
    # names stay valid as aliases.
    retry_attempts: int = Field(
        3,
        ge=0,
        validation_alias=AliasChoices("retry_attempts", "split_retries"),
        description="Retries of a split that failed transiently, from its checkpoint; 0: none (VTS: split_retries).",
    )
    retry_backoff: float = Field(2.0, ge=0, description="Seconds before the first split retry; doubles each retry.")
    retry_max_backoff: float = Field(60.0, ge=0, description="Longest wait before a split retry, in seconds.")
    retry_jitter: float = Field(
        0.5, ge=0, le=1, description="Each wait is multiplied by a random factor in 1 +- retry_jitter."
    )
    dead_letter_path: str = Field(
        "./vts-dead-letters.jsonl", description="JSONL file receiving rows the sink rejected, with their reasons."
    )
    executor: Literal["local", "ray"] = Field(
        "local", description="Where splits run: 'local' (threads of this process) or 'ray' (tasks on a Ray cluster)."
    )
    ray: RayOptions = Field(default_factory=RayOptions, description="The Ray cluster and task sizes (executor: ray).")

    @property
    def split_retry(self) -> RetryPolicy:
        """How the engine retries a split that failed transiently."""
        return RetryPolicy(self.retry_attempts, self.retry_backoff, self.retry_max_backoff, self.retry_jitter)
