"""Dead letters: rows a sink refused, each with its reason, never silently dropped."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any


class RejectLog:
    """Appends rejected rows to a JSONL file (created on first reject).

    Each line: ``{"split": ..., "table": ..., "reason": ..., "row": {...}}``.
    Vectors are written in full so a row can be fixed and replayed.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._lock = threading.Lock()

    def add(self, split_id: str, table: str, rows: list[dict[str, Any]], reasons: list[str]) -> int:
        """Record rows with their reasons; return the total rejected so far in the run."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                for row, reason in zip(rows, reasons, strict=True):
                    line = {"split": split_id, "table": table, "reason": reason, "row": row}
                    f.write(json.dumps(line, default=_jsonable) + "\n")
            self.count += len(rows)
            return self.count


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
