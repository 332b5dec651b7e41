"""What every benchmark side does the same way: time a vts job, read the peak RSS."""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

import yaml


def time_vts_job(job: dict[str, Any], work: Path) -> float:
    """Seconds ``vts run -q`` takes on ``job`` (written to ``work/job.yaml``); a failed run stops the benchmark."""
    from vts import cli

    path = work / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    t0 = time.perf_counter()
    code = cli.main(["run", "-q", str(path)])
    seconds = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"vts exited {code} on {path}")
    return seconds


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
