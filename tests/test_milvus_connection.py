"""Connecting: to a Milvus server that closed an idle connection; to a Milvus Lite file another process holds."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pymilvus
import pytest

from tests.conftest import LiteServer, client_for, run_vts, write_job
from tests.services import kill_group

# Opens the .db file as any program using Milvus Lite does, says so, and keeps it open until stdin closes.
_HOLDER = "import sys; from pymilvus import MilvusClient; c = MilvusClient(sys.argv[1]); print('open', flush=True); sys.stdin.read()"


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_lite_file_open_in_another_process_is_named_with_the_fix_and_no_library_traceback(
    tmp_path: Path, command: str
) -> None:
    db = tmp_path / "held.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        job = {
            "source": {"DataGen": {"collection": "held", "row_count": 10}},
            "sink": {"Milvus": {"url": "./held.db"}},
        }
        write_job(tmp_path / "job.yaml", job)
        proc = subprocess.run(
            [sys.executable, "-m", "vts", command, "job.yaml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        kill_group(holder)
    assert proc.returncode == 3, proc.stderr
    assert "[MILVUS-16]" in proc.stderr
    assert "cannot open Milvus Lite file ./held.db: another process holds it" in proc.stderr
    assert f"process {holder.pid}" in proc.stderr  # which process, where the system tells (Linux)
    assert "stop the other process" in proc.stderr and "milvus-lite server --data-dir ./held.db" in proc.stderr
    assert "Traceback" not in proc.stderr and "DataDirLockedError" not in proc.stderr, proc.stderr


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
