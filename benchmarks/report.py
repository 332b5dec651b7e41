"""What a reader looks at: the results table (rich) and one PNG per path (matplotlib)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

COLOURS = {"vts": "#1f77b4", "source": "#7f7f7f", "sink": "#a0a0a0", "loop": "#ff7f0e", "peer": "#d62728"}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def plot(results: dict[str, Any], folder: Path, stem: str) -> list[Path]:
    """vectors/s and peak RSS of every side of a path, vts first in its own colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for path in results["paths"]:
        sides = [s for s in path["sides"] if s.get("vectors_per_s")]
        if not sides:
            continue
        sides.sort(key=lambda s: s["role"] != "vts")
        names = [s["name"] for s in sides]
        colours = [COLOURS.get(s["role"], "#2ca02c") for s in sides]
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.5 * len(sides) + 2.2))
        left.barh(names, [s["vectors_per_s"] for s in sides], color=colours)
        left.set_xlabel("vectors/s")
        left.invert_yaxis()
        right.barh(names, [s["peak_rss_mb"] for s in sides], color=colours)
        right.set_xlabel("peak RSS of the bench process (MB)")
        right.invert_yaxis()
        right.set_yticklabels([])
        load = sides[0]["loadavg"]["before"][0]
        fig.suptitle(f"{path['path']}: {path['rows']:,} rows, 768-d (load avg {load:.1f} at start)")
        fig.tight_layout()
        out = folder / f"{stem}-{slug(path['path'])}.png"
        fig.savefig(out, dpi=90)
        plt.close(fig)
        written.append(out)
    return written


def _cpu(side: dict[str, Any]) -> str:
    return " ".join(f"{k.split()[0]}={v:.0f}" for k, v in side.get("cpu_seconds", {}).items() if v is not None)


def _phases(phases: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in phases.items())


def table(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(
        title=f"vts bench ({results['mode']}) on {results['machine']['host']}, {results['machine']['cpus']} cores"
    )
    for col in ("path", "side", "rows", "seconds", "vectors/s", "peak RSS MB", "CPU s", "load"):
        t.add_column(col, justify="right" if col not in ("path", "side", "CPU s") else "left")
    for path in results["paths"]:
        if "skipped" in path:
            t.add_row(path["path"], f"[yellow]skipped: {path['skipped']}", "", "", "", "", "", "")
            continue
        for i, s in enumerate(path["sides"]):
            name = f"[bold]{s['name']}" if s["role"] == "vts" else s["name"]
            if "error" in s:
                t.add_row(path["path"] if i == 0 else "", name, "", "", f"[red]{s['error'][-80:]}", "", "", "")
                continue
            t.add_row(
                path["path"] if i == 0 else "", name, f"{s.get('rows', 0):,}", f"{s['seconds']:.1f}",
                f"{s.get('vectors_per_s') or 0:,}", f"{s['peak_rss_mb']:,}", _cpu(s), f"{s['loadavg']['after'][0]:.1f}",
            )  # fmt: skip
        for k, v in path.get("ratios", {}).items():
            t.add_row("", f"[italic]{k}", "", "", f"{v:.2f}x", "", "", "")
        for s in path["sides"]:
            if s.get("phases"):
                t.add_row("", f"[italic]{s['name']}: s by phase", "", "", _phases(s["phases"]), "", "", "")
        t.add_section()
    console = Console(width=200)
    console.print(t)
    for entry in results.get("scaling", []):
        runs = ", ".join(
            f"{r['rows']:,}: {r['us_per_row']} us/row, {r['peak_rss_mb']} MB"
            for r in entry["runs"]
            if "us_per_row" in r
        )
        console.print(f"scaling {entry['path']}: {runs}; time/row change {entry.get('time_per_row_change')}, "
                      f"RSS ratio {entry.get('peak_rss_ratio')}")  # fmt: skip


def markdown(results: dict[str, Any]) -> str:
    """The results as the Markdown table benchmarks/README.md shows."""
    m = results["machine"]
    lines = [
        f"Run {results['started']} ({results['mode']}) on `{m['host']}`: {m['cpus']} cores ({m['cpu_model']}), "
        f"{m['memory_gb']} GB; load average {results['loadavg_start']} at start, {results['loadavg_end']} at the end.",
        "",
        "| path | side | rows | s | vectors/s | peak RSS MB | CPU s (bench process; servers) | load after |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for path in results["paths"]:
        if "skipped" in path:
            lines.append(f"| {path['path']} | skipped: {path['skipped']} | | | | | | |")
            continue
        for s in path["sides"]:
            name = f"**{s['name']}**" if s["role"] == "vts" else s["name"]
            if "error" in s:
                lines.append(
                    f"| {path['path']} | {name} | | | failed: {s['error'].strip().splitlines()[-1][:160]} | | | |"
                )
                continue
            cpu = ", ".join(f"{k} {v:.1f}" for k, v in s["cpu_seconds"].items() if v is not None)
            lines.append(
                f"| {path['path']} | {name} | {s['rows']:,} | {s['seconds']:.1f} | {s.get('vectors_per_s') or 0:,} | "
                f"{s['peak_rss_mb']:,} | {cpu} | {s['loadavg']['after'][0]:.1f} |"
            )
        for k, v in path.get("ratios", {}).items():
            lines.append(f"| {path['path']} | *{k}* | | | **{v:.2f}x** | | | |")
        lines += [f"| {path['path']} | *{s['name']}: seconds by phase* | | | {_phases(s['phases'])} | | | |"
                  for s in path["sides"] if s.get("phases")]  # fmt: skip
    for entry in results.get("scaling", []):
        lines += ["", f"Scaling, {entry['path']} (vts alone):", "",
                  "| rows | s | us/row | vectors/s | peak RSS MB | CPU s |", "|---:|---:|---:|---:|---:|---|"]  # fmt: skip
        for r in entry["runs"]:
            if "us_per_row" in r:
                cpu = ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_seconds"].items() if v is not None)
                lines.append(f"| {r['rows']:,} | {r['seconds']:.1f} | {r['us_per_row']} | {r['vectors_per_s']:,} | "
                             f"{r['peak_rss_mb']:,} | {cpu} |")  # fmt: skip
            else:
                lines.append(f"| {r['rows']:,} | failed: {str(r.get('error') or r.get('skipped'))[:100]} | | | | |")
        if "time_per_row_change" in entry:
            lines.append(
                f"\ntime per row changed {entry['time_per_row_change']:+.1%}; peak RSS ratio {entry['peak_rss_ratio']}x"
            )
    return "\n".join(lines) + "\n"
