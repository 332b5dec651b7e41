"""Chroma's own server (the ``chroma`` command of the chromadb package) on 127.0.0.1 for tests.

No install step: ``pip install chromadb`` ships the binary. The server serves
one folder, listens on a free loopback port, runs in its own process group
and is stopped with :func:`tests.services.kill_group`. Telemetry is off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from tests.services import kill_group


def chroma_binary() -> str:
    found = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if not found:
        raise RuntimeError("no `chroma` command: pip install chromadb (the project's chroma extra)")
    return found


class ChromaServer:
    """``with ChromaServer(folder, port) as server: server.url``."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ChromaServer:
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        cmd = [chroma_binary(), "run", "--path", str(self.folder), "--host", "127.0.0.1", "--port", str(self.port)]
        log = open(self.folder.parent / f"chroma-{self.port}.log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2):
                    return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    kill_group(self.proc)
                    raise RuntimeError(f"chroma server did not start; see {log.name}") from None
                time.sleep(0.2)

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.proc is not None:
            kill_group(self.proc)
