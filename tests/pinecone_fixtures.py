"""Pinecone test data: the emulator (session-wide) and indexes filled with known vectors."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests.pinecone_emulator import DEFAULT, EmuIndex, Emulator, Record
from vts.connectors.pinecone.options import PineconeSourceOptions

KEY = "emulator-key"
_names = iter(range(1_000_000))


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    emu = Emulator(api_key=KEY)
    yield emu
    emu.close()


@pytest.fixture
def clean(emulator: Emulator) -> Iterator[Emulator]:
    """The emulator with no faults switched on, before and after the test."""
    emulator.rate_limit, emulator.latency = 0.0, 0.0
    # the same fault draws in every test, whatever ran before in the session (one test's count of rate-limited
    # calls depended on how many draws earlier tests had taken)
    emulator.random.seed(7)
    yield emulator
    emulator.rate_limit, emulator.latency = 0.0, 0.0


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


def records(namespace: str, rows: int, dimension: int | None, sparse: bool, seed: int = 0) -> list[Record]:
    """Known vectors: float32-exact dense values, sorted sparse indices, mixed metadata (some keys absent)."""
    rng = np.random.default_rng(zlib.crc32(f"{namespace}/{seed}".encode()))  # hash() differs per process
    dense = rng.random((rows, dimension or 0), dtype=np.float32)
    tag = namespace.replace(DEFAULT, "default")
    out = []
    for i in range(rows):
        values = [float(x) for x in dense[i]] if dimension else []
        sv = None
        if sparse:
            k = int(rng.integers(1, 6))
            idx = sorted({int(x) for x in rng.integers(0, 50_000, size=k)})
            # in (0, 1]: Milvus keeps no explicit zero in a sparse vector, so a drawn 0.0 would not come back
            sv = (idx, [float(np.float32(1) - x) for x in rng.random(len(idx), dtype=np.float32)])
        meta: dict[str, Any] = {"n": i, "title": f"{tag} {i}", "score": i / 7, "flag": i % 2 == 0}
        if i % 5 == 0:
            meta["tags"] = [tag, f"t{i % 3}"]
        if i % 11 == 0:
            del meta["title"]
        out.append(Record(f"{tag}#{i:05d}", values, sv, meta))
    return out


def fill(
    emu: Emulator,
    namespaces: dict[str, int],
    dimension: int | None = 8,
    sparse: bool = True,
    metric: str = "dotproduct",
    kind: str = "managed",
    name: str | None = None,
) -> tuple[EmuIndex, dict[str, dict[str, Record]]]:
    """A new index holding ``namespaces`` (name -> rows); returns it and what it holds."""
    index = emu.add_index(name or unique("idx"), dimension=dimension, metric=metric, kind=kind, sparse=sparse)
    for ns, rows in namespaces.items():
        index.upsert(ns, records(ns, rows, dimension, sparse))
    with index.lock:
        held = {ns: dict(space) for ns, space in index.namespaces.items()}
    return index, held


def options(emu: Emulator, index: EmuIndex, **kw: Any) -> PineconeSourceOptions:
    return PineconeSourceOptions.model_validate({"api_key": KEY, "index": index.name, "controller_host": emu.url, **kw})


def same_dense(got: Any, want: list[float]) -> bool:
    return np.array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))


def same_sparse(got: dict[Any, Any] | None, want: tuple[list[int], list[float]] | None) -> bool:
    expect = {} if want is None else {int(i): np.float32(v) for i, v in zip(*want)}
    return {int(k): np.float32(v) for k, v in (got or {}).items()} == expect
