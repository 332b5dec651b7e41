"""Connecting to a Milvus server that closed an idle connection."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import LiteServer, client_for, run_vts, write_job


def test_a_run_connects_after_the_server_closed_an_idle_shared_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = LiteServer(tmp_path)  # its own: the shared one's connection is in use by other tests
    try:
        url = server.ensure()
        idle = client_for(url)  # pymilvus shares one connection per url across clients in a process
        idle.list_collections()
        # milvus-lite answers pymilvus's 10 s keepalive pings on an idle connection with GOAWAY too_many_pings.
        # Nothing reads that connection while it is idle, so the next call is the first to hear of it.
        time.sleep(120)
        job = {
            "source": {"DataGen": {"collection": "after_goaway", "row_count": 100}},
            "sink": {"Milvus": {"url": url}},
        }
        code, _, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
        assert code == 0, err
        assert client_for(url).query("after_goaway", output_fields=["count(*)"])[0]["count(*)"] == 100
    finally:
        server.stop()
