"""How one side of a bench is measured: in a child process of its own, beside the servers it talks to.

A side is a function ``fn(env) -> dict`` in a path module; it times the part it
is about itself (``seconds``; setup such as connecting or generating rows that
are not part of the measured work stays outside) and returns ``rows``. The
child adds its own peak RSS and CPU seconds; the parent adds the CPU seconds
every server process spent while the side ran (servers run in their own
process groups, read through psutil), and the load average before and after.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "run.py"


@dataclass(frozen=True)
class Side:
    """One way of moving (or only reading, or only writing) a path's rows.

    ``role`` is one of ``vts``, ``source`` (read alone), ``sink`` (write alone),
    ``loop`` (a hand-written copy), ``peer`` (another tool).
    """

    name: str
    role: str
    fn: str  # name of the function in the path module


@dataclass(frozen=True)
class BenchPath:
    """A source -> sink pair: its sides, the servers it needs, how its data is made.

    ``setup(env)`` runs in a child process before the sides (fills the source)
    and returns what the sides need to know, merged into ``env``.
    ``services`` names what :mod:`benchmarks.services` starts for it.
    """

    name: str
    module: str
    sides: tuple[Side, ...]
    services: tuple[str, ...] = ()
    setup: str | None = None
    quick_rows: int = 2_000
    full_rows: int = 100_000
    needs_netns: bool = False
    notes: str = ""
    scaling: tuple[int, ...] = field(default_factory=tuple)
    params: dict = field(default_factory=dict)  # merged into every side's env


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in ``pgid`` (children that exited are counted by their parent)."""
    total = 0.0
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) != pgid:
                continue
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
    return total


def group_rss_mb(pgid: int) -> float:
    total = 0
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid:
                total += proc.memory_info().rss
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
    return total / 2**20


def settle(servers: dict[str, int], timeout: float = 90.0, idle_cores: float = 0.25) -> float:
    """Wait until the servers are quiet (below ``idle_cores`` together over 1 s); the seconds waited.

    A server keeps working after a side returns (Milvus builds the index of
    what was just written, compacts): without this the next side would pay
    for the previous one's background work. ``timeout`` caps the wait; the
    side then starts anyway, and the CPU seconds in its result show it.
    """
    t0 = time.monotonic()
    last = sum(group_cpu_seconds(p) for p in servers.values())
    while time.monotonic() - t0 < timeout:
        time.sleep(1.0)
        now = sum(group_cpu_seconds(p) for p in servers.values())
        if now - last < idle_cores:
            break
        last = now
    return round(time.monotonic() - t0, 1)


def run_child(args: list[str], env_file: Path, timeout: float) -> dict[str, Any]:
    """Run ``run.py`` in a child with ``args``; the child's last stdout line is its JSON result."""
    try:
        out = subprocess.run(
            [sys.executable, str(RUNNER), *args, "--env", str(env_file)],
            capture_output=True,
            text=True,
            cwd=env_file.parent,
            timeout=timeout,
            env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'benchmarks'}"},
        )
    except subprocess.TimeoutExpired:  # reported as the side's result: the other sides and paths still run
        return {"error": f"timed out after {timeout:.0f} s (--timeout)"}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = "\n".join((out.stderr or out.stdout).strip().splitlines()[-15:])
        return {"error": f"exit {out.returncode}: {tail}"}
    return json.loads(lines[-1])


def measure_side(
    path: BenchPath, side: Side, env_file: Path, servers: dict[str, int], timeout: float
) -> dict[str, Any]:
    """One side in its own process, with the CPU the servers spent meanwhile."""
    before = {name: group_cpu_seconds(pgid) for name, pgid in servers.items()}
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    result = run_child(["--side", f"{path.module}:{side.fn}"], env_file, timeout)
    wall = time.perf_counter() - t0
    cpu = {name: round(group_cpu_seconds(pgid) - before[name], 2) for name, pgid in servers.items()}
    result.update(name=side.name, role=side.role, process_wall_seconds=round(wall, 2))
    result["cpu_seconds"] = {"bench process": result.pop("cpu_self", None), **cpu}
    result["server_rss_mb"] = {name: round(group_rss_mb(pgid)) for name, pgid in servers.items()}
    result["loadavg"] = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]}
    if "seconds" in result and result.get("rows"):
        result["vectors_per_s"] = round(result["rows"] / result["seconds"]) if result["seconds"] > 0 else None
    return result


def child_report(result: dict[str, Any]) -> dict[str, Any]:
    """What the child adds to its side's result: peak RSS and its own CPU seconds (with its children's)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["peak_rss_mb"] = round(max(me.ru_maxrss, kids.ru_maxrss) / 1024)
    result["cpu_self"] = round(me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, 2)
    result["seconds"] = round(result["seconds"], 3)
    return result


def machine() -> dict[str, Any]:
    """Where the numbers come from: cores, memory, versions."""
    from importlib import metadata

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    milvus_server = None
    venv = REPO / ".venv-milvus-server"
    hits = sorted(venv.glob("lib/python*/site-packages/milvus-*.dist-info"))
    if hits:
        milvus_server = hits[0].name.removeprefix("milvus-").removesuffix(".dist-info")
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            d: version(d)
            for d in ("vts", "pymilvus", "milvus-lite", "pyarrow", "numpy", "psycopg", "qdrant-client", "pinecone")
        }
        | {"milvus-server": milvus_server},
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
