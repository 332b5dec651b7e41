"""Rejected messages to a Kafka topic, as Kafka Connect's dead letter queue does (beside the run's file).

Each one is produced as it was read (key and value bytes unchanged), with
Kafka Connect's error headers (``__connect.errors.topic``, ``.partition``,
``.offset``, ``.exception.message``), so tools written for a Connect DLQ read
it as they are. The producer flushes before the reader hands the rejects
on: a message is in the topic before its offset can be checkpointed. A run
resumed from a checkpoint may send a message twice (at-least-once, like Connect).
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaException, Producer

from vts.connectors.kafka import client
from vts.connectors.kafka.errors import Code, KafkaError, wrap
from vts.connectors.kafka.options import KafkaSourceOptions


class DeadLetterTopic:
    def __init__(self, opts: KafkaSourceOptions) -> None:
        assert opts.dead_letter_topic is not None
        self.opts, self.topic = opts, opts.dead_letter_topic
        conf = {k: v for k, v in client.config(opts).items() if k in _PRODUCER_KEYS or k.startswith(("sasl.", "ssl."))}
        self._producer = Producer(conf)
        self._failed: list[str] = []

    def send(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, reason: str
    ) -> None:
        headers = {
            "__connect.errors.topic": topic,
            "__connect.errors.partition": str(partition),
            "__connect.errors.offset": str(offset),
            "__connect.errors.exception.message": reason,
        }
        try:
            self._producer.produce(self.topic, key=key, value=value, headers=headers, on_delivery=self._delivered)
        except (KafkaException, BufferError) as exc:
            raise wrap(exc, f"sending a dead letter to {self.topic}", self.opts.bootstrap_servers) from None

    def flush(self) -> None:
        left = self._producer.flush(self.opts.timeout)
        if left or self._failed:
            reason = self._failed[0] if self._failed else f"{left} message(s) not delivered in {self.opts.timeout}s"
            raise KafkaError(
                Code.DEAD_LETTER_FAILED,
                f"the dead letter topic '{self.topic}' on {self.opts.bootstrap_servers} did not take the rejected "
                f"messages: {reason}",
                hint="create the topic (or let the broker auto-create it) and allow this client to write to it, "
                "or remove 'dead_letter_topic' to keep the dead letters in the file only",
                transient=True,
            )

    def _delivered(self, err: Any, msg: Any) -> None:
        if err is not None:
            self._failed.append(str(err))


_PRODUCER_KEYS = {"bootstrap.servers", "security.protocol", "logger", "socket.connection.setup.timeout.ms"}
