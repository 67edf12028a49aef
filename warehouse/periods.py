"""Periods of participation for the six core programs, and the reportable individuals beside them.

`participation` has one row per period (each counts separately in every indicator): Title I and
VR take their periods from the case systems; Wagner-Peyser and Adult Education send services and
attendance, so their periods are derived here (the 90-day rule, retroactive exit at the last
qualifying service). With common exit on, a customer's DOL periods that follow one another
without a 90-day gap share one exit. Everything is rebuilt as of the run date, so a late drop
or a relink simply changes tomorrow's table. The rules are in `shared/domain/wioa-performance.md`;
what a state may choose is in `PeriodPolicy`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from warehouse.sql import has_table, run_named, transaction

WP_QUALIFYING_CODES = ("101", "102", "103", "104", "105", "106", "110", "120", "121", "122")
"""Staff-assisted services that make a WP participant (the contract's code table). Follow-up
(190) and self-service / information-only (001, 002) are left out: they never start or extend a
period. The `staff_assisted` flag is not the rule: the source marks follow-up as staff-assisted."""

WP_REPORTABLE_CODES = ("001", "002")
DOL_PROGRAMS = ("ADULT", "DW", "YOUTH", "WP")
VR_NON_PARTICIPANT_CLOSURES = ("1", "2", "3", "4", "7")
"""Applicant, trial work, from the wait list, no IPE, before IPE services: not participant exits."""

PROGRAMS = ("ADULT", "DW", "YOUTH", "ADULT_ED", "WP", "VR")


@dataclass(frozen=True)
class PeriodPolicy:
    """State choices (the domain file's "policy" rules), not constants."""

    exit_after_days: int = 90
    """A period ends after more than this many days without a qualifying service or class."""
    adult_ed_hours_threshold: float = 12.0
    common_exit: bool = True
    common_exit_programs: tuple[str, ...] = DOL_PROGRAMS
    wp_qualifying_codes: tuple[str, ...] = WP_QUALIFYING_CODES
    wp_reportable_codes: tuple[str, ...] = WP_REPORTABLE_CODES
    vr_non_participant_closures: tuple[str, ...] = VR_NON_PARTICIPANT_CLOSURES


def _run(con: duckdb.DuckDBPyConnection, name: str, values: dict[str, Any]) -> None:
    """Run `periods/<name>`, binding the `$x` values it names."""
    run_named(con, f"periods/{name}", values)


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    return int(con.execute(query).fetchall()[0][0])


def build_periods(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, policy: PeriodPolicy | None = None
) -> dict[str, int]:
    """(Re)build `participation` and `reportable_individuals` as of `as_of`; return counts.

    Reads the staged tables `stg_wp_services`, `stg_wp_registrations`, `stg_ae_attendance`,
    `stg_ae_students`, `stg_t1_participation`, `stg_vr_cases` and, when linkage has run,
    `customer_xref`. Activity dated after `as_of` is ignored, so a rebuild for a past date
    reproduces that night. One transaction: readers see the old tables or the new ones.
    """
    policy = policy or PeriodPolicy()
    values: dict[str, Any] = {
        "as_of": as_of,
        "days": policy.exit_after_days,
        "threshold": policy.adult_ed_hours_threshold,
        "enabled": policy.common_exit,
        "programs": list(policy.common_exit_programs),
        "excluded_closures": list(policy.vr_non_participant_closures),
    }
    with transaction(con):
        _run(con, "ddl.sql", {})
        _run(con, "reportable_ddl.sql", {})
        _run(con, "xref.sql" if has_table(con, "customer_xref") else "xref_empty.sql", {})
        _run(con, "candidates.sql", {})
        _run(con, "wp.sql", {**values, "codes": list(policy.wp_qualifying_codes)})
        _run(con, "adult_ed_spells.sql", values)
        _run(con, "adult_ed.sql", values)
        _run(con, "title1.sql", values)
        _run(con, "vr.sql", values)
        _run(con, "common_exit.sql", values)
        _run(con, "insert.sql", {})
        _run(con, "wp_reportable.sql", {**values, "codes": list(policy.wp_reportable_codes)})
        _run(con, "adult_ed_reportable.sql", values)
        _run(con, "vr_reportable.sql", values)
        stats = _stats(con)
        for temp in ("periods_final", "periods_candidates", "periods_ae_spells", "periods_xref"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    return stats


def _stats(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """What the run produced, for the run's metadata and for spotting a bad night."""
    stats: dict[str, int] = {f"periods_{p.lower()}": 0 for p in PROGRAMS}
    for program, n in con.execute("SELECT program, count(*) FROM participation GROUP BY program").fetchall():
        stats[f"periods_{str(program).lower()}"] = int(n)
    stats["periods"] = _count(con, "SELECT count(*) FROM participation")
    stats["periods_open"] = _count(con, "SELECT count(*) FROM participation WHERE exit_date IS NULL")
    stats["periods_without_customer"] = _count(
        con, "SELECT count(*) FROM participation WHERE customer_id IS NULL"
    )
    stats["periods_common_exit"] = _count(
        con,
        "SELECT count(*) FROM participation WHERE exit_date IS DISTINCT FROM program_exit_date",
    )
    stats["wp_periods_merged_by_common_exit"] = _count(
        con, "SELECT coalesce(sum(merged_periods - 1), 0) FROM periods_final"
    )
    for program in ("WP", "ADULT_ED", "VR"):
        stats[f"reportable_{program.lower()}"] = 0
    for program, n in con.execute(
        "SELECT program, count(*) FROM reportable_individuals GROUP BY program"
    ).fetchall():
        stats[f"reportable_{str(program).lower()}"] = int(n)
    stats["reportable"] = _count(con, "SELECT count(*) FROM reportable_individuals")
    stats["reportable_only"] = _count(
        con, "SELECT count(*) FROM reportable_individuals WHERE NOT ever_participant"
    )
    stats["reportable_without_customer"] = _count(
        con, "SELECT count(*) FROM reportable_individuals WHERE customer_id IS NULL"
    )
    stats["ae_attendance_without_student"] = _count(
        con,
        "SELECT count(*) FROM stg_ae_attendance AS a "
        "WHERE NOT EXISTS (SELECT 1 FROM stg_ae_students AS s WHERE s.student_id = a.student_id)",
    )
    return stats
