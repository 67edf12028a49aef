"""Publishing the analytics zone to PostgreSQL, for states whose analysts work there.

The source is the published `<warehouse>/analytics.duckdb`, opened read-only, and nothing else:
this module is given the warehouse directory and never opens the restricted zone, so it cannot
publish what `warehouse.publish` did not. Each catalog table (only its catalogued columns, in
`order_by` order) goes into one PostgreSQL schema, with PostgreSQL types, `COMMENT`s from the
catalog's descriptions and a `data_dictionary` table.

Analysts see the old tables or the new ones, never a mix: the new tables are built in a staging
schema and, in the same transaction, the old schema is dropped and the staging one renamed to it
(PostgreSQL DDL is transactional). Dropping the old tables waits for analysts' open transactions
on them (up to `lock_timeout_s`; past it the publish fails and the old tables stay). One caveat
of any such swap in PostgreSQL: a REPEATABLE READ transaction whose snapshot predates the swap
and that had not yet touched a table sees that table empty afterwards (as after TRUNCATE).
Because the schema is recreated, objects others build on it (e.g. views in another schema) are
dropped with it at each publish.

Access: a NOLOGIN role (`analyst_role`, made if missing) gets USAGE on the schema and SELECT on
its tables, granted explicitly after each swap (default privileges would not survive the schema
being recreated), and every other privilege on the schema and its tables is revoked from it and
from PUBLIC. Analysts log in as their own users, members of that role. What the role may do in
other schemas is the server's business (this never changes `public`).

Loading is COPY (CSV written by Arrow from DuckDB's record batches), not row INSERTs.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql as pgsql
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from warehouse.publish import ANALYTICS_DB, DICTIONARY_TABLE, TableSpec, load_catalog
from warehouse.sql import ident

DRIVER = "postgresql+psycopg"
SCHEMA_MARKER = "workforce-warehouse analytics zone"
_SCHEMA_COMMENT = (
    f"{SCHEMA_MARKER}: published from analytics.duckdb by warehouse.postgres_target; "
    "replaced whole at every publish, so create nothing here."
)
# schema and role names: lower-case identifiers short enough for `<schema>__staging_<8 hex>`
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")
_RESERVED_SCHEMAS = frozenset({"public", "information_schema"})
_DECIMAL = re.compile(r"^DECIMAL\((\d+),(\d+)\)$")
_PG_TYPES = {
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "SMALLINT",
    "SMALLINT": "SMALLINT",
    "UTINYINT": "SMALLINT",
    "INTEGER": "INTEGER",
    "USMALLINT": "INTEGER",
    "BIGINT": "BIGINT",
    "UINTEGER": "BIGINT",
    "UBIGINT": "NUMERIC(20,0)",
    "HUGEINT": "NUMERIC(39,0)",
    "FLOAT": "REAL",
    "DOUBLE": "DOUBLE PRECISION",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "VARCHAR": "TEXT",
}
_DICTIONARY_COLUMNS = {
    "table_name": "The published table.",
    "column_name": "The column.",
    "data_type": "Its PostgreSQL type.",
    "description": "What it holds (from the catalog).",
}


@dataclass(frozen=True)
class PostgresTargetSettings:
    """How the publish behaves towards the server and its readers."""

    # how long the swap waits for analysts' transactions holding the old tables before giving up
    lock_timeout_s: int = 300
    # rows per Arrow batch read from DuckDB and sent to COPY (bounds memory)
    batch_rows: int = 100_000
    # ANALYZE each new table before the swap so analysts' first queries get sensible plans
    analyze: bool = True


@dataclass(frozen=True)
class _Table:
    """One table to write: its name, (column, PostgreSQL type) pairs, the DuckDB query, comments."""

    name: str
    columns: tuple[tuple[str, str], ...]
    query: str
    comment: str
    column_comments: dict[str, str]


def publish_postgres(
    warehouse: Path,
    url: str,
    *,
    schema: str = "analytics",
    analyst_role: str = "analyst",
    catalog: tuple[TableSpec, ...] | None = None,
    settings: PostgresTargetSettings | None = None,
) -> dict[str, int]:
    """Replace `schema` at `url` with the warehouse's published analytics zone; rows per table.

    Catalog tables absent from `analytics.duckdb` (skipped by its publish) are not written; the
    result includes `data_dictionary`. `url` is a SQLAlchemy URL (`postgresql+psycopg://`, or
    `postgresql://`, which is taken to mean psycopg 3). An existing `schema` is replaced only if
    an earlier publish made it (its comment says so) or it is empty.
    """
    settings = settings or PostgresTargetSettings()
    _check_name(schema, "schema")
    _check_name(analyst_role, "analyst role")
    if schema in _RESERVED_SCHEMAS:
        raise ValueError(f"refusing to publish into the {schema!r} schema: it is replaced whole")
    source = Path(warehouse) / ANALYTICS_DB
    if not source.is_file():
        raise FileNotFoundError(
            f"{source} does not exist: nothing is published yet (the pipeline's publish step writes it)"
        )
    engine = create_engine(_psycopg_url(url), poolclass=NullPool)
    duck = duckdb.connect(str(source), read_only=True)
    try:
        tables = _tables(duck, catalog or load_catalog())
        with engine.begin() as conn:
            pg = cast(psycopg.Connection[Any], conn.connection.driver_connection)
            return _publish(pg, duck, tables, schema, analyst_role, settings)
    finally:
        duck.close()
        engine.dispose()


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL type for a published DuckDB column type (an unmapped type is an error)."""
    if found := _DECIMAL.match(duckdb_type):
        return f"NUMERIC({found.group(1)},{found.group(2)})"
    if duckdb_type not in _PG_TYPES:
        raise ValueError(f"no PostgreSQL type for DuckDB {duckdb_type}")
    return _PG_TYPES[duckdb_type]


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name) or name.startswith("pg_"):
        raise ValueError(f"not a usable {what} name: {name!r}")


def _psycopg_url(url: str) -> str:
    """The URL with the psycopg 3 driver (COPY needs it); another driver is an error."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername=DRIVER)
    if parsed.drivername != DRIVER:
        raise ValueError(f"the PostgreSQL target needs the {DRIVER} driver, not {parsed.drivername}")
    return parsed.render_as_string(hide_password=False)


def _tables(duck: duckdb.DuckDBPyConnection, specs: Iterable[TableSpec]) -> list[_Table]:
    """The catalog tables present in the file, typed; a catalogued column missing is an error."""
    found: dict[str, dict[str, str]] = {}
    for table, column, data_type in duck.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    ).fetchall():
        found.setdefault(str(table), {})[str(column)] = str(data_type)
    tables = []
    for spec in specs:
        if spec.name not in found:
            continue
        types = found[spec.name]
        if missing := [c for c in spec.columns if c not in types]:
            raise LookupError(
                f"{ANALYTICS_DB}: table {spec.name} lacks catalogued columns {missing} (republish it)"
            )
        columns = tuple((c, postgres_type(types[c])) for c in spec.columns)
        order = ", ".join(ident(c) for c in spec.order_by) or "ALL"
        query = f"SELECT {', '.join(ident(c) for c in spec.columns)} FROM {ident(spec.name)} ORDER BY {order}"
        tables.append(
            _Table(
                name=spec.name,
                columns=columns,
                query=query,
                comment=f"{spec.description} One row per {spec.one_row_per}.",
                column_comments=dict(spec.columns),
            )
        )
    return tables


def _publish(
    pg: psycopg.Connection[Any],
    duck: duckdb.DuckDBPyConnection,
    tables: list[_Table],
    schema: str,
    role: str,
    settings: PostgresTargetSettings,
) -> dict[str, int]:
    """Build in a staging schema, swap, grant: all in the caller's one transaction."""
    cur = pg.cursor()
    # one publish of a schema at a time (a second waits, then replaces the first's result)
    cur.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(schema)])
    cur.execute("SELECT set_config('lock_timeout', %s, true)", [f"{settings.lock_timeout_s}s"])
    _check_replaceable(cur, schema)
    _ensure_role(cur, role)
    staging = f"{schema}__staging_{secrets.token_hex(4)}"
    cur.execute(pgsql.SQL("CREATE SCHEMA {}").format(pgsql.Identifier(staging)))
    rows: dict[str, int] = {}
    for table in tables:
        batches = duck.sql(table.query).to_arrow_reader(settings.batch_rows)
        rows[table.name] = _write_table(cur, staging, table, batches, settings)
    dictionary = _dictionary_table()
    rows[DICTIONARY_TABLE] = _write_table(
        cur, staging, dictionary, _dictionary_batches(tables, dictionary), settings
    )
    target = pgsql.Identifier(schema)
    cur.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(target))
    cur.execute(pgsql.SQL("ALTER SCHEMA {} RENAME TO {}").format(pgsql.Identifier(staging), target))
    cur.execute(pgsql.SQL("COMMENT ON SCHEMA {} IS {}").format(target, pgsql.Literal(_SCHEMA_COMMENT)))
    grantee = pgsql.SQL("PUBLIC, {}").format(pgsql.Identifier(role))
    for statement in (
        "REVOKE ALL ON SCHEMA {schema} FROM {grantee}",
        "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {grantee}",
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}",
    ):
        cur.execute(pgsql.SQL(statement).format(schema=target, grantee=grantee, role=pgsql.Identifier(role)))
    return rows


def _lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"warehouse.postgres_target:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _check_replaceable(cur: psycopg.Cursor[Any], schema: str) -> None:
    """An existing schema is dropped only if a publish made it or it holds nothing."""
    cur.execute(
        "SELECT obj_description(n.oid, 'pg_namespace'), "
        "(SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid) "
        "FROM pg_namespace n WHERE n.nspname = %s",
        [schema],
    )
    found = cur.fetchall()
    if not found:
        return
    comment, objects = found[0]
    if objects and not str(comment or "").startswith(SCHEMA_MARKER):
        raise RuntimeError(
            f"schema {schema} exists and was not made by this publish (no '{SCHEMA_MARKER}' comment): "
            "refusing to replace it; choose another schema or drop it"
        )


def _ensure_role(cur: psycopg.Cursor[Any], role: str) -> None:
    """Create the NOLOGIN role if missing; an existing one must not be privileged."""
    cur.execute(
        "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls FROM pg_roles WHERE rolname = %s",
        [role],
    )
    found = cur.fetchall()
    if not found:
        cur.execute(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(pgsql.Identifier(role)))
    elif found[0][0]:
        raise ValueError(
            f"role {role} has SUPERUSER, CREATEROLE, CREATEDB or BYPASSRLS: not a read-only analyst role"
        )


def _write_table(
    cur: psycopg.Cursor[Any],
    schema: str,
    table: _Table,
    batches: Iterable[pa.RecordBatch],
    settings: PostgresTargetSettings,
) -> int:
    """CREATE, COPY the batches in as CSV, comment, ANALYZE; the rows written."""
    name = pgsql.Identifier(schema, table.name)
    columns = pgsql.SQL(", ").join(
        pgsql.SQL("{} {}").format(pgsql.Identifier(c), pgsql.SQL(t)) for c, t in table.columns
    )
    cur.execute(pgsql.SQL("CREATE TABLE {} ({})").format(name, columns))
    copy_sql = pgsql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        name, pgsql.SQL(", ").join(pgsql.Identifier(c) for c, _ in table.columns)
    )
    sent = 0
    # Arrow writes NULL as an empty field and '' as "" (strings are always quoted): the CSV
    # COPY reads them back as NULL and ''.
    options = pa_csv.WriteOptions(include_header=False)
    with cur.copy(copy_sql) as copy:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            buffer = io.BytesIO()
            pa_csv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())
            sent += batch.num_rows
    if cur.rowcount != sent:
        raise RuntimeError(f"{table.name}: COPY loaded {cur.rowcount} rows of {sent}")
    cur.execute(pgsql.SQL("COMMENT ON TABLE {} IS {}").format(name, pgsql.Literal(table.comment)))
    for column, description in table.column_comments.items():
        cur.execute(
            pgsql.SQL("COMMENT ON COLUMN {} IS {}").format(
                pgsql.Identifier(schema, table.name, column), pgsql.Literal(description)
            )
        )
    if settings.analyze:
        cur.execute(pgsql.SQL("ANALYZE {}").format(name))
    return sent


def _dictionary_table() -> _Table:
    return _Table(
        name=DICTIONARY_TABLE,
        columns=tuple((c, "TEXT") for c in _DICTIONARY_COLUMNS),
        query="",
        comment="Every published column with its type and description. One row per table column.",
        column_comments=dict(_DICTIONARY_COLUMNS),
    )


def _dictionary_batches(tables: list[_Table], dictionary: _Table) -> list[pa.RecordBatch]:
    """The dictionary's rows, in catalog order (tables, then their columns)."""
    rows = [
        (t.name, column, pg_type, t.column_comments[column]) for t in tables for column, pg_type in t.columns
    ]
    arrays = [pa.array([r[i] for r in rows], type=pa.string()) for i in range(len(_DICTIONARY_COLUMNS))]
    return [pa.RecordBatch.from_arrays(arrays, names=[c for c, _ in dictionary.columns])]
