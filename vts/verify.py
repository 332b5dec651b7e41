"""``vts verify``: proof that the target equals the source.

1. Counts per table and partition, source against target.
2. The primary-key set difference, exact and streamed: keys from both sides
   are spread over hash buckets on disk, then each bucket is compared in
   memory, so memory stays bounded by one bucket whatever the size.
3. Values: the target rows for a sample of keys (``--full``: every key) are
   fetched and compared with what the sink would write for the source rows
   (the same conversion the writer uses), vectors exactly (float16/bfloat16
   within their precision), scalars, JSON and arrays by value.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from vts import engine
from vts.config import Job
from vts.errors import VtsError

BUCKET_TARGET = 500_000  # keys per bucket held in memory at once
MAX_LISTED = 20


class TargetDiffers(VtsError):
    code = "VTS-09"


class Verifier(Protocol):
    """What a sink offers ``vts verify`` (see ``Sink.verifier``)."""

    def key_columns(self, table: str) -> tuple[str, str] | None:
        """(source column, target field) of the target's key; None when the target makes its own keys."""

    def count(self, table: str, partition: str | None) -> int: ...

    def keys(self, table: str) -> Iterator[list[Any]]: ...

    def expected(self, table: str, batch: pa.RecordBatch) -> list[dict[str, Any]]:
        """The rows the sink writes for this source batch, as it reads them back."""

    def fetch(self, table: str, keys: list[Any]) -> dict[Any, dict[str, Any]]: ...

    def same(self, table: str, field: str, want: Any, got: Any) -> bool: ...

    def close(self) -> None: ...


@dataclass
class TableResult:
    table: str
    source_rows: int = 0
    target_rows: int = 0
    partitions: dict[str, tuple[int, int]] = field(default_factory=dict)  # partition -> (source, target)
    missing: int = 0  # in the source, not in the target
    extra: int = 0  # in the target, not in the source
    duplicated: int = 0  # keys the source holds more than once
    missing_keys: list[Any] = field(default_factory=list)
    extra_keys: list[Any] = field(default_factory=list)
    compared: int = 0
    mismatched: int = 0
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        counts_equal = self.source_rows == self.target_rows and all(s == t for s, t in self.partitions.values())
        return counts_equal and not (self.missing or self.extra or self.mismatched or self.duplicated)


def verify(job: Job, full: bool = False, sample: int = 1000) -> list[TableResult]:
    discovery = engine.discover_source(job, incremental=False)  # the whole source, not the next incremental window
    layout = job.sink.layout(discovery.sink_tables)
    verifier: Verifier | None = job.sink.verifier(layout)
    if verifier is None:
        raise VtsError(
            f"the {job.sink.name} sink cannot be verified",
            code="VTS-10",
            hint="verify works with sinks that implement Sink.verifier (the Milvus sink does)",
        )
    results = []
    try:
        for source_table, sink_table in zip(discovery.source_tables, discovery.sink_tables, strict=True):
            splits = [s for s in discovery.splits if s.table == source_table.name]
            stages = discovery.tasks_stage[source_table.name]
            results.append(_verify_table(job, verifier, source_table, sink_table.name, splits, stages, full, sample))
    finally:
        verifier.close()
    return results


def _batches(job: Job, source_table: Any, splits: list[Any], stages: list[Any]) -> Iterator[tuple[Any, pa.RecordBatch]]:
    for split in splits:
        reader = job.source.read(split, source_table, None)
        try:
            for batch, _ in reader:
                for transform, table in zip(job.transforms, stages, strict=True):
                    batch = transform.apply(batch, table)
                yield split, batch
        finally:
            reader.close()


def _verify_table(
    job: Job, v: Verifier, source_table: Any, name: str, splits: list[Any], stages: list[Any], full: bool, sample: int
) -> TableResult:
    res = TableResult(name)
    key_pair = v.key_columns(name)
    key, target_key = key_pair if key_pair else (None, None)
    per_partition: Counter[str | None] = Counter()
    estimate = sum(s.estimated_rows for s in splits)
    stride = 1 if full else max(1, estimate // max(1, sample))
    with tempfile.TemporaryDirectory(prefix="vts-verify-") as tmp:
        n_buckets = max(1, math.ceil(max(estimate, 1) / BUCKET_TARGET))
        src_buckets = _Buckets(Path(tmp) / "source", n_buckets)
        for split, batch in _batches(job, source_table, splits, stages):
            res.source_rows += batch.num_rows
            per_partition[split.partition] += batch.num_rows
            if key is None:
                continue
            keys = batch.column(key).to_pylist()
            src_buckets.add(keys)
            chosen = [i for i, k in enumerate(keys) if full or _stable_hash(k) % stride == 0]
            if chosen:
                _compare_values(v, name, batch.take(pa.array(chosen)), target_key, res)
        src_buckets.close()
        res.target_rows = v.count(name, None)
        for partition, n in per_partition.items():
            if partition is not None:
                res.partitions[partition] = (n, v.count(name, partition))
        if key is None:
            res.notes.append("the target generates its own keys (auto id): only counts were compared")
            return res
        dst_buckets = _Buckets(Path(tmp) / "target", n_buckets)
        for page in v.keys(name):
            dst_buckets.add(page)
        dst_buckets.close()
        for i in range(n_buckets):
            src, dst = Counter(src_buckets.read(i)), set(dst_buckets.read(i))
            res.duplicated += sum(c - 1 for c in src.values() if c > 1)
            missing = [k for k in src if k not in dst]
            extra = [k for k in dst if k not in src]
            res.missing += len(missing)
            res.extra += len(extra)
            res.missing_keys.extend(sorted(missing, key=str)[: MAX_LISTED - len(res.missing_keys)])
            res.extra_keys.extend(sorted(extra, key=str)[: MAX_LISTED - len(res.extra_keys)])
    if res.duplicated:
        res.notes.append(f"the source holds {res.duplicated} repeated key(s): the target keeps one row per key")
    return res


def _compare_values(v: Verifier, name: str, batch: pa.RecordBatch, target_key: Any, res: TableResult) -> None:
    expected = v.expected(name, batch)
    if not expected:
        return
    got = v.fetch(name, [row[target_key] for row in expected])
    for want in expected:
        k = want[target_key]
        row = got.get(k)
        if row is None:
            continue  # counted by the key comparison
        res.compared += 1
        bad = [f for f, value in want.items() if not v.same(name, f, value, row.get(f))]
        if bad:
            res.mismatched += 1
            if len(res.mismatches) < MAX_LISTED:
                res.mismatches.append(
                    f"key {k!r}: " + ", ".join(f"{f} = {_short(row.get(f))}, source {_short(want[f])}" for f in bad)
                )


def _short(value: Any) -> str:
    text = repr(value.tolist() if hasattr(value, "tolist") else value)
    return text if len(text) <= 60 else text[:57] + "..."


def _stable_hash(value: Any) -> int:
    import zlib

    return zlib.crc32(str(value).encode())


class _Buckets:
    """Keys spread over files by hash, appended in chunks (JSON lines)."""

    def __init__(self, folder: Path, n: int) -> None:
        folder.mkdir(parents=True)
        self.paths = [folder / f"{i}.jsonl" for i in range(n)]
        self.pending: dict[int, list[Any]] = defaultdict(list)
        self.n = n

    def add(self, keys: list[Any]) -> None:
        for k in keys:
            self.pending[_stable_hash(k) % self.n].append(k)
        if sum(len(p) for p in self.pending.values()) > 50_000:
            self._spill()

    def _spill(self) -> None:
        for i, keys in self.pending.items():
            with self.paths[i].open("a") as f:
                f.write("\n".join(json.dumps(k) for k in keys) + "\n")
        self.pending.clear()

    def close(self) -> None:
        self._spill()

    def read(self, i: int) -> list[Any]:
        if not self.paths[i].exists():
            return []
        with self.paths[i].open() as f:
            return [json.loads(line) for line in f if line.strip()]
