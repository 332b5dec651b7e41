"""Start the real Milvus 2.3.5 standalone (PyPI ``milvus==2.3.5``) for tests.

The server is ``milvus-server`` from the PyPI package ``milvus==2.3.5``: a real
Milvus standalone with embedded etcd, RocksMQ and local storage. Install it
with ``bash tests/services/install_milvus_standalone.sh`` (own venv at
``.venv-milvus-server``; the project venv is not touched).

Rules this module enforces
--------------------------
* **Loopback-only network namespace.** Milvus 2.3.5 binds all interfaces, so
  it may only run inside a private namespace whose sole interface is ``lo``.
  The Makefile runs pytest as
  ``unshare --net sh -c 'ip link set lo up && .venv/bin/python -m pytest ...'``.
  :meth:`MilvusStandalone.start` raises :class:`RuntimeError` anywhere else
  (see :func:`in_private_netns`).
* **One instance per namespace at a time.** Embedded etcd's peer port 2380 is
  fixed. Starting a second instance in the same process raises; the shared
  instance (below) is stopped automatically when another one starts.
* **Own process group, SIGKILL to stop.** ``stop()`` kills the process group
  of the ``milvus-server`` it started (by PGID, never by name). A watchdog in
  that group kills it too if the Python process that started it dies.
* **Everything in one temp dir.** Data, config, logs and a ``TMPDIR`` for the
  server live in ``tempfile.mkdtemp(prefix="vts-milvus-")``, removed on stop.
  The binary also writes two files at hard-coded paths
  (``/tmp/milvus/server_id_<pid>`` and ``/run/milvus/standalone.pid``, or
  ``/tmp/milvus/standalone.pid`` when ``/run`` is read-only); ``TMPDIR`` does
  not move them, so ``stop()`` deletes exactly those files of our PID, then
  the two folders if this instance created them and they are empty (another
  instance in another namespace may still use them).

Usage
-----
One server per test::

    with MilvusStandalone(auth=True) as srv:
        client = MilvusClient(uri=srv.uri, token=srv.token)

One server per pytest session (restarted only when ``auth`` changes, so group
auth tests together)::

    @pytest.fixture(scope="session")
    def milvus() -> MilvusStandalone:
        return shared_instance(auth=False)   # stopped at interpreter exit

Extra configuration (e.g. S3 storage on a moto server) goes through
``extra_config``; each key must exist in milvus-server's config template
(milvus-server silently ignores unknown keys, we raise instead)::

    MilvusStandalone(extra_config={"common.storageType": "minio",
                                   "minio.address": "127.0.0.1",
                                   "minio.port": "5000",
                                   "minio.bucketName": "b"})

Facts (measured): health endpoint ``http://127.0.0.1:<METRICS_PORT>/healthz``
(9091, or the next free port: milvus-server picks it, we read it from the
server process's environment); with auth the root user is ``root:Milvus``.
``<component>.ip=127.0.0.1`` (set for every component) only changes the
address registered in etcd: the component gRPC ports and 9091 still listen on
``*``; only etcd (2379, 2380) listens on 127.0.0.1. Start-up takes ~2.5 s
with the binaries pre-unpacked by the installer (~8 s without); RSS 185-280 MiB
idle, including ~65 MiB for the Python launcher.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from tests.services import kill_group

MILVUS_VERSION = "2.3.5"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO_ROOT / ".venv-milvus-server"
INSTALL_HINT = "bash tests/services/install_milvus_standalone.sh"
ROOT_TOKEN = "root:Milvus"
DEFAULT_HEALTH_PORT = 9091
# Components whose listen address milvus-server's template exposes as `<c>.ip`.
COMPONENTS_WITH_IP = (
    "rootCoord",
    "proxy",
    "queryCoord",
    "queryNode",
    "indexNode",
    "dataCoord",
    "dataNode",
)
# Hard-coded runtime paths of the 2.3.5 binary (TMPDIR does not move them).
_SYSTEM_DIRS = (Path("/run/milvus"), Path("/tmp/milvus"))

# Run as `sh -c _WATCHDOG OWNER_PID SERVER ARGS...`: a background subshell
# SIGKILLs the process group ($$ = the group leader) once OWNER_PID is gone,
# then sh execs milvus-server with the remaining arguments.
_WATCHDOG = (
    'owner=$0; (exec >/dev/null 2>&1 </dev/null; while kill -0 "$owner"; do sleep 1; done; kill -9 -$$) & exec "$@"'
)

# `key: value # comment` lines, as milvus-server's own template engine reads them.
_YAML_LINE = re.compile(r"^( *[a-zA-Z0-9_]+):([^#]*)(#.*)?$")


def in_private_netns() -> bool:
    """True when this process's network namespace has ``lo`` as its only interface.

    Reads the namespace through ``if_nameindex`` (netlink), not
    ``/sys/class/net``: after a bare ``unshare --net`` sysfs still shows the
    host's interfaces because it belongs to the namespace that mounted it.
    """
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return False
    return names == ["lo"]


def loopback_up() -> bool:
    """True when a TCP connection to 127.0.0.1 works (``ip link set lo up`` ran)."""
    try:
        with socket.socket() as srv:
            srv.bind(("127.0.0.1", 0))
            srv.listen(1)
            with socket.create_connection(srv.getsockname(), timeout=2):
                return True
    except OSError:
        return False


def find_milvus_server() -> Path:
    """Locate ``milvus-server``: $VTS_MILVUS_SERVER, the repo's server venv, PATH."""
    env = os.environ.get("VTS_MILVUS_SERVER")
    candidates = [Path(env)] if env else []
    candidates.append(DEFAULT_VENV / "bin" / "milvus-server")
    found = shutil.which("milvus-server")
    if found:
        candidates.append(Path(found))
    for cand in candidates:
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand
    raise FileNotFoundError(f"milvus-server (milvus=={MILVUS_VERSION}) not found; install it with: {INSTALL_HINT}")


def _flatten_yaml(text: str) -> dict[str, str]:
    """Dotted key -> raw scalar text, parsed the way milvus-server edits its template."""
    out: dict[str, str] = {}
    path: list[str] = []
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        m = _YAML_LINE.match(line.rstrip())
        if not m:
            continue
        prefixed = m.group(1).rstrip()
        key = prefixed.strip()
        level = (len(prefixed) - len(key)) // 2
        path = [*path[:level], key]
        out[".".join(path)] = m.group(2).strip()
    return out


def _config_template(server: Path) -> Path | None:
    """The config template of the ``milvus`` package next to ``server`` (a venv)."""
    venv = server.resolve().parent.parent
    hits = sorted(venv.glob("lib/python*/site-packages/milvus/data/config.yaml.template"))
    return hits[0] if hits else None


def _normalise(value: str) -> str:
    """Compare config values as milvus-server writes them (true -> True, '7' -> 7)."""
    v = value.strip().strip("'\"")
    return v.lower() if v.lower() in ("true", "false") else v


def _read_lines(path: Path, max_bytes: int = 4 << 20) -> list[str]:
    try:
        with path.open("rb") as fp:
            size = fp.seek(0, os.SEEK_END)
            fp.seek(max(0, size - max_bytes))
            return fp.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def _clip(lines: list[str], width: int = 600) -> str:
    return "\n".join(line if len(line) <= width else line[:width] + " ..." for line in lines)


class MilvusStandalone:
    """One real Milvus 2.3.5 standalone server (context manager).

    Args:
        auth: start with ``common.security.authorizationEnabled=true``; the
            root user is then ``root:Milvus`` (:attr:`token`).
        extra_config: more ``--extra-config key=value`` settings (dotted keys
            of milvus.yaml, e.g. ``{"minio.address": "127.0.0.1"}``). Unknown
            keys raise ValueError (milvus-server would ignore them silently).
        port: proxy (gRPC/SDK) port. Default: a free port never used before
            in this process, so every instance has its own URI (pymilvus
            3.0.2 caches connections per address+token for the whole process
            and does not re-check a cached one, so a restarted server at the
            same address would get a stale, unauthenticated channel).
            milvus-server takes the next free port when the given one is busy
            (e.g. in TIME_WAIT after a restart); :attr:`port` is the one in use.
        startup_timeout: seconds to wait for ``/healthz`` to answer OK.
        base_dir: parent of the temp dir (default: ``tempfile.gettempdir()``).
        server: path of ``milvus-server`` (default: :func:`find_milvus_server`).
        keep_files: keep the temp dir after stop (for debugging).
    """

    def __init__(
        self,
        *,
        auth: bool = False,
        extra_config: Mapping[str, str] | None = None,
        port: int | None = None,
        startup_timeout: float = 120.0,
        base_dir: str | os.PathLike[str] | None = None,
        server: str | os.PathLike[str] | None = None,
        keep_files: bool = False,
    ) -> None:
        self.auth = auth
        self.extra_config: dict[str, str] = {k: str(v) for k, v in (extra_config or {}).items()}
        self.requested_port = port
        self.startup_timeout = startup_timeout
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self._server = Path(server) if server is not None else None
        self.keep_files = keep_files
        self.root: Path | None = None
        self.port: int | None = None
        self.health_port: int | None = None
        self.milvus_pid: int | None = None
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_fp: IO[bytes] | None = None
        self._settings: dict[str, str] = {}
        self._created_dirs: list[Path] = []

    # -- public API ---------------------------------------------------------

    @property
    def uri(self) -> str:
        """``http://127.0.0.1:PORT`` for ``MilvusClient(uri=...)``."""
        if self.port is None:
            raise RuntimeError("Milvus standalone is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        """``root:Milvus`` when auth is on, else ``""``."""
        return ROOT_TOKEN if self.auth else ""

    @property
    def data_dir(self) -> Path:
        """The ``--data`` dir (config in ``configs/``, logs in ``logs/``, data in ``data/``)."""
        if self.root is None:
            raise RuntimeError("Milvus standalone is not running")
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        """Output of the ``milvus-server`` launcher itself."""
        if self.root is None:
            raise RuntimeError("Milvus standalone is not running")
        return self.root / "milvus-server.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> MilvusStandalone:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> MilvusStandalone:
        """Start the server and wait until it is healthy and its proxy accepts connections."""
        if self._proc is not None:
            raise RuntimeError("this MilvusStandalone is already started")
        server = self._server or find_milvus_server()
        config = self._config_args(server)  # ValueError for keys milvus-server would ignore
        if not in_private_netns():
            raise RuntimeError(
                "refusing to start Milvus 2.3.5: it binds all interfaces, so it may only run "
                "in a loopback-only network namespace; run the tests as "
                "unshare --net sh -c 'ip link set lo up && .venv/bin/python -m pytest ...'"
            )
        if not loopback_up():
            raise RuntimeError("loopback is down in this network namespace: run `ip link set lo up` first")
        _claim_namespace(self)
        try:
            self._launch(server, config)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGKILL our process group, then remove the temp dir and our stray files."""
        proc, self._proc = self._proc, None
        if proc is not None:
            kill_group(proc, timeout=30)
            # The milvus binary is a grandchild: wait until the whole group is gone
            # so its ports (etcd's fixed 2380) are free for the next instance.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(
                _proc_state(pid) not in ("Z", "") for pid in _group_pids(proc.pid)
            ):
                time.sleep(0.05)
        if self._log_fp is not None:
            with contextlib.suppress(OSError):
                self._log_fp.close()
            self._log_fp = None
        self._remove_system_files()
        if self.root is not None and not self.keep_files:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        self.port = self.health_port = None
        _release_namespace(self)

    def rss_bytes(self) -> int:
        """Resident memory of all processes in the server's process group."""
        if self._proc is None:
            return 0
        total = 0
        for pid in _group_pids(self._proc.pid):
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def log_tail(self, lines: int = 15) -> str:
        """What explains a failed start: the launcher's output, the server's last
        ERROR/FATAL log lines (else its last lines), and any Go panic header."""
        if self.root is None:
            return ""
        logs = self.data_dir / "logs"
        parts = []
        launcher = [ln for ln in _read_lines(self.log_path) if ln.strip()]
        if launcher:
            parts.append(f"--- {self.log_path} (tail) ---\n{_clip(launcher[-lines:])}")
        stdout = _read_lines(logs / "milvus-stdout.log")
        errors = [ln for ln in stdout if "[ERROR]" in ln or "[FATAL]" in ln or ln.startswith("panic")]
        if errors or stdout:
            label = "ERROR/FATAL lines" if errors else "tail"
            parts.append(f"--- {logs / 'milvus-stdout.log'} ({label}) ---\n{_clip((errors or stdout)[-lines:])}")
        stderr = _read_lines(logs / "milvus-stderr.log")
        for i, ln in enumerate(stderr):
            if ln.startswith(("panic:", "fatal error:")):
                parts.append(f"--- {logs / 'milvus-stderr.log'} (panic) ---\n{_clip(stderr[i : i + 6])}")
                break
        return "\n".join(parts)

    # -- internals ----------------------------------------------------------

    def _config_args(self, server: Path) -> list[str]:
        settings = {f"{c}.ip": "127.0.0.1" for c in COMPONENTS_WITH_IP}
        if self.auth:
            settings["common.security.authorizationEnabled"] = "true"
        settings.update(self.extra_config)
        template = _config_template(server)
        if template is not None:
            known = _flatten_yaml(template.read_text(encoding="utf-8"))
            unknown = sorted(k for k in settings if k not in known)
            if unknown:
                raise ValueError(
                    f"milvus-server {MILVUS_VERSION} cannot set {unknown}: only keys present in "
                    f"{template} can be overridden (others are ignored silently)"
                )
        self._settings = settings
        port = self.requested_port if self.requested_port is not None else _fresh_port()
        _used_ports.add(port)
        args = ["--proxy-port", str(port)]
        for key, value in settings.items():
            args += ["--extra-config", f"{key}={value}"]
        return args

    def _launch(self, server: Path, config: list[str]) -> None:
        t0 = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix="vts-milvus-", dir=self.base_dir))
        (self.root / "tmp").mkdir()
        self._link_binaries(server)
        self._created_dirs = [d for d in _SYSTEM_DIRS if not d.exists()]
        env = dict(os.environ)
        env["TMPDIR"] = str(self.root / "tmp")
        for var in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
            env.pop(var, None)
        self._log_fp = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        # sh (new session, so PGID = its PID) forks the watchdog into the group,
        # then execs milvus-server in place: the group is exactly what we started.
        self._proc = subprocess.Popen(
            ["/bin/sh", "-c", _WATCHDOG, str(os.getpid()), str(server), "--data", str(self.data_dir), *config],
            stdin=subprocess.DEVNULL,
            stdout=self._log_fp,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env=env,
            start_new_session=True,
        )
        self._wait_healthy(t0)
        self._check_config()
        self._wait_proxy(t0)
        self.startup_seconds = time.monotonic() - t0

    def _link_binaries(self, server: Path) -> None:
        """Symlink the pre-unpacked binaries (saves ~5 s of lzma per start)."""
        cache = server.resolve().parent.parent / "milvus-bin" / "bin"
        if not (cache.parent / ".complete").is_file():
            return  # milvus-server unpacks them itself
        bin_dir = self.data_dir / "bin"
        bin_dir.mkdir(parents=True)
        for item in cache.iterdir():
            (bin_dir / item.name).symlink_to(item)

    def _fail(self, message: str) -> RuntimeError:
        keep = "kept" if self.keep_files else "removed now; pass keep_files=True to keep it"
        return RuntimeError(f"{message} (temp dir {self.root}: {keep})\n{self.log_tail()}")

    def _wait_healthy(self, t0: float) -> None:
        assert self._proc is not None
        deadline = t0 + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise self._fail(f"milvus-server exited with code {self._proc.returncode}")
            if self.milvus_pid is None:
                self._find_milvus_process()
            elif _proc_state(self.milvus_pid) in ("Z", "X", ""):
                # milvus-server does not notice its child dying; we do.
                raise self._fail("the milvus process exited during start-up")
            if self.health_port is not None and self._healthz_ok():
                return
            time.sleep(0.2)
        raise self._fail(
            f"Milvus {MILVUS_VERSION} did not become healthy within {self.startup_timeout:.0f} s "
            f"(http://127.0.0.1:{self.health_port or DEFAULT_HEALTH_PORT}/healthz)"
        )

    def _find_milvus_process(self) -> None:
        """The ``milvus`` binary in our group; its METRICS_PORT is the health port."""
        assert self._proc is not None
        for pid in _group_pids(self._proc.pid):
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() != "milvus":
                    continue
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            port = DEFAULT_HEALTH_PORT
            for item in environ:
                if item.startswith(b"METRICS_PORT="):
                    port = int(item.split(b"=", 1)[1])
            self.milvus_pid, self.health_port = pid, port
            return

    def _healthz_ok(self) -> bool:
        url = f"http://127.0.0.1:{self.health_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status == 200 and b"OK" in resp.read()
        except (urllib.error.URLError, OSError):
            return False

    def _check_config(self) -> None:
        """Read the proxy port and verify our settings reached the generated milvus.yaml."""
        path = self.data_dir / "configs" / "milvus.yaml"
        values = _flatten_yaml(path.read_text(encoding="utf-8"))
        self.port = int(values["proxy.port"])
        wrong = {k: values.get(k) for k, v in self._settings.items() if _normalise(values.get(k, "")) != _normalise(v)}
        if wrong:
            raise self._fail(f"milvus-server did not apply these settings to {path}: {wrong}")

    def _wait_proxy(self, t0: float) -> None:
        assert self.port is not None
        deadline = t0 + self.startup_timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            time.sleep(0.1)
        raise self._fail(f"Milvus proxy port {self.port} does not accept connections")

    def _remove_system_files(self) -> None:
        """Delete the files the binary wrote at hard-coded paths for our PID."""
        pid = self.milvus_pid
        self.milvus_pid = None
        if pid is not None:
            for d in _SYSTEM_DIRS:
                with contextlib.suppress(OSError):
                    (d / f"server_id_{pid}").unlink()
                pidfile = d / "standalone.pid"
                with contextlib.suppress(OSError):
                    if pidfile.read_text().strip() == str(pid):
                        pidfile.unlink()
        for d in self._created_dirs:
            with contextlib.suppress(OSError):
                d.rmdir()  # only succeeds when empty (another instance may still use it)
        self._created_dirs = []


_used_ports: set[int] = set()


def _fresh_port() -> int:
    """A free loopback port that no instance of this process has used yet."""
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _used_ports:
            return port
    raise RuntimeError("no fresh free port found")


def _proc_state(pid: int) -> str:
    """State letter of a process (``R``, ``S``, ``Z``...), ``""`` when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _group_pids(pgid: int) -> list[int]:
    """PIDs whose process group is ``pgid`` (from /proc/*/stat)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # fields after the ")" that closes comm: state ppid pgrp ...
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


# -- one instance per namespace, shared instance ------------------------------

_LOCK = threading.Lock()
_running: MilvusStandalone | None = None
_shared: MilvusStandalone | None = None


def _claim_namespace(inst: MilvusStandalone) -> None:
    global _running
    with _LOCK:
        current = _running
    if current is not None and current is not inst:
        if current is _shared:
            stop_shared_instance()
        else:
            raise RuntimeError(
                "another MilvusStandalone is running in this process; Milvus 2.3.5 allows one "
                "instance per network namespace (etcd port 2380 is fixed): stop it first"
            )
    with _LOCK:
        _running = inst


def _release_namespace(inst: MilvusStandalone) -> None:
    global _running
    with _LOCK:
        if _running is inst:
            _running = None


def shared_instance(auth: bool = False) -> MilvusStandalone:
    """The session-wide server (started on first use, restarted if ``auth`` differs).

    Meant for session-scoped pytest fixtures. It is stopped by
    :func:`stop_shared_instance`, at interpreter exit, or when another
    :class:`MilvusStandalone` starts. Tests sharing it must not depend on an
    empty server: use unique collection names and drop them afterwards.
    """
    global _shared
    if _shared is not None and (_shared.auth != auth or not _shared.running):
        stop_shared_instance()
    if _shared is None:
        inst = MilvusStandalone(auth=auth)
        inst.start()
        _shared = inst
    return _shared


def stop_shared_instance() -> None:
    """Stop the shared server, if any."""
    global _shared
    inst, _shared = _shared, None
    if inst is not None:
        inst.stop()


@atexit.register
def _stop_at_exit() -> None:
    stop_shared_instance()
    if _running is not None:
        _running.stop()


__all__ = [
    "COMPONENTS_WITH_IP",
    "DEFAULT_VENV",
    "INSTALL_HINT",
    "MILVUS_VERSION",
    "ROOT_TOKEN",
    "MilvusStandalone",
    "find_milvus_server",
    "in_private_netns",
    "loopback_up",
    "shared_instance",
    "stop_shared_instance",
]

if __name__ == "__main__":  # manual check: python -m tests.services.milvus_standalone
    with MilvusStandalone(auth="--auth" in sys.argv) as _srv:
        print(f"uri={_srv.uri} data_dir={_srv.data_dir} startup={_srv.startup_seconds:.2f}s")
        print(f"rss={_srv.rss_bytes() / 2**20:.0f} MiB health_port={_srv.health_port}")
