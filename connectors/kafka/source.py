from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from confluent_kafka import TopicPartition

from vts.connector import Position, Rejected, Source, Split
from vts.connectors.kafka import client, schema
from vts.connectors.kafka.decode import Decoder, Undecodable
from vts.connectors.kafka.options import KafkaSourceOptions
from vts.connectors.kafka.reader import read_compacted, read_partition
from vts.schema import TableSchema


class KafkaSource(Source):
    """Kafka topics (JSON, {schema, payload}, Avro, Debezium); one split per topic-partition; batch or streaming."""

    name = "Kafka"
    doc = (
        "Kafka topics (JSON, Kafka Connect's {schema, payload}, Avro, Debezium change events): upserts, "
        "tombstone and Debezium deletes, offsets committed after Milvus has the rows; batch or streaming."
    )
    Options = KafkaSourceOptions
    options: KafkaSourceOptions

    def discover(self) -> list[TableSchema]:
        opts = self.options
        with client.consumer(opts) as c:
            found = client.topics(c, opts)
            if opts.field_schema:
                return [schema.declared(opts, t) for t in found]
            return [schema.inferred(opts, t, self._sample(c, t, parts)) for t, parts in found.items()]

    def _sample(self, c: Any, topic: str, partitions: list[int]) -> list[dict[str, Any]]:
        """The upserted rows of the first ``sample_messages`` messages of every partition."""
        opts, decoder, rows = self.options, Decoder(self.options), []
        for p in partitions:
            low, high = client.watermarks(c, opts, topic, p)
            spec = {"topic": topic, "partition": p, "start": low, "end": min(high, low + opts.sample_messages)}
            for _, change in _changes(opts, decoder, spec):
                if change.op == "upsert":
                    rows.append(change.row)
        return rows

    def splits(self, tables: list[TableSchema], parallelism: int, incremental: bool = True) -> list[Split]:
        opts = self.options
        streaming = opts.mode == "streaming" and incremental
        out: list[Split] = []
        with client.consumer(opts) as c:
            found = client.topics(c, opts)
            for table in tables:
                parts = [TopicPartition(table.name, p) for p in found.get(table.name, [])]
                marks = {(tp.topic, tp.partition): client.watermarks(c, opts, tp.topic, tp.partition) for tp in parts}
                starts = self._starts(c, parts, marks) if incremental else {k: lo for k, (lo, _) in marks.items()}
                for tp in parts:
                    high = marks[(tp.topic, tp.partition)][1]
                    start = starts[(tp.topic, tp.partition)]
                    end = None if streaming else max(start, high)
                    spec = {"topic": tp.topic, "partition": tp.partition, "start": start, "end": end}
                    if not incremental:  # vts verify compares the topic's final state, not its history
                        spec["compact"] = True
                    rows = max(0, (end if end is not None else high) - start)
                    out.append(Split(f"{tp.topic}/{tp.partition}", table.name, None, rows, spec))
        return out

    def _starts(self, c: Any, parts: list[TopicPartition], marks: dict[tuple[str, int], tuple[int, int]]) -> dict:
        opts, how = self.options, self.options.start_from
        if how == "earliest":
            return {k: lo for k, (lo, _) in marks.items()}
        if how == "latest":
            return {k: hi for k, (_, hi) in marks.items()}
        if how == "committed":
            done = client.committed(c, opts, parts)
            return {k: max(lo, done.get(k, lo)) for k, (lo, _) in marks.items()}
        at = client.offsets_at(c, opts, parts, int(how.timestamp() * 1000))
        return {k: (at[k] if at.get(k, -1) >= 0 else hi) for k, (_, hi) in marks.items()}

    def read(
        self, split: Split, table: TableSchema, position: Position = None
    ) -> Iterator[tuple[pa.RecordBatch | Rejected, Position]]:
        if split.spec.get("compact"):
            yield from read_compacted(self.options, table, split.spec)
        else:
            yield from read_partition(self.options, table, split.spec, position)

    def streaming(self) -> KafkaSource:
        return KafkaSource(self.options.model_copy(update={"mode": "streaming"}))

    def unbounded(self) -> bool:
        return self.options.mode == "streaming"

    def backlog(self, splits: list[Split], positions: dict[str, Position]) -> dict[str, int]:
        out: dict[str, int] = {}
        with client.consumer(self.options) as c:
            for s in splits:
                _, high = client.watermarks(c, self.options, s.spec["topic"], int(s.spec["partition"]))
                at = positions.get(s.id)
                nxt = int(s.spec["start"]) if at is None else int(at)
                end = high if s.spec.get("end") is None else min(high, int(s.spec["end"]))
                out[s.id] = max(0, end - nxt)
        return out

    def acknowledge(self, split: Split, position: Position) -> None:
        if position is not None:
            client.commit(self.options, [(split.spec["topic"], int(split.spec["partition"]), int(position))])


def _changes(opts: KafkaSourceOptions, decoder: Decoder, spec: dict[str, Any]) -> Iterator[tuple[int, Any]]:
    """The decodable changes of an offset range (undecodable ones are left to the reader's dead letters)."""
    if spec["start"] >= spec["end"]:
        return
    from confluent_kafka import KafkaError as ClientError

    with client.consumer(opts) as c:
        c.assign([TopicPartition(spec["topic"], spec["partition"], spec["start"])])
        while True:
            messages = c.consume(max(1, min(opts.batch_size, spec["end"] - spec["start"])), opts.poll_timeout)
            if not messages:
                return
            for m in messages:
                if m.error() is not None:
                    if m.error().code() == ClientError._PARTITION_EOF:
                        return
                    continue
                if m.offset() >= spec["end"]:
                    return
                try:
                    change = decoder.decode(m.key(), m.value())
                except Undecodable:
                    change = None
                if change is not None:
                    yield m.offset(), change
                if m.offset() + 1 >= spec["end"]:
                    return
