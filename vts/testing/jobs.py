"""Jobs built in code, run through the same driver as ``vts run``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from vts.config import Job
from vts.connector import Sink, Source, Transform
from vts.env import CheckpointOptions, EnvOptions


def make_job(
    folder: Path,
    source: Source,
    sink: Sink,
    transforms: list[Transform] | None = None,
    name: str = "job",
    **env: Any,
) -> Job:
    """A job whose checkpoint and dead letters live in ``folder``; ``env`` overrides EnvOptions (parallelism...).

    The fingerprint names the job: two jobs made with the same ``name`` in the
    same folder share a checkpoint, as two runs of one job file do.
    """
    folder.mkdir(parents=True, exist_ok=True)
    settings = {
        "checkpoint": CheckpointOptions(path=str(folder / "checkpoints"), interval=env.pop("interval", 5.0)),
        "dead_letter_path": str(folder / "dead-letters.jsonl"),
        "retry_backoff": 0.01,
        **env,
    }
    fingerprint = hashlib.sha256(f"{folder}/{name}".encode()).hexdigest()
    return Job(folder / f"{name}.yaml", EnvOptions(**settings), source, list(transforms or []), sink, fingerprint)
