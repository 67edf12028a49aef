"""Periods of participation: each rule of the domain file against a hand-worked expectation.

The staged tables are made by hand with the columns `stg_<file type>` has after ingest (from the
layouts), so each test states only the rows it is about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sources.layout import file_layouts
from warehouse.ingest import hist_columns
from warehouse.periods import PeriodPolicy, build_periods
from warehouse.sql import ident

STAGED = ("wp_registrations", "wp_services", "ae_students", "ae_attendance", "t1_participation", "vr_cases")
AS_OF = dt.date(2024, 12, 31)
D = dt.date


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty warehouse: the six staged tables with their staged columns, and customer_xref."""
    c = duckdb.connect(str(tmp_path / "restricted.duckdb"))
    layouts = file_layouts()
    for ft in STAGED:
        staged = [(n, t) for n, t in hist_columns(layouts[ft]) if n != "_is_deleted"]
        c.execute(f"CREATE TABLE {ident('stg_' + ft)} ({', '.join(f'{ident(n)} {t}' for n, t in staged)})")
    c.execute(
        "CREATE TABLE customer_xref (source_system VARCHAR NOT NULL, source_record_id VARCHAR NOT NULL, "
        "customer_id BIGINT NOT NULL, PRIMARY KEY (source_system, source_record_id))"
    )
    yield c
    c.close()


def add(con: duckdb.DuckDBPyConnection, table: str, **values: Any) -> None:
    names = ", ".join(ident(k) for k in values)
    marks = ", ".join("?" for _ in values)
    con.execute(f"INSERT INTO {ident(table)} ({names}) VALUES ({marks})", list(values.values()))


def customer(con: duckdb.DuckDBPyConnection, system: str, record: str, customer_id: int) -> None:
    add(con, "customer_xref", source_system=system, source_record_id=record, customer_id=customer_id)


_svc = iter(range(1, 10_000))


def wp(
    con: duckdb.DuckDBPyConnection, ind: str, *services: tuple[str, dt.date], cid: int | None = None
) -> None:
    """A WP registrant with services (code, date); linked to customer `cid` when given."""
    first = min((d for _, d in services), default=D(2024, 1, 1))
    add(con, "stg_wp_registrations", individual_id=ind, registration_date=first, record_status="A")
    for code, day in services:
        add(
            con,
            "stg_wp_services",
            service_id=f"S{next(_svc):06d}",
            individual_id=ind,
            service_code=code,
            service_date=day,
            staff_assisted=code not in ("001", "002"),
            office="Ames",
            record_status="A",
        )
    if cid is not None:
        customer(con, "wp", ind, cid)


def ae(
    con: duckdb.DuckDBPyConnection, sid: str, *classes: tuple[dt.date, float], cid: int | None = None
) -> None:
    add(con, "stg_ae_students", student_id=sid, program_type="ABE", diploma_at_entry=False, status="A")
    for n, (day, hours) in enumerate(classes):
        add(con, "stg_ae_attendance", student_id=sid, class_id=f"CL{n % 2}", class_date=day, hours=hours)
    if cid is not None:
        customer(con, "adult_ed", sid, cid)


def t1(
    con: duckdb.DuckDBPyConnection,
    pid: str,
    program: str,
    entry: dt.date,
    exit: dt.date | None = None,
    reason: str = "00",
    cid: int | None = None,
    training: str = "00",
) -> None:
    add(
        con,
        "stg_t1_participation",
        participation_id=pid,
        participant_id="T1-" + pid,
        program=program,
        entry_date=entry,
        exit_date=exit,
        exit_reason=reason,
        training_type=training,
        record_status="A",
    )
    if cid is not None:
        customer(con, "title1", pid, cid)


def vr(con: duckdb.DuckDBPyConnection, case: str, **dates: Any) -> None:
    add(con, "stg_vr_cases", case_id=case, client_id="K" + case, oos_category="0", status="A", **dates)


def periods(con: duckdb.DuckDBPyConnection, program: str | None = None) -> list[dict[str, Any]]:
    cur = con.execute(
        "SELECT * FROM participation WHERE program = coalesce(?, program) ORDER BY program, entry_date, period_id",
        [program],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def cols(rows: list[dict[str, Any]], *names: str) -> list[tuple[Any, ...]]:
    return [tuple(r[n] for n in names) for r in rows]


def reportable(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(
        "SELECT program, source_record_id, basis, first_contact_date, last_contact_date, contacts, ever_participant "
        "FROM reportable_individuals ORDER BY program, source_record_id"
    ).fetchall()


# ------------------------------------------------------------------------------- Wagner-Peyser


def test_wp_exits_at_the_last_qualifying_service_and_follow_up_never_extends(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # last staff-assisted service Feb 20; a follow-up on May 1 and a self-service on Apr 1 come
    # within 90 days of it but neither keeps the period open
    wp(
        con,
        "W1",
        ("101", D(2024, 1, 10)),
        ("102", D(2024, 2, 20)),
        ("001", D(2024, 4, 1)),
        ("190", D(2024, 5, 1)),
    )
    build_periods(con, D(2024, 5, 25), PeriodPolicy())  # 95 days after Feb 20
    assert cols(periods(con), "period_id", "entry_date", "exit_date", "last_service_date", "exit_basis") == [
        ("WP:W1:20240110", D(2024, 1, 10), D(2024, 2, 20), D(2024, 2, 20), "NINETY_DAYS")
    ]
    assert periods(con)[0]["services"] == 2
    # the self-service came while the period's exit was not yet known: not a reportable contact
    assert reportable(con) == []


def test_wp_still_participating_until_more_than_90_days_have_passed(con: duckdb.DuckDBPyConnection) -> None:
    wp(con, "W1", ("101", D(2024, 1, 10)), ("102", D(2024, 2, 20)), ("190", D(2024, 5, 1)))
    build_periods(con, D(2024, 5, 20), PeriodPolicy())  # exactly 90 days after Feb 20
    assert cols(periods(con), "entry_date", "exit_date", "last_service_date", "exit_basis") == [
        (D(2024, 1, 10), None, D(2024, 2, 20), None)
    ]
    stats = build_periods(con, D(2024, 5, 20), PeriodPolicy(exit_after_days=60))  # a setting
    assert cols(periods(con), "exit_date") == [(D(2024, 2, 20),)]
    assert stats["periods_open"] == 0


def test_wp_self_service_only_is_a_reportable_individual_not_a_participant(
    con: duckdb.DuckDBPyConnection,
) -> None:
    wp(con, "W2", ("001", D(2024, 3, 1)), ("002", D(2024, 3, 9)), ("001", D(2024, 6, 2)), cid=7)
    wp(con, "W3")  # registered, no service at all: gave identifying information
    stats = build_periods(con, AS_OF, PeriodPolicy())
    assert periods(con) == []
    assert reportable(con) == [
        ("WP", "W2", "SELF_SERVICE", D(2024, 3, 1), D(2024, 6, 2), 3, False),
        ("WP", "W3", "REGISTERED", D(2024, 1, 1), D(2024, 1, 1), 0, False),
    ]
    assert con.execute("SELECT customer_id FROM reportable_individuals ORDER BY 1").fetchall() == [
        (7,),
        (None,),
    ]
    assert (stats["periods"], stats["reportable_wp"], stats["reportable_only"]) == (0, 2, 2)


def test_wp_a_new_service_after_a_gap_of_more_than_90_days_starts_a_second_period(
    con: duckdb.DuckDBPyConnection,
) -> None:
    wp(con, "W4", ("101", D(2024, 1, 10)), ("104", D(2024, 4, 10)), ("103", D(2024, 7, 9)))  # gaps 91, 90
    wp(con, "W5", ("101", D(2024, 1, 10)), ("104", D(2024, 4, 9)))  # gap of exactly 90: one period
    build_periods(con, AS_OF, PeriodPolicy())
    assert cols(periods(con), "source_record_id", "entry_date", "exit_date", "services") == [
        ("W4", D(2024, 1, 10), D(2024, 1, 10), 1),
        ("W5", D(2024, 1, 10), D(2024, 4, 9), 2),
        ("W4", D(2024, 4, 10), D(2024, 7, 9), 2),
    ]


def test_wp_history_is_per_customer_across_registrations(con: duckdb.DuckDBPyConnection) -> None:
    # one person registered twice: the second registration's services continue the same period
    wp(con, "W6", ("101", D(2024, 1, 10)), cid=3)
    wp(con, "W7", ("102", D(2024, 3, 1)), cid=3)
    build_periods(con, AS_OF, PeriodPolicy())
    assert cols(periods(con), "customer_id", "source_record_id", "entry_date", "exit_date", "services") == [
        (3, "W6", D(2024, 1, 10), D(2024, 3, 1), 2)
    ]


# ----------------------------------------------------------------------------- Adult Education


def test_adult_ed_under_12_hours_is_no_period(con: duckdb.DuckDBPyConnection) -> None:
    ae(
        con,
        "100001",
        (D(2024, 1, 8), 3.0),
        (D(2024, 1, 10), 3.0),
        (D(2024, 1, 15), 3.0),
        (D(2024, 1, 17), 2.5),
    )
    # 8 hours, a 5-month gap, 8 hours: the hours count within a period, so still no participant
    ae(con, "100002", (D(2024, 1, 8), 4.0), (D(2024, 1, 9), 4.0), (D(2024, 6, 3), 4.0), (D(2024, 6, 4), 4.0))
    stats = build_periods(con, AS_OF, PeriodPolicy())
    assert periods(con) == []
    rows = con.execute(
        "SELECT source_record_id, basis, first_contact_date, last_contact_date, contacts, ae_hours "
        "FROM reportable_individuals ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("100001", "UNDER_HOURS", D(2024, 1, 8), D(2024, 1, 17), 4, 11.5),
        ("100002", "UNDER_HOURS", D(2024, 1, 8), D(2024, 6, 4), 4, 16.0),
    ]
    assert stats["reportable_adult_ed"] == 2


def test_adult_ed_crossing_12_hours_enters_at_the_first_class(con: duckdb.DuckDBPyConnection) -> None:
    # two classes on Jan 15 make one class day; the 12th hour is reached on Jan 17
    ae(
        con,
        "100003",
        (D(2024, 1, 8), 3.0),
        (D(2024, 1, 10), 3.0),
        (D(2024, 1, 15), 2.0),
        (D(2024, 1, 15), 1.5),
        (D(2024, 1, 17), 2.5),
        (D(2024, 3, 1), 2.0),
    )
    build_periods(con, AS_OF, PeriodPolicy())
    wanted = ("entry_date", "ae_participant_date", "exit_date", "exit_basis", "ae_hours", "services")
    assert cols(periods(con, "ADULT_ED"), *wanted) == [
        (D(2024, 1, 8), D(2024, 1, 17), D(2024, 3, 1), "NINETY_DAYS", 14.0, 5)
    ]
    assert periods(con)[0]["in_education_or_training"] is True
    # a higher threshold (a setting) and the same learner is not yet a participant
    build_periods(con, AS_OF, PeriodPolicy(adult_ed_hours_threshold=15))
    assert periods(con) == []


# ------------------------------------------------------------------------------------- Title I


def test_title1_periods_are_the_case_records_with_their_exit_reasons(con: duckdb.DuckDBPyConnection) -> None:
    t1(con, "P1", "ADULT", D(2024, 2, 1), training="06")  # open
    t1(con, "P2", "DW", D(2023, 5, 1), D(2024, 1, 31), "00")  # 00 = no reason
    t1(con, "P3", "YOUTH", D(2023, 9, 1), D(2024, 6, 30), "06")
    t1(con, "P4", "DW", D(2024, 6, 1), D(2025, 2, 1), "02")  # exit recorded after the run date
    t1(con, "P5", "ADULT", D(2025, 1, 15))  # enters after the run date
    stats = build_periods(con, AS_OF, PeriodPolicy())
    wanted = ("period_id", "entry_date", "exit_date", "exit_reason", "exit_basis", "training_type")
    assert cols(periods(con), *wanted) == [
        ("ADULT:P1:20240201", D(2024, 2, 1), None, None, None, "06"),
        ("DW:P2:20230501", D(2023, 5, 1), D(2024, 1, 31), None, "RECORDED", "00"),
        ("DW:P4:20240601", D(2024, 6, 1), None, None, None, "00"),
        ("YOUTH:P3:20230901", D(2023, 9, 1), D(2024, 6, 30), "06", "RECORDED", "00"),
    ]
    assert [r["in_education_or_training"] for r in periods(con)] == [True, False, False, False]
    assert (stats["periods_adult"], stats["periods_dw"], stats["periods_youth"]) == (1, 2, 1)
    assert stats["periods_without_customer"] == 4


# ------------------------------------------------------------------------------------------ VR


def test_vr_periods_start_with_ipe_services_and_skip_non_participant_closures(
    con: duckdb.DuckDBPyConnection,
) -> None:
    app, elig, ipe, start = D(2023, 1, 5), D(2023, 2, 1), D(2023, 3, 1), D(2023, 3, 15)
    vr(con, "V1", application_date=app, closure_date=D(2023, 3, 1), closure_type="1", closure_reason="02")
    vr(con, "V3", application_date=app, eligibility_date=elig, closure_date=D(2023, 9, 1), closure_type="3")
    vr(con, "V4", application_date=app, eligibility_date=elig, closure_date=D(2023, 9, 1), closure_type="4")
    vr(
        con,
        "V7",
        application_date=app,
        eligibility_date=elig,
        ipe_date=ipe,
        closure_date=D(2023, 6, 1),
        closure_type="7",
    )
    # closure type 2 although a service start was keyed: still not a participant exit
    vr(
        con,
        "V2",
        application_date=app,
        service_start_date=start,
        closure_date=D(2023, 9, 1),
        closure_type="2",
    )
    vr(con, "V5", application_date=app, eligibility_date=elig, ipe_date=ipe, service_start_date=start,
       closure_date=D(2024, 5, 31), closure_type="5", closure_reason="00")  # fmt: skip
    vr(con, "V6", application_date=app, eligibility_date=elig, ipe_date=ipe, service_start_date=start,
       closure_date=D(2024, 7, 31), closure_type="6", closure_reason="03")  # fmt: skip
    vr(con, "V8", application_date=app, eligibility_date=elig, ipe_date=ipe, service_start_date=start)  # open
    vr(con, "V9", application_date=D(2024, 11, 1))  # applicant, not yet eligible
    stats = build_periods(con, AS_OF, PeriodPolicy())
    wanted = (
        "source_record_id",
        "entry_date",
        "exit_date",
        "exit_reason",
        "vr_closure_type",
        "vr_closure_reason",
    )
    assert cols(periods(con), *wanted) == [
        ("V5", start, D(2024, 5, 31), None, "5", "00"),
        ("V6", start, D(2024, 7, 31), "03", "6", "03"),
        ("V8", start, None, None, None, None),
    ]
    assert stats["periods_vr"] == 3
    applicants = [r[1] for r in reportable(con) if r[0] == "VR"]
    assert applicants == ["V1", "V2", "V3", "V4", "V7", "V9"]  # one row each: no customers to join them


# -------------------------------------------------------------------------------- common exit


def _wp_and_dw(con: duckdb.DuckDBPyConnection) -> None:
    """WP Jan 10 - Mar 1 and DW Feb 15 - Jun 28 for customer 1; Adult Ed beside them."""
    wp(con, "W1", ("101", D(2024, 1, 10)), ("102", D(2024, 3, 1)), cid=1)
    t1(con, "P1", "DW", D(2024, 2, 15), D(2024, 6, 28), "00", cid=1)
    ae(con, "200001", (D(2024, 1, 8), 6.0), (D(2024, 1, 10), 6.0), cid=1)


def test_common_exit_dol_periods_exit_together_at_the_later_date(con: duckdb.DuckDBPyConnection) -> None:
    _wp_and_dw(con)
    stats = build_periods(con, AS_OF, PeriodPolicy())
    wanted = ("program", "exit_date", "program_exit_date", "exit_basis", "common_exit_group")
    assert cols(periods(con), *wanted) == [
        ("ADULT_ED", D(2024, 1, 10), D(2024, 1, 10), "NINETY_DAYS", None),  # never in the common exit
        ("DW", D(2024, 6, 28), D(2024, 6, 28), "RECORDED", "WP:W1:20240110"),
        ("WP", D(2024, 6, 28), D(2024, 3, 1), "COMMON_EXIT", "WP:W1:20240110"),
    ]
    assert periods(con, "WP")[0]["last_service_date"] == D(2024, 3, 1)
    assert stats["periods_common_exit"] == 1


def test_common_exit_off_each_program_keeps_its_own_exit(con: duckdb.DuckDBPyConnection) -> None:
    _wp_and_dw(con)
    build_periods(con, AS_OF, PeriodPolicy(common_exit=False))
    wanted = ("program", "exit_date", "exit_basis", "common_exit_group")
    assert cols(periods(con), *wanted) == [
        ("ADULT_ED", D(2024, 1, 10), "NINETY_DAYS", None),
        ("DW", D(2024, 6, 28), "RECORDED", None),
        ("WP", D(2024, 3, 1), "NINETY_DAYS", None),
    ]


def test_common_exit_keeps_a_period_open_and_joins_wp_periods_served_in_between(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # WP Jan 10 and May 20 (131 days apart) with DW Feb 1 - Apr 15 between: never 90 days unserved
    wp(con, "W1", ("101", D(2024, 1, 10)), ("103", D(2024, 5, 20)), cid=1)
    t1(con, "P1", "DW", D(2024, 2, 1), D(2024, 4, 15), "00", cid=1)
    # customer 2: DW exited in March, WP still serving in December, so DW has not exited
    t1(con, "P2", "DW", D(2024, 1, 2), D(2024, 3, 1), "00", cid=2)
    wp(con, "W2", ("101", D(2024, 5, 1)), ("102", D(2024, 7, 20)), ("104", D(2024, 10, 10)), cid=2)
    # customer 3: WP exited in February, DW entered in August (more than 90 days later): apart
    wp(con, "W3", ("101", D(2024, 2, 1)), cid=3)
    t1(con, "P3", "DW", D(2024, 8, 1), D(2024, 9, 1), "00", cid=3)
    stats = build_periods(con, AS_OF, PeriodPolicy())
    wanted = ("customer_id", "program", "entry_date", "exit_date", "last_service_date", "services")
    got = sorted(cols(periods(con), *wanted), key=lambda r: (r[0], r[2]))
    assert got == [
        (1, "WP", D(2024, 1, 10), D(2024, 5, 20), D(2024, 5, 20), 2),
        (1, "DW", D(2024, 2, 1), D(2024, 5, 20), D(2024, 4, 15), None),
        (2, "DW", D(2024, 1, 2), None, D(2024, 3, 1), None),
        (2, "WP", D(2024, 5, 1), None, D(2024, 10, 10), 3),
        (3, "WP", D(2024, 2, 1), D(2024, 2, 1), D(2024, 2, 1), 1),
        (3, "DW", D(2024, 8, 1), D(2024, 9, 1), D(2024, 9, 1), None),
    ]
    assert stats["wp_periods_merged_by_common_exit"] == 1
    build_periods(con, AS_OF, PeriodPolicy(common_exit=False))
    assert len(periods(con, "WP")) == 4


def test_a_record_without_a_customer_keeps_a_null_customer_and_its_own_exit(
    con: duckdb.DuckDBPyConnection,
) -> None:
    wp(con, "W1", ("101", D(2024, 1, 10)), ("102", D(2024, 3, 1)))  # no customer_xref row
    t1(con, "P1", "DW", D(2024, 2, 15), D(2024, 6, 28), "00", cid=1)
    stats = build_periods(con, AS_OF, PeriodPolicy())
    assert cols(periods(con), "program", "customer_id", "exit_date", "exit_basis") == [
        ("DW", 1, D(2024, 6, 28), "RECORDED"),
        ("WP", None, D(2024, 3, 1), "NINETY_DAYS"),
    ]
    assert stats["periods_without_customer"] == 1


def test_without_linkage_every_period_has_a_null_customer(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE customer_xref")
    t1(con, "P1", "ADULT", D(2024, 2, 1))
    stats = build_periods(con, AS_OF, PeriodPolicy())
    assert (stats["periods"], stats["periods_without_customer"]) == (1, 1)


def test_rebuild_is_idempotent(con: duckdb.DuckDBPyConnection) -> None:
    _wp_and_dw(con)
    wp(con, "W9", ("001", D(2024, 3, 1)), cid=9)
    vr(con, "V5", application_date=D(2023, 1, 5), service_start_date=D(2023, 3, 15), closure_date=D(2024, 5, 31),
       closure_type="5", closure_reason="00")  # fmt: skip

    def snapshot() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        return (
            con.execute("SELECT * FROM participation ORDER BY period_id").fetchall(),
            con.execute("SELECT * FROM reportable_individuals ORDER BY reportable_id").fetchall(),
        )

    first_stats = build_periods(con, AS_OF, PeriodPolicy())
    first = snapshot()
    assert build_periods(con, AS_OF, PeriodPolicy()) == first_stats
    assert snapshot() == first
    assert len(first[0]) == 4 and len(first[1]) == 1
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]
