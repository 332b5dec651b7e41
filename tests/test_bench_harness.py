"""`make bench --quick` on one cheap path: the results file a reader trusts has every field, and the plot exists."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_quick_bench_of_one_path_writes_results_json_and_plot(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--only", "datagen -> Milvus Lite server",
         "--rows", "200", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    [results] = tmp_path.glob("*-quick.json")
    data = json.loads(results.read_text())
    assert data["machine"]["cpus"] >= 1 and data["machine"]["memory_gb"] > 0
    assert data["machine"]["versions"]["pymilvus"]
    assert len(data["loadavg_start"]) == 3
    [path] = data["paths"]
    assert path["path"] == "datagen -> Milvus Lite server"
    sides = {s["role"]: s for s in path["sides"]}
    assert set(sides) == {"vts", "source", "sink", "loop"}
    for side in sides.values():
        assert side["rows"] == 200, side  # vts's count is read back from the server
        assert side["seconds"] > 0 and side["vectors_per_s"] > 0 and side["peak_rss_mb"] > 0
        assert side["cpu_seconds"]["bench process"] > 0
        assert "lite" in side["cpu_seconds"]  # the server's own process, measured apart
        assert 0 <= side["settle_seconds"] < 90  # the server went quiet before the side started
    assert path["ratios"]["vts / slower side alone"] > 0
    [png] = tmp_path.glob("*-quick-datagen-milvus-lite-server.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "vectors/s" in out.stdout  # the table
