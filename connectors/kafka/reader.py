"""Reading one topic-partition from an offset: changes in batches, undecodable messages as dead letters.

A batch's position is the next offset to read, so a reader started again
from it repeats nothing and skips nothing. Batch mode stops at the split's
end offset (captured when the splits were cut) or at the end of the partition,
whichever comes first; streaming mode never stops on its own and yields an
empty batch after each quiet ``poll_timeout``, so the engine can flush,
checkpoint, and stop it between batches.

``vts verify`` reads compacting splits: the partition's final state (the
last change of each key, deletes applied), as Kafka's log compaction would
keep it. That relies on Kafka's rule that one key's messages stay in one
partition, and holds the partition's final rows in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from confluent_kafka import KafkaError as ClientError
from confluent_kafka import KafkaException, TopicPartition

from vts.connector import OP_COLUMN, OP_DELETE, Position, Rejected
from vts.connectors.kafka import client
from vts.connectors.kafka.dead_letters import DeadLetterTopic
from vts.connectors.kafka.decode import Change, Decoder, Undecodable
from vts.connectors.kafka.errors import Code, KafkaError, wrap
from vts.connectors.kafka.options import KafkaSourceOptions
from vts.connectors.kafka.rows import Unconvertible, shape, to_batch
from vts.schema import TableSchema

log = logging.getLogger("vts.kafka")


def read_partition(
    opts: KafkaSourceOptions, table: TableSchema, spec: dict[str, Any], position: Position
) -> Iterator[tuple[pa.RecordBatch | Rejected, Position]]:
    topic, partition = spec["topic"], int(spec["partition"])
    end = spec.get("end")
    offset = int(position if position is not None else spec["start"])
    if end is not None and offset >= end:
        return
    decoder = Decoder(opts)
    where = opts.bootstrap_servers
    dlq = DeadLetterTopic(opts) if opts.dead_letter_topic else None
    with client.consumer(opts) as c:
        c.assign([TopicPartition(topic, partition, offset)])
        while True:
            try:
                # consume waits for a full batch: in batch mode ask for no more than is left before the end
                want = opts.batch_size if end is None else max(1, min(opts.batch_size, end - offset))
                messages = c.consume(want, opts.poll_timeout)
            except KafkaException as exc:
                raise wrap(exc, f"reading {topic}/{partition}", where, topic=topic) from None
            before, done = offset, False
            changes: list[tuple[int, Change]] = []
            rejected = Rejected([], [])
            raw: dict[int, tuple[bytes | None, bytes | None]] = {}
            for m in messages:
                err = m.error()
                if err is not None:
                    if err.code() == ClientError._PARTITION_EOF:
                        done = end is not None
                        continue
                    raise wrap(err, f"reading {topic}/{partition} at offset {offset}", where, topic=topic) from None
                if end is not None and m.offset() >= end:
                    done = True
                    break
                offset = m.offset() + 1
                raw[m.offset()] = (m.key(), m.value())
                try:
                    changes.append((m.offset(), decoder.decode(m.key(), m.value())))
                except Undecodable as exc:
                    _reject(rejected, topic, partition, m.offset(), m.key(), m.value(), str(exc))
            if not messages and end is not None and _past_the_end(c, opts, topic, partition, offset, end):
                return
            batch = _batch(changes, table, rejected, topic, partition)
            if rejected.rows and dlq is not None:
                in_order = sorted(zip(rejected.rows, rejected.reasons, strict=True), key=lambda r: r[0]["offset"])
                for row, reason in in_order:
                    dlq.send(topic, partition, row["offset"], *raw[row["offset"]], reason)
                dlq.flush()
            if rejected.rows:
                # the rejects come first, at the position before this poll: a stop between the two items
                # resumes there (the rejects may be logged twice; no row is skipped)
                yield rejected, before
            if batch.num_rows or end is None:
                yield batch, offset
            if done or (end is not None and offset >= end):
                return


def _past_the_end(c: Any, opts: KafkaSourceOptions, topic: str, partition: int, offset: int, end: int) -> bool:
    """A quiet poll in batch mode: is there anything left to wait for? (A broker may answer an offset it no
    longer or not yet holds with silence instead of OFFSET_OUT_OF_RANGE; Tansu does.)"""
    low, high = client.watermarks(c, opts, topic, partition)
    if offset < low and opts.on_offset_out_of_range == "fail":
        raise KafkaError(
            Code.OFFSET_OUT_OF_RANGE,
            f"{topic}/{partition}: offset {offset} is no longer on {opts.bootstrap_servers} (it starts at {low})",
            hint="set 'on_offset_out_of_range: earliest' (or latest) to skip what is gone, "
            "or run with --fresh to start from 'start_from'",
        )
    if offset >= high:
        log.warning(
            "%s/%d ends at offset %d, before the planned end %d (the topic was truncated or recreated): "
            "the split is done",
            topic,
            partition,
            high,
            end,
        )
        return True
    return False


def _batch(
    changes: list[tuple[int, Change]], table: TableSchema, rejected: Rejected, topic: str, partition: int
) -> pa.RecordBatch:
    rows, ops, offsets = [], [], []
    for at, change in changes:
        try:
            rows.append(shape(change, table))
        except Unconvertible as exc:
            _reject(rejected, topic, partition, at, None, change.row, str(exc))
            continue
        ops.append(change.op)
        offsets.append(at)
    while True:
        try:
            return to_batch(rows, ops, table)
        except Unconvertible as exc:
            i, reason = exc.args
            _reject(rejected, topic, partition, offsets[i], None, rows[i], reason)
            del rows[i], ops[i], offsets[i]


def _reject(out: Rejected, topic: str, partition: int, offset: int, key: Any, value: Any, reason: str) -> None:
    out.rows.append(
        {"topic": topic, "partition": partition, "offset": offset, "key": _text(key), "value": _text(value)}
    )
    out.reasons.append(f"{topic}/{partition} offset {offset}: {reason}")


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
    return value


def read_compacted(
    opts: KafkaSourceOptions, table: TableSchema, spec: dict[str, Any]
) -> Iterator[tuple[pa.RecordBatch, Position]]:
    key = opts.key_name
    final: dict[Any, dict[str, Any]] = {}
    for batch, _ in read_partition(opts, table, spec, None):
        if isinstance(batch, Rejected):
            continue  # not part of the topic's state: the run put them in the dead letters
        ops = batch.column(OP_COLUMN).to_pylist() if OP_COLUMN in batch.schema.names else None
        rows = batch.select(table.names).to_pylist()
        for i, row in enumerate(rows):
            final.pop(row[key], None)  # a key written again moves to the end, as in the log
            if ops is None or ops[i] != OP_DELETE:
                final[row[key]] = row
    rows = list(final.values())
    schema = table.arrow_schema()
    for i in range(0, len(rows), opts.batch_size):
        yield pa.RecordBatch.from_pylist(rows[i : i + opts.batch_size], schema=schema), None
