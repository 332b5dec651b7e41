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


SERVING_SCRIPT = """
import subprocess, sys, time
from pathlib import Path
server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
Path(sys.argv[0]).with_suffix(".pid").write_text(str(server.pid))
try:
    time.sleep(600)
finally:  # how a bench script stops the servers it started
    server.kill()
    server.wait()
    Path(sys.argv[0]).with_suffix(".stopped").write_text("yes")
"""


def test_a_script_that_times_out_stops_the_servers_it_started(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import run

    script = tmp_path / "bench_serving.py"
    script.write_text(SERVING_SCRIPT)
    result = run.run_script(script, timeout=3)

    assert result["exit"] is None and "timed out" in result["output"]
    assert script.with_suffix(".stopped").read_text() == "yes"  # its finally ran: SIGINT, not SIGKILL
    server = int(script.with_suffix(".pid").read_text())
    assert not Path(f"/proc/{server}").exists()


def test_a_server_the_next_path_does_not_use_is_stopped_and_started_again_when_asked(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from services import Services

    services = Services(tmp_path)
    try:
        services.ensure(("lite",), {})
        first = services.groups["lite"]
        services.stop_unused(("lite", "postgres"))
        assert Path(f"/proc/{first}").exists()
        services.stop_unused(("postgres",))
        assert not Path(f"/proc/{first}").exists() and "lite" not in services.groups
        services.ensure(("lite",), {})
        assert services.groups["lite"] != first and Path(f"/proc/{services.groups['lite']}").exists()
    finally:
        services.stop()
