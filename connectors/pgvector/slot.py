"""Driver side of change data capture: the preflight, and the publication and slot vts keeps for a job.

Order (GUIDE §4, issue #16): every check here passes before anything is
created; then the publication and the slot are created (or reused), and only
then is the snapshot read, so every change committed after the snapshot's
reads began is in the slot (changes read twice are absorbed by idempotent
upserts and deletes; the reverse order would lose some).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from vts.connectors.pgvector.catalog import Relation
from vts.connectors.pgvector.errors import Code, PgvectorError
from vts.connectors.pgvector.options import PgvectorOptions

log = logging.getLogger("vts")
T = TypeVar("T")
MIN_VERSION = 110000  # pg_replication_slot_advance, which acknowledging needs, came in PostgreSQL 11


def preflight(conn: Any, o: PgvectorOptions, rel: Relation) -> list[str]:
    """Refuse what would stop CDC from working, or break the application's own writes; return notes."""
    version = int(conn.execute("SHOW server_version_num").fetchone()[0])
    if version < MIN_VERSION:
        raise PgvectorError(
            Code.SERVER_TOO_OLD,
            f"{o.server_label()} runs PostgreSQL {version // 10000}; streaming needs 11 or newer "
            "(pg_replication_slot_advance)",
            hint="upgrade the server, or copy the table once with job.mode: BATCH",
        )
    level = conn.execute("SHOW wal_level").fetchone()[0]
    if level != "logical":
        raise PgvectorError(
            Code.NOT_LOGICAL,
            f"{o.server_label()} has wal_level={level}; streaming reads changes through logical decoding",
            hint="run ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (or start it with "
            "-c wal_level=logical), or copy the table once with job.mode: BATCH",
        )
    user, allowed = conn.execute(
        "SELECT current_user, rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    if not allowed:
        raise PgvectorError(
            Code.NO_REPLICATION_RIGHT,
            f"role '{user}' may not use replication slots on {o.server_label()}",
            hint=f"ALTER ROLE {user} REPLICATION; (as a superuser), or connect as a role that has it",
        )
    ident = conn.execute("SELECT relreplident FROM pg_class WHERE oid = %s", [rel.oid]).fetchone()[0]
    if rel.relkind != "r":
        raise PgvectorError(
            Code.CDC_UNSUPPORTED,
            f"'{o.table}' is not a plain table (relkind {rel.relkind}); streaming reads a table's changes",
            hint="stream the table itself (not a view or a partitioned parent), or use job.mode: BATCH",
        )
    if not rel.key or ident == "n":
        raise PgvectorError(
            Code.NO_PRIMARY_KEY,
            f"table '{o.table}' has no primary key"
            + (" (and REPLICA IDENTITY NOTHING)" if ident == "n" else "")
            + ": in a publication its UPDATEs and DELETEs would fail, and vts could not tell which row changed",
            hint=f"ALTER TABLE {o.table} ADD PRIMARY KEY (...); (and REPLICA IDENTITY DEFAULT)",
        )
    slots, limit = conn.execute(
        "SELECT (SELECT count(*) FROM pg_replication_slots), current_setting('max_replication_slots')::int"
    ).fetchone()
    mine = _slot(conn, o.slot())
    if mine is None and slots >= limit:
        idle = [r[0] for r in conn.execute("SELECT slot_name FROM pg_replication_slots WHERE NOT active").fetchall()]
        raise PgvectorError(
            Code.NO_FREE_SLOT,
            f"{o.server_label()} uses all {limit} replication slots (max_replication_slots)",
            hint="raise max_replication_slots (restart needed) or drop an unused slot with "
            "SELECT pg_drop_replication_slot('name')" + (f"; inactive: {', '.join(idle)}" if idle else ""),
        )
    if mine is not None:
        _check_own(o, mine, conn)
    if _publishes(conn, o.publication(), rel) is False:
        raise PgvectorError(
            Code.CDC_UNSUPPORTED,
            f"publication '{o.publication()}' exists but does not publish '{o.table}'",
            hint=f"ALTER PUBLICATION {o.publication()} ADD TABLE {o.table}; or give the job another 'publication_name'",
        )
    notes = []
    keep = conn.execute("SHOW max_slot_wal_keep_size").fetchone()[0] if version >= 130000 else "-1"
    if keep not in ("-1", "-1MB"):
        notes.append(
            f"max_slot_wal_keep_size={keep}: a run stopped for longer than that much WAL loses its slot "
            "and must start again with --fresh"
        )
    return notes


def _publishes(conn: Any, pub: str, rel: Relation) -> bool | None:
    """Whether publication ``pub`` publishes the table; None when there is no such publication."""
    row = conn.execute(
        "SELECT p.puballtables OR EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prpubid = p.oid "
        "AND r.prrelid = %s) FROM pg_publication p WHERE p.pubname = %s",
        [rel.oid, pub],
    ).fetchone()
    return None if row is None else bool(row[0])


def _slot(conn: Any, name: str) -> dict[str, Any] | None:
    cur = conn.execute("SELECT * FROM pg_replication_slots WHERE slot_name = %s", [name])
    row = cur.fetchone()
    return None if row is None else dict(zip([d.name for d in cur.description], row))


def _check_own(o: PgvectorOptions, slot: dict[str, Any], conn: Any) -> None:
    db = conn.execute("SELECT current_database()").fetchone()[0]
    if slot["plugin"] != "pgoutput" or slot["database"] != db:
        raise PgvectorError(
            Code.CDC_UNSUPPORTED,
            f"replication slot '{o.slot()}' exists for {slot['plugin']} on database {slot['database']}, "
            "not for pgoutput on this one",
            hint="give the job another 'slot_name'",
        )
    if slot.get("wal_status") == "lost":
        raise _lost(o, "was invalidated: the server removed WAL it still needed (max_slot_wal_keep_size)")


def _lost(o: PgvectorOptions, why: str) -> PgvectorError:
    return PgvectorError(
        Code.SLOT_LOST,
        f"replication slot '{o.slot()}' {why}; changes since the last checkpoint cannot be read",
        hint="start again with vts run --fresh (a new snapshot, then a new slot)",
    )


def ensure(conn: Any, o: PgvectorOptions, rel: Relation, resuming: bool) -> None:
    """Create (or reuse) the publication, then the slot; a fresh run starts from a new slot."""
    from psycopg import sql

    pub = o.publication()
    if _publishes(conn, pub, rel) is None:
        conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(sql.Identifier(pub), sql.SQL(rel.source_sql)))
        log.info("created publication %s for %s", pub, o.table)
    slot = _slot(conn, o.slot())
    if resuming:
        if slot is None:
            raise _lost(o, "no longer exists (dropped by vts cutover, vts cutover --abandon or by hand)")
        return
    if slot is not None:  # a fresh run reads a new snapshot: changes before it are in the snapshot
        _drop_slot(conn, o.slot())
    conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", [o.slot()])
    log.info("created replication slot %s", o.slot())


def drop(conn: Any, o: PgvectorOptions) -> list[str]:
    """Drop the slot and (when vts named it) the publication; return what was dropped."""
    from psycopg import sql

    out = []
    if _slot(conn, o.slot()) is not None:
        _drop_slot(conn, o.slot())
        out.append(f"replication slot {o.slot()}")
    if (
        o.publication_name is None
        and conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", [o.publication()]).fetchone()
    ):
        conn.execute(sql.SQL("DROP PUBLICATION {}").format(sql.Identifier(o.publication())))
        out.append(f"publication {o.publication()}")
    return out


def wait_flushed(conn: Any) -> None:
    """Return once the WAL of every commit made so far is flushed, so a peek of the slot sees them all.

    A commit with ``synchronous_commit=off`` returns before its WAL is flushed, and a slot decodes only
    flushed WAL: for up to ``wal_writer_delay`` (the WAL writer's round) a peek misses it, and a backlog of
    zero would be reported while a change is still on its way. So wait until the flush position passes
    the insert position read now, for at most two of the WAL writer's rounds: the insert position may
    point past a page header that no flush reaches until more WAL is written.
    """
    target, delay = conn.execute(
        "SELECT pg_current_wal_insert_lsn(), extract(epoch FROM current_setting('wal_writer_delay')::interval)::float8"
    ).fetchone()
    deadline = time.monotonic() + 2 * delay + 0.1
    while time.monotonic() < deadline:
        if conn.execute("SELECT pg_current_wal_flush_lsn() >= %s", [target]).fetchone()[0]:
            return
        time.sleep(0.01)


def while_busy(call: Callable[[], T], attempts: int, pause: float) -> T:
    """``call()``, again while another session holds the slot for a moment (a peek, an advance); raises the last one.

    A slot serves one session at a time: the stream reader, the driver's
    acknowledgement and ``vts status`` take turns, each for a fraction of a second.
    """
    from psycopg import errors as pge

    for attempt in range(attempts):
        try:
            return call()
        except pge.ObjectInUse:
            if attempt == attempts - 1:
                raise
            time.sleep(pause)
    raise AssertionError("unreachable: attempts >= 1")


def _drop_slot(conn: Any, name: str) -> None:
    while_busy(lambda: conn.execute("SELECT pg_drop_replication_slot(%s)", [name]), attempts=50, pause=0.1)


def advance(conn: Any, name: str, lsn: str) -> None:
    """Confirm everything before ``lsn`` to the slot, so the server may recycle that WAL."""
    while_busy(
        lambda: conn.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", [name, lsn]), attempts=20, pause=0.05
    )


def lag_bytes(conn: Any, lsn: str | None, name: str) -> int:
    """WAL bytes written after ``lsn`` (None: after the slot's confirmed position)."""
    if lsn is None:
        row = conn.execute(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) FROM pg_replication_slots "
            "WHERE slot_name = %s",
            [name],
        ).fetchone()
        return 0 if row is None or row[0] is None else max(0, int(row[0]))
    return max(0, int(conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", [lsn]).fetchone()[0]))
