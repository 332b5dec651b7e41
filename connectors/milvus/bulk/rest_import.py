"""REST import jobs (Milvus 2.4+, Zilliz Cloud): ``POST /v2/vectordb/jobs/import/create`` with ``files`` as a
list of one-file groups (at most 1024 per job, Milvus's ``maxFilesPerImportReq``), then ``POST
/v2/vectordb/jobs/import/get_progress``. With ``cluster_id`` the Zilliz Cloud control plane is called with
``objectUrls`` and the storage keys instead of server-relative paths."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from vts.connectors.milvus.bulk.config import BulkWriterConfig
from vts.connectors.milvus.bulk.errors import import_failed
from vts.connectors.milvus.bulk.importer import Group, Importer, NoJournal, Progress
from vts.connectors.milvus.errors import Code, MilvusError

log = logging.getLogger("vts.milvus.bulk")

MAX_FILES_PER_JOB = 1024  # Milvus's dataCoord.import.maxFilesPerImportReq default
CREATE_PATH = "/v2/vectordb/jobs/import/create"
PROGRESS_PATH = "/v2/vectordb/jobs/import/get_progress"


class RestImporter(Importer):
    def __init__(
        self, cfg: BulkWriterConfig, url: str, token: str, database: str, storage: Any, journal: Any = None
    ) -> None:
        self.journal = journal if journal is not None else NoJournal()
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
