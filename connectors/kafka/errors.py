"""KAFKA-01.. and the one place that maps confluent-kafka exceptions to them.

confluent-kafka reports failures as ``KafkaException`` wrapping a
``KafkaError`` (``code()``, ``name()``, ``str()``), or as a ``KafkaError``
on a message (``msg.error()``) or a topic's metadata (``topic.error``).
An unreachable broker shows as ``_TRANSPORT`` / ``_ALL_BROKERS_DOWN`` /
``_TIMED_OUT``; bad credentials as ``_AUTHENTICATION`` or
``SASL_AUTHENTICATION_FAILED``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    CONNECT_FAILED = 1
    AUTH_FAILED = 2
    TOPIC_NOT_FOUND = 3
    NO_PARTITIONS = 4
    UNDECODABLE_MESSAGE = 5
    SCHEMA_MISMATCH = 6
    OFFSET_OUT_OF_RANGE = 7
    READ_DATA_FAIL = 8
    INVALID_PARAM = 9
    COMMIT_FAILED = 10
    DEAD_LETTER_FAILED = 11


_EXIT = {
    Code.CONNECT_FAILED: ExitCode.CONNECTION,
    Code.AUTH_FAILED: ExitCode.CONNECTION,
    Code.TOPIC_NOT_FOUND: ExitCode.INVALID_CONFIG,
    Code.NO_PARTITIONS: ExitCode.INVALID_CONFIG,
    Code.INVALID_PARAM: ExitCode.INVALID_CONFIG,
    Code.SCHEMA_MISMATCH: ExitCode.SCHEMA,
}


class KafkaError(CatalogError):
    prefix = "KAFKA"
    exits = _EXIT


_DOWN = {"_TRANSPORT", "_ALL_BROKERS_DOWN", "_TIMED_OUT", "_RESOLVE", "_MSG_TIMED_OUT", "REQUEST_TIMED_OUT"}
_AUTH = {
    "_AUTHENTICATION",
    "SASL_AUTHENTICATION_FAILED",
    "_SSL",
    "TOPIC_AUTHORIZATION_FAILED",
    "GROUP_AUTHORIZATION_FAILED",
    "CLUSTER_AUTHORIZATION_FAILED",
}


def error_name(exc: Any) -> str:
    """The KafkaError name of an exception or a KafkaError ("" when it is neither)."""
    err = exc.args[0] if exc.__class__.__name__ == "KafkaException" and exc.args else exc
    name = getattr(err, "name", None)
    return name() if callable(name) else ""


def wrap(exc: Any, what: str, where: str, topic: str | None = None) -> KafkaError:
    """Map a confluent-kafka exception (or KafkaError) to a coded error; the caller raises it ``from None``."""
    if isinstance(exc, KafkaError):
        return exc
    name = error_name(exc)
    detail = " ".join(str(exc.args[0] if getattr(exc, "args", None) else exc).split())[:300]
    if name in _AUTH:
        return KafkaError(
            Code.AUTH_FAILED,
            f"{where} refused the credentials while {what} ({detail})",
            hint="check 'security_protocol', 'sasl_mechanism', 'sasl_username'/'sasl_password' and the TLS files",
        )
    if name in ("UNKNOWN_TOPIC_OR_PART", "_UNKNOWN_TOPIC", "_UNKNOWN_PARTITION") and topic:
        return topic_not_found(topic, where)
    if name in ("OFFSET_OUT_OF_RANGE", "_AUTO_OFFSET_RESET"):
        return KafkaError(
            Code.OFFSET_OUT_OF_RANGE,
            f"{what}: the offset to resume from is no longer on {where} (retention removed it) ({detail})",
            hint="set 'on_offset_out_of_range: earliest' (or latest) to skip what is gone, "
            "or run with --fresh to start from 'start_from'",
        )
    if name in _DOWN:
        return KafkaError(
            Code.CONNECT_FAILED,
            f"cannot reach a Kafka broker at {where} while {what} ({detail})",
            hint="check 'bootstrap_servers' and that the brokers run and are reachable from here",
            transient=True,  # mid-run, a dropped connection is retried from the split's last checkpoint
        )
    return KafkaError(Code.READ_DATA_FAIL, f"{what} on {where} failed: {detail}", transient=_retriable(exc))


def topic_not_found(topic: str, where: str) -> KafkaError:
    return KafkaError(
        Code.TOPIC_NOT_FOUND,
        f"topic '{topic}' does not exist on {where}",
        hint="check 'topics' (or 'topic_pattern'); list the broker's topics with kafka-topics --list",
    )


def _retriable(exc: Any) -> bool:
    err = exc.args[0] if exc.__class__.__name__ == "KafkaException" and exc.args else exc
    retriable = getattr(err, "retriable", None)
    return bool(retriable()) if callable(retriable) else False
