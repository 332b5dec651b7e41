"""Milvus's Import API, on the driver: gRPC bulk insert (Milvus 2.3+) and REST import jobs (2.4+, Zilliz Cloud).

Both importers submit the staged files of one (collection, partition) and
then report progress the same way (:class:`Progress`); :func:`wait` polls
them together until every job is final or ``import_timeout`` passes, logging
rows imported / staged as it goes. A poll that fails transiently (the server
unreachable for a moment, HTTP 429/5xx) is retried as :data:`POLL_RETRY` says;
a submission is not: a request whose answer was lost may have created the
job, and a second one would import the files twice. The verdict
(:func:`verdict`) is the one place that turns the final state into
MILVUS-26/27/28.

- gRPC: ``do_bulk_insert`` takes one Parquet file per task on Milvus 2.3, so
  each staged file is one task; at most ``MAX_INFLIGHT`` tasks are queued at
  once. A task is all-or-nothing: a failed one fails its file's rows.
- REST: ``POST /v2/vectordb/jobs/import/create`` with ``files`` as a list of
  one-file groups (at most 1024 per job, Milvus's ``maxFilesPerImportReq``),
  then ``POST /v2/vectordb/jobs/import/get_progress`` (present in 2.4 and
  later). With ``cluster_id`` the Zilliz Cloud control plane is called with
  ``objectUrls`` and the storage keys instead of server-relative paths.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from connectors.milvus.bulk.config import BulkWriterConfig
from connectors.milvus.bulk.errors import (
    completed_with_errors,
    import_failed,
    import_request_failed,
    import_timeout,
    too_many_failed,
)
from connectors.milvus.errors import Code, MilvusError
from vts.errors import VtsError
from vts.retry import RetryPolicy

log = logging.getLogger("vts.milvus.bulk")

MAX_INFLIGHT = 64  # gRPC tasks queued at once
MAX_FILES_PER_JOB = 1024  # Milvus's dataCoord.import.maxFilesPerImportReq default
CREATE_PATH = "/v2/vectordb/jobs/import/create"
PROGRESS_PATH = "/v2/vectordb/jobs/import/get_progress"
POLL_RETRY = RetryPolicy(attempts=5, base=2.0, cap=30.0)  # rides out about a minute of a server restarting


@dataclass
class Group:
    """The staged files of one (collection, partition), in row order."""

    collection: str
    partition: str | None
    files: list[dict[str, Any]]  # key, path, rows, bytes

    @property
    def rows(self) -> int:
        return sum(f["rows"] for f in self.files)


@dataclass
class Progress:
    """One group's import as last polled."""

    group: Group
    staged: int
    imported: int = 0
    done: bool = False
    failed_rows: int = 0
    reasons: list[str] = field(default_factory=list)
    failed: bool = False  # the whole import failed (nothing imported)


class Importer(ABC):
    @abstractmethod
    def submit(self, group: Group) -> Any:
        """Start importing a group; returns a handle for :meth:`poll`."""

    @abstractmethod
    def poll(self, handle: Any) -> Progress:
        """The group's current progress; ``done`` once every file is final."""

    def close(self) -> None:
        pass


# -- gRPC ---------------------------------------------------------------------------------------

_GRPC_DONE = {"Completed": True, "Failed": True, "Failed and cleaned": True}


_PENDING = "pending"  # journaled before an import request, replaced by its task id after


class _NoJournal:
    def get(self, key: str) -> Any:
        return None

    def put(self, key: str, value: Any) -> None:
        pass


class GrpcImporter(Importer):
    def __init__(self, client: Any, timeout: float, journal: Any = None) -> None:
        self.journal = journal if journal is not None else _NoJournal()
        self.client = client
        self.conn = client._get_connection()  # pymilvus's handler: bulk insert is not on MilvusClient
        self.timeout = timeout

    def submit(self, group: Group) -> dict[str, Any]:
        return {"group": group, "queue": list(group.files), "tasks": {}, "final": {}}

    def _start(self, handle: dict[str, Any]) -> None:
        group: Group = handle["group"]
        while handle["queue"] and len(handle["tasks"]) < MAX_INFLIGHT:
            f = handle["queue"].pop(0)
            key = f"grpc:{group.collection}:{group.partition or ''}:{f['key']}"
            task = self.journal.get(key)  # submitted by an interrupted run: wait on it, never import twice
            if task == _PENDING:  # killed during the request: the server may have the task already
                task = self._find_task(group.collection, f["path"])
            if task is None:
                self.journal.put(key, _PENDING)
                try:
                    task = self.conn.do_bulk_insert(
                        group.collection, group.partition or "", [f["path"]], timeout=self.timeout
                    )
                except Exception as exc:
                    raise import_request_failed(group.collection, exc, hint=_server_hint(exc)) from None
                self.journal.put(key, task)
            handle["tasks"][task] = f

    def _find_task(self, collection: str, path: str) -> int | None:
        """The server's import task for this file, if an interrupted request created one."""
        try:
            tasks = self.conn.list_bulk_insert_tasks(limit=0, collection_name=collection, timeout=self.timeout)
        except Exception as exc:
            raise import_request_failed(collection, exc, hint=_server_hint(exc)) from None
        for t in tasks:
            if path in str(t.infos.get("files", "")) and t.state_name != "Failed":
                return int(t.task_id)
        return None

    def poll(self, handle: dict[str, Any]) -> Progress:
        group: Group = handle["group"]
        self._start(handle)
        running_rows = 0
        for task, f in list(handle["tasks"].items()):
            try:
                state = self.conn.get_bulk_insert_state(task, timeout=self.timeout)
            except Exception as exc:
                raise MilvusError(
                    Code.IMPORT_JOB_FAILED, f"reading the state of import task {task}: {exc}", transient=True
                ) from None
            name = state.state_name
            if name in _GRPC_DONE:
                handle["final"][task] = (f, name, int(state.row_count), state.infos.get("failed_reason", ""))
                del handle["tasks"][task]
            else:
                pct = float(state.infos.get("progress_percent", 0) or 0)
                running_rows += int(f["rows"] * pct / 100)
        self._start(handle)
        p = Progress(group, group.rows)
        for f, name, rows, reason in handle["final"].values():
            if name == "Completed":
                p.imported += rows
                if rows < f["rows"]:
                    p.failed_rows += f["rows"] - rows
                    p.reasons.append(f"{f['key']}: {f['rows'] - rows} row(s) missing")
            else:
                p.failed_rows += f["rows"]
                p.reasons.append(f"{f['key']}: {reason or name}")
        p.done = not handle["tasks"] and not handle["queue"]
        p.failed = p.done and p.imported == 0 and p.failed_rows > 0
        if not p.done:
            p.imported += running_rows
        return p


# -- REST ---------------------------------------------------------------------------------------


class RestImporter(Importer):
    def __init__(
        self, cfg: BulkWriterConfig, url: str, token: str, database: str, storage: Any, journal: Any = None
    ) -> None:
        self.journal = journal if journal is not None else _NoJournal()
        self.cfg = cfg
        self.base = url.rstrip("/")
        self.token = token
        self.database = database
        self.storage = storage
        self.timeout = 60.0

    def _post(self, path: str, body: dict[str, Any], collection: str) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                payload = json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            text = exc.read()[:500].decode(errors="replace")
            if exc.code in (401, 403):
                raise MilvusError(
                    Code.INIT_CLIENT_ERROR,
                    f"import into '{collection}': {self.base} refused the credentials (HTTP {exc.code}: {text})",
                    hint="check the sink's 'token' or bulk_writer_config.rest_token",
                ) from None
            if exc.code == 404:
                raise import_failed(
                    collection,
                    f"{self.base}{path} does not exist (HTTP 404): the server has no REST import (Milvus < 2.4?)",
                    hint="use bulk_writer_config.import_method grpc for Milvus 2.3, or fix rest_url",
                ) from None
            # 429 and 5xx: the server is busy or restarting; asking again later may succeed
            busy = exc.code == 429 or exc.code >= 500
            raise import_failed(collection, f"HTTP {exc.code} from {self.base}{path}: {text}", transient=busy) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise MilvusError(
                Code.IMPORT_JOB_FAILED,
                f"import into '{collection}': cannot reach {self.base} ({exc})",
                hint="check bulk_writer_config.rest_url (default: the sink's url)",
                transient=True,
            ) from None
        except json.JSONDecodeError as exc:
            raise import_failed(
                collection, f"{self.base}{path} answered with something that is not JSON ({exc})"
            ) from None
        code = payload.get("code", 0)
        if code not in (0, 200):
            message = payload.get("message", "")
            if code == 1800 or "authenticat" in str(message).lower():
                raise MilvusError(
                    Code.INIT_CLIENT_ERROR,
                    f"import into '{collection}': the server refused the credentials ({message})",
                    hint="check the sink's 'token' or bulk_writer_config.rest_token",
                )
            raise import_failed(collection, f"the server refused the import request (code {code}: {message})")
        return payload.get("data") or {}

    def submit(self, group: Group) -> dict[str, Any]:
        jobs = []
        for i in range(0, len(group.files), MAX_FILES_PER_JOB):
            files = group.files[i : i + MAX_FILES_PER_JOB]
            body: dict[str, Any] = {"collectionName": group.collection}
            if group.partition:
                body["partitionName"] = group.partition
            if self.cfg.cluster_id:  # Zilliz Cloud control plane: object URLs and storage keys
                body["clusterId"] = self.cfg.cluster_id
                body["objectUrls"] = [[self.storage.object_url(f["key"])] for f in files]
                if self.cfg.access_key is not None:
                    body["accessKey"] = self.cfg.secret("access_key")
                    body["secretKey"] = self.cfg.secret("secret_key")
            else:
                body["files"] = [[f["path"]] for f in files]
                if self.database and self.database != "default":
                    body["dbName"] = self.database
            key = f"rest:{group.collection}:{group.partition or ''}:{files[0]['key']}:{len(files)}"
            job = self.journal.get(key)  # submitted by an interrupted run: wait on it, never import twice
            if job is None:
                data = self._post(CREATE_PATH, body, group.collection)
                job = data.get("jobId") if isinstance(data, dict) else None
                if not job:
                    raise import_failed(group.collection, f"the server returned no job id ({data!r})")
                self.journal.put(key, str(job))
            log.info("import job %s: %d file(s) into %s", job, len(files), group.collection)
            jobs.append({"id": str(job), "rows": sum(f["rows"] for f in files), "files": files, "last": None})
        return {"group": group, "jobs": jobs}

    def poll(self, handle: dict[str, Any]) -> Progress:
        group: Group = handle["group"]
        p = Progress(group, group.rows)
        all_done = True
        for job in handle["jobs"]:
            if job["last"] is None or job["last"]["state"] not in ("Completed", "Failed"):
                body: dict[str, Any] = {"jobId": job["id"]}
                if self.cfg.cluster_id:
                    body["clusterId"] = self.cfg.cluster_id
                elif self.database and self.database != "default":
                    body["dbName"] = self.database
                job["last"] = self._post(PROGRESS_PATH, body, group.collection)
            data = job["last"]
            state = str(data.get("state", ""))
            imported = int(data.get("importedRows") or 0)
            if state == "Completed":
                p.imported += imported
                if imported < job["rows"]:
                    p.failed_rows += job["rows"] - imported
                    p.reasons.extend(
                        _detail_reasons(data) or [f"job {job['id']}: {data.get('reason') or 'rows missing'}"]
                    )
            elif state == "Failed":
                p.failed_rows += job["rows"]
                p.reasons.append(f"job {job['id']}: {data.get('reason') or 'failed'}")
            else:
                all_done = False
                progress = float(data.get("progress") or 0)
                p.imported += imported or int(job["rows"] * progress / 100)
        p.done = all_done
        p.failed = all_done and p.imported == 0 and p.failed_rows > 0
        return p


def _detail_reasons(data: dict[str, Any]) -> list[str]:
    out = []
    for d in data.get("details") or []:
        if d.get("state") == "Failed" or d.get("reason"):
            out.append(f"{d.get('fileName', '?')}: {d.get('reason') or d.get('state')}")
    return out


def _server_hint(exc: BaseException) -> str | None:
    text = str(exc).lower()
    if "unimplemented" in text:
        return "this server has no bulk import (Milvus Lite): use the insert writer (remove bulk_writer_config)"
    if "not found" in text or "not exist" in text:
        return "the collection or partition is gone: run the job again"
    return None


# -- waiting and the verdict --------------------------------------------------------------------


def wait(importer: Importer, handles: list[Any], cfg: BulkWriterConfig, sleep: Any = time.sleep) -> list[Progress]:
    """Poll every handle until all are final; log progress; MILVUS-26 after ``import_timeout``."""
    deadline = time.monotonic() + cfg.import_timeout
    last_log = 0.0

    def on_retry(exc: BaseException, attempt: int, delay: float) -> None:
        first = str(exc).splitlines()[0][:200]
        log.warning("import progress: %s; polling again in %.0fs (%d/%d)", first, delay, attempt, POLL_RETRY.attempts)

    def poll(handle: Any) -> Progress:
        return POLL_RETRY.run(lambda: importer.poll(handle), transient=_transient, on_retry=on_retry, sleep=sleep)

    while True:
        states = [poll(h) for h in handles]
        imported, staged = sum(s.imported for s in states), sum(s.staged for s in states)
        now = time.monotonic()
        if all(s.done for s in states):
            log.info("import finished: %s/%s row(s)", f"{imported:,}", f"{staged:,}")
            return states
        if now - last_log >= 10:
            pct = 100 * imported / staged if staged else 100
            log.info("importing: %s/%s row(s) (%.0f%%)", f"{imported:,}", f"{staged:,}", pct)
            last_log = now
        if now >= deadline:
            names = ", ".join(sorted({s.group.collection for s in states if not s.done}))
            raise import_timeout(names, cfg.import_timeout, f"{imported:,}/{staged:,} rows imported so far")
        sleep(cfg.poll_interval)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, VtsError) and exc.transient


def verdict(states: list[Progress], cfg: BulkWriterConfig) -> int:
    """Rows imported, or the coded error: 26 all failed, 28 over max_error_rows, 27 any failed row when unset."""
    failed = sum(s.failed_rows for s in states)
    staged = sum(s.staged for s in states)
    imported = sum(s.imported for s in states)
    reasons = [r for s in states for r in s.reasons]
    names = ", ".join(sorted({s.group.collection for s in states if s.failed_rows})) or "?"
    if failed and imported == 0:
        text = "; ".join(dict.fromkeys(reasons))[:800] or "no reason given"
        hint = None
        if "does not exist" in text.lower() or "no such" in text.lower():
            hint = (
                "the server could not find the staged files: a self-hosted Milvus reads its own bucket, so "
                "bulk_writer_config.bucket_name must be the server's minio.bucketName (local: a folder the "
                "server can read at the same path); the staged files are kept"
            )
        raise import_failed(names, text, hint)
    if failed:
        if cfg.max_error_rows is None:
            raise completed_with_errors(names, failed, staged, reasons)
        if failed > cfg.max_error_rows:
            raise too_many_failed(names, failed, cfg.max_error_rows, reasons)
        log.warning(
            "import: %s row(s) failed, within max_error_rows=%d (%s)",
            f"{failed:,}",
            cfg.max_error_rows,
            "; ".join(dict.fromkeys(reasons))[:300],
        )
    return imported
