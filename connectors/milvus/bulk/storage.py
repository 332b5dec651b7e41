"""Where staged files go: a local folder, S3-compatible storage (boto3), Azure Blob Storage.

Each backend makes a finished local file durable under a key with one call
(S3: multipart upload in parallel parts; Azure: staged blocks committed
once; local: an atomic rename), so a file is either wholly there or absent.
Every client error is mapped to a coded error in :func:`storage_error`.

Retries: each HTTP request (an S3 part, an Azure block) is retried inside the
storage client, as :data:`STORAGE_RETRY` says, where a failed part can be sent
again alone; once those retries are spent the upload fails with MILVUS-22, and
the engine retries a transient one from the split's checkpoint.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from vts.connectors.milvus.bulk.config import MB, BulkWriterConfig
from vts.connectors.milvus.bulk.errors import storage_error
from vts.retry import RetryPolicy

log = logging.getLogger("vts.milvus.bulk")

PART_SIZE = 64 * MB
STORAGE_RETRY = RetryPolicy(attempts=5, base=1.0, cap=20.0, jitter=1.0)


class Storage(ABC):
    """One staging area; opened where it is used (workers and driver), never pickled open."""

    kind: str

    @abstractmethod
    def check(self) -> None:
        """Fail early with a coded error when the bucket/folder is missing or the credentials are refused."""

    @abstractmethod
    def put_file(self, local: Path, key: str) -> None:
        """Make ``local`` durable as ``key`` (replacing any object of that name), then delete ``local``."""

    @abstractmethod
    def list(self, prefix: str) -> dict[str, int]:
        """Keys under ``prefix`` with their sizes."""

    @abstractmethod
    def delete(self, keys: list[str]) -> None: ...

    @abstractmethod
    def import_path(self, key: str) -> str:
        """The path the Milvus server's import reads for ``key``."""

    def object_url(self, key: str) -> str:
        """A URL of ``key`` for Zilliz Cloud's import (``s3://bucket/key``...)."""
        return self.import_path(key)

    def spool_dir(self) -> str | None:
        """Where a file is written before :meth:`put_file` (None: the system temp dir)."""
        return None

    def probe(self, prefix: str) -> None:
        """Write and delete a small object under ``prefix``: proves the credentials may write, not only read."""
        self.check()
        key = "/".join(p for p in (prefix, f".vts-probe-{uuid.uuid4().hex[:12]}") if p)
        fd, name = tempfile.mkstemp(prefix=".vts-probe-", dir=self.spool_dir())
        with os.fdopen(fd, "wb") as f:
            f.write(b"vts preflight\n")
        self.put_file(Path(name), key)  # removes the local file
        self.delete([key])

    def close(self) -> None:
        pass


def open_storage(cfg: BulkWriterConfig) -> Storage:
    if cfg.cloud_id == "local":
        return LocalStorage(cfg)
    if cfg.cloud_id == "azure":
        return AzureStorage(cfg)
    return S3Storage(cfg)


class LocalStorage(Storage):
    kind = "local folder"

    def __init__(self, cfg: BulkWriterConfig) -> None:
        self.root = Path(cfg.local_path or ".").resolve()

    def check(self) -> None:
        if not self.root.is_dir():
            raise storage_error(
                FileNotFoundError(f"{self.root} does not exist or is not a folder"), "local", str(self.root)
            )
        if not os.access(self.root, os.W_OK):
            raise storage_error(PermissionError(f"{self.root} is not writable"), "local", str(self.root))

    def spool_dir(self) -> str:
        spool = self.root / ".vts-spool"
        spool.mkdir(exist_ok=True)
        return str(spool)

    def put_file(self, local: Path, key: str) -> None:
        dest = self.root / key
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(local, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(local, dest)  # atomic within one filesystem
        except OSError:
            try:
                shutil.move(str(local), dest)
            except OSError as exc:
                raise storage_error(exc, "local", str(dest)) from None

    def list(self, prefix: str) -> dict[str, int]:
        base = self.root / prefix
        folder = base if base.is_dir() else base.parent
        if not folder.is_dir():
            return {}
        out = {}
        for p in folder.rglob("*"):
            key = p.relative_to(self.root).as_posix()
            if p.is_file() and key.startswith(prefix):
                out[key] = p.stat().st_size
        return out

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)

    def import_path(self, key: str) -> str:
        return str(self.root / key)


class S3Storage(Storage):
    """AWS S3, MinIO, GCS (XML API with HMAC keys): anything that speaks S3."""

    kind = "S3 bucket"

    def __init__(self, cfg: BulkWriterConfig) -> None:
        self.cfg = cfg
        self.bucket = cfg.bucket_name or ""
        endpoint = cfg.minio_url
        if endpoint is None and cfg.cloud_id == "gcp":
            endpoint = "https://storage.googleapis.com"
        if endpoint and "://" not in endpoint:
            endpoint = "http://" + endpoint
        self.endpoint = endpoint
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError as exc:
                raise storage_error(exc, "aws", self.bucket) from None
            kwargs: dict[str, Any] = {
                "region_name": self.cfg.region_id or "us-east-1",
                "config": Config(
                    # botocore's standard mode waits its own way (longer for throttling than for resets)
                    retries={"max_attempts": STORAGE_RETRY.attempts, "mode": "standard"},
                    s3={"addressing_style": "path" if self.endpoint else "auto"},
                    max_pool_connections=16,
                ),
            }
            if self.endpoint:
                kwargs["endpoint_url"] = self.endpoint
            if self.cfg.access_key is not None:
                kwargs["aws_access_key_id"] = self.cfg.secret("access_key")
                kwargs["aws_secret_access_key"] = self.cfg.secret("secret_key")
            self._client = boto3.session.Session().client("s3", **kwargs)
        return self._client

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise storage_error(exc, self.cfg.cloud_id, self.bucket, what) from None

    def check(self) -> None:
        self._call("checking the bucket", self.client.head_bucket, Bucket=self.bucket)

    def put_file(self, local: Path, key: str) -> None:
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE, max_concurrency=8)
        try:
            self._call(f"uploading {key}", self.client.upload_file, str(local), self.bucket, key, Config=config)
        finally:
            local.unlink(missing_ok=True)

    def list(self, prefix: str) -> dict[str, int]:
        out: dict[str, int] = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                for obj in page.get("Contents", []):
                    out[obj["Key"]] = obj["Size"]
        except Exception as exc:
            raise storage_error(exc, self.cfg.cloud_id, self.bucket, f"listing {prefix}") from None
        return out

    def delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            objects = [{"Key": k} for k in keys[i : i + 1000]]
            self._call(
                "deleting staged files", self.client.delete_objects, Bucket=self.bucket, Delete={"Objects": objects}
            )

    def import_path(self, key: str) -> str:
        return key  # self-hosted Milvus reads keys relative to its own bucket

    def object_url(self, key: str) -> str:
        scheme = "gs" if self.cfg.cloud_id == "gcp" else "s3"
        return f"{scheme}://{self.bucket}/{key}"


class AzureStorage(Storage):
    kind = "Azure container"

    def __init__(self, cfg: BulkWriterConfig) -> None:
        self.cfg = cfg
        self.container = cfg.bucket_name or ""
        self._client: Any = None

    @property
    def client(self) -> Any:  # ContainerClient
        if self._client is None:
            try:
                from azure.storage.blob import BlobServiceClient
            except ImportError as exc:
                raise storage_error(exc, "azure", self.container) from None
            cfg = self.cfg
            retry = _azure_retry(STORAGE_RETRY)
            if cfg.connection_string is not None:
                service = BlobServiceClient.from_connection_string(cfg.secret("connection_string"), retry_policy=retry)
            else:
                account = cfg.secret("access_key")
                url = cfg.minio_url or f"https://{account}.blob.core.windows.net"
                credential = {"account_name": account, "account_key": cfg.secret("secret_key")}
                service = BlobServiceClient(account_url=url, credential=credential, retry_policy=retry)
            self._client = service.get_container_client(self.container)
        return self._client

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise storage_error(exc, "azure", self.container, what) from None

    def check(self) -> None:
        self._call("checking the container", self.client.get_container_properties)

    def put_file(self, local: Path, key: str) -> None:
        try:
            with open(local, "rb") as fh:
                # upload_blob stages blocks of max_block_size in parallel and commits the list once
                self._call(
                    f"uploading {key}",
                    self.client.upload_blob,
                    key,
                    fh,
                    overwrite=True,
                    max_concurrency=8,
                    length=local.stat().st_size,
                )
        finally:
            local.unlink(missing_ok=True)

    def list(self, prefix: str) -> dict[str, int]:
        try:
            return {b.name: b.size for b in self.client.list_blobs(name_starts_with=prefix)}
        except Exception as exc:
            raise storage_error(exc, "azure", self.container, f"listing {prefix}") from None

    def delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 256):
            self._call("deleting staged files", self.client.delete_blobs, *keys[i : i + 256])

    def import_path(self, key: str) -> str:
        return key

    def object_url(self, key: str) -> str:
        return f"{self.client.url.rstrip('/')}/{key}"


def _azure_retry(policy: RetryPolicy) -> Any:
    """The Azure SDK's retry policy (which requests and errors it retries), counting and waiting as ``policy``."""
    from azure.storage.blob import ExponentialRetry

    class Retry(ExponentialRetry):
        def get_backoff_time(self, settings: dict[str, Any]) -> float:
            return policy.delay(max(1, settings["count"]))  # the SDK counts the retry before it waits

    return Retry(retry_total=policy.attempts)
