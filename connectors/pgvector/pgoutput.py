"""A decoder of PostgreSQL's ``pgoutput`` logical replication messages (protocol version 1).

psycopg 3 has no replication API and there is no well-kept Python pgoutput
decoder for it (psycopg2's ``LogicalReplicationConnection`` only hands over
raw bytes too), so this module decodes the few messages vts needs from the
bytes ``pg_logical_slot_peek_binary_changes(..., 'proto_version', '1',
'publication_names', ...)`` returns. Layout (all integers big-endian), from
the PostgreSQL docs' "Logical Replication Message Formats":

- ``B`` Begin: int64 final LSN, int64 commit time (µs since 2000-01-01), int32 xid
- ``C`` Commit: int8 flags, int64 commit LSN, int64 end LSN, int64 commit time
- ``R`` Relation: int32 oid, namespace, name (C strings), int8 replica identity,
  int16 columns, then per column int8 flags (1 = part of the key), name, int32 type oid, int32 typmod
- ``I`` Insert: int32 oid, ``N`` + TupleData
- ``U`` Update: int32 oid, optional ``K``/``O`` + old TupleData, ``N`` + new TupleData
- ``D`` Delete: int32 oid, ``K``/``O`` + old TupleData
- ``T`` Truncate: int32 relation count, int8 options, int32 oid per relation
- TupleData: int16 columns, then per column ``n`` (null), ``u`` (unchanged TOAST
  value, not sent), ``t`` + int32 length + text value
- ``O`` Origin, ``Y`` Type and ``M`` Message carry nothing vts applies and are skipped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
UNCHANGED = object()
"""A column of an update that the message does not carry (an unchanged value stored out of line)."""


@dataclass(frozen=True)
class RelationInfo:
    oid: int
    namespace: str
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the replica identity's columns


@dataclass(frozen=True)
class Change:
    """One row change: ``op`` is insert, update or delete; ``new``/``old`` map column names to text (or None,
    or :data:`UNCHANGED`)."""

    op: str
    oid: int
    new: dict[str, object] | None = None
    old: dict[str, object] | None = None


@dataclass(frozen=True)
class Truncate:
    oids: tuple[int, ...]


@dataclass
class Transaction:
    """A committed transaction: its changes in order, where it ends in the WAL and when it committed."""

    end_lsn: int
    committed_at: datetime
    changes: list[Change | Truncate] = field(default_factory=list)


def lsn_text(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def lsn_int(text: str) -> int:
    hi, _, lo = text.partition("/")
    return (int(hi, 16) << 32) | int(lo, 16)


SKIPPED = object()
"""A column value the decoder was asked not to decode (``Decoder(keys_only=True)``)."""


class Decoder:
    """Feeds on messages in slot order; collects whole transactions (the slot only holds committed ones).

    ``keys_only`` decodes only the replica identity's columns (the primary key) and leaves the others
    :data:`SKIPPED`: vts reads rows back from the table, and decoding a 768-d vector's text costs more
    than reading it back.
    """

    def __init__(self, keys_only: bool = False) -> None:
        self.relations: dict[int, RelationInfo] = {}
        self._open: Transaction | None = None
        self.keys_only = keys_only

    def feed(self, data: bytes) -> Transaction | None:
        """Decode one message; return the transaction it commits, if it is a Commit."""
        kind = data[:1]
        if kind == b"B":
            self._open = Transaction(0, _PG_EPOCH)
        elif kind == b"C":
            _, _, end, at = struct.unpack_from(">bqqq", data, 1)
            txn = self._open or Transaction(0, _PG_EPOCH)
            txn.end_lsn, txn.committed_at = end, _PG_EPOCH + timedelta(microseconds=at)
            self._open = None
            return txn
        elif kind == b"R":
            self._relation(data)
        elif kind in (b"I", b"U", b"D"):
            self._current().changes.append(self._row_change(kind, data))
        elif kind == b"T":
            count = struct.unpack_from(">i", data, 1)[0]
            oids = struct.unpack_from(f">{count}I", data, 6)
            self._current().changes.append(Truncate(tuple(oids)))
        return None

    def _current(self) -> Transaction:
        if self._open is None:  # a slot never sends a change outside Begin/Commit
            raise ValueError("pgoutput: a row change outside a transaction")
        return self._open

    def _relation(self, data: bytes) -> None:
        oid = struct.unpack_from(">I", data, 1)[0]
        pos = 5
        namespace, pos = _cstring(data, pos)
        name, pos = _cstring(data, pos)
        pos += 1  # replica identity setting
        ncols = struct.unpack_from(">h", data, pos)[0]
        pos += 2
        columns, key = [], []
        for _ in range(ncols):
            flags = data[pos]
            col, pos = _cstring(data, pos + 1)
            pos += 8  # type oid, typmod
            columns.append(col)
            if flags & 1:
                key.append(col)
        self.relations[oid] = RelationInfo(oid, namespace, name, tuple(columns), tuple(key))

    def _row_change(self, kind: bytes, data: bytes) -> Change:
        oid = struct.unpack_from(">I", data, 1)[0]
        rel = self.relations.get(oid)
        if rel is None:
            raise ValueError(f"pgoutput: a change of relation {oid} before its Relation message")
        pos, old, new = 5, None, None
        while pos < len(data):
            tag = data[pos : pos + 1]
            values, pos = _tuple(data, pos + 1, rel.columns, set(rel.key) if self.keys_only else None)
            if tag == b"N":
                new = values
            else:  # K (key columns only) or O (the whole old row)
                old = values
        op = {b"I": "insert", b"U": "update", b"D": "delete"}[kind]
        return Change(op, oid, new, old)


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end].decode(), end + 1


def _tuple(data: bytes, pos: int, columns: tuple[str, ...], wanted: set[str] | None) -> tuple[dict[str, object], int]:
    n = struct.unpack_from(">h", data, pos)[0]
    pos += 2
    out: dict[str, object] = {}
    for i in range(n):
        kind = data[pos : pos + 1]
        pos += 1
        if kind == b"n":
            value: object = None
        elif kind == b"u":
            value = UNCHANGED
        else:  # t (text); b (binary) is only sent when asked for with the 'binary' option, which vts never sets
            length = struct.unpack_from(">i", data, pos)[0]
            keep = wanted is None or columns[i] in wanted
            value = data[pos + 4 : pos + 4 + length].decode() if keep else SKIPPED
            pos += 4 + length
        out[columns[i]] = value
    return out, pos
