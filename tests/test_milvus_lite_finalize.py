"""MilvusSink.finalize: an embedded Milvus Lite target builds its indexes once, inside the run, and leaves
nothing for the process's exit (the quickstart's silent minute after the summary)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from milvus_lite.server_manager import server_manager_instance
from rich.console import Console

from tests.conftest import client_for
from vts.connector import Resume, WriteContext
from vts.connectors.datagen.options import DataGenOptions
from vts.connectors.datagen.source import DataGenSource
from vts.connectors.milvus import lite
from vts.connectors.milvus.options import MilvusSinkOptions
from vts.connectors.milvus.sink import MilvusLayout, MilvusSink
from vts.rejects import RejectLog, SplitRejects
from vts.stage import ConsoleStage
from vts.testing.sinks import prepare

ROWS, BATCH = 6000, 500


class Stages:
    """A stage callback that records what it was told, and whether the work inside it finished."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.finished: list[str] = []

    @contextlib.contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        self.entered.append(what)
        yield
        self.finished.append(what)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "finalize.db"
    yield path
    server_manager_instance.release_server(str(path))


def _copy(db: Path, tmp_path: Path, **sink: object) -> tuple[MilvusSink, MilvusLayout]:
    """Write ROWS generated rows with a flush per batch, as checkpoints do: many segments, then compaction."""
    fields = [
        {"name": "id", "type": "BIGINT", "primary_key": True},
        {"name": "vector", "type": "FLOAT_VECTOR", "dimension": 16},
        {"name": "title", "type": "STRING", "max_length": 64},
    ]
    source = DataGenSource(DataGenOptions(collection="docs", row_count=ROWS, batch_size=BATCH, fields=fields))
    tables = source.discover()
    target = MilvusSink(MilvusSinkOptions(url=str(db), **sink))
    layout = prepare(target, tables)
    (split,) = source.splits(tables, 1)
    ctx = WriteContext(Resume(), SplitRejects(RejectLog(tmp_path / "dead.jsonl"), split.id, split.table))
    writer = target.writer(layout, split, ctx)
    try:
        for batch, _ in source.read(split, tables[0]):
            writer.write(batch)
            writer.flush()
        writer.finish()
    finally:
        writer.close()
    return target, layout


def _files(db: Path, kind: str) -> set[str]:
    return {p.name for p in db.rglob(f"*.{kind}")}


def _stems(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_no_index_is_built_while_rows_are_written_to_milvus_lite(db: Path, tmp_path: Path) -> None:
    _copy(db, tmp_path)
    lite.wait_for_compaction(str(db), "default", "docs")  # Lite's background work is done: it built what it would
    assert _files(db, "parquet")
    assert _files(db, "idx") == set()  # each index built now would be built again after compaction


def test_finalize_builds_every_segment_index_inside_its_stage_and_leaves_nothing_for_exit(
    db: Path, tmp_path: Path
) -> None:
    sink, layout = _copy(db, tmp_path)
    stages = Stages()
    sink.finalize(layout, stages)

    assert stages.entered == stages.finished == ["building the index of docs"]
    data, indexes = _files(db, "parquet"), _files(db, "idx")
    assert _stems(indexes) == _stems(data)  # one index per final segment
    client = client_for(str(db))
    assert "Loaded" in str(client.get_load_state("docs")["state"])
    probe = client.query("docs", filter="id == 4321", output_fields=["vector"])[0]["vector"]
    hits = client.search("docs", data=[list(probe)], limit=1, anns_field="vector")
    assert hits[0][0]["id"] == 4321
    client.close()

    server_manager_instance.release_server(str(db))  # what Milvus Lite does at interpreter exit
    assert (_files(db, "parquet"), _files(db, "idx")) == (data, indexes)  # no compaction, no index left to build


def test_finalize_without_an_index_only_waits_for_compaction(db: Path, tmp_path: Path) -> None:
    sink, layout = _copy(db, tmp_path, create_index=False)
    stages = Stages()
    sink.finalize(layout, stages)
    assert stages.finished == ["compacting docs"]
    data = _files(db, "parquet")
    server_manager_instance.release_server(str(db))
    assert _files(db, "parquet") == data and _files(db, "idx") == set()


def test_finalize_without_targets_enters_no_stage_and_does_not_connect() -> None:
    sink = MilvusSink(MilvusSinkOptions(url="http://127.0.0.1:1"))  # nothing listens there
    stages = Stages()
    sink.finalize(MilvusLayout(server=None, targets={}), stages)  # type: ignore[arg-type]
    assert stages.entered == []


def test_console_stage_shows_what_it_waited_for_and_how_long() -> None:
    buffer = io.StringIO()
    stage = ConsoleStage(Console(file=buffer, width=100))
    with stage("building the index of docs"):
        pass
    assert buffer.getvalue().startswith("vts: building the index of docs: 0.")
    assert buffer.getvalue().rstrip().endswith(" s")


def test_console_stage_is_silent_when_quiet_and_prints_no_time_for_a_failure() -> None:
    buffer = io.StringIO()
    with ConsoleStage(Console(file=buffer), enabled=False)("building the index of docs"):
        pass
    with pytest.raises(RuntimeError), ConsoleStage(Console(file=buffer))("building the index of docs"):
        raise RuntimeError("index build failed")
    assert buffer.getvalue() == ""
