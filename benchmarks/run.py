"""`make bench`: every bench path, vts beside its limits and peers, in one run on one machine.

    python benchmarks/run.py [--quick] [--only NAME] [--rows N] [--scaling 100000,1000000] [--peers]

Paths are found by file name: every ``benchmarks/bench_*.py`` that defines
``PATHS`` (a list of :class:`measure.BenchPath`) is run side by side; any
other ``bench_*.py`` is run as a plain script in the full mode (its output is
kept in the results). Each side runs in its own process; the servers run in
their own process groups (:mod:`services`), started once per run.

Writes ``benchmarks/results/<date>-<host>.json`` and one PNG per path, and prints a table.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from measure import BenchPath, child_report, machine, measure_side  # noqa: E402


def discover() -> tuple[list[BenchPath], list[Path]]:
    """Harness paths (modules with PATHS) and plain scripts, by file name."""
    paths, scripts = [], []
    for file in sorted(HERE.glob("bench_*.py")):
        text = file.read_text(encoding="utf-8")
        if "\nPATHS" in text:
            paths.extend(importlib.import_module(file.stem).PATHS)
        else:
            scripts.append(file)
    return paths, scripts


def call(spec: str, env_file: Path) -> Any:
    module, fn = spec.split(":")
    env = json.loads(env_file.read_text())
    return getattr(importlib.import_module(module), fn)(env)


def in_netns() -> bool:
    from tests.services.milvus_standalone import in_private_netns, loopback_up

    return in_private_netns() and loopback_up()


def ratios(sides: list[dict[str, Any]]) -> dict[str, float]:
    """vts's vectors/s over each baseline's (the slower of the two sides alone is the limit)."""
    ok = [s for s in sides if s.get("vectors_per_s")]
    vts = [s for s in ok if s["role"] == "vts"]
    if not vts:
        return {}
    best = max(s["vectors_per_s"] for s in vts)
    alone = [s["vectors_per_s"] for s in ok if s["role"] in ("source", "sink")]
    out: dict[str, float] = {}
    if alone:
        out["vts / slower side alone"] = round(best / min(alone), 2)
    for s in ok:
        if s["role"] in ("loop", "peer"):
            out[f"vts / {s['name']}"] = round(best / s["vectors_per_s"], 2)
    return out


def run_path(
    path: BenchPath, rows: int, services: Any, work: Path, timeout: float, sides: tuple[str, ...] = ()
) -> dict:
    """Set the path's data up, then run each of its sides; a side that fails is reported, never hidden."""
    from measure import run_child, settle

    result: dict[str, Any] = {"path": path.name, "rows": rows, "notes": path.notes, "sides": []}
    if path.needs_netns and not in_netns():
        result["skipped"] = "needs a loopback-only network namespace: run it through `make bench` (unshare --net)"
        return result
    folder = work / path.module / str(rows)
    folder.mkdir(parents=True, exist_ok=True)
    env: dict[str, Any] = {"rows": rows, "work": str(folder), "tag": f"b{int(time.time() * 1000) % 10**9}"}
    try:
        groups = services.ensure(path.services, env)
    except Exception as exc:  # a service that cannot start skips its paths, and says why
        result["skipped"] = f"service failed to start: {exc}"
        return result
    env.update(services.env)
    env.update(path.params)
    env_file = folder / "env.json"
    env_file.write_text(json.dumps(env))
    if path.setup:
        t0 = time.perf_counter()
        extra = run_child(["--setup", f"{path.module}:{path.setup}"], env_file, timeout)
        if "error" in extra:
            result["skipped"] = f"setup failed: {extra['error']}"
            return result
        result["setup_seconds"] = round(time.perf_counter() - t0, 1)
        env.update(extra)
        env_file.write_text(json.dumps(env))
    baseline = run_child(["--setup", "services:milvus_collections"], env_file, timeout)
    if "error" in baseline:  # the sides still run; what they leave behind is not dropped
        result["cleanup_error"], baseline = baseline["error"], {}
    cleanup = folder / "cleanup.json"
    cleanup.write_text(json.dumps({**env, "baseline": baseline}))
    for side in path.sides:
        if sides and side.role not in sides:
            continue
        waited = settle(services.groups)  # every server: one left busy by an earlier path slows this side too
        print(f"  {path.name}: {side.name} ...", flush=True)
        measured = measure_side(path, side, env_file, groups, timeout)
        measured["settle_seconds"] = waited  # how long the servers took to go quiet before it started
        result["sides"].append(measured)
        # bounded: a Milvus Lite server busy indexing 1 M rows answered a drop only after minutes
        run_child(["--setup", "services:drop_new_collections"], cleanup, min(timeout, 120))
    result["ratios"] = ratios(result["sides"])
    return result


def run_script(script: Path, timeout: float) -> dict[str, Any]:
    """A bench not (yet) on the harness: run as its author wrote it, output kept.

    The script runs in its own process group; on a timeout or a Ctrl-C it gets SIGINT and ``SCRIPT_GRACE``
    seconds to stop the servers it started (its ``finally``), then its group is killed: a plain SIGKILL
    left those servers running.
    """
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": f"{HERE.parent}{os.pathsep}{HERE}"}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=HERE.parent, env=env, start_new_session=True)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
        # a script that fails says why on stderr: keep its tail too, or the results show a bare exit code
        text, code = (out[-4000:] + (err[-4000:] if proc.returncode else "")), proc.returncode
    except subprocess.TimeoutExpired:
        _interrupt(proc)
        text, code = f"timed out after {timeout:.0f} s", None
    except KeyboardInterrupt:
        _interrupt(proc)
        raise
    return {"script": script.name, "exit": code, "seconds": round(time.perf_counter() - t0, 1), "output": text}


SCRIPT_GRACE = 30.0


def _interrupt(proc: subprocess.Popen) -> None:
    """SIGINT the script's group, give it ``SCRIPT_GRACE`` seconds to clean up, then kill what is left."""
    from tests.services import kill_group

    try:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=SCRIPT_GRACE)
    finally:  # a second Ctrl-C during the grace still kills the group
        kill_group(proc)


def scaling(paths: list[BenchPath], counts: list[int], services: Any, work: Path, timeout: float) -> list[dict]:
    """vts alone at each row count, for the paths that declare scaling: time per row and peak RSS."""
    out = []
    for path in paths:
        if not path.scaling:
            continue
        runs = []
        services.stop_unused(path.services)
        for n in counts:
            r = run_path(path, n, services, work, timeout, sides=("vts",))
            for s in r["sides"]:
                if "seconds" in s:
                    runs.append({"rows": n, "side": s["name"], "seconds": s["seconds"],
                                 "us_per_row": round(s["seconds"] / n * 1e6, 1), "vectors_per_s": s.get("vectors_per_s"),
                                 "peak_rss_mb": s["peak_rss_mb"], "cpu_seconds": s["cpu_seconds"], "loadavg": s["loadavg"],
                                 "settle_seconds": s.get("settle_seconds")})  # fmt: skip
                else:
                    runs.append({"rows": n, "side": s["name"], "error": s.get("error")})
            if "skipped" in r:
                runs.append({"rows": n, "skipped": r["skipped"]})
        entry: dict[str, Any] = {"path": path.name, "runs": runs}
        done = [r for r in runs if "us_per_row" in r]
        if len(done) >= 2:
            lo, hi = done[0], done[-1]
            entry["time_per_row_change"] = round(hi["us_per_row"] / lo["us_per_row"] - 1, 3)
            entry["peak_rss_ratio"] = round(hi["peak_rss_mb"] / lo["peak_rss_mb"], 2)
        out.append(entry)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="CI-sized rows (each path's quick_rows)")
    ap.add_argument("--rows", type=int, help="rows for every path (default: each path's quick or full size)")
    ap.add_argument("--only", action="append", default=[], help="run only paths whose name contains this (repeatable)")
    ap.add_argument("--scaling", help="comma-separated row counts for the scaling runs (e.g. 100000,1000000)")
    ap.add_argument("--scaling-only", action="store_true", help="only the scaling runs, not the side-by-side ones")
    ap.add_argument("--no-scripts", action="store_true", help="skip the bench_*.py scripts not on the harness")
    ap.add_argument("--peers", action="store_true", help="also run the peer tools' sides (make bench-peers)")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="folder for the JSON and PNGs")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds one side may take")
    ap.add_argument("--side", help=argparse.SUPPRESS)
    ap.add_argument("--setup", help=argparse.SUPPRESS)
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--env", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.side:
        print(json.dumps(child_report(call(a.side, a.env))))
        return 0
    if a.setup:
        print(json.dumps(call(a.setup, a.env) or {}))
        return 0
    if a.serve:
        call(a.serve, a.env)
        return 0

    from services import Services, scratch

    paths, scripts = discover()
    if a.only:
        paths = [p for p in paths if any(o in p.name or o in p.module for o in a.only)]
        scripts = [s for s in scripts if any(o in s.stem for o in a.only)]
    if not a.peers:
        paths = [p for p in paths if "peer" not in p.module]
    work = scratch()
    services = Services(work)
    started = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "mode": "quick" if a.quick else "full",
        "machine": machine(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "paths": [],
    }
    try:
        for path in [] if a.scaling_only else paths:
            rows = a.rows or (path.quick_rows if a.quick else path.full_rows)
            print(f"{path.name}: {rows:,} rows", flush=True)
            results["paths"].append(run_path(path, rows, services, work, a.timeout))
        if a.scaling:
            counts = [int(x) for x in a.scaling.split(",")]
            results["scaling"] = scaling(paths, counts, services, work, a.timeout)
        if not a.quick and scripts and not a.no_scripts and not a.scaling_only:
            # the scripts start their own servers: a Milvus 2.3.5 of ours would hold etcd's fixed port
            services.stop()
            results["scripts"] = [run_script(s, a.timeout) for s in scripts]
    finally:
        services.stop()
        shutil.rmtree(work, ignore_errors=True)  # the servers' data and the bench tables: gigabytes at 1 M rows
    results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    a.out.mkdir(parents=True, exist_ok=True)
    stem = (
        f"{started:%Y-%m-%d}-{platform.node()}"
        + ("-quick" if a.quick else "")
        + ("-scaling" if a.scaling_only else "")
        + ("-peers" if a.peers else "")
    )
    out = a.out / f"{stem}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    from report import markdown, plot, table

    (a.out / f"{stem}.md").write_text(markdown(results))
    pngs = plot(results, a.out, stem)
    table(results)
    print(f"results: {out}" + (f"; plots: {', '.join(p.name for p in pngs)}" if pngs else ""))
    failed = [s for p in results["paths"] for s in p["sides"] if "error" in s]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
