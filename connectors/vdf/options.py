"""Options of the VDF source."""

from __future__ import annotations

from pydantic import Field

from vts.connectors.file.options import StorageOptions


class VdfSourceOptions(StorageOptions):
    path: str = Field(description="The VDF folder (the one holding VDF_META.json): local, s3://... or abfs://...")
    indexes: list[str] = Field(
        default_factory=list, description="Index names of VDF_META.json to read (default: every index)."
    )
    metric: str | None = Field(
        None, description="Metric for every vector index (COSINE, L2, IP), instead of the one VDF_META.json names."
    )
