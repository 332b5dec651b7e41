"""The Pinecone source passes the shipped source suite, against the emulator driven by the real SDK."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pinecone_emulator import DEFAULT, EmuIndex, Emulator, Record
from tests.pinecone_fixtures import fill, options
from vts.connector import Source
from vts.connectors.pinecone.options import PineconeSourceOptions
from vts.connectors.pinecone.source import PineconeSource
from vts.testing.sources import SourceSuite

NAMESPACES = {DEFAULT: 230, "alpha": 170, "beta": 101}


@pytest.fixture(scope="module")
def suite_index(emulator: Emulator) -> tuple[EmuIndex, dict[str, dict[str, Record]]]:
    return fill(emulator, NAMESPACES)


class TestPineconeSourceConformance(SourceSuite):
    @pytest.fixture
    def source(self, emulator: Emulator, suite_index: tuple[EmuIndex, Any]) -> Source:
        # small pages and fetches, so every namespace has many positions to resume from
        return PineconeSource(options(emulator, suite_index[0], batch_size=37, fetch_size=50, concurrency=3))

    @pytest.fixture
    def expected_keys(self, suite_index: tuple[EmuIndex, dict[str, dict[str, Record]]]) -> set[Any]:
        return {i for space in suite_index[1].values() for i in space}

    @pytest.fixture
    def failing_source(self, emulator: Emulator, suite_index: tuple[EmuIndex, Any]) -> Source:
        return PineconeSource(
            PineconeSourceOptions(api_key="wrong-key", index=suite_index[0].name, controller_host=emulator.url)
        )
