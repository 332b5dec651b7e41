"""gRPC bulk insert (Milvus 2.3+): ``do_bulk_insert`` takes one Parquet file per task on Milvus 2.3, so each
staged file is one task; at most ``MAX_INFLIGHT`` tasks are queued at once. A task is all-or-nothing: a failed
one fails its file's rows."""

from __future__ import annotations

from typing import Any

from vts.connectors.milvus.bulk.errors import import_request_failed
from vts.connectors.milvus.bulk.importer import Group, Importer, NoJournal, Progress
from vts.connectors.milvus.errors import Code, MilvusError

MAX_INFLIGHT = 64  # gRPC tasks queued at once

_GRPC_DONE = {"Completed": True, "Failed": True, "Failed and cleaned": True}


_PENDING = "pending"  # journaled before an import request, replaced by its task id after


class GrpcImporter(Importer):
    def __init__(self, client: Any, timeout: float, journal: Any = None) -> None:
        self.journal = journal if journal is not None else NoJournal()
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


def _server_hint(exc: BaseException) -> str | None:
    text = str(exc).lower()
    if "unimplemented" in text:
        return "this server has no bulk import (Milvus Lite): use the insert writer (remove bulk_writer_config)"
    if "not found" in text or "not exist" in text:
        return "the collection or partition is gone: run the job again"
    return None
