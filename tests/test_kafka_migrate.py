"""Kafka (Tansu) -> Milvus Lite in batch mode: every row equal, in every value format, and changelogs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pytest

from tests.conftest import REPO, client_for, read_all, run_vts
from tests.kafka_fixtures import job_file, json_rows, produce, row, source_options, topic
from tests.services.tansu import Tansu

FIELDS = ["id", "title", "score", "tags", "vec"]


def _assert_rows_equal(url: str, collection: str, expected: dict[int, dict[str, Any]]) -> None:
    c = client_for(url)
    try:
        got = read_all(c, collection, FIELDS)
    finally:
        c.close()
    assert [r["id"] for r in got] == sorted(expected)
    for r in got:
        want = expected[r["id"]]
        assert r["title"] == want["title"]
        assert r["score"] == pytest.approx(want["score"])
        assert r["tags"] == want["tags"]
        assert r["vec"] == pytest.approx(want["vec"])


def test_a_three_partition_topic_arrives_row_for_row(tansu: Tansu, lite_server: str, tmp_path: Path) -> None:
    name = topic(tansu, 3)
    produce(tansu, name, json_rows(2000))
    job = job_file(tmp_path / "job.yaml", source_options(tansu, name), lite_server, name)
    code, _, err = run_vts("run", str(job), "--quiet")
    assert code == 0, err
    _assert_rows_equal(lite_server, name, {i: row(i) for i in range(2000)})
    code, _, _ = run_vts("verify", str(job), "--full")
    assert code == 0


def test_the_kafka_connect_envelope_arrives_row_for_row(tansu: Tansu, lite_server: str, tmp_path: Path) -> None:
    name = topic(tansu, 2)
    schema = {"type": "struct", "fields": [{"field": "id", "type": "int64"}], "optional": False}
    produce(tansu, name, [(i, json.dumps({"schema": schema, "payload": row(i)}).encode()) for i in range(300)], 2)
    job = job_file(tmp_path / "job.yaml", source_options(tansu, name, format="json_schema"), lite_server, name)
    code, _, err = run_vts("run", str(job), "--quiet")
    assert code == 0, err
    _assert_rows_equal(lite_server, name, {i: row(i) for i in range(300)})


AVRO = {
    "type": "record",
    "name": "Doc",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "title", "type": "string"},
        {"name": "score", "type": "double"},
        {"name": "tags", "type": {"type": "map", "values": "long"}},
        {"name": "vec", "type": {"type": "array", "items": "float"}},
    ],
}


def _confluent_avro(value: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    out.write(b"\x00" + (7).to_bytes(4, "big"))  # magic byte, schema id
    fastavro.schemaless_writer(out, fastavro.parse_schema(AVRO), value)
    return out.getvalue()


def test_avro_in_the_confluent_wire_format_arrives_row_for_row(tansu: Tansu, lite_server: str, tmp_path: Path) -> None:
    name = topic(tansu, 3)
    (tmp_path / "doc.avsc").write_text(json.dumps(AVRO))
    produce(tansu, name, [(i, _confluent_avro(row(i))) for i in range(300)])
    opts = source_options(tansu, name, format="avro", avro_schema_file=str(tmp_path / "doc.avsc"))
    job = job_file(tmp_path / "job.yaml", opts, lite_server, name)
    code, _, err = run_vts("run", str(job), "--quiet")
    assert code == 0, err
    _assert_rows_equal(lite_server, name, {i: row(i) for i in range(300)})


def test_a_changelog_with_updates_and_tombstones_ends_in_its_final_state(
    tansu: Tansu, lite_server: str, tmp_path: Path
) -> None:
    name = topic(tansu, 3)
    messages: list[tuple[Any, bytes | None]] = json_rows(300)
    final = {i: row(i) for i in range(300)}
    for i in range(0, 300, 3):  # an update for every third key
        final[i] = {**row(i), "title": f"updated {i}"}
        messages.append((i, json.dumps(final[i]).encode()))
    for i in range(0, 300, 5):  # then a tombstone for every fifth
        final.pop(i, None)
        messages.append((i, None))
    for i in (5, 10):  # and two keys come back after their delete
        final[i] = {**row(i), "title": "back"}
        messages.append((i, json.dumps(final[i]).encode()))
    produce(tansu, name, messages)
    job = job_file(tmp_path / "job.yaml", source_options(tansu, name), lite_server, name)
    code, _, err = run_vts("run", str(job), "--quiet")
    assert code == 0, err
    _assert_rows_equal(lite_server, name, final)
    code, _, _ = run_vts("verify", str(job), "--full")  # against the topic's final state
    assert code == 0


def test_debezium_creates_updates_and_deletes_end_in_the_final_state(
    tansu: Tansu, lite_server: str, tmp_path: Path
) -> None:
    name = topic(tansu, 2)

    def event(op: str, before: Any, after: Any) -> bytes:
        payload = {"op": op, "before": before, "after": after, "source": {"table": "docs"}, "ts_ms": 1}
        return json.dumps({"schema": {"type": "struct"}, "payload": payload}).encode()

    messages: list[tuple[Any, bytes | None]] = [(i, event("r" if i < 50 else "c", None, row(i))) for i in range(100)]
    final = {i: row(i) for i in range(100)}
    for i in range(0, 100, 4):
        final[i] = {**row(i), "score": -1.0}
        messages.append((i, event("u", row(i), final[i])))
    for i in range(1, 100, 10):
        messages.append((i, event("d", final.pop(i), None)))
        messages.append((i, None))  # Debezium's tombstone after a delete
    produce(tansu, name, messages, 2)
    job = job_file(tmp_path / "job.yaml", source_options(tansu, name, format="debezium"), lite_server, name)
    code, _, err = run_vts("run", str(job), "--quiet")
    assert code == 0, err
    _assert_rows_equal(lite_server, name, final)


def test_the_example_job_runs(tansu: Tansu, lite_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = topic(tansu, 3)
    produce(tansu, name, json_rows(100))
    monkeypatch.setenv("KAFKA_BOOTSTRAP", tansu.bootstrap)
    monkeypatch.setenv("KAFKA_TOPIC", name)
    monkeypatch.setenv("MILVUS_URL", lite_server)
    code, _, err = run_vts("run", str(REPO / "jobs" / "kafka_to_milvus.yaml"), "--quiet")
    assert code == 0, err
    _assert_rows_equal(lite_server, name, {i: row(i) for i in range(100)})


def test_a_changelog_into_an_insert_only_sink_stops_with_a_coded_error(
    tansu: Tansu, lite_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = topic(tansu, 1)
    produce(tansu, name, [*json_rows(5), (2, None)], 1)
    job = job_file(tmp_path / "job.yaml", source_options(tansu, name), lite_server, name)
    job.write_text(job.read_text().replace("Milvus:\n", "Milvus:\n    write_mode: insert\n"))
    code, _, err = run_vts("run", str(job), "--quiet", capsys=capsys)
    assert code == 1
    assert "MILVUS-17" in err and "deletes rows" in err and "write_mode upsert" in err
