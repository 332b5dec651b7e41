"""Checkpoints: which splits are done and where the others stopped.

One JSON document per job file (``<checkpoint.path>/<job name>-<hash of its
path>.json``, in a local folder or under ``s3://bucket/prefix``), replaced
atomically (temp file, fsync, rename; an S3 PUT) every time a split reports
progress. Only the driver writes it, from the executor's events: a position
is recorded only after the sink made everything before it durable (the
writer's ``flush`` returned), so a resumed run may write a few rows again
(upserts make that harmless) but never skips one.

The file also keeps the run's splits (with their state) and the job's
fingerprint: a resumed run reuses those splits exactly, and a job file that
changed since refuses to resume (``--fresh`` starts over). The splits' state
is stored under the key ``plan_state``, its name from before ``Source.plan``
became ``Source.splits``: files written by older versions resume unchanged.

``schema`` numbers the file's layout (:data:`SCHEMA`). A file without it was
written before the number existed, in the layout of schema 1, and is read
as that; a file of a later schema than this vts knows is refused (VTS-08)
rather than half understood.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vts.connector import Position, Split
from vts.errors import ConfigError, VtsError

SCHEMA = 1  # the layout of the checkpoint file; raise it when a change would mislead an older reader


class CheckpointMismatch(ConfigError):
    code = "VTS-08"


class _LocalStore:
    """A file, replaced atomically: write a temp file, fsync, rename."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def read(self) -> str | None:
        return self.path.read_text() if self.path.exists() else None

    def write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


class _S3Store:
    """An S3 object (a PUT replaces it whole). Credentials come from boto3's usual chain."""

    def __init__(self, url: str, name: str, endpoint: str | None) -> None:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.bucket, self.key = bucket, "/".join(p for p in (prefix.strip("/"), name) if p)
        self.endpoint = endpoint

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @functools.cached_property
    def _client(self) -> Any:
        """One client per run: checkpoints are written every few seconds per split (boto3 clients are thread-safe)."""
        import boto3

        return boto3.session.Session().client("s3", endpoint_url=self.endpoint)

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(Bucket=self.bucket, Key=self.key, **kwargs)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if what == "read" and code in ("NoSuchKey", "404"):
                return None
            raise CheckpointStoreError(
                f"cannot {what} the checkpoint {self}: {exc}",
                hint="check env.checkpoint.path, the bucket, and the AWS credentials (AWS_ACCESS_KEY_ID, ...)",
            ) from None

    def read(self) -> str | None:
        res = self._call("read", self._client.get_object)
        return None if res is None else res["Body"].read().decode()

    def write(self, text: str) -> None:
        self._call("write", self._client.put_object, Body=text.encode())

    def delete(self) -> None:
        self._call("delete", self._client.delete_object)


class CheckpointStoreError(VtsError):
    code = "VTS-11"


@dataclass(frozen=True)
class SplitRecord:
    """What the checkpoint knows of one split: durable rows, where to read on, the writer's state."""

    position: Position = None
    rows_written: int = 0
    writer_state: Any = None
    rows_read: int = 0
    rows_rejected: int = 0
    done: bool = False
    commit_info: Any = None


def encode(value: Any) -> str:
    """The checkpoint's codec: JSON. Values JSON lacks (dates, decimals, UUIDs) are kept as their text."""
    return json.dumps(value, default=str)


def decode(text: str) -> Any:
    return json.loads(text)


class Checkpoint:
    """The run's checkpoint, written by the driver only (from the executor's events)."""

    def __init__(self, store: _LocalStore | _S3Store, fingerprint: str, job: str) -> None:
        self.store = store
        self.path = str(store)
        self.fingerprint = fingerprint
        self.job = job
        self._lock = threading.Lock()
        self.splits: list[Split] | None = None
        self.splits_state: dict[str, Any] = {}
        self.state: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(
        cls, folder: str | Path, job_path: Path | None, fingerprint: str, fresh: bool, s3_endpoint: str | None = None
    ) -> Checkpoint:
        """Load the job's checkpoint if there is one (and ``fresh`` is not set).

        ``folder`` is a local folder or ``s3://bucket/prefix``.
        """
        name = job_path.stem if job_path else "job"
        key = _short_hash(str(job_path.resolve()) if job_path else fingerprint)
        file = f"{name}-{key}.json"
        store = (
            _S3Store(str(folder), file, s3_endpoint)
            if str(folder).startswith("s3://")
            else _LocalStore(Path(folder) / file)
        )
        cp = cls(store, fingerprint, str(job_path))
        # --fresh ignores the old checkpoint; it is replaced once the new run starts (start()), after every
        # check passed, so a fresh run that stops at a check leaves the interrupted run resumable
        text = None if fresh else store.read()
        if text is not None:
            data = decode(text)
            schema = data.get("schema", 1)
            if not isinstance(schema, int) or schema > SCHEMA:
                raise CheckpointMismatch(
                    f"the checkpoint {cp.path} has layout {schema!r}, and this vts reads layouts up to {SCHEMA}: "
                    "a newer vts wrote it",
                    hint="resume with the vts that wrote it, or run with --fresh to start over",
                )
            if data.get("fingerprint") != fingerprint:
                raise CheckpointMismatch(
                    f"{job_path} changed since the interrupted run recorded in {cp.path}; "
                    "resuming it could skip or mix rows",
                    hint="restore the job file to resume, or run with --fresh to start over",
                )
            cp.splits = [Split(**s) for s in data["splits"]]
            cp.splits_state = data.get("plan_state") or {}
            cp.state = data["state"]
        return cp

    @property
    def resuming(self) -> bool:
        return self.splits is not None

    def start(self, splits: list[Split], splits_state: dict[str, Any]) -> None:
        """Record the splits of a new run and the enumerator's state (``Splits.state``)."""
        with self._lock:
            self.splits = list(splits)
            self.splits_state = dict(splits_state)
            self.state = {}
            self._write()

    def record(self, split_id: str) -> SplitRecord:
        raw = self.state.get(split_id, {})
        return SplitRecord(
            position=raw.get("position"),
            rows_written=int(raw.get("rows_written", 0)),
            writer_state=raw.get("writer_state"),
            rows_read=int(raw.get("rows_read", 0)),
            rows_rejected=int(raw.get("rows_rejected", 0)),
            done=bool(raw.get("done", False)),
            commit_info=raw.get("commit_info"),
        )

    def save(self, split_id: str, record: SplitRecord) -> None:
        """The split's rows up to ``record.position`` are durable in the sink (or it is done)."""
        entry = {k: v for k, v in asdict(record).items() if v not in (None, False)}
        with self._lock:
            self.state[split_id] = {**entry, "at": time.time()}
            self._write()

    def journal_get(self, key: str) -> Any:
        return self.state.get("_commit", {}).get(key)

    def journal_put(self, key: str, value: Any) -> None:
        """Record a commit step (e.g. a submitted import job) before waiting on it, so a resumed run reuses it."""
        with self._lock:
            self.state.setdefault("_commit", {})[key] = value
            self._write()

    def discard(self) -> None:
        self.store.delete()

    def _write(self) -> None:
        data = {
            "schema": SCHEMA,
            "job": self.job,
            "fingerprint": self.fingerprint,
            "splits": [asdict(s) for s in self.splits or []],
            "plan_state": self.splits_state,
            "state": self.state,
        }
        self.store.write(encode(data))


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:10]
