"""moto's S3 server on 127.0.0.1 for tests (no MinIO exists here).

``pip install 'moto[server]' boto3`` (in the project's test deps). The server
runs in a thread of the test process (``ThreadedMotoServer``) on a free
loopback port, so it works inside the suite's loopback-only namespace.

moto accepts any credentials unless told otherwise; with ``strict_auth`` (the
default) :class:`MotoS3` turns on moto's IAM checks (``/moto-api/reset-auth``)
after creating one IAM user allowed ``s3:*``: its key pair
(:attr:`access_key`, :attr:`secret_key`) is then the only one that works, so
wrong-credentials tests are real. The setting is process-wide in moto: one
server per process. ::

    with MotoS3() as s3:
        s3.create_bucket("b")
        boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id=s3.access_key, ...)
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from types import TracebackType
from typing import Any

ACCESS_KEY = "vtstestaccesskey"
SECRET_KEY = "vtstestsecretkey"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoS3:
    """A moto S3 server (context manager). ``endpoint`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, port: int | None = None, strict_auth: bool = True) -> None:
        self.port = port or _free_port()
        self.strict_auth = strict_auth
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.region = REGION
        self._server: Any = None
        self._env: dict[str, str | None] = {}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, the form Milvus's ``minio.address``/``minio.port`` take apart."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> MotoS3:
        from moto.server import ThreadedMotoServer

        # boto3 inside this process must never reach a real AWS account
        for key, value in (("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET_KEY)):
            self._env[key] = os.environ.get(key)
            os.environ.setdefault(key, value)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        if self.strict_auth:
            self._require_auth()
        return self

    def _require_auth(self) -> None:
        """From now on only an IAM user's keys work (moto counts 3 unauthenticated calls: ours)."""
        import urllib.request

        import boto3

        req = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth", data=b"3", method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(req).read()
        iam = boto3.client(
            "iam", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        )  # fmt: skip
        user = f"vts-test-{uuid.uuid4().hex[:8]}"  # moto's IAM state is process-wide: one user per server
        iam.create_user(UserName=user)
        iam.put_user_policy(
            UserName=user,
            PolicyName="s3-all",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
        )
        key = iam.create_access_key(UserName=user)["AccessKey"]
        self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]

    def stop(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.stop()
            self._server = None
        for key, value in self._env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._env.clear()

    def __enter__(self) -> MotoS3:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def client(self, access_key: str | None = None, secret_key: str | None = None) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name=self.region,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """Every key under ``prefix`` with its size."""
        out: dict[str, int] = {}
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                out[obj["Key"]] = obj["Size"]
        return out
