"""The Milvus sink passes the shipped sink suite (vts.testing.sinks) on each of its write paths:
a `milvus-lite server` (insert writer; BulkWriter staging without import) and the real Milvus 2.3.5
(insert writer; BulkWriter through local files and the gRPC Import API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.bulk_fixtures import UNREACHABLE_S3
from tests.conftest import client_for, count
from vts.connectors.milvus.options import MilvusSinkOptions
from vts.connectors.milvus.sink import MilvusSink
from vts.testing.sinks import SinkSuite, SinkTarget


class MilvusTarget(SinkTarget):
    def __init__(self, url: str, token: str, stage: Path, bulk: dict[str, Any]) -> None:
        self.url, self.token, self.stage = url, token, stage
        self.bulk = bulk  # the BulkWriter path's config

    def sink(self, path: str, **options: Any) -> MilvusSink:
        base: dict[str, Any] = {"url": self.url, "token": self.token, "batch_size": 25}
        if path != "insert":
            base["bulk_writer_config"] = {"cloud_id": "local", "local_path": str(self.stage), **self.bulk}
        return MilvusSink(MilvusSinkOptions(**{**base, **options}))

    def failing_preflight(self) -> dict[str, Any]:
        return {"bulk_writer_config": {**UNREACHABLE_S3, "rest_url": "http://127.0.0.1:1"}}

    def _client(self) -> Any:
        return client_for(self.url) if not self.token else _connect(self.url, self.token)

    def rows(self, table: str) -> int | None:
        client = self._client()
        try:
            return count(client, table) if client.has_collection(table) else None
        finally:
            client.close()

    def keys(self, table: str) -> list[Any]:
        client = self._client()
        try:
            client.load_collection(table)
            rows = client.query(table, filter="id >= 0", output_fields=["id"], limit=16_384, consistency_level="Strong")
            return [r["id"] for r in rows]  # the suite's tables are small, their keys not negative
        finally:
            client.close()


def _connect(url: str, token: str) -> Any:
    from vts.connectors.milvus.connection import ConnectionOptions, connect

    return connect(ConnectionOptions(url=url, token=token))


class LiteServerTarget(MilvusTarget):
    paths = ("insert", "staged")

    def visible(self, path: str) -> bool:
        return path == "insert"  # Milvus Lite has no Import API: the BulkWriter only stages here


class Milvus235Target(MilvusTarget):
    paths = ("insert", "bulk")
    sparse = False  # Milvus 2.3 has no sparse vectors


class TestMilvusLiteSinkConformance(SinkSuite):
    @pytest.fixture
    def target(self, lite_server: str, tmp_path: Path) -> SinkTarget:
        (tmp_path / "stage").mkdir()
        return LiteServerTarget(lite_server, "", tmp_path / "stage", {"auto_import": False})


class TestMilvus235SinkConformance(SinkSuite):
    @pytest.fixture
    def target(self, milvus235: Any, tmp_path: Path) -> SinkTarget:
        (tmp_path / "stage").mkdir()
        return Milvus235Target(milvus235.uri, milvus235.token, tmp_path / "stage", {"poll_interval": 0.3})
