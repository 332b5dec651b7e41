"""The emulator driven by the real elasticsearch-py 8.x client (its own venv, .venv-es8, installed by
`make services`): an 8.x client reads 8.x and 9.x servers alike — info, sliced point in time, scroll —
as a real cluster lets it, while the default 9.x client is refused by an 8.x server (test_elasticsearch_source)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.es_emulator import Emulator
from tests.es_fixtures import create_es_index, doc_id

REPO = Path(__file__).resolve().parent.parent
ES8_PYTHON = REPO / ".venv-es8" / "bin" / "python"
ROWS = 230


@pytest.mark.parametrize("server", ["8.15.0", "9.2.0"])
def test_the_8x_client_reads_an_index_through_pit_and_scroll_on_8x_and_9x_servers(server: str) -> None:
    assert ES8_PYTHON.exists(), "the 8.x client is missing: run `make services` (tests/services/install_es8_client.sh)"
    with Emulator(version=server) as emulator:
        create_es_index(emulator.url, "docs", ROWS, shards=3)
        out = subprocess.run(
            [str(ES8_PYTHON), str(REPO / "tests" / "es8_probe.py"), emulator.url, "docs"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        got = json.loads(out.stdout)
        assert emulator.open_contexts() == 0  # the client closed its point in time and its scroll
    assert got["client"].startswith("8.") and got["server"] == server
    want = sorted(doc_id(i) for i in range(ROWS))
    assert sorted(got["pit_ids"]) == want  # two slices: every document once
    assert sorted(got["scroll_ids"]) == want
