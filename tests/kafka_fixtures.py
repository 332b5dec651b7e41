"""Tansu for the Kafka tests: one broker per session, a fresh topic per test, producers with exact offsets.

Producers here send one record per request batch (``batch.num.messages=1``,
``linger.ms=0``) because Tansu reports a partition's high watermark as the
last record batch's base offset + 1: with one record per batch that is
Kafka's last offset + 1, so a batch-mode split sees every message. The test
that shows what a too-low watermark does produces in batches on purpose.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from tests.services.tansu import Tansu

_names = itertools.count()


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    broker = Tansu(tmp_path_factory.mktemp("tansu") / "tansu.log")
    with broker:
        yield broker


def topic(broker: Tansu, partitions: int = 3, prefix: str = "t") -> str:
    name = f"{prefix}{next(_names)}"
    broker.create_topic(name, partitions)
    return name


def producer(broker: Tansu, one_per_batch: bool = True) -> Producer:
    conf: dict[str, Any] = {"bootstrap.servers": broker.bootstrap, "linger.ms": 0 if one_per_batch else 50}
    if one_per_batch:
        conf["batch.num.messages"] = 1
    return Producer(conf)


def vector(i: int, dim: int = 4) -> list[float]:
    return [float(i % 97) / 8 + k for k in range(dim)]


def row(i: int, dim: int = 4) -> dict[str, Any]:
    return {"id": i, "title": f"doc {i}", "score": i / 4, "tags": {"n": i % 5}, "vec": vector(i, dim)}


def produce(
    broker: Tansu, name: str, messages: list[tuple[Any, bytes | None]], partitions: int = 3, one_per_batch: bool = True
) -> None:
    """(key, value) pairs; a key goes to partition key % partitions so tests know where each landed."""
    p = producer(broker, one_per_batch)
    for key, value in messages:
        p.produce(name, key=json.dumps(key).encode(), value=value, partition=hash_partition(key, partitions))
    assert p.flush(30) == 0


def hash_partition(key: Any, partitions: int) -> int:
    return int(key) % partitions if isinstance(key, int) else sum(str(key).encode()) % partitions


def json_rows(n: int, dim: int = 4, start: int = 0) -> list[tuple[Any, bytes]]:
    return [(i, json.dumps(row(i, dim)).encode()) for i in range(start, start + n)]


def source_options(broker: Tansu, name: str, **more: Any) -> dict[str, Any]:
    return {"bootstrap_servers": broker.bootstrap, "topics": [name], "group_id": f"g-{name}", **more}


def job_file(path: Path, source: dict[str, Any], milvus: str, collection: str, **env: Any) -> Path:
    from tests.conftest import write_job

    return write_job(
        path,
        {
            "env": {"checkpoint": {"path": str(path.parent / "cp"), "interval": 0.5}, **env},
            "source": {"Kafka": source},
            "sink": {"Milvus": {"url": milvus, "collection_rename": {source["topics"][0]: collection}}},
        },
    )
