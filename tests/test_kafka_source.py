"""The Kafka source's own behaviour: dead letters with offsets, error codes, end offsets, schema inference."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.conftest import client_for, free_port, read_all, run_vts
from tests.kafka_fixtures import job_file, json_rows, produce, row, source_options, topic
from tests.services.tansu import Tansu
from vts.connectors.kafka.errors import KafkaError
from vts.connectors.kafka.options import KafkaSourceOptions
from vts.connectors.kafka.source import KafkaSource
from vts.errors import ExitCode
from vts.testing.sources import read_split


def test_undecodable_messages_land_in_the_dead_letters_with_their_offsets(
    tansu: Tansu, lite_server: str, tmp_path: Path
) -> None:
    name = topic(tansu, 1)
    messages = json_rows(50)
    messages[10] = (10, b"{not json")
    messages[20] = (20, json.dumps({**row(20), "vec": [1.0, 2.0]}).encode())  # another dimension
    messages[30] = (30, json.dumps({"id": 30, "title": "no vector"}).encode())
    produce(tansu, name, messages, 1)
    dlq = topic(tansu, 1, prefix="dlq")
    # the schema is inferred from the first 5 messages; the odd ones come later
    opts = source_options(tansu, name, sample_messages=5, dead_letter_topic=dlq)
    job = job_file(tmp_path / "job.yaml", opts, lite_server, name)
    text = (tmp_path / "job.yaml").read_text().replace("Milvus:\n", "Milvus:\n    max_error_rows: 3\n")
    (tmp_path / "job.yaml").write_text(text)
    code, _, err = run_vts("run", str(job), "--quiet")
    assert code == 0, err
    letters = [json.loads(line) for line in Path("vts-dead-letters.jsonl").read_text().splitlines()]
    assert sorted(d["row"]["offset"] for d in letters) == [10, 20, 30]
    assert all(d["row"]["topic"] == name and d["row"]["partition"] == 0 for d in letters)
    by_offset = {d["row"]["offset"]: d for d in letters}
    assert "not JSON" in by_offset[10]["reason"] and by_offset[10]["row"]["value"] == "{not json"
    assert "expected 4" in by_offset[20]["reason"]
    assert "is missing or null, and the column is not nullable" in by_offset[30]["reason"]
    c = client_for(lite_server)
    try:
        assert [r["id"] for r in read_all(c, name, ["id"])] == [i for i in range(50) if i not in (10, 20, 30)]
    finally:
        c.close()
    # and, as Kafka Connect's DLQ has them, in the dead letter topic: the message unchanged, the error in headers
    consumer = Consumer({"bootstrap.servers": tansu.bootstrap, "group.id": "dlq-check"})
    consumer.assign([TopicPartition(dlq, 0, 0)])
    got = []
    try:
        while len(got) < 3:
            m = consumer.poll(10)
            assert m is not None, f"only {len(got)} dead letter(s) in {dlq}"
            got.append(m)
    finally:
        consumer.close()
    assert [m.value() for m in got] == [messages[10][1], messages[20][1], messages[30][1]]
    headers = dict(got[0].headers())
    assert headers["__connect.errors.topic"] == name.encode() and headers["__connect.errors.offset"] == b"10"
    assert b"not JSON" in headers["__connect.errors.exception.message"]


def test_more_dead_letters_than_allowed_fail_the_run(
    tansu: Tansu, lite_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = topic(tansu, 1)
    produce(tansu, name, [*json_rows(5), (5, b"garbage")], 1)
    job = job_file(tmp_path / "job.yaml", source_options(tansu, name), lite_server, name)
    code, _, err = run_vts("run", str(job), "--quiet", capsys=capsys)
    assert code == ExitCode.FAILED
    assert "VTS-12" in err and "vts-dead-letters.jsonl" in err


def test_an_unreachable_broker_is_kafka_01(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opts = {"bootstrap_servers": f"127.0.0.1:{free_port()}", "topics": ["t"], "timeout": 2}
    job = job_file(tmp_path / "job.yaml", opts, str(tmp_path / "m.db"), "t")
    code, _, err = run_vts("run", str(job), "--quiet", capsys=capsys)
    assert code == ExitCode.CONNECTION
    assert "KAFKA-01" in err and "bootstrap_servers" in err
    assert "Traceback" not in err


def test_an_unknown_topic_is_kafka_03(tansu: Tansu, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = job_file(tmp_path / "job.yaml", source_options(tansu, "no-such-topic"), str(tmp_path / "m.db"), "x")
    code, _, err = run_vts("run", str(job), "--quiet", capsys=capsys)
    assert code == ExitCode.INVALID_CONFIG
    assert "KAFKA-03" in err and "no-such-topic" in err


def test_vectors_of_two_dimensions_in_one_field_are_a_schema_error(tansu: Tansu) -> None:
    name = topic(tansu, 1)
    produce(tansu, name, [json_rows(3)[0], (1, json.dumps({**row(1), "vec": [1.0]}).encode())], 1)
    with pytest.raises(KafkaError) as info:
        KafkaSource(KafkaSourceOptions.model_validate(source_options(tansu, name))).discover()
    assert info.value.code == "KAFKA-06" and "dimensions" in str(info.value)


def test_batch_splits_end_at_the_offsets_seen_when_the_run_starts(tansu: Tansu) -> None:
    name = topic(tansu, 1)
    produce(tansu, name, json_rows(40), 1)
    source = KafkaSource(KafkaSourceOptions.model_validate(source_options(tansu, name)))
    tables = source.discover()
    [split] = source.splits(tables, 1)
    produce(tansu, name, json_rows(10, start=40), 1)  # arrives after the splits were cut: the next run's
    keys = [k for b, _ in read_split(source, split, tables[0]) for k in b.column("id").to_pylist()]
    assert keys == list(range(40))


def test_a_too_low_high_watermark_is_caught_by_comparing_with_the_messages_produced(tansu: Tansu) -> None:
    # Tansu reports the last record batch's base offset + 1: produced in batches, the split ends early.
    # A reader that trusted the broker's count would report success; the produced keys show the gap.
    name = topic(tansu, 1)
    produce(tansu, name, json_rows(500), 1, one_per_batch=False)
    source = KafkaSource(KafkaSourceOptions.model_validate(source_options(tansu, name)))
    tables = source.discover()
    [split] = source.splits(tables, 1)
    keys = [k for b, _ in read_split(source, split, tables[0]) for k in b.column("id").to_pylist()]
    assert len(keys) == split.estimated_rows  # consistent with the broker's watermark...
    assert set(range(500)) - set(keys), "Tansu's watermark was exact here; the quirk did not show"


def test_the_message_key_gives_the_primary_key_when_the_value_lacks_it(tansu: Tansu) -> None:
    name = topic(tansu, 1)
    produce(tansu, name, [(f"k{i}", json.dumps({"vec": [1.0, float(i)]}).encode()) for i in range(5)], 1)
    produce(tansu, name, [("k2", None)], 1)
    source = KafkaSource(KafkaSourceOptions.model_validate(source_options(tansu, name, key_field="id")))
    [table] = source.discover()
    assert table.field("id").type.value == "STRING" and table.field("vec").dimension == 2
    [split] = source.splits([table], 1)
    [(batch, _)] = read_split(source, split, table)
    assert batch.column("id").to_pylist() == ["k0", "k1", "k2", "k3", "k4", "k2"]
    assert batch.column("__vts_op").to_pylist() == ["upsert"] * 5 + ["delete"]


def test_start_from_picks_the_first_offset_of_a_new_run(tansu: Tansu) -> None:
    name = topic(tansu, 1)
    produce(tansu, name, json_rows(30), 1)
    time.sleep(0.05)
    middle = datetime.now(UTC)
    time.sleep(0.05)
    produce(tansu, name, json_rows(20, start=30), 1)

    def start(**opts: Any) -> int:
        source = KafkaSource(KafkaSourceOptions.model_validate(source_options(tansu, name, **opts)))
        [split] = source.splits(source.discover(), 1)
        return split.spec["start"]

    assert start(start_from="earliest") == 0
    assert start(start_from="latest") == 50
    assert start(start_from=middle.isoformat()) == 30
    assert start(start_from="committed") == 0  # nothing committed yet: earliest
    committer = KafkaSource(KafkaSourceOptions.model_validate(source_options(tansu, name)))
    [split] = committer.splits(committer.discover(), 1)
    committer.acknowledge(split, 42)  # what the engine does once Milvus has offsets 0-41
    assert start(start_from="committed") == 42
