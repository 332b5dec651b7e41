"""Shared fixtures: Milvus Lite (embedded and server mode) and job helpers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.services import kill_group
from vts import cli, secrets

# The services' session fixtures, registered once: a fixture imported into several test modules is a new
# fixture in each, so every module would start its own PostgreSQL, Tansu, moto, Azurite or Ray.
pytest_plugins = [
    "tests.bulk_fixtures",
    "tests.kafka_fixtures",
    "tests.pgvector_fixtures",
    "tests.pinecone_fixtures",
    "tests.ray_fixtures",
]

REPO = Path(__file__).resolve().parent.parent
VTS_BIN = Path(sys.executable).with_name("vts")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@pytest.fixture(autouse=True)
def _own_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own folder: checkpoints and dead letters it leaves cannot leak into another."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _own_secrets() -> Iterator[None]:
    """The secrets a test's jobs registered are forgotten after it, so they cannot mask another test's output."""
    yield
    secrets.forget()


class LiteServer:
    """`milvus-lite server` on 127.0.0.1, started again (same data) if it died since the last test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def ensure(self) -> str:
        if self.proc is not None and self.proc.poll() is None:
            return self.url
        if self.proc is not None:  # say so in the test output: a dead server is a finding, not a detail
            print(f"milvus-lite server exited with {self.proc.returncode}; starting it again")
        port = free_port()
        exe = shutil.which("milvus-lite", path=str(Path(sys.executable).parent)) or "milvus-lite"
        with (self.folder / "server.log").open("a") as log:
            self.proc = subprocess.Popen(
                [exe, "server", "--data-dir", str(self.folder / "db"), "--host", "127.0.0.1", "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(port, proc=self.proc)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            kill_group(self.proc)


@pytest.fixture(scope="session")
def _lite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiteServer]:
    server = LiteServer(tmp_path_factory.mktemp("lite-server"))
    yield server
    server.stop()


@pytest.fixture
def lite_server(_lite_server: LiteServer) -> str:
    """The shared `milvus-lite server`'s http:// URL."""
    return _lite_server.ensure()


@pytest.fixture(params=["embedded", "server"])
def milvus_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh Milvus Lite target: an embedded .db file, or the shared server."""
    if request.param == "embedded":
        return str(tmp_path / "target.db")
    return request.getfixturevalue("lite_server")


def write_job(path: Path, job: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(job, sort_keys=False))
    return path


def run_vts(*args: str, capsys: pytest.CaptureFixture[str] | None = None) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    code = cli.main(list(args))
    if capsys is None:
        return code, "", ""
    out = capsys.readouterr()
    return code, out.out, out.err


def client_for(url: str):
    """A client to check results with; vts's connect() reopens a connection the server closed while idle."""
    from vts.connectors.milvus.connection import ConnectionOptions, connect

    return connect(ConnectionOptions(url=url))


def read_all(client: Any, collection: str, fields: list[str], key: str = "id") -> list[dict[str, Any]]:
    """Every row of a collection, sorted by key (query_iterator: no offset limits)."""
    client.load_collection(collection)
    it = client.query_iterator(collection, batch_size=2000, filter="", output_fields=fields, consistency_level="Strong")
    rows: list[dict[str, Any]] = []
    while True:
        page = it.next()
        if not page:
            it.close()
            break
        rows.extend(page)
    rows.sort(key=lambda r: r[key])
    return rows


def count(client: Any, collection: str) -> int:
    client.load_collection(collection)
    res = client.query(collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(res[0]["count(*)"])


@pytest.fixture
def milvus235() -> Any:
    """The real Milvus 2.3.5 standalone (auth on: token root:Milvus), shared across tests.

    Asked for per test: other modules restart the one instance a namespace can hold with
    other settings, and ``shared_instance`` starts ours again only when that happened.

    It binds every interface, so it runs only inside the loopback-only network
    namespace `make test` creates; outside one the tests skip, unless
    VTS_REQUIRE_MILVUS_STANDALONE=1 (set by `make test`) makes that a failure.
    """
    from tests.services import milvus_standalone as ms

    reason = None
    try:
        ms.find_milvus_server()
    except FileNotFoundError as exc:
        reason = f"{exc} (bash tests/services/install_milvus_standalone.sh)"
    if reason is None and not (ms.in_private_netns() and ms.loopback_up()):
        reason = "not in a loopback-only network namespace (run `make test`)"
    if reason:
        if os.environ.get("VTS_REQUIRE_MILVUS_STANDALONE") == "1":
            pytest.fail(f"Milvus 2.3.5 required but unavailable: {reason}")
        pytest.skip(reason)
    return ms.shared_instance(auth=True)


def checkpoint_state(folder: Path) -> dict[str, Any]:
    """The state of the one checkpoint file in ``folder`` ({} when there is none)."""
    import json

    for path in folder.glob("*.json"):
        try:
            return json.loads(path.read_text())["state"]
        except (ValueError, OSError):  # replaced while we read it
            return {}
    return {}


def kill_when(proc: subprocess.Popen, ready: Any, after: float, timeout: float = 120.0) -> bool:
    """SIGKILL ``proc`` ``after`` seconds once ``ready()`` holds; False if it finished first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    time.sleep(after)
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True
