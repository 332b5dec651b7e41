"""Consumers for the driver (metadata, offsets) and the readers (one per split), and their configuration."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from vts.connectors.kafka.errors import Code, KafkaError, topic_not_found, wrap
from vts.connectors.kafka.options import KafkaSourceOptions

log = logging.getLogger("vts.kafka")

# librdkafka logs through Python logging (its own stderr lines would read as a crash to a user)
_LIBRDKAFKA = logging.getLogger("vts.kafka.librdkafka")

_RESET = {"fail": "error", "earliest": "earliest", "latest": "latest"}


def config(opts: KafkaSourceOptions) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "bootstrap.servers": opts.bootstrap_servers,
        "group.id": opts.group_id,
        # offsets are committed by vts once the sink accepted the rows, never by the client on its own
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "auto.offset.reset": _RESET[opts.on_offset_out_of_range],
        "security.protocol": opts.security_protocol,
        "logger": _LIBRDKAFKA,
        "socket.connection.setup.timeout.ms": int(opts.timeout * 1000),
    }
    if opts.sasl_mechanism:
        conf["sasl.mechanism"] = opts.sasl_mechanism
        conf["sasl.username"] = opts.sasl_username
        conf["sasl.password"] = opts.sasl_password.get_secret_value() if opts.sasl_password else ""
    for key, value in (
        ("ssl.ca.location", opts.ssl_ca_location),
        ("ssl.certificate.location", opts.ssl_certificate_location),
        ("ssl.key.location", opts.ssl_key_location),
    ):
        if value:
            conf[key] = value
    conf.update(opts.properties)
    return conf


@contextmanager
def consumer(opts: KafkaSourceOptions) -> Iterator[Consumer]:
    try:
        c = Consumer(config(opts))
    except KafkaException as exc:  # an unknown or malformed property
        raise KafkaError(
            Code.INVALID_PARAM, f"the consumer refused its configuration: {exc}", hint="check 'properties'"
        ) from None
    try:
        yield c
    finally:
        c.close()


def topics(c: Consumer, opts: KafkaSourceOptions) -> dict[str, list[int]]:
    """Topic -> its partition ids, for the job's topics or pattern; coded errors for missing ones."""
    where = opts.bootstrap_servers
    try:
        meta = c.list_topics(timeout=opts.timeout)
    except KafkaException as exc:
        raise wrap(exc, "listing topics", where) from None
    if opts.topic_pattern:
        pattern = re.compile(opts.topic_pattern)
        names = sorted(t for t in meta.topics if pattern.fullmatch(t) and not t.startswith("__"))
        if not names:
            raise KafkaError(
                Code.TOPIC_NOT_FOUND,
                f"no topic on {where} matches topic_pattern '{opts.topic_pattern}'",
                hint="check 'topic_pattern' (a regular expression the whole topic name must match)",
            )
    else:
        names = list(dict.fromkeys(opts.topics))
    out: dict[str, list[int]] = {}
    for name in names:
        topic = meta.topics.get(name)
        if topic is None or topic.error is not None:
            if topic is not None and topic.error is not None and topic.error.name() not in ("UNKNOWN_TOPIC_OR_PART",):
                raise wrap(topic.error, f"describing topic {name}", where, topic=name) from None
            raise topic_not_found(name, where)
        if not topic.partitions:
            raise KafkaError(
                Code.NO_PARTITIONS,
                f"topic '{name}' on {where} has no partitions",
                hint="create the topic with at least one partition, or remove it from 'topics'",
            )
        out[name] = sorted(topic.partitions)
    return out


def watermarks(c: Consumer, opts: KafkaSourceOptions, topic: str, partition: int) -> tuple[int, int]:
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=opts.timeout, cached=False)
    except KafkaException as exc:
        raise wrap(exc, f"reading the offsets of {topic}/{partition}", opts.bootstrap_servers, topic=topic) from None
    return int(low), int(high)


def committed(c: Consumer, opts: KafkaSourceOptions, parts: list[TopicPartition]) -> dict[tuple[str, int], int]:
    """The group's committed offsets (absent where it committed none)."""
    try:
        got = c.committed(parts, timeout=opts.timeout)
    except KafkaException as exc:
        raise wrap(exc, f"reading the committed offsets of group {opts.group_id}", opts.bootstrap_servers) from None
    return {(tp.topic, tp.partition): tp.offset for tp in got if tp.offset >= 0}


def offsets_at(
    c: Consumer, opts: KafkaSourceOptions, parts: list[TopicPartition], ms: int
) -> dict[tuple[str, int], int]:
    """The first offset at or after a timestamp (-1: none yet)."""
    try:
        got = c.offsets_for_times([TopicPartition(tp.topic, tp.partition, ms) for tp in parts], timeout=opts.timeout)
    except KafkaException as exc:
        raise wrap(exc, "looking up offsets by time", opts.bootstrap_servers) from None
    return {(tp.topic, tp.partition): tp.offset for tp in got}


def commit(opts: KafkaSourceOptions, offsets: list[tuple[str, int, int]]) -> None:
    """Commit (topic, partition, next offset) to the group, synchronously."""
    parts = [TopicPartition(t, p, o) for t, p, o in offsets]
    with consumer(opts) as c:
        try:
            c.commit(offsets=parts, asynchronous=False)
        except KafkaException as exc:
            error = wrap(exc, f"committing offsets of group {opts.group_id}", opts.bootstrap_servers)
            raise KafkaError(Code.COMMIT_FAILED, error.message, hint=error.hint, transient=True) from None
