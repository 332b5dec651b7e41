"""The servers a bench path talks to, each in its own process group on 127.0.0.1.

Reuses the test suite's starters (tests/services/). Each started service adds
what the sides need to ``env`` (URLs, keys) and its process group to
``groups``, whose CPU seconds the runner reads around every side.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measure import REPO, RUNNER

sys.path.insert(0, str(REPO))

from tests.services import kill_group

S3_KEY, S3_SECRET, S3_BUCKET = "benchkey", "benchsecret", "milvus-bulk"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Services:
    """Starts what paths ask for, once per run, and stops all of it (by process group) at the end."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.env: dict[str, Any] = {}
        self.groups: dict[str, int] = {}
        self._stops: list[Callable[[], None]] = []
        self._started: set[str] = set()
        self._milvus_servers: dict[str, Any] = {}
        self._restartable: dict[str, Callable[[], None]] = {}  # servers a path starts again on its own when stopped

    def ensure(self, names: tuple[str, ...], path_env: dict[str, Any]) -> dict[str, int]:
        """Start the services in ``names`` not yet running; the process groups of those ``names``."""
        for name in names:
            if name not in self._started:
                if name.startswith("serve:"):
                    self._serve(name, path_env)
                else:
                    getattr(self, f"_start_{name}")()
                self._started.add(name)
        wanted = {_group_name(n) for n in names}
        wanted |= {"moto" for n in names if n == "milvus235s3"}
        return {k: v for k, v in self.groups.items() if k in wanted}

    def stop_unused(self, names: tuple[str, ...]) -> None:
        """Stop the Milvus and moto servers that ``names`` do not use (started again when a later path asks).

        A scaling run's Lite server went on indexing its 1 M rows for minutes after the side ended, past the
        settle wait's cap, and took the cores of the next path's runs (pgvector insert at 1 M: 210 s, 119 s
        on a quiet machine)."""
        keep = {_group_name(n) for n in names} | ({"moto"} if "milvus235s3" in names else set())
        for name in [n for n in self._restartable if n not in keep]:
            self._stop_one(name)

    def _stop_one(self, name: str) -> None:
        self._restartable.pop(name)()
        self._milvus_servers.pop(name, None)
        self.groups.pop(name, None)
        self._started.discard(name)

    def stop(self) -> None:
        for stop in reversed(self._stops):
            with contextlib.suppress(Exception):
                stop()
        self._stops.clear()

    def _popen(self, name: str, cmd: list[str], **kw: Any) -> subprocess.Popen:
        log = (self.work / f"{name}.log").open("ab")
        proc = subprocess.Popen(cmd, stdout=kw.pop("stdout", log), stderr=log, start_new_session=True, **kw)
        self.groups[name] = proc.pid
        self._stops.append(lambda: (kill_group(proc), log.close()))
        self._restartable[name] = self._stops[-1]
        return proc

    def _lite(self, name: str) -> str:
        port = free_port()
        exe = shutil.which("milvus-lite", path=str(Path(sys.executable).parent)) or "milvus-lite"
        data = self.work / name
        cmd = [exe, "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)]
        proc = self._popen(name, cmd)
        wait_for_port(port, proc)
        return f"http://127.0.0.1:{port}"

    def _start_lite(self) -> None:
        self.env["lite_url"] = self._lite("lite")

    def _start_lite2(self) -> None:
        self.env["lite2_url"] = self._lite("lite2")

    def _start_moto(self) -> None:
        port = free_port()
        exe = Path(sys.executable).with_name("moto_server")
        proc = self._popen("moto", [str(exe), "-H", "127.0.0.1", "-p", str(port)])
        wait_for_port(port, proc)
        import boto3

        s3 = boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET, region_name="us-east-1",
        )  # fmt: skip
        s3.create_bucket(Bucket=S3_BUCKET)
        self.env.update(s3_endpoint=f"http://127.0.0.1:{port}", s3_port=port, s3_key=S3_KEY,
                        s3_secret=S3_SECRET, s3_bucket=S3_BUCKET)  # fmt: skip

    def _start_milvus235(self) -> None:
        """Milvus 2.3.5 standalone on its local storage (as a single-node install keeps its data)."""
        self._milvus("milvus235", {})

    def _start_milvus235s3(self) -> None:
        """Milvus 2.3.5 standalone whose object store is the moto server, so the bulk path can import from S3."""
        if "moto" not in self._started:
            self._start_moto()
            self._started.add("moto")
        config = {
            "common.storageType": "minio",
            "minio.address": "127.0.0.1",
            "minio.port": str(self.env["s3_port"]),
            "minio.bucketName": S3_BUCKET,
            "minio.accessKeyID": S3_KEY,
            "minio.secretAccessKey": S3_SECRET,
            "minio.rootPath": "milvus-data",
        }
        self._milvus("milvus235s3", config)

    def _milvus(self, name: str, config: dict[str, str]) -> None:
        """One Milvus 2.3.5 per namespace (its etcd peer port is fixed): the other kind is stopped first."""
        from tests.services import milvus_standalone as ms

        for other in ("milvus235", "milvus235s3"):
            if other in self._milvus_servers:
                self._stop_one(other)
        server = ms.MilvusStandalone(extra_config=config, base_dir=self.work).start()
        self._milvus_servers[name] = server
        self._stops.append(server.stop)  # stopping a stopped server does nothing
        self._restartable[name] = server.stop
        self.groups[name] = server._proc.pid
        self.env["milvus_url"] = server.uri

    def _start_postgres(self) -> None:
        from tests.services.postgres import PostgresServer

        pg = PostgresServer().start()
        self._stops.append(pg.stop)
        self.groups["postgres"] = pg.proc.pid
        self.env["pg_url"] = pg.url

    def _serve(self, spec: str, path_env: dict[str, Any]) -> None:
        """``serve:<module>:<fn>``: a long-lived child running ``fn(env)``, which prints one JSON line for env."""
        _, module, fn = spec.split(":")
        env_file = self.work / f"serve-{fn}.json"
        env_file.write_text(json.dumps({**self.env, **path_env}))
        log = (self.work / f"{fn}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, str(RUNNER), "--serve", f"{module}:{fn}", "--env", str(env_file)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, start_new_session=True, text=True,
            env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'benchmarks'}"},
        )  # fmt: skip
        self.groups[_group_name(spec)] = proc.pid
        self._stops.append(lambda: (kill_group(proc), log.close()))
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            raise RuntimeError(f"{spec} exited before it served: see {self.work / (fn + '.log')}")
        self.env.update(json.loads(line))


MILVUS_URLS = ("milvus_url", "lite_url", "lite2_url")  # the env keys of the Milvus servers a path may use


def milvus_collections(env: dict[str, Any]) -> dict[str, list[str]]:
    """The collections on every Milvus server of ``env`` (after a path's setup: its source collections).

    Run in a child process (``run.py --setup services:milvus_collections``), as is
    :func:`drop_new_collections`: a channel the runner kept open through a long side
    is closed by Milvus 2.3.5 (GOAWAY too_many_pings against pymilvus's keepalive),
    and pymilvus's pooled reconnect then fails."""
    from pymilvus import MilvusClient

    out = {}
    for key in MILVUS_URLS:
        if env.get(key):
            c = MilvusClient(uri=env[key])
            out[env[key]] = sorted(c.list_collections())
            c.close()
    return out


def drop_new_collections(env: dict[str, Any]) -> dict[str, Any]:
    """Drop what a side created (the collections not in ``env["baseline"]``): Milvus stops indexing them."""
    from pymilvus import MilvusClient

    dropped = []
    for url, keep in env["baseline"].items():
        c = MilvusClient(uri=url)
        for name in set(c.list_collections()) - set(keep):
            c.drop_collection(name)
            dropped.append(name)
        c.close()
    return {"dropped": dropped}


def _group_name(spec: str) -> str:
    """``lite`` for a started service, the module's short name (``pinecone``) for a ``serve:`` one."""
    return spec.split(":")[1].removeprefix("bench_") if spec.startswith("serve:") else spec


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="vts-bench-"))
