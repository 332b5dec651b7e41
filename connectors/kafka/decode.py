"""Message -> change: a row to upsert, or a primary key to delete, in every supported value format.

``json``: the value is a JSON object. ``json_schema``: Kafka Connect's
``{"schema": ..., "payload": {...}}`` envelope. ``avro``: Avro binary, in the
Confluent wire format (magic byte 0, a 4-byte schema id, the body) unless
``avro_confluent_wire`` is off, read with the writer schema of
``avro_schema_file``. ``debezium``: a change event (bare, or inside the
envelope) whose ``op`` c/r/u upserts ``after`` and d deletes ``before``.
A null value (a tombstone) deletes the message key's row in every format.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from vts.connectors.kafka.options import KafkaSourceOptions

UPSERT, DELETE = "upsert", "delete"


class Undecodable(Exception):
    """This message cannot become a change; the reason goes to the dead letters."""


@dataclass(frozen=True)
class Change:
    op: str  # UPSERT or DELETE
    row: dict[str, Any]  # the whole row for an upsert; at least the primary key for a delete


class Decoder:
    """Built once per reader (it parses the Avro schema); picklable options in, changes out."""

    def __init__(self, opts: KafkaSourceOptions) -> None:
        self.opts = opts
        self.key = opts.key_name
        self._avro: Any = None
        if opts.format == "avro":
            import fastavro

            assert opts.avro_schema_file is not None  # the options insist
            with open(opts.avro_schema_file) as f:
                self._avro = fastavro.parse_schema(json.load(f))

    def decode(self, key: bytes | None, value: bytes | None) -> Change:
        if value is None:
            return Change(DELETE, {self.key: self._key_value(key, required=True)})
        fmt = self.opts.format
        if fmt == "avro":
            row = self._avro_row(value)
        else:
            doc = _json(value, "value")
            if fmt in ("json_schema", "debezium") and _is_envelope(doc):
                doc = doc["payload"]
            if fmt == "debezium":
                return self._debezium(doc, key)
            if doc is None:  # an envelope whose payload is null: Kafka Connect's tombstone
                return Change(DELETE, {self.key: self._key_value(key, required=True)})
            row = doc
        if not isinstance(row, dict):
            raise Undecodable(f"the value is {type(row).__name__}, not an object with the row's fields")
        return Change(UPSERT, self._with_key(row, key))

    def _debezium(self, doc: Any, key: bytes | None) -> Change:
        if not isinstance(doc, dict) or "op" not in doc:
            raise Undecodable("not a Debezium change event (no 'op')")
        op = doc["op"]
        if op in ("c", "r", "u"):
            after = doc.get("after")
            if not isinstance(after, dict):
                raise Undecodable(f"Debezium op '{op}' without an 'after' row")
            return Change(UPSERT, self._with_key(after, key))
        if op == "d":
            before = doc.get("before")
            if isinstance(before, dict) and before.get(self.key) is not None:
                return Change(DELETE, {self.key: before[self.key]})
            return Change(DELETE, {self.key: self._key_value(key, required=True)})
        raise Undecodable(f"Debezium op '{op}' is none of c, r, u, d")

    def _with_key(self, row: dict[str, Any], key: bytes | None) -> dict[str, Any]:
        if row.get(self.key) is None and self.opts.key_field is not None:
            row = {**row, self.key: self._key_value(key, required=True)}
        return row

    def _key_value(self, key: bytes | None, required: bool) -> Any:
        if key is None:
            raise Undecodable(f"no message key to take the primary key '{self.key}' from")
        try:
            doc: Any = json.loads(key)
        except ValueError:
            return key.decode("utf-8", errors="replace")
        if _is_envelope(doc):
            doc = doc["payload"]
        if isinstance(doc, dict):
            name = self.opts.key_field or self.key
            if doc.get(name) is None:
                raise Undecodable(f"the message key has no field '{name}'")
            return doc[name]
        if doc is None or isinstance(doc, list | bool):
            raise Undecodable(f"the message key {key[:80]!r} holds no primary key")
        return doc

    def _avro_row(self, value: bytes) -> Any:
        import fastavro

        body = value
        if self.opts.avro_confluent_wire:
            if len(value) < 5 or value[0] != 0:
                raise Undecodable("not in the Confluent wire format (magic byte 0 and a schema id first)")
            body = value[5:]
        try:
            return fastavro.schemaless_reader(io.BytesIO(body), self._avro, None)
        except Exception as exc:
            raise Undecodable(f"not Avro of {self.opts.avro_schema_file}: {type(exc).__name__}: {exc}") from None


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise Undecodable(f"the {what} is not JSON ({exc})") from None


def _is_envelope(doc: Any) -> bool:
    return isinstance(doc, dict) and set(doc) == {"schema", "payload"}
