"""Dead letters: rows a sink refused, each with its reason, never silently dropped.

One :class:`RejectLog` per run and process; it alone enforces the sink's
``max_error_rows`` (every sink and every write path the same way). Writers
see a :class:`SplitRejects`, bound to their split.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from vts.errors import VtsError


class TooManyRejects(VtsError):
    code = "VTS-12"


class RejectLog:
    """Appends rejected rows to a JSONL file (created on first reject).

    Each line: ``{"split": ..., "table": ..., "reason": ..., "row": {...}}``.
    Vectors are written in full so a row can be fixed and replayed.
    """

    def __init__(self, path: str | Path, max_rows: int = 0) -> None:
        self.path = Path(path)
        self.max_rows = max_rows
        self.count = 0
        self._lock = threading.Lock()

    def add(self, split_id: str, table: str, rows: list[dict[str, Any]], reasons: list[str]) -> int:
        """Record rows with their reasons; raise TooManyRejects once the run's total passes ``max_rows``."""
        if not rows:
            return self.count
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                for row, reason in zip(rows, reasons, strict=True):
                    line = {"split": split_id, "table": table, "reason": reason, "row": row}
                    f.write(json.dumps(line, default=_jsonable) + "\n")
            self.count += len(rows)
            total = self.count
        if total > self.max_rows:
            raise TooManyRejects(
                f"{total} row(s) rejected, more than max_error_rows={self.max_rows} (first reason here: {reasons[0]})",
                hint=f"see the rejected rows and reasons in {self.path}; fix them, "
                "or raise the sink's 'max_error_rows' to let the run finish without them",
            )
        return total


class SplitRejects:
    """A writer's handle on the run's dead letters; counts the split's rejects for its events."""

    def __init__(self, log: RejectLog, split_id: str, table: str, count: int = 0) -> None:
        self.log, self.split_id, self.table = log, split_id, table
        self.count = count  # the split's rejects so far (from its checkpoint when it resumes)
        # The split's reader thread (transforms) and its writer both reject rows.
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.log.path

    def add(self, rows: list[dict[str, Any]], reasons: list[str]) -> None:
        with self._lock:
            self.count += len(rows)
        self.log.add(self.split_id, self.table, rows, reasons)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
