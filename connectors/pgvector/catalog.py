"""Discovery on the driver: what a table or query holds, as PgColumns and vts Fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vts.connectors.pgvector.errors import Code, PgvectorError, wrap
from vts.connectors.pgvector.options import PgvectorOptions
from vts.connectors.pgvector.types import PgColumn, map_column

# key types whose values travel as JSON (int or str) and compare exactly after a cast back
SPLITTABLE_KEY_TYPES = {"int2", "int4", "int8", "text", "varchar", "bpchar", "name", "citext", "uuid", "date"}
_VECTOR_TYPES = {"vector", "halfvec", "sparsevec", "bit", "varbit"}
_UNSIZED_VECTORS = {"vector": "vector_dims", "halfvec": "vector_dims", "bit": "length", "varbit": "length"}


@dataclass(frozen=True)
class Relation:
    """A discovered table or query, with everything cutting splits and reading need (all picklable)."""

    name: str  # the table name vts reports (target collection)
    source_sql: str  # what follows FROM: a quoted table name or "(query) AS q"
    columns: tuple[PgColumn, ...]  # selected columns, in output order
    sqltypes: dict[str, str] = field(default_factory=dict)  # column -> format_type(), for literal casts
    key: tuple[str, ...] = ()  # columns splits and resume order by; () when there is none
    oid: int | None = None
    relkind: str | None = None  # r table, p partitioned, v view, m matview, f foreign; None for a query
    dimensions: dict[str, int] = field(default_factory=dict)  # found in the data, for columns without one

    @property
    def is_query(self) -> bool:
        return self.oid is None


_COLUMNS_SQL = """
SELECT a.attname,
       bt.typname,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       et.typname,
       bt.typtype = 'e',
       coalesce(et.typtype = 'e', false),
       a.attnotnull,
       format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_PK_SQL = """
SELECT a.attname
FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = %s AND i.indisprimary
ORDER BY array_position(i.indkey::int2[], a.attnum)
"""
_TYPES_SQL = """
SELECT t.oid, bt.typname, et.typname, bt.typtype = 'e', coalesce(et.typtype = 'e', false)
FROM pg_type t
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
WHERE t.oid = ANY(%s)
"""


def discover(conn: Any, o: PgvectorOptions) -> Relation:
    rel = _discover_query(conn, o) if o.query else _discover_table(conn, o)
    return _with_dimensions(conn, rel, o)


def _discover_table(conn: Any, o: PgvectorOptions) -> Relation:
    from psycopg import sql

    try:
        found = conn.execute(
            "SELECT c.oid, n.nspname, c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
            [o.table],
        ).fetchone()
    except Exception as exc:
        conn.rollback()
        raise _table_error(o, str(getattr(getattr(exc, "diag", None), "message_primary", "") or exc)) from None
    if found is None:
        raise _table_error(o, "no such table or view (or no permission to see it)")
    oid, schema, relname, relkind = found
    rows = conn.execute(_COLUMNS_SQL, [oid]).fetchall()
    pk = [r[0] for r in conn.execute(_PK_SQL, [oid]).fetchall()]
    every = {r[0]: r for r in rows}
    sqltypes = {r[0]: r[7] for r in rows}
    key = tuple(o.primary_key) if o.primary_key else tuple(pk)
    wanted = list(o.columns) if o.columns else list(every)
    _check_names(wanted + list(key) + ([o.incremental_column] if o.incremental_column else []), every, o)
    # the key identifies rows on the target and orders the reads: always carry it
    wanted = [k for k in key if k not in wanted] + wanted
    columns = tuple(
        PgColumn(
            name=name,
            typname=every[name][1],
            typmod=every[name][2],
            elem=every[name][3],
            is_enum=every[name][4],
            elem_is_enum=every[name][5],
            not_null=every[name][6],
            primary_key=name in key,
        )
        for name in wanted
    )
    source_sql = sql.Identifier(schema, relname).as_string(conn)
    return Relation(o.collection or relname, source_sql, columns, sqltypes, key, oid, relkind)


def _table_error(o: PgvectorOptions, why: str) -> PgvectorError:
    return PgvectorError(
        Code.TABLE_NOT_FOUND,
        f"table '{o.table}' not found on {o.server_label()}: {why}",
        hint="check 'table' (table or schema.table; quote mixed-case names as '\"MyTable\"') and the database",
    )


def _discover_query(conn: Any, o: PgvectorOptions) -> Relation:
    text = o.query.strip().rstrip(";")  # type: ignore[union-attr]
    try:
        cur = conn.execute(f"SELECT * FROM ({text}) AS q LIMIT 0")  # type: ignore[arg-type]
        res = cur.pgresult
        cols = [(d.name, res.ftype(i), res.fmod(i)) for i, d in enumerate(cur.description or [])]
        info = {r[0]: r[1:] for r in conn.execute(_TYPES_SQL, [[c[1] for c in cols]]).fetchall()}
        sqltypes = {
            name: conn.execute("SELECT format_type(%s, %s)", [oid, mod]).fetchone()[0] for name, oid, mod in cols
        }
    except Exception as exc:
        conn.rollback()
        raise wrap(exc, "the query failed", where="'query'") from None
    names = [c[0] for c in cols]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PgvectorError(
            Code.INVALID_QUERY,
            f"the query returns several columns named {', '.join(dupes)}",
            hint="give each output column its own name with AS",
        )
    key = tuple(o.primary_key or ())
    _check_names(list(key) + ([o.incremental_column] if o.incremental_column else []), dict.fromkeys(names), o)
    columns = tuple(
        PgColumn(
            name=name,
            typname=info[oid][0],
            typmod=mod,
            elem=info[oid][1],
            is_enum=info[oid][2],
            elem_is_enum=info[oid][3],
            not_null=False,
            primary_key=name in key,
        )
        for name, oid, mod in cols
    )
    return Relation(o.collection or "query", f"({text}) AS q", columns, sqltypes, key)


def _check_names(names: list[str], known: dict[str, Any], o: PgvectorOptions) -> None:
    missing = [n for n in dict.fromkeys(names) if n not in known]
    if missing:
        what = f"table '{o.table}'" if o.table else "the query"
        raise PgvectorError(
            Code.COLUMN_NOT_FOUND,
            f"{what} has no column {', '.join(repr(m) for m in missing)}",
            hint=f"check 'columns', 'primary_key' and 'incremental_column'; columns are: {', '.join(known)}",
        )


def _with_dimensions(conn: Any, rel: Relation, o: PgvectorOptions) -> Relation:
    """Measure vector columns in one scan, only when the declaration leaves something open.

    - a column declared without a dimension (``vector`` rather than
      ``vector(768)``): its dimension, refusing mixed dimensions before any
      data moves;
    - a nullable vector column: whether it holds a NULL at all. Most pgvector
      tables declare ``embedding vector(n)`` without NOT NULL yet fill every
      row, and a nullable vector field is refused by Milvus before 2.6, so
      the field is nullable only when a NULL is really there.

    A typed NOT NULL column costs nothing: PostgreSQL already guarantees both.
    """
    from psycopg import sql

    unsized = [c for c in rel.columns if c.typname in _UNSIZED_VECTORS and c.typmod <= 0]
    nullable = [c for c in rel.columns if c.typname in _VECTOR_TYPES and not (c.not_null or c.primary_key)]
    if not unsized and not nullable:
        return rel
    parts = []
    for c in unsized:
        fn, ident = sql.SQL(_UNSIZED_VECTORS[c.typname]), sql.Identifier(c.name)
        parts += [sql.SQL("min({}({}))").format(fn, ident), sql.SQL("max({}({}))").format(fn, ident)]
    parts += [sql.SQL("coalesce(bool_or({} IS NULL), false)").format(sql.Identifier(c.name)) for c in nullable]
    where = sql.SQL(f" WHERE {o.where}") if o.where else sql.SQL("")  # type: ignore[arg-type]
    query = sql.SQL("SELECT {} FROM {}{}").format(sql.SQL(", ").join(parts), sql.SQL(rel.source_sql), where)  # type: ignore[arg-type]
    try:
        row = conn.execute(query).fetchone()
    except Exception as exc:
        conn.rollback()
        raise wrap(exc, "cannot measure vector columns", where=rel.name) from None
    dims = dict(rel.dimensions)
    for i, c in enumerate(unsized):
        lo, hi = row[2 * i], row[2 * i + 1]
        if lo is None:
            raise PgvectorError(
                Code.UNSUPPORTED_TYPE,
                f"column '{c.name}' is declared without a dimension ({c.typname}) and holds no value to measure it",
                hint=f"declare it with one, e.g. ALTER TABLE ... ALTER COLUMN {c.name} TYPE {c.typname}(768)",
            )
        if lo != hi:
            raise PgvectorError(
                Code.MIXED_DIMENSIONS,
                f"column '{c.name}' of '{rel.name}' holds vectors of different dimensions ({lo} to {hi}); "
                "a Milvus vector field has one dimension",
                hint=f'migrate one dimension at a time with where: "{_UNSIZED_VECTORS[c.typname]}({c.name}) = {hi}", '
                f"or leave the column out with 'columns'",
            )
        dims[c.name] = int(lo)
    has_null = dict(zip((c.name for c in nullable), row[2 * len(unsized) :]))
    columns = tuple(
        c if has_null.get(c.name, True) else PgColumn(**{**c.__dict__, "not_null": True}) for c in rel.columns
    )
    return Relation(**{**rel.__dict__, "dimensions": dims, "columns": columns})


def fields(rel: Relation, o: PgvectorOptions) -> tuple[Any, ...]:
    """The vts Fields of a relation; the column mapping travels in each Field's params."""
    out = []
    where = f" of '{rel.name}'"
    for c in rel.columns:
        mapping = map_column(
            c, halfvec_as_float=o.halfvec_as_float_vector, dimension=rel.dimensions.get(c.name), where=where
        )
        params = {"pg_type": rel.sqltypes.get(c.name, c.typname), "pg_decoder": mapping.decoder}
        if mapping.cast:
            params["pg_cast"] = mapping.cast
        out.append(mapping.field.with_(params={**mapping.field.params, **params}))
    return tuple(out)
