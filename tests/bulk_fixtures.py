"""Fixtures and helpers for the BulkWriter tests (tests/test_bulk_*.py).

- ``s3``: one moto S3 server per session, with IAM checks on (wrong keys are refused).
- ``azurite``: one Azurite blob server per session (skipped when not installed).
- :class:`StrictImportEndpoint`: a local HTTP server answering Milvus 2.4's
  ``/v2/vectordb/jobs/import/create`` and ``/get_progress`` the way Milvus
  does, strictly: gin's JSON binding (types, required keys, ``files`` as
  ``[][]string``, ``options`` as ``map[string]string``), Bearer auth, one
  file per Parquet group, files that must exist in its storage and whose
  columns must match the collection. Test infrastructure only: the connector
  never knows it is talking to it.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.services.azurite import Azurite, find_azurite
from tests.services.moto_s3 import MotoS3
from vts.connector import Resume, SinkWriter, Split, WriteContext
from vts.connectors.datagen.options import DataGenOptions
from vts.connectors.datagen.source import DataGenSource
from vts.connectors.milvus.connection import ServerInfo
from vts.connectors.milvus.mapping import map_table
from vts.connectors.milvus.options import MilvusSinkOptions
from vts.connectors.milvus.sink import MilvusLayout, MilvusSink
from vts.rejects import RejectLog, SplitRejects

# -- services -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3() -> Iterator[MotoS3]:
    with MotoS3() as server:
        yield server


UNREACHABLE_S3 = {  # a bulk_writer_config whose staging area nothing answers for
    "cloud_id": "aws",
    "minio_url": "http://127.0.0.1:1",
    "bucket_name": "stage",
    "access_key": "vts-unreachable-access-key",
    "secret_key": "vts-unreachable-secret-key",
}


def s3_config(s3: MotoS3, bucket: str, **kw: Any) -> dict[str, Any]:
    """A bulk_writer_config staging to ``bucket`` on the moto server."""
    return {
        "cloud_id": "aws",
        "minio_url": s3.endpoint,
        "access_key": s3.access_key,
        "secret_key": s3.secret_key,
        "bucket_name": bucket,
        **kw,
    }


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    if find_azurite() is None:
        pytest.skip("azurite is not installed: bash tests/services/install_azurite.sh")
    with Azurite() as server:
        yield server


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


# -- jobs and direct sink use ----------------------------------------------------------------------


def datagen(rows: int, dim: int = 8, fields: list[dict[str, Any]] | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "collection": kw.pop("collection", "bulk"),
        "row_count": rows,
        "seed": kw.pop("seed", 7),
        "batch_size": kw.pop("batch_size", 2000),
        "fields": fields
        or [
            {"name": "id", "type": "BIGINT", "primary_key": True},
            {"name": "vector", "type": "FLOAT_VECTOR", "dimension": dim},
            {"name": "title", "type": "STRING", "max_length": 64},
        ],
        **kw,
    }


def source_for(spec: dict[str, Any]) -> DataGenSource:
    return DataGenSource(DataGenOptions(**spec))


def source_table(source: DataGenSource) -> pa.Table:
    """Every row the source yields, split by split."""
    tables = source.discover()
    batches = [b for s in source.splits(tables, 1) for b, _ in source.read(s, tables[0])]
    return pa.Table.from_batches(batches, schema=tables[0].arrow_schema())


class Staged:
    """A MilvusSink's bulk writers driven as the engine drives them, without a server: the layout is made for a
    given server version."""

    def __init__(self, tmp: Path, spec: dict[str, Any], sink: dict[str, Any], version: str = "2.3.5") -> None:
        self.source = source_for(spec)
        self.tables = self.source.discover()
        self.sink = MilvusSink(MilvusSinkOptions(**{"url": "http://127.0.0.1:1", **sink}))
        server = ServerInfo.parse(version)
        self.layout = MilvusLayout(server, {t.name: map_table(t, self.sink.options, server) for t in self.tables})
        self.rejects = RejectLog(tmp / "rejects.jsonl", self.sink.max_error_rows())
        self.staged = 0  # rows the writers' flushes reported durable

    @property
    def target(self):
        return next(iter(self.layout.targets.values()))

    def splits(self, parallelism: int = 1):
        return self.source.splits(self.tables, parallelism)

    def writer(self, split: Split, start_rows: int = 0) -> SinkWriter:
        ctx = WriteContext(Resume(rows=start_rows), SplitRejects(self.rejects, split.id, split.table))
        return self.sink.writer(self.layout, split, ctx)

    def finish(self, writer: SinkWriter) -> dict[str, Any]:
        """The end of a split: the last flush, then the commit info."""
        self.staged += writer.flush().rows
        return writer.finish()

    def stage(self, parallelism: int = 1, start_rows: int = 0) -> list[dict[str, Any]]:
        """Write every split through the bulk writer; returns the commit infos."""
        infos = []
        for split in self.splits(parallelism):
            writer = self.writer(split, start_rows)
            try:
                for batch, _ in self.source.read(split, self.tables[0]):
                    writer.write(batch)
                infos.append(self.finish(writer))
            finally:
                writer.close()
        return infos


def read_parquet_bytes(blobs: list[bytes]) -> pa.Table:
    return pa.concat_tables([pq.read_table(io.BytesIO(b)) for b in blobs])


# -- the strict Milvus 2.4 import endpoint ---------------------------------------------------------

_STRING_LISTS = "files"


class StrictImportEndpoint:
    """Milvus 2.4's REST import, validated as the server does (see module doc).

    ``collections`` maps a collection name to its field names (``$meta`` when
    dynamic) and partitions; ``read_file(path) -> bytes`` fetches a staged file
    the way the server's chunk manager would. Fault injection for tests:
    ``fail_reason`` fails the next jobs; ``lose_rows`` completes them with that
    many rows missing; ``busy`` ({"create": 2}) answers that many of the next
    requests to a path ending so with HTTP 503, as a restarting server's proxy does.
    """

    def __init__(self, read_file: Any, token: str = "root:Milvus") -> None:
        self.read_file = read_file
        self.token = token
        self.collections: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.fail_reason: str | None = None
        self.lose_rows = 0
        self.busy: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> StrictImportEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._send(404, {"code": 404, "message": "404 page not found"}, raw=b"404 page not found")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, payload = endpoint.handle(self.path, dict(self.headers), body)
                self._send(status, payload)

            def _send(self, status: int, payload: dict[str, Any], raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- request handling (Milvus 2.4 handler_v2 semantics) --

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        if path not in ("/v2/vectordb/jobs/import/create", "/v2/vectordb/jobs/import/get_progress"):
            return 404, {"code": 404, "message": "404 page not found"}
        auth = headers.get("Authorization", "")
        if self.token and auth != f"Bearer {self.token}":
            return 401, {"code": 1800, "message": "user hasn't authenticated"}
        if "application/json" not in headers.get("Content-Type", ""):
            return 200, {"code": 1801, "message": "can only accept json format request"}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return 200, {"code": 1801, "message": f"can only accept json format request, error: {exc}"}
        if not isinstance(body, dict):
            return 200, {"code": 1801, "message": "can only accept json format request, error: not an object"}
        self.requests.append((path, body))
        endpoint = path.rsplit("/", 1)[-1]
        if self.busy.get(endpoint, 0) > 0:
            self.busy[endpoint] -= 1
            return 503, {"code": 503, "message": "upstream connect error: service unavailable"}
        if path.endswith("/create"):
            return self._create(body)
        return self._progress(body)

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        types = {"dbName": str, "collectionName": str, "partitionName": str, "files": list, "options": dict}
        for key, typ in types.items():
            if key in body and body[key] is not None and not isinstance(body[key], typ):
                return 200, {"code": 1801, "message": f"can only accept json format request, error: {key} type"}
        files = body.get("files")
        if not body.get("collectionName") or not files:
            missing = "CollectionName" if not body.get("collectionName") else "Files"
            return 200, {
                "code": 1802,
                "message": f"missing required parameters, error: Key: 'ImportReq.{missing}' Error:Field validation "
                f"for '{missing}' failed on the 'required' tag",
            }
        if not all(isinstance(g, list) and all(isinstance(p, str) for p in g) for g in files):
            return 200, {
                "code": 1801,
                "message": "can only accept json format request, error: files must be [][]string",
            }
        if any(not isinstance(v, str) for v in (body.get("options") or {}).values()):
            return 200, {"code": 1801, "message": "can only accept json format request, error: options must be strings"}
        if len(files) > 1024:
            return 200, {"code": 1100, "message": "the max number of file is 1024"}
        name = body["collectionName"]
        coll = self.collections.get(name)
        if coll is None:
            return 200, {"code": 100, "message": f"collection not found[collection={name}]"}
        part = body.get("partitionName") or ""
        if part and part not in coll.get("partitions", ("_default",)):
            return 200, {"code": 200, "message": f"partition not found[partition={part}]"}
        for group in files:
            if len(group) != 1 or not group[0].endswith(".parquet"):
                return 200, {
                    "code": 1100,
                    "message": f"there should be only one file for Parquet import, but got {group}",
                }
        job_id = str(450000000000000000 + len(self.jobs) + 1)
        self.jobs[job_id] = {"collection": name, "files": [g[0] for g in files], "polls": 0, "db": body.get("dbName")}
        return 200, {"code": 0, "data": {"jobId": job_id}}

    def _progress(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        job_id = body.get("jobId")
        if not isinstance(job_id, str) or not job_id:
            return 200, {
                "code": 1802,
                "message": "missing required parameters, error: Key: 'JobIDReq.JobID' Error:Field validation "
                "for 'JobID' failed on the 'required' tag",
            }
        job = self.jobs.get(job_id)
        if job is None:
            return 200, {"code": 2100, "message": f"import job not found[jobID={job_id}]"}
        job["polls"] += 1
        data: dict[str, Any] = {"jobId": job_id, "collectionName": job["collection"], "details": []}
        if job["polls"] == 1:
            data.update(state="Pending", progress=0, importedRows=0, totalRows=0)
            return 200, {"code": 0, "data": data}
        total, reason = 0, ""
        fields = set(self.collections[job["collection"]]["fields"])
        for path in job["files"]:
            try:
                meta = pq.read_metadata(io.BytesIO(self.read_file(path)))
            except Exception as exc:
                reason = f"failed to read file {path}: {exc}"
                break
            cols = set(meta.schema.to_arrow_schema().names)
            if cols != fields:
                reason = f"schema mismatch in {path}: file has {sorted(cols)}, collection has {sorted(fields)}"
                break
            total += meta.num_rows
            data["details"].append({"fileName": path, "fileSize": 0, "progress": 100, "state": "Completed"})
        if self.fail_reason or reason:
            data.update(state="Failed", progress=0, reason=self.fail_reason or reason, importedRows=0, totalRows=0)
        elif job["polls"] == 2:
            data.update(state="Importing", progress=50, importedRows=total // 2, totalRows=total)
        else:
            data.update(state="Completed", progress=100, importedRows=total - self.lose_rows, totalRows=total)
        return 200, {"code": 0, "data": data}
