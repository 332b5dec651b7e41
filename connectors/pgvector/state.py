"""High-water marks of incremental runs, kept in a small JSON file between runs.

The file maps a key naming the server, the table (or a hash of the query)
and the column to the last mark a *successful* run read up to. It is written
atomically (temp file + rename), only from ``Source.finish`` on the driver,
i.e. after the sink committed. Several jobs may share one file; two jobs
finishing at the same instant could lose one's update, which only makes the
next run of that job read its last rows again (the sink upserts them).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from vts.connectors.pgvector.errors import Code, PgvectorError

VERSION = 1


def state_key(server: str, table: str | None, query: str | None, column: str) -> str:
    what = table if table else "query:" + hashlib.sha256((query or "").encode()).hexdigest()[:16]
    return f"{server}/{what}#{column}"


def load(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        return {}
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise PgvectorError(
            Code.STATE_ERROR,
            f"cannot read the incremental state file {p}: {exc}",
            hint="fix or delete it (deleting it makes the next run read every row again)",
        ) from None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("marks"), dict):
        raise PgvectorError(
            Code.STATE_ERROR,
            f"{p} is not a vts pgvector state file (version {VERSION})",
            hint="point 'state_path' at another file, or delete it to read every row again",
        )
    return data["marks"]


def get_mark(path: str | Path, key: str) -> str | None:
    entry = load(path).get(key)
    return entry.get("value") if isinstance(entry, dict) else None


def save_marks(path: str | Path, marks: dict[str, str]) -> None:
    p = Path(path)
    current = load(p)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for key, value in marks.items():
        current[key] = {"value": value, "saved_at": now}
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=p.name + ".", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump({"version": VERSION, "marks": current}, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        raise PgvectorError(
            Code.STATE_ERROR,
            f"cannot write the incremental state file {p}: {exc.strerror or exc}",
            hint="make 'state_path' writable; the data was written, the next run will read these rows again",
        ) from None
