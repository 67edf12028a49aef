"""The PostgreSQL analytics target: same rows and types, comments, a read-only analyst role, an atomic swap.

A real PostgreSQL (tests/pg_server.py) and a hand-made `analytics.duckdb` with two catalog-shaped
tables and a reduced catalog.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from pg_server import PgServer, running_server
from psycopg import errors, sql

from warehouse.postgres_target import PostgresTargetSettings, publish_postgres
from warehouse.publish import ANALYTICS_DB, TableSpec

AUDIT = TableSpec(
    name="load_audit",
    one_row_per="delivered file",
    description="What arrived (the 'landing' zone).",
    source="load_audit",
    order_by=("load_id",),
    columns={
        "load_id": "Sequence number of the load.",
        "file_name": "The delivered file's name.",
        "extract_date": "Extract date.",
        "loaded_at": "When the load ran (UTC).",
        "reason": "Why it was rejected; '' is a recorded empty reason, null none.",
        "share": "A fraction.",
        "loaded": "Loaded or not.",
    },
)
WAGES = TableSpec(
    name="wages_by_customer_quarter",
    one_row_per="customer and quarter",
    description="Quarterly wages.",
    source="wages_by_customer_quarter",
    order_by=("customer_id", "year", "quarter"),
    columns={
        "customer_id": "The customer.",
        "year": "Calendar year.",
        "quarter": "Quarter 1-4.",
        "wages": "Wages in the quarter (the employer's report; a \\ stays a backslash).",
    },
)
CUSTOMERS = TableSpec(  # catalogued but not in the file (skipped by its publish): not written
    name="customers",
    one_row_per="customer",
    description="Customers.",
    source="customer_demographics",
    order_by=("customer_id",),
    columns={"customer_id": "The customer."},
)
CATALOG = (AUDIT, CUSTOMERS, WAGES)

AUDIT_ROWS = [  # inserted out of order; published ordered by load_id
    (3, "ünïcode.csv", None, None, "late", None, None),
    (1, 'a,"quoted"\nline.csv', dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 0, 0), None, 0.1, False),
    (2, "b.csv", dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5, 123000), "", 2.5e-300, True),
]
WAGES_V1 = [(20, 2024, 1, "100.50"), (10, 2024, 2, "0.00"), (10, 2024, 1, "12345.67")]
WAGES_V2 = [(10, 2024, 1, "999.99"), (30, 2025, 4, "1.00")]


def _write_zone(warehouse: Path, wages: list[tuple[int, int, int, str]]) -> None:
    """analytics.duckdb as warehouse.publish writes it, plus a column the catalog does not list."""
    path = warehouse / ANALYTICS_DB
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE load_audit (load_id BIGINT, file_name VARCHAR, extract_date DATE, "
        "loaded_at TIMESTAMP, reason VARCHAR, share DOUBLE, loaded BOOLEAN, internal_note VARCHAR)"
    )
    con.executemany("INSERT INTO load_audit VALUES (?, ?, ?, ?, ?, ?, ?, 'not catalogued')", AUDIT_ROWS)
    con.execute(
        "CREATE TABLE wages_by_customer_quarter "
        "(customer_id BIGINT, year INTEGER, quarter INTEGER, wages DECIMAL(18,2))"
    )
    con.executemany("INSERT INTO wages_by_customer_quarter VALUES (?, ?, ?, ?)", wages)
    con.close()


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    with running_server(tmp_path_factory.mktemp("pg")) as server:
        yield server


def _rows(
    server: PgServer, query: str, params: list[Any] | None = None, user: str | None = None
) -> list[Any]:
    with psycopg.connect(server.conninfo(user), autocommit=True) as con:
        return con.execute(query, params).fetchall()


def _member(server: PgServer, role: str) -> str:
    """A LOGIN user (an analyst) who is a member of the publish's role."""
    user = f"{role}_user"
    with psycopg.connect(server.conninfo(), autocommit=True) as con:
        con.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(user)))
        con.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(user)))
    return user


def test_publish_writes_catalog_columns_with_types_and_comments(pg: PgServer, tmp_path: Path) -> None:
    _write_zone(tmp_path, WAGES_V1)
    rows = publish_postgres(tmp_path, pg.url(), schema="zone_a", analyst_role="role_a", catalog=CATALOG)
    # 3 + 3 rows; the dictionary has one row per catalogued column of the written tables (7 + 4);
    # customers is not in the file, so it is not written
    assert rows == {"load_audit": 3, "wages_by_customer_quarter": 3, "data_dictionary": 11}

    types = _rows(
        pg,
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'zone_a' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY c.relname, a.attnum",
    )
    assert [(t, c, ty) for t, c, ty in types if t != "data_dictionary"] == [
        ("load_audit", "load_id", "bigint"),
        ("load_audit", "file_name", "text"),
        ("load_audit", "extract_date", "date"),
        ("load_audit", "loaded_at", "timestamp without time zone"),
        ("load_audit", "reason", "text"),
        ("load_audit", "share", "double precision"),
        ("load_audit", "loaded", "boolean"),  # internal_note is not catalogued: not published
        ("wages_by_customer_quarter", "customer_id", "bigint"),
        ("wages_by_customer_quarter", "year", "integer"),
        ("wages_by_customer_quarter", "quarter", "integer"),
        ("wages_by_customer_quarter", "wages", "numeric(18,2)"),
    ]
    # same values back, NULL kept apart from '' and the quoted/multi-line/non-ASCII names intact
    assert _rows(pg, "SELECT * FROM zone_a.load_audit ORDER BY load_id") == sorted(AUDIT_ROWS)
    assert _rows(pg, "SELECT * FROM zone_a.wages_by_customer_quarter ORDER BY 1, 2, 3") == [
        (10, 2024, 1, Decimal("12345.67")),
        (10, 2024, 2, Decimal("0.00")),
        (20, 2024, 1, Decimal("100.50")),
    ]
    assert _rows(pg, "SELECT * FROM zone_a.data_dictionary WHERE column_name IN ('wages', 'loaded_at')") == [
        ("load_audit", "loaded_at", "TIMESTAMP", "When the load ran (UTC)."),
        ("wages_by_customer_quarter", "wages", "NUMERIC(18,2)", WAGES.columns["wages"]),
    ]
    # comments from the catalog, quotes and backslashes as written
    assert _rows(pg, "SELECT obj_description('zone_a.load_audit'::regclass, 'pg_class')") == [
        ("What arrived (the 'landing' zone). One row per delivered file.",)
    ]
    comments = _rows(
        pg,
        "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute "
        "WHERE attrelid = 'zone_a.wages_by_customer_quarter'::regclass AND attnum > 0 ORDER BY attnum",
    )
    assert comments == list(WAGES.columns.items())
    assert _rows(pg, "SELECT to_regclass('zone_a.customers')") == [(None,)]

    # a rerun on the same file gives the same content
    before = _rows(pg, "SELECT * FROM zone_a.load_audit ORDER BY load_id")
    assert (
        publish_postgres(tmp_path, pg.url(), schema="zone_a", analyst_role="role_a", catalog=CATALOG) == rows
    )
    assert _rows(pg, "SELECT * FROM zone_a.load_audit ORDER BY load_id") == before


def test_the_analyst_role_reads_the_schema_and_nothing_else(pg: PgServer, tmp_path: Path) -> None:
    _write_zone(tmp_path, WAGES_V1)
    publish_postgres(tmp_path, pg.url(), schema="zone_b", analyst_role="role_b", catalog=CATALOG)
    with psycopg.connect(pg.conninfo(), autocommit=True) as su:
        su.execute("CREATE SCHEMA restricted")
        su.execute("CREATE TABLE restricted.secret (ssn TEXT)")
        su.execute("INSERT INTO restricted.secret VALUES ('219099999')")
        su.execute("CREATE TABLE public.other (x INT)")
    assert _rows(pg, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'role_b'") == [(False,)]
    user = _member(pg, "role_b")

    assert _rows(pg, "SELECT load_id, reason FROM zone_b.load_audit ORDER BY load_id", user=user) == [
        (1, None),
        (2, ""),
        (3, "late"),
    ]
    denied = [
        "INSERT INTO zone_b.load_audit (load_id) VALUES (9)",
        "UPDATE zone_b.load_audit SET reason = 'x'",
        "DELETE FROM zone_b.load_audit",
        "TRUNCATE zone_b.wages_by_customer_quarter",
        "CREATE TABLE zone_b.mine (x INT)",
        "DROP TABLE zone_b.load_audit",
        "SELECT * FROM restricted.secret",
        "SELECT * FROM public.other",
    ]
    with psycopg.connect(pg.conninfo(user), autocommit=True) as analyst:
        for statement in denied:
            with pytest.raises(errors.InsufficientPrivilege):
                analyst.execute(statement)
    # the role holds exactly SELECT on the published tables (and the dictionary)
    assert _rows(
        pg,
        "SELECT table_schema, table_name, privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee = 'role_b' ORDER BY table_name",
    ) == [
        ("zone_b", "data_dictionary", "SELECT"),
        ("zone_b", "load_audit", "SELECT"),
        ("zone_b", "wages_by_customer_quarter", "SELECT"),
    ]
    assert _rows(
        pg,
        "SELECT has_schema_privilege('role_b', 'zone_b', 'USAGE'), "
        "has_schema_privilege('role_b', 'zone_b', 'CREATE'), "
        "has_schema_privilege('role_b', 'restricted', 'USAGE')",
    ) == [(True, False, False)]


def test_republishing_swaps_atomically_and_keeps_the_grants(pg: PgServer, tmp_path: Path) -> None:
    _write_zone(tmp_path, WAGES_V1)
    publish_postgres(tmp_path, pg.url(), schema="zone_c", analyst_role="role_c", catalog=CATALOG)
    user = _member(pg, "role_c")
    wages = "SELECT customer_id, wages FROM zone_c.wages_by_customer_quarter ORDER BY 1, 2"
    old = [(10, Decimal("0.00")), (10, Decimal("12345.67")), (20, Decimal("100.50"))]
    new = [(10, Decimal("999.99")), (30, Decimal("1.00"))]

    reader = psycopg.connect(pg.conninfo(user))
    reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    assert reader.execute(wages).fetchall() == old  # the reader's transaction holds the old tables

    _write_zone(tmp_path, WAGES_V2)
    failures: list[BaseException] = []

    def republish() -> None:
        try:
            publish_postgres(tmp_path, pg.url(), schema="zone_c", analyst_role="role_c", catalog=CATALOG)
        except BaseException as err:
            failures.append(err)

    worker = threading.Thread(target=republish)
    worker.start()
    # the new tables are built; dropping the old ones waits for the reader
    deadline = time.monotonic() + 20
    while not _rows(
        pg,
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DROP SCHEMA%'",
    ):
        assert worker.is_alive() and time.monotonic() < deadline, failures
        time.sleep(0.05)
    assert reader.execute(wages).fetchall() == old  # still the old rows, whole
    reader.commit()
    worker.join(20)
    assert not worker.is_alive() and not failures, failures

    assert reader.execute(wages).fetchall() == new  # a new transaction: the new rows
    reader.close()
    assert _rows(pg, wages, user=user) == new  # grants survived the swap
    assert _rows(pg, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'zone_c%'") == [("zone_c",)]


def test_a_failed_publish_leaves_the_old_tables(pg: PgServer, tmp_path: Path) -> None:
    _write_zone(tmp_path, WAGES_V1)
    publish_postgres(tmp_path, pg.url(), schema="zone_d", analyst_role="role_d", catalog=CATALOG)
    user = _member(pg, "role_d")
    wages = "SELECT count(*) FROM zone_d.wages_by_customer_quarter"
    with psycopg.connect(pg.conninfo(user)) as reader:
        assert reader.execute(wages).fetchall() == [(3,)]  # holds the old table open
        _write_zone(tmp_path, WAGES_V2)
        with pytest.raises(errors.LockNotAvailable):
            publish_postgres(
                tmp_path,
                pg.url(),
                schema="zone_d",
                analyst_role="role_d",
                catalog=CATALOG,
                settings=PostgresTargetSettings(lock_timeout_s=1),
            )
        reader.rollback()
    # rolled back whole: the V1 rows (3, not V2's 2), still readable, no staging schema left
    assert _rows(pg, wages, user=user) == [(3,)]
    assert _rows(pg, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'zone_d%'") == [("zone_d",)]


def test_refuses_a_warehouse_without_an_analytics_zone(pg: PgServer, tmp_path: Path) -> None:
    # only the restricted zone is there: nothing may be read from it
    duckdb.connect(str(tmp_path / "restricted.duckdb")).close()
    with pytest.raises(FileNotFoundError, match=r"analytics\.duckdb does not exist"):
        publish_postgres(tmp_path, pg.url(), schema="zone_e", catalog=CATALOG)
    assert _rows(pg, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'zone_e%'") == [(0,)]


def test_refuses_to_replace_a_schema_it_did_not_make(pg: PgServer, tmp_path: Path) -> None:
    _write_zone(tmp_path, WAGES_V1)
    with psycopg.connect(pg.conninfo(), autocommit=True) as su:
        su.execute("CREATE SCHEMA theirs")
        su.execute("CREATE TABLE theirs.keep (x INT)")
    with pytest.raises(RuntimeError, match="refusing to replace"):
        publish_postgres(tmp_path, pg.url(), schema="theirs", analyst_role="role_f", catalog=CATALOG)
    assert _rows(pg, "SELECT to_regclass('theirs.keep') IS NOT NULL") == [(True,)]
    with pytest.raises(ValueError, match="public"):
        publish_postgres(tmp_path, pg.url(), schema="public", catalog=CATALOG)


def test_the_dagster_asset_publishes_and_never_shows_the_url(pg: PgServer, tmp_path: Path) -> None:
    from dagster import DagsterInstance, materialize

    from assets.warehouse import postgres
    from pipelines.resources import PipelinePaths, PostgresTarget

    _write_zone(tmp_path, WAGES_V1)
    zone = duckdb.connect(str(tmp_path / ANALYTICS_DB))
    zone.execute("DROP TABLE load_audit")  # the hand-made one is not the catalog's shape
    zone.execute("ALTER TABLE wages_by_customer_quarter ADD COLUMN employers BIGINT DEFAULT 1")
    zone.close()
    url = pg.url()
    paths = PipelinePaths(landing_dir=str(tmp_path), warehouse_dir=str(tmp_path), run_date="2025-06-30")
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [postgres],
            resources={"paths": paths, "postgres_target": PostgresTarget(url=url, schema_name="asset_zone")},
            instance=instance,
        )
        logs = "\n".join(str(e.user_message) for e in instance.all_logs(result.run_id))
    assert result.success
    meta = result.asset_materializations_for_node("analytics__postgres")[0].metadata
    assert meta["tables"].value["wages_by_customer_quarter"] == len(WAGES_V1)
    assert _rows(pg, "SELECT count(*) FROM asset_zone.wages_by_customer_quarter") == [(len(WAGES_V1),)]
    assert url not in logs and url not in str(meta)
