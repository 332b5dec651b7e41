"""Milvus connection options and the one function that opens a client."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pydantic import Field, SecretStr, field_validator

from vts.connector import Options
from vts.connectors.milvus.errors import Code, MilvusError, wrap
from vts.retry import RetryPolicy

log = logging.getLogger("vts.milvus")

# a connection the server dropped at once is tried twice more, 0.2 s and 0.4 s later (see _reconnect_may_help)
_RECONNECT = RetryPolicy(attempts=2, base=0.2, cap=1.0, jitter=0.0)
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


class _LiteStartFailures(logging.Filter):
    """milvus-lite logs its own traceback when it cannot open a .db file, and pymilvus then raises only "Open
    local milvus failed". This keeps that traceback off the terminal and remembers the exception (per thread,
    as workers connect at once), so that connect() can say what went wrong."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            self._local.error = record.exc_info[1]
            return False
        return True

    def take(self) -> BaseException | None:
        error, self._local.error = getattr(self._local, "error", None), None
        return error


_lite_failures = _LiteStartFailures()


def silence_client_logs(level: int = logging.CRITICAL) -> None:
    """pymilvus logs a traceback for every failed RPC, milvus-lite for a file it cannot open; vts reports
    errors itself."""
    logging.getLogger("pymilvus").setLevel(level)
    logging.getLogger("milvus_lite.server_manager").addFilter(_lite_failures)  # added once, however often called


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
    started = time.monotonic()

    def open_client() -> MilvusClient:
        nonlocal started
        started = time.monotonic()
        _lite_failures.take()  # forget a failure of an earlier connect in this thread
        return MilvusClient(**kwargs)

    try:
        return _RECONNECT.run(
            open_client, transient=lambda exc: _reconnect_may_help(opts, exc, time.monotonic() - started)
        )
    except Exception as exc:
        lite_error = _lite_failures.take() if opts.is_lite_file else None
        if lite_error is not None:
            log.debug("milvus-lite could not open %s", opts.url, exc_info=lite_error)
            if _is_locked(lite_error):
                raise _held_elsewhere(opts.url) from None
        where = f"cannot connect to Milvus at {_where(opts)}"
        if lite_error is not None:
            where += f" ({_short(lite_error)})"
        raise wrap(exc, Code.INIT_CLIENT_ERROR, where, hint=_connect_hint(opts, str(exc))) from None


def _is_locked(exc: BaseException) -> bool:
    # milvus_lite.exceptions.DataDirLockedError, by name: milvus-lite is optional and its module layout may move
    return any(cls.__name__ == "DataDirLockedError" for cls in type(exc).__mro__)


def lite_file_bound(url: str) -> str:
    """Why a Milvus Lite file cannot be shared with worker processes, and what to use instead."""
    return (
        f"the Milvus Lite file {url} can be open in one process only; serve it with 'milvus-lite server "
        f"--data-dir DIR --host 127.0.0.1 --port 19530' and set 'url: http://127.0.0.1:19530', or use a Milvus server"
    )


def _held_elsewhere(url: str) -> MilvusError:
    holder = _lock_holder(Path(url))
    by = f" (process {holder})" if holder else ""
    return MilvusError(
        Code.INIT_CLIENT_ERROR,
        f"cannot open Milvus Lite file {url}: another process holds it{by}; a Milvus Lite file can be open in "
        "one process at a time",
        hint=f"stop the other process; or, to share the file, stop it and serve the file with 'milvus-lite server "
        f"--data-dir {url} --host 127.0.0.1' instead, then set 'url: http://127.0.0.1:19530' in every job using it",
    )


def _lock_holder(folder: Path) -> str | None:
    """The process holding a lock on a file of ``folder``, as "<pid>, <program>" (Linux /proc/locks), if known."""
    try:
        inodes = {p.stat().st_ino for p in folder.iterdir() if p.is_file()}
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or "->" in parts:  # "->": a process waiting for the lock, not holding it
            continue
        pid, inode = parts[4], parts[5].rsplit(":", 1)[-1]
        if inode.isdigit() and int(inode) in inodes and pid.isdigit() and int(pid) not in (0, os.getpid()):
            try:  # the program's name only: its command line may hold secrets
                return f"{pid}, {Path(f'/proc/{pid}/comm').read_text().strip()}"
            except OSError:
                return pid
    return None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


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
