"""Milvus connection options and the one function that opens a client."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pydantic import Field, SecretStr, field_validator

from connectors.milvus.errors import Code, MilvusError, wrap
from vts.connector import Options

_CONNECT_ATTEMPTS = 3
_URL = re.compile(r"^(https?|tcp|grpc|unix)://[^\s/]+(:\d+)?/?$")


class ConnectionOptions(Options):
    url: str = Field(
        "./milvus.db",
        description="A Milvus Lite file (embedded, e.g. ./milvus.db) or http(s)://host:port of a Milvus server.",
    )
    token: SecretStr = Field(SecretStr(""), description="user:password or an API key (not needed for Milvus Lite).")
    database: str = Field("default", description="Database on the server.")
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for the server to answer when connecting.")
    client_pem_path: str | None = Field(None, description="TLS client certificate (mutual TLS).")
    client_key_path: str | None = Field(None, description="TLS client key (mutual TLS).")
    ca_pem_path: str | None = Field(None, description="TLS CA certificate.")
    server_name: str | None = Field(None, description="TLS server name override.")

    @field_validator("url")
    @classmethod
    def _url_shape(cls, v: str) -> str:
        if "://" in v:
            if not _URL.match(v):
                raise ValueError("must be http(s)://host:port or a Milvus Lite file path ending in .db")
        elif not v.endswith(".db"):
            raise ValueError("a Milvus Lite path must end in .db (or give http(s)://host:port for a server)")
        return v

    @property
    def is_lite_file(self) -> bool:
        return "://" not in self.url


@dataclass(frozen=True)
class ServerInfo:
    """What the target can hold, from its version string."""

    version: str
    lite: bool
    major_minor: tuple[int, int]

    @classmethod
    def parse(cls, version: str) -> ServerInfo:
        lite = version.lower().startswith(("milvus_lite", "milvus-lite"))  # 2.3.5 from PyPI says "v2.3.5-lite"
        m = re.search(r"(\d+)\.(\d+)", version)
        mm = (int(m[1]), int(m[2])) if m and not lite else (2, 6)
        return cls(version, lite, mm)


def silence_client_logs(level: int = logging.CRITICAL) -> None:
    """pymilvus logs a traceback for every failed RPC; vts reports errors itself."""
    logging.getLogger("pymilvus").setLevel(level)


def connect(opts: ConnectionOptions):  # -> MilvusClient
    """Open a client; every failure becomes MILVUS-16 with the fix named."""
    from pymilvus import MilvusClient

    silence_client_logs()
    check_lite_folder(opts)
    kwargs: dict[str, object] = {"uri": opts.url, "timeout": opts.timeout}
    if opts.token.get_secret_value():
        kwargs["token"] = opts.token.get_secret_value()
    if opts.database and opts.database != "default":
        kwargs["db_name"] = opts.database
    if opts.ca_pem_path or opts.client_pem_path:
        kwargs.update(secure=True, ca_pem_path=opts.ca_pem_path, server_name=opts.server_name)
        if opts.client_pem_path:
            kwargs.update(client_pem_path=opts.client_pem_path, client_key_path=opts.client_key_path)
    attempt = 1
    while True:
        started = time.monotonic()
        try:
            return MilvusClient(**kwargs)
        except Exception as exc:
            if attempt == _CONNECT_ATTEMPTS or not _reconnect_may_help(opts, exc, time.monotonic() - started):
                where = f"cannot connect to Milvus at {_where(opts)}"
                raise wrap(exc, Code.INIT_CLIENT_ERROR, where, hint=_connect_hint(opts, str(exc))) from None
        time.sleep(0.2 * attempt)
        attempt += 1


def _reconnect_may_help(opts: ConnectionOptions, exc: Exception, seconds: float) -> bool:
    """A shared gRPC connection that the server closed while idle (milvus-lite answers pymilvus's keepalive
    pings with GOAWAY "too_many_pings") fails its first reconnect at once, and the next attempt succeeds. A
    server that did not answer within the timeout would only make the user wait again."""
    text = str(exc).lower()
    unavailable = "fail connecting" in text or "unavailable" in text
    return not opts.is_lite_file and unavailable and seconds < opts.timeout / 2


def check_lite_folder(opts: ConnectionOptions) -> None:
    if opts.is_lite_file and not Path(opts.url).resolve().parent.is_dir():
        raise MilvusError(
            Code.INIT_CLIENT_ERROR,
            f"cannot connect to Milvus at {opts.url}: the folder of the Milvus Lite file does not exist",
            hint="create the folder, or point 'url' at an existing one",
        )


def _where(opts: ConnectionOptions) -> str:
    return opts.url if opts.is_lite_file else urlparse(opts.url).netloc


def _connect_hint(opts: ConnectionOptions, detail: str) -> str:
    if opts.is_lite_file:
        return "check that the folder of the .db file exists and is writable, and that no other process has it open"
    if "database" in detail.lower():
        return f"create database '{opts.database}' or set 'database' to an existing one"
    return "check 'url' (host and port) and that the server is running and reachable"


def server_info(client) -> ServerInfo:  # client: MilvusClient
    try:
        return ServerInfo.parse(client.get_server_version())
    except Exception as exc:
        raise MilvusError(Code.SERVER_RESPONSE_FAILED, f"cannot read the server version: {exc}") from None
