"""Against the real Pinecone service: runs only when PINECONE_API_KEY (and PINECONE_INDEX) are set.

PINECONE_INDEX names an existing serverless vector index to read (nothing is written to it).
"""

from __future__ import annotations

import os

import pytest

from vts.connectors.pinecone.options import PineconeSourceOptions
from vts.connectors.pinecone.source import PineconeSource
from vts.testing.sources import check_source

pytestmark = pytest.mark.skipif(
    not (os.environ.get("PINECONE_API_KEY") and os.environ.get("PINECONE_INDEX")),
    reason="set PINECONE_API_KEY and PINECONE_INDEX to test against the real service",
)


def test_a_real_index_passes_the_source_checks() -> None:
    opts = PineconeSourceOptions(api_key=os.environ["PINECONE_API_KEY"], index=os.environ["PINECONE_INDEX"])
    check_source(PineconeSource(opts), key="id")


def test_a_wrong_key_is_pinecone_01_on_the_real_service() -> None:
    from vts.connectors.pinecone.errors import PineconeError

    with pytest.raises(PineconeError) as info:
        PineconeSource(PineconeSourceOptions(api_key="wrong", index=os.environ["PINECONE_INDEX"])).discover()
    assert info.value.code == "PINECONE-01"
