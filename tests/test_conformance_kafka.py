"""The Kafka source (batch mode) passes the shipped source suite against Tansu."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import free_port
from tests.kafka_fixtures import json_rows, produce, source_options, topic
from tests.services.tansu import Tansu
from vts.connector import Source
from vts.connectors.kafka.options import KafkaSourceOptions
from vts.connectors.kafka.source import KafkaSource
from vts.testing.sources import SourceSuite


@pytest.fixture(scope="module")
def suite_topic(tansu: Tansu) -> str:
    name = topic(tansu, 3, prefix="suite")
    produce(tansu, name, json_rows(600))
    return name


class TestKafkaSourceConformance(SourceSuite):
    @pytest.fixture
    def source(self, tansu: Tansu, suite_topic: str) -> Source:
        return KafkaSource(KafkaSourceOptions.model_validate(source_options(tansu, suite_topic, batch_size=97)))

    @pytest.fixture
    def failing_source(self) -> Source:
        opts = {"bootstrap_servers": f"127.0.0.1:{free_port()}", "topics": ["t"], "timeout": 2}
        return KafkaSource(KafkaSourceOptions.model_validate(opts))

    @pytest.fixture
    def expected_keys(self) -> set[Any]:
        return set(range(600))
