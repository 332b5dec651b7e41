"""Azurite's Blob service on 127.0.0.1 for tests.

Install with ``bash tests/services/install_azurite.sh`` (npm, project-local
``.azurite`` folder). The server keeps everything in memory, listens on a free
loopback port and lives in its own process group, killed on :meth:`stop`::

    with Azurite() as az:
        BlobServiceClient.from_connection_string(az.connection_string)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.services import kill_group

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_HINT = "bash tests/services/install_azurite.sh"
ACCOUNT = "devstoreaccount1"
# Azurite's documented well-known development key (public, not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def find_azurite() -> Path | None:
    folder = Path(os.environ.get("AZURITE_DIR", REPO_ROOT / ".azurite"))
    exe = folder / "node_modules" / ".bin" / "azurite-blob"
    if exe.exists():
        return exe
    found = shutil.which("azurite-blob")
    return Path(found) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Azurite:
    def __init__(self) -> None:
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};BlobEndpoint={self.endpoint};"

    def start(self, timeout: float = 30.0) -> Azurite:
        exe = find_azurite()
        if exe is None:
            raise RuntimeError(f"azurite-blob is not installed: run {INSTALL_HINT}")
        self.port = _free_port()
        self._dir = tempfile.mkdtemp(prefix="vts-azurite-")
        log = open(Path(self._dir) / "azurite.log", "wb")  # noqa: SIM115 (lives as long as the server)
        self._proc = subprocess.Popen(
            [
                str(exe),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--loose",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self._dir,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc = self._proc.poll()
            if rc is not None:
                text = (Path(self._dir) / "azurite.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"azurite-blob exited with {rc}: {text}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"azurite-blob did not listen on 127.0.0.1:{self.port} within {timeout}s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            kill_group(proc)
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def service(self):  # -> BlobServiceClient
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def create_container(self, name: str) -> None:
        self.service().create_container(name)

    def blobs(self, container: str, prefix: str = "") -> dict[str, int]:
        cc = self.service().get_container_client(container)
        return {b.name: b.size for b in cc.list_blobs(name_starts_with=prefix)}
