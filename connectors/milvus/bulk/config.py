"""``bulk_writer_config``: VTS's keys for the BulkWriter, plus what the Import API needs.

A non-empty ``bulk_writer_config`` on the Milvus sink switches it from
Insert/Upsert batches to Parquet staging + the Import API (README.md, "BulkWriter: Parquet staging + Milvus's Import API").
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator

from vts.connector import Options

MB = 1 << 20


class BulkWriterConfig(Options):
    cloud_id: Literal["aws", "azure", "gcp", "local"] = Field(
        "aws",
        description="Where files are staged: aws (any S3-compatible store: AWS, MinIO), azure (Blob Storage), "
        "gcp (Cloud Storage through its S3-compatible XML API and HMAC keys), local (a folder the server reads).",
    )
    minio_url: str | None = Field(
        None,
        validation_alias=AliasChoices("minio_url", "endpoint"),
        description="Object store endpoint, e.g. http://minio:9000 (alias: endpoint). Default: AWS S3 for aws, "
        "https://storage.googleapis.com for gcp, https://<account>.blob.core.windows.net for azure.",
    )
    region_id: str | None = Field(None, description="Region of the bucket (aws/gcp); default us-east-1.")
    access_key: SecretStr | None = Field(
        None,
        description="S3/GCS access key; for azure the storage account name. Default for aws: boto3's usual "
        "credential chain (environment, ~/.aws, instance role).",
    )
    secret_key: SecretStr | None = Field(
        None, description="S3/GCS secret key; for azure the account key (or set connection_string)."
    )
    connection_string: SecretStr | None = Field(None, description="azure: a full storage connection string.")
    bucket_name: str | None = Field(
        None,
        description="Bucket (aws/gcp) or container (azure). For self-hosted Milvus this must be the bucket the "
        "server itself uses (minio.bucketName in milvus.yaml): Milvus reads staged files from its own store.",
    )
    local_path: str | None = Field(None, description="local: folder for staged files, readable by the Milvus server.")
    prefix: str = Field("vts", description="Key prefix: files go to <prefix>/<collection>/<partition>/.")
    chunk_size: float = Field(512, gt=0, le=16384, description="Max size of one Parquet file in MB.")
    auto_import: bool = Field(
        True, description="Call the Import API after every split has staged; false only stages the files."
    )
    import_method: Literal["auto", "grpc", "rest"] = Field(
        "auto",
        description="auto: REST when rest_url or cluster_id is set or the server is Milvus 2.4+, gRPC bulk insert "
        "for Milvus 2.3; grpc: pymilvus do_bulk_insert, one task per file; rest: /v2/vectordb/jobs/import/create.",
    )
    rest_url: str | None = Field(
        None,
        description="REST endpoint for the import (default: the sink's url). For Zilliz Cloud: "
        "https://api.cloud.zilliz.com together with cluster_id.",
    )
    rest_token: SecretStr | None = Field(None, description="Bearer token for rest_url (default: the sink's token).")
    cluster_id: str | None = Field(
        None, description="Zilliz Cloud cluster id: import by object URLs and storage keys through the control plane."
    )
    import_timeout: float = Field(3600.0, gt=0, description="Seconds to wait for the import to finish (MILVUS-26).")
    poll_interval: float = Field(2.0, gt=0, le=300, description="Seconds between import progress polls.")
    max_error_rows: int | None = Field(
        None,
        ge=0,
        description="Rows the import may fail to load before the run fails with MILVUS-28. Unset: any failed row "
        "fails the run with MILVUS-27.",
    )
    keep_staged_files: bool = Field(
        False, description="Keep the staged files after a successful import (they are always kept after a failure)."
    )
    row_group_mb: float = Field(32, gt=0, description="Target Parquet row group size in MB (server read memory).")

    @model_validator(mode="after")
    def _coherent(self) -> BulkWriterConfig:
        if self.cloud_id == "local":
            if not self.local_path:
                raise ValueError("cloud_id local needs 'local_path' (a folder the Milvus server can read)")
        elif not self.bucket_name:
            raise ValueError(f"cloud_id {self.cloud_id} needs 'bucket_name'")
        if self.cloud_id == "azure" and not self.connection_string and not (self.access_key and self.secret_key):
            raise ValueError(
                "cloud_id azure needs 'connection_string', or 'access_key' (account name) and 'secret_key' (account key)"
            )
        if self.import_method == "grpc" and self.cluster_id:
            raise ValueError("cluster_id (Zilliz Cloud) imports through REST: set import_method rest or auto")
        if self.cluster_id and self.cloud_id == "local":
            raise ValueError("Zilliz Cloud cannot read a local folder: stage to aws, azure or gcp")
        return self

    @property
    def chunk_bytes(self) -> int:
        return int(self.chunk_size * MB)

    @property
    def clean_prefix(self) -> str:
        return self.prefix.strip("/")

    def secret(self, name: str) -> str | None:
        value = getattr(self, name)
        return value.get_secret_value() if value is not None else None
