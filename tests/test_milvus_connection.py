"""Connecting to a Milvus server that closed an idle connection."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pymilvus
import pytest

from tests.conftest import LiteServer, client_for, run_vts, write_job


def test_a_run_connects_after_the_server_closed_an_idle_shared_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = LiteServer(tmp_path)  # its own: the shared one's connection is in use by other tests
    try:
        url = server.ensure()
        idle = client_for(url)  # pymilvus shares one connection per url across clients in a process
        idle.list_collections()
        # milvus-lite answers pymilvus's 10 s keepalive pings on an idle connection with GOAWAY too_many_pings.
        # Nothing reads that connection while it is idle, so the next call is the first to hear of it.
        time.sleep(120)
        refused: list[str] = []

        class Recording(pymilvus.MilvusClient):  # what vts's connect() opens, with each refusal noted
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                try:
                    super().__init__(*args, **kwargs)
                except Exception as exc:
                    refused.append(str(exc))
                    raise

        monkeypatch.setattr(pymilvus, "MilvusClient", Recording)
        job = {
            "source": {"DataGen": {"collection": "after_goaway", "row_count": 100}},
            "sink": {"Milvus": {"url": url}},
        }
        code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
        assert code == 0, err
        # the condition this test is about happened: without vts's retry, this run would have failed
        assert refused and "Fail connecting" in refused[0], "the server did not drop the idle connection"
        assert client_for(url).query("after_goaway", output_fields=["count(*)"])[0]["count(*)"] == 100
    finally:
        server.stop()
