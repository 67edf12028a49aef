"""The six WIOA indicators and the wage outcomes they rest on.

Hand-made tables with hand-worked expectations per rule, then the exactness test: the demo tier
ingested and run through the warehouse with the truth's crosswalk must give the reference
implementation's numbers (tests/reference/indicators.py) cell for cell.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.reference.indicators import ReferenceSettings, reference_indicators
from warehouse.indicators import (
    BREAKDOWN_DIMENSIONS,
    COHORT_LAG_QUARTERS,
    IndicatorSettings,
    IndicatorTables,
    build_indicator_tables,
    build_indicators,
)
from warehouse.outcomes import build_wages, wage_quarters_available
from warehouse.sql import sql

REPO_ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2025, 6, 30)
ALL_QUARTERS = tuple((y, q) for y in range(2021, 2026) for q in range(1, 5) if (y, q) <= (2025, 1))
KEY = ["program", "program_year", "indicator"]

_STAGED = {
    "stg_t1_participation": "participation_id VARCHAR, program VARCHAR, training_type VARCHAR, "
    "youth_in_school BOOLEAN",
    "stg_t1_outcomes": "outcome_id VARCHAR, participation_id VARCHAR, outcome_type VARCHAR, "
    "outcome_code VARCHAR, outcome_date DATE",
    "stg_vr_cases": "case_id VARCHAR, education_training BOOLEAN",
    "stg_vr_outcomes": "outcome_id VARCHAR, case_id VARCHAR, outcome_type VARCHAR, outcome_code VARCHAR, "
    "outcome_date DATE",
    "stg_ae_students": "student_id VARCHAR, program_type VARCHAR, diploma_at_entry BOOLEAN, section_225 BOOLEAN",
    "stg_ae_attendance": "student_id VARCHAR, class_id VARCHAR, class_date DATE, hours DOUBLE",
    "stg_ae_assessments": "assessment_id VARCHAR, student_id VARCHAR, test_date DATE, efl VARCHAR",
    "stg_ae_outcomes": "outcome_id VARCHAR, student_id VARCHAR, outcome_type VARCHAR, outcome_date DATE, "
    "credential_code VARCHAR",
    "stg_ui_wages": "ssn VARCHAR, employer_account VARCHAR, employer_fein VARCHAR, year BIGINT, "
    "quarter BIGINT, wages DECIMAL(15, 2)",
    "customer_identity": "customer_id BIGINT, ssn VARCHAR",
}
_SYSTEM = {
    "ADULT": "title1",
    "DW": "title1",
    "YOUTH": "title1",
    "WP": "wp",
    "ADULT_ED": "adult_ed",
    "VR": "vr",
}


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


class State:
    """A tiny warehouse: participation, staged sources, identities and wages, built by hand."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.con.execute(sql("periods/ddl.sql"))
        for table, cols in _STAGED.items():
            self.con.execute(f"CREATE TABLE {table} ({cols})")
        self.n = 0

    def person(self, customer_id: int, ssn: str | None = None) -> None:
        ssn = ssn or f"{customer_id:09d}"
        self.con.execute("INSERT INTO customer_identity VALUES (?, ?)", [customer_id, ssn])

    def period(
        self,
        customer_id: int,
        program: str,
        entry: str,
        exit: str | None,
        reason: str | None = None,
        **kw: Any,
    ) -> str:
        """A period (and its case or student record); returns its record id."""
        self.n += 1
        rid = kw.pop("record_id", f"R{self.n}")
        system = _SYSTEM[program]
        row: dict[str, Any] = {
            "period_id": f"{program}:{rid}:{self.n}",
            "customer_id": customer_id,
            "program": program,
            "source_system": system,
            "source_record_id": rid,
            "entry_date": d(entry),
            "exit_date": d(exit) if exit else None,
            "program_exit_date": d(exit) if exit else None,
            "last_service_date": d(exit) if exit else None,
            "exit_reason": reason,
            "as_of": AS_OF,
            **kw,
        }
        cols = ", ".join(row)
        self.con.execute(
            f"INSERT INTO participation ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )
        if system == "title1":
            self.con.execute(
                "INSERT INTO stg_t1_participation VALUES (?, ?, ?, ?)",
                [rid, program, kw.get("training_type", "00"), kw.get("youth_in_school", False)],
            )
        elif system == "vr":
            self.con.execute(
                "INSERT INTO stg_vr_cases VALUES (?, ?)", [rid, kw.get("in_education_or_training", False)]
            )
        elif system == "adult_ed":
            self.con.execute(
                "INSERT INTO stg_ae_students VALUES (?, ?, ?, ?)",
                [
                    rid,
                    kw.get("ae_program_type", "ABE"),
                    kw.get("ae_diploma_at_entry", False),
                    kw.get("ae_section_225", False),
                ],
            )
        return str(rid)

    def wage(self, customer_id: int, year: int, quarter: int, amount: float, fein: str = "F1") -> None:
        self.con.execute(
            "INSERT INTO stg_ui_wages VALUES (?, ?, ?, ?, ?, ?)",
            [f"{customer_id:09d}", "A" + fein, fein, year, quarter, amount],
        )

    def outcome(self, table: str, values: list[Any]) -> None:
        self.n += 1
        holes = ", ".join("?" * (len(values) + 1))
        self.con.execute(f"INSERT INTO {table} VALUES ({holes})", [f"O{self.n}", *values])

    def run(self, quarters: tuple[tuple[int, int], ...] = ALL_QUARTERS, **kw: Any) -> pd.DataFrame:
        build_wages(self.con)
        return build_indicators(self.con, AS_OF, IndicatorSettings(delivered_wage_quarters=quarters, **kw))


@pytest.fixture
def st() -> Iterator[State]:
    s = State()
    yield s
    s.con.close()


def cell(df: pd.DataFrame, program: str, py: int, indicator: str) -> dict[str, Any]:
    rows = df[(df["program"] == program) & (df["program_year"] == py) & (df["indicator"] == indicator)]
    assert len(rows) == 1, (program, py, indicator, len(rows))
    r = rows.iloc[0]
    num = None if pd.isna(r["numerator"]) else int(r["numerator"])
    return {"num": num, "den": int(r["denominator"]), "pend": int(r["pending"]), "value": float(r["value"])}


def absent(df: pd.DataFrame, program: str, py: int, indicator: str) -> bool:
    return df[(df["program"] == program) & (df["program_year"] == py) & (df["indicator"] == indicator)].empty


# --------------------------------------------------------------------------- wages


def test_wages_sum_employers_match_on_the_best_ssn_and_carry_no_ssn(st: State) -> None:
    st.person(1)
    st.wage(1, 2024, 1, 100.25, "F1")
    st.wage(1, 2024, 1, 50.00, "F2")
    st.wage(1, 2024, 1, 10.00, "F2")
    st.wage(2, 2024, 1, 999.0)  # an SSN no customer holds
    stats = build_wages(st.con)
    assert stats["customers_with_wages"] == 1
    rows = st.con.execute("SELECT * FROM wages_by_customer_quarter").df()
    assert "ssn" not in rows.columns
    assert rows[["customer_id", "year", "quarter"]].values.tolist() == [[1, 2024, 1]]
    assert float(rows["wages"].iloc[0]) == 160.25 and int(rows["employers"].iloc[0]) == 2
    emp = st.con.execute(
        "SELECT employer_fein, wages FROM wages_by_customer_employer_quarter ORDER BY 1"
    ).fetchall()
    assert [(f, float(w)) for f, w in emp] == [("F1", 100.25), ("F2", 60.0)]
    assert "ssn" not in st.con.execute("SELECT * FROM wages_by_customer_employer_quarter").df().columns


def test_wage_quarters_available_from_the_audit_else_the_staged_table(st: State) -> None:
    st.wage(1, 2024, 2, 1.0)
    st.wage(1, 2024, 3, 1.0)
    assert wage_quarters_available(st.con) == [(2024, 2), (2024, 3)]
    st.con.execute(
        "CREATE TABLE load_audit AS SELECT * FROM (VALUES "
        "('ui_wages', '2024Q2', 'LOADED'), ('ui_wages', '2024Q3', 'REJECTED'), ('title1', '20240701', 'LOADED')"
        ") AS t(file_type, drop_name, status)"
    )
    assert wage_quarters_available(st.con) == [(2024, 2)]


# --------------------------------------------------------------------------- employment


def test_emp_q2_and_q4_cohort_windows_at_program_year_edges(st: State) -> None:
    for c in range(1, 8):
        st.person(c)
    st.period(1, "WP", "2023-01-05", "2023-06-30")  # Q2 PY2023 (2023Q4); Q4 PY2024 (2024Q2)
    st.period(2, "WP", "2023-02-01", "2023-07-01")  # Q2 PY2024 (2024Q1); Q4 PY2024 (2024Q3)
    st.period(3, "WP", "2024-01-10", "2024-06-30")  # Q2 PY2024 (2024Q4); Q4 PY2025: not yet reported
    st.period(4, "WP", "2024-03-01", "2024-07-01")  # Q2 PY2025: after the as-of year, no row
    st.period(5, "WP", "2022-06-01", "2022-12-31")  # Q4 PY2023 (2023Q4)
    st.period(6, "WP", "2022-10-01", "2023-01-01")  # Q2 PY2023 (2023Q3); Q4 PY2024 (2024Q1)
    st.period(7, "WP", "2023-10-01", "2023-12-31")  # Q4 PY2024 (2024Q4); Q2 PY2024 (2024Q2)
    st.wage(1, 2023, 4, 500)
    st.wage(1, 2024, 2, 500)
    st.wage(2, 2024, 1, 800)
    st.wage(2, 2023, 4, 900)  # Q1 after exit: not the Q2 the rate asks about
    st.wage(3, 2024, 3, 700)  # Q1 after exit only
    st.wage(5, 2023, 4, 100)
    st.wage(7, 2024, 2, 300)
    df = st.run()
    # EMP_Q2: PY2023 exits 2022-07-01..2023-06-30 = {5, 6, 1}; PY2024 exits 2023-07-01..2024-06-30 = {2, 7, 3}
    assert cell(df, "WP", 2023, "EMP_Q2") == {"num": 1, "den": 3, "pend": 0, "value": 1 / 3}
    assert cell(df, "WP", 2024, "EMP_Q2") == {"num": 2, "den": 3, "pend": 0, "value": 2 / 3}
    assert absent(df, "WP", 2025, "EMP_Q2")
    # EMP_Q4: PY2023 exits in 2022 = {5}; PY2024 exits in 2023 = {1, 2, 6, 7}
    assert cell(df, "WP", 2023, "EMP_Q4") == {"num": 1, "den": 1, "pend": 0, "value": 1.0}
    assert cell(df, "WP", 2024, "EMP_Q4") == {"num": 1, "den": 4, "pend": 0, "value": 0.25}


def test_an_undelivered_wage_quarter_is_pending_not_unemployed(st: State) -> None:
    for c in (1, 2):
        st.person(c)
    st.period(1, "DW", "2024-01-10", "2024-06-30")  # Q2 = 2024Q4
    st.period(2, "DW", "2023-09-01", "2023-12-15")  # Q2 = 2024Q2, Q4 = 2024Q4
    st.wage(2, 2024, 2, 400)
    quarters = tuple(q for q in ALL_QUARTERS if q != (2024, 4))
    df = st.run(quarters)
    assert cell(df, "DW", 2024, "EMP_Q2") == {"num": 1, "den": 1, "pend": 1, "value": 1.0}
    q4 = cell(df, "DW", 2024, "EMP_Q4")  # the only exiter is pending: no rate yet
    assert (q4["num"], q4["den"], q4["pend"]) == (0, 0, 1) and math.isnan(q4["value"])
    # once the file arrives the same exiter is counted, here as not employed
    df = st.run()
    assert cell(df, "DW", 2024, "EMP_Q2") == {"num": 1, "den": 2, "pend": 0, "value": 0.5}


def test_excluded_exit_reasons(st: State) -> None:
    for c in range(1, 7):
        st.person(c)
        st.wage(c, 2024, 1, 100)
    st.period(1, "ADULT", "2023-01-01", "2023-08-01")  # counted
    st.period(2, "ADULT", "2023-01-01", "2023-08-01", "03")  # deceased: out for every program
    st.period(3, "ADULT", "2023-01-01", "2023-08-01", "06")  # foster care: Youth only
    st.period(4, "YOUTH", "2023-01-01", "2023-08-01", "06")  # out
    st.period(5, "VR", "2023-01-01", "2023-08-01", "04")  # found ineligible: VR only -> out
    st.period(6, "ADULT", "2023-01-01", "2023-08-01", "04")  # counted
    df = st.run()
    assert cell(df, "ADULT", 2024, "EMP_Q2")["den"] == 3
    assert absent(df, "YOUTH", 2024, "EMP_Q2") and absent(df, "VR", 2024, "EMP_Q2")


def test_section_225_learners_leave_employment_but_stay_in_msg(st: State) -> None:
    st.person(1)
    st.period(1, "ADULT_ED", "2023-09-01", "2023-11-01", ae_section_225=True, ae_program_type="ASE")
    st.period(1, "ADULT_ED", "2023-09-01", "2023-11-02", record_id="S2")
    df = st.run()
    assert cell(df, "ADULT_ED", 2024, "EMP_Q2")["den"] == 1
    assert cell(df, "ADULT_ED", 2023, "MSG")["den"] == 2


def test_median_earnings_even_count_takes_the_mean_of_the_middle_two(st: State) -> None:
    amounts = {1: 1000.0, 2: 2000.0, 3: 3000.0, 4: 10000.0, 5: 0.0}
    for c, amount in amounts.items():
        st.person(c)
        st.period(c, "ADULT", "2023-05-01", "2023-08-15")  # Q2 after exit = 2024Q1
        if amount:
            st.wage(c, 2024, 1, amount / 2, "F1")
            st.wage(c, 2024, 1, amount / 2, "F2")  # two employers: the total counts
    st.wage(5, 2024, 1, 0.0)  # a zero row is not employment
    df = st.run()
    assert cell(df, "ADULT", 2024, "EMP_Q2") == {"num": 4, "den": 5, "pend": 0, "value": 0.8}
    med = cell(df, "ADULT", 2024, "MEDIAN_EARNINGS_Q2")
    assert med == {"num": None, "den": 4, "pend": 0, "value": 2500.0}
    assert bool(df.loc[df["indicator"] == "MEDIAN_EARNINGS_Q2", "suppressed"].iloc[0])  # 4 < 10


def test_youth_in_education_in_the_quarter_counts_adult_does_not(st: State) -> None:
    for c in (1, 2, 3):
        st.person(c)
    y = st.period(1, "YOUTH", "2023-01-01", "2023-08-15")  # Q2 after exit = 2024Q1
    a = st.period(2, "ADULT", "2023-01-01", "2023-08-15")
    y2 = st.period(3, "YOUTH", "2023-01-01", "2023-08-15")
    st.outcome("stg_t1_outcomes", [y, "POST_EXIT_EDUCATION", "1", d("2024-02-10")])
    st.outcome("stg_t1_outcomes", [a, "POST_EXIT_EDUCATION", "1", d("2024-02-10")])
    st.outcome("stg_t1_outcomes", [y2, "POST_EXIT_EDUCATION", "1", d("2024-04-01")])  # 2024Q2: not Q2
    df = st.run()
    assert cell(df, "YOUTH", 2024, "EMP_Q2")["num"] == 1
    assert cell(df, "ADULT", 2024, "EMP_Q2")["num"] == 0
    assert cell(df, "YOUTH", 2024, "MEDIAN_EARNINGS_Q2")["den"] == 0  # employed by wages only
    df = st.run(youth_education_counts=False)
    assert cell(df, "YOUTH", 2024, "EMP_Q2")["num"] == 0


# --------------------------------------------------------------------------- credential


def test_credential_denominator_and_numerator(st: State) -> None:
    for c in range(1, 10):
        st.person(c)
    cy = "2023-03-01", "2023-09-30"  # exit in 2023: PY2024 cohort
    t_post = st.period(1, "ADULT", *cy, training_type="02")  # in; postsecondary after exit
    st.period(2, "ADULT", *cy, training_type="01")  # OJT: not in the denominator
    t_sec = st.period(3, "YOUTH", *cy, youth_in_school=True)  # in; diploma but no job/school: no
    t_sec_job = st.period(4, "YOUTH", *cy, youth_in_school=True)  # in; diploma and a job: yes
    ase = st.period(5, "ADULT_ED", *cy, ae_program_type="ASE")  # in (no diploma at entry)
    st.period(6, "ADULT_ED", *cy, ae_program_type="ASE", ae_diploma_at_entry=True)  # not in
    st.period(7, "ADULT_ED", *cy, ae_program_type="ABE")  # not in
    st.period(8, "WP", *cy)  # never computed for WP
    late = st.period(9, "DW", *cy, training_type="03")  # in; credential more than a year after exit
    st.outcome("stg_t1_outcomes", [t_post, "CREDENTIAL", "4", d("2024-09-30")])  # exit + 1 year: inside
    st.outcome("stg_t1_outcomes", [t_sec, "CREDENTIAL", "1", d("2023-06-01")])
    st.outcome("stg_t1_outcomes", [t_sec_job, "CREDENTIAL", "1", d("2023-06-01")])
    st.wage(4, 2024, 3, 250)  # Q4 after exit
    st.outcome("stg_ae_outcomes", [ase, "HSE", d("2023-09-01"), None])
    st.outcome("stg_ae_outcomes", [ase, "POSTSECONDARY_ENROLLMENT", d("2024-01-15"), None])
    st.outcome("stg_t1_outcomes", [late, "CREDENTIAL", "4", d("2024-10-01")])
    df = st.run()
    assert cell(df, "ADULT", 2024, "CREDENTIAL") == {"num": 1, "den": 1, "pend": 0, "value": 1.0}
    assert cell(df, "YOUTH", 2024, "CREDENTIAL") == {"num": 1, "den": 2, "pend": 0, "value": 0.5}
    assert cell(df, "ADULT_ED", 2024, "CREDENTIAL") == {"num": 1, "den": 1, "pend": 0, "value": 1.0}
    assert cell(df, "DW", 2024, "CREDENTIAL") == {"num": 0, "den": 1, "pend": 0, "value": 0.0}
    assert absent(df, "WP", 2024, "CREDENTIAL")
    # pending while Q4 after exit (2024Q3) is undelivered
    df = st.run(tuple(q for q in ALL_QUARTERS if q != (2024, 3)))
    assert cell(df, "YOUTH", 2024, "CREDENTIAL")["pend"] == 2


def test_graduate_degree_counts_for_vr_only(st: State) -> None:
    st.person(1)
    vr = st.period(1, "VR", "2022-01-01", "2023-05-01", in_education_or_training=True)
    st.outcome("stg_vr_outcomes", [vr, "CREDENTIAL", "8", d("2023-04-01")])
    assert cell(st.run(), "VR", 2024, "CREDENTIAL")["num"] == 1
    assert cell(st.run(graduate_programs=()), "VR", 2024, "CREDENTIAL")["num"] == 0


# --------------------------------------------------------------------------- MSG


def test_msg_once_per_period_per_program_year(st: State) -> None:
    st.person(1)
    st.person(2)
    s = st.period(1, "ADULT_ED", "2023-03-01", "2023-10-15")  # spans PY2022 and PY2023
    st.con.execute(
        "INSERT INTO stg_ae_assessments VALUES ('A1', ?, DATE '2023-03-02', '2'), "
        "('A2', ?, DATE '2023-08-01', '3'), ('A3', ?, DATE '2023-09-01', '4')",
        [s, s, s],
    )
    t = st.period(2, "DW", "2023-01-01", None, training_type="02", training_start_date=d("2023-02-01"))
    st.outcome("stg_t1_outcomes", [t, "SKILL_GAIN", "1", d("2024-08-01")])
    df = st.run()
    # two gains in PY2023 count once; PY2022 has the pre-test only
    assert cell(df, "ADULT_ED", 2022, "MSG") == {"num": 0, "den": 1, "pend": 0, "value": 0.0}
    assert cell(df, "ADULT_ED", 2023, "MSG") == {"num": 1, "den": 1, "pend": 0, "value": 1.0}
    # an open training span runs to the as-of date: PY2022, PY2023, PY2024; the gain is in PY2024
    assert [cell(df, "DW", py, "MSG")["num"] for py in (2022, 2023, 2024)] == [0, 0, 1]
    assert absent(df, "WP", 2023, "MSG")


# --------------------------------------------------------------------------- retention


def test_retention_same_employer_statewide_once_per_customer(st: State) -> None:
    for c in range(1, 6):
        st.person(c)
    # 1: F1 in Q2 and Q4 -> retained; two exits in 2023 count once, at the latest (2023-08-10)
    st.period(1, "WP", "2023-01-01", "2023-02-10")
    st.period(1, "ADULT", "2023-03-01", "2023-08-10")  # Q2 = 2024Q1, Q4 = 2024Q3
    st.wage(1, 2024, 1, 100, "F1")
    st.wage(1, 2024, 3, 100, "F1")
    # 2: F1 in Q2, F2 in Q4 -> not retained
    st.period(2, "DW", "2023-01-01", "2023-08-10")
    st.wage(2, 2024, 1, 100, "F1")
    st.wage(2, 2024, 3, 100, "F2")
    # 3: several employers, one of them in both quarters -> retained
    st.period(3, "VR", "2023-01-01", "2023-08-10")
    st.wage(3, 2024, 1, 100, "F1")
    st.wage(3, 2024, 1, 100, "F3")
    st.wage(3, 2024, 3, 100, "F3")
    # 4: not employed in Q2 -> not in the denominator
    st.period(4, "WP", "2023-01-01", "2023-08-10")
    st.wage(4, 2024, 3, 100, "F1")
    # 5: excluded exit
    st.period(5, "ADULT", "2023-01-01", "2023-08-10", "03")
    st.wage(5, 2024, 1, 100, "F1")
    st.wage(5, 2024, 3, 100, "F1")
    df = st.run()
    assert cell(df, "ALL", 2024, "RETENTION_SAME_EMPLOYER") == {"num": 2, "den": 3, "pend": 0, "value": 2 / 3}
    assert set(df.loc[df["indicator"] == "RETENTION_SAME_EMPLOYER", "program"]) == {"ALL"}
    # Q4 (2024Q3) not yet delivered: the Q2-employed are pending, the Q2-unemployed are settled
    df = st.run(tuple(q for q in ALL_QUARTERS if q != (2024, 3)))
    assert cell(df, "ALL", 2024, "RETENTION_SAME_EMPLOYER")["pend"] == 3
    assert cell(df, "ALL", 2024, "RETENTION_SAME_EMPLOYER")["den"] == 0


def test_published_shape_and_suppression(st: State) -> None:
    st.person(1)
    st.period(1, "WP", "2023-01-01", "2023-08-10")
    st.wage(1, 2024, 1, 100)
    df = st.run(suppression_threshold=1)
    assert list(df.columns) == [
        "program",
        "program_year",
        "indicator",
        "numerator",
        "denominator",
        "pending",
        "value",
        "suppressed",
    ]
    assert not df["suppressed"].any()
    assert st.con.execute("SELECT count(*) FROM indicators").fetchall()[0][0] == len(df)
    assert st.run()["suppressed"].all()


# --------------------------------------------------------------------------- quarterly and breakdowns


def test_rolling_quarters_take_the_same_windows_at_the_same_lags(st: State) -> None:
    st.person(1)
    st.person(2)
    st.period(1, "WP", "2023-01-05", "2023-08-15")  # exit 2023Q3: Q2 after exit 2024Q1, Q4 2024Q3
    st.period(2, "WP", "2023-01-05", "2023-10-02")  # exit 2023Q4: Q2 after exit 2024Q2 (no wages)
    st.wage(1, 2024, 1, 500)
    st.wage(1, 2024, 3, 500)
    tables = build_indicator_tables_for(st)
    q = tables.quarterly
    emp2 = q[(q["program"] == "WP") & (q["indicator"] == "EMP_Q2")].set_index("report_quarter")
    # lag 4: report quarter R counts exits in R-7..R-4. Exit 2023Q3 is in R = 2024Q3..2025Q2, exit
    # 2023Q4 in R = 2024Q4..2025Q3 (2025Q3 is after the as-of quarter 2025Q2: no row).
    assert list(emp2.index) == ["2024Q3", "2024Q4", "2025Q1", "2025Q2"]
    assert emp2.loc["2024Q3", ["numerator", "denominator"]].tolist() == [1, 1]
    assert emp2.loc["2024Q4", ["numerator", "denominator"]].tolist() == [1, 2]
    assert (emp2.loc["2024Q3", "cohort_start"], emp2.loc["2024Q3", "cohort_end"]) == (
        d("2022-10-01"),
        d("2023-09-30"),
    )
    # the PY2024 annual report is the rolling window of 2025Q2: exits 2023-07-01 .. 2024-06-30
    assert emp2.loc["2025Q2", "cohort_start"] == d("2023-07-01")
    annual = cell(tables.annual, "WP", 2024, "EMP_Q2")
    assert (annual["num"], annual["den"]) == tuple(emp2.loc["2025Q2", ["numerator", "denominator"]])
    # lag 6 for Q4: exit 2023Q3 is in R = 2025Q1..2025Q4
    emp4 = q[(q["program"] == "WP") & (q["indicator"] == "EMP_Q4")]
    assert emp4["report_quarter"].tolist() == ["2025Q1", "2025Q2"]


def build_indicator_tables_for(st: State, **kw: Any) -> IndicatorTables:
    build_wages(st.con)
    return build_indicator_tables(
        st.con, AS_OF, IndicatorSettings(delivered_wage_quarters=ALL_QUARTERS, **kw)
    )


def test_the_lag_labels_match_the_sql_rule(st: State) -> None:
    st.con.execute(sql("indicators/macros.sql"))
    for indicator, lag in COHORT_LAG_QUARTERS.items():
        assert st.con.execute("SELECT ind_lag(?)", [indicator]).fetchall()[0][0] == lag, indicator


def _characteristics(st: State, rows: dict[str, dict[str, str]]) -> None:
    cols = ", ".join(f"{c} VARCHAR" for c in BREAKDOWN_DIMENSIONS)
    st.con.execute(f"CREATE OR REPLACE TABLE period_characteristics (period_id VARCHAR, {cols})")
    for period_id, chars in rows.items():
        values = [chars.get(c, "NOT_REPORTED") for c in BREAKDOWN_DIMENSIONS]
        st.con.execute(
            f"INSERT INTO period_characteristics VALUES (?, {', '.join('?' * len(values))})",
            [period_id, *values],
        )


def test_breakdowns_add_up_and_protect_small_cells(st: State) -> None:
    # 14 Adult exiters in PY2024's Q2 cohort: 9 women (6 employed), 4 men (all employed), 1 not reported
    sexes = ["F"] * 9 + ["M"] * 4 + ["U"]
    employed = [True] * 6 + [False] * 3 + [True] * 4 + [False]
    chars = {}
    for c, (sex, job) in enumerate(zip(sexes, employed, strict=True), start=1):
        st.person(c)
        st.period(c, "ADULT", "2023-01-05", "2023-08-15")
        if job:
            st.wage(c, 2024, 1, 1000)
        chars[f"ADULT:R{c}:{c}"] = {"sex": sex, "veteran": "YES" if c <= 2 else "NO"}
    _characteristics(st, chars)
    b = build_indicator_tables_for(st, suppression_threshold=3).breakdowns
    emp = b[(b["indicator"] == "EMP_Q2") & (b["program_year"] == 2024)]
    by_sex = emp[emp["breakdown"] == "sex"].set_index("category")
    assert by_sex.loc["F", ["numerator", "denominator"]].tolist() == [6, 9]
    assert by_sex.loc["M", ["numerator", "denominator"]].tolist() == [4, 4]
    assert by_sex.loc["ALL", ["numerator", "denominator"]].tolist() == [10, 14]
    # U rests on one person (< 3): suppressed; ALL - F - M would give it back, so the smallest
    # other published cell (M, 4) goes too. F and ALL stay.
    assert by_sex["suppressed"].to_dict() == {"ALL": False, "F": False, "M": True, "U": True}
    vet = emp[emp["breakdown"] == "veteran"].set_index("category")
    # veterans 2 (< 3) and non-veterans 12: the only other cell is the total itself -> it goes too,
    # and since ALL is shared by every breakdown, it is suppressed in the sex breakdown as well.
    assert vet.loc["YES", "suppressed"] and vet.loc["NO", "suppressed"]
    assert vet.loc["ALL", "suppressed"] == by_sex.loc["ALL", "suppressed"]
    # every breakdown's categories add up to its ALL row
    for _, part in emp[emp["category"] != "ALL"].groupby("breakdown"):
        assert part["denominator"].sum() == 14


# --------------------------------------------------------------------------- exactness on the demo tier


@dataclass
class Demo:
    con: duckdb.DuckDBPyConnection
    truth: Path
    as_of: dt.date
    real: Path  # a copy of the ingested warehouse before the truth crosswalk, for the real linkage


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo tier ingested, linked by the truth's crosswalk (person_id = customer_id), with periods
    and wages built: linkage is perfect, so any difference is in the indicator rules."""
    from warehouse.ingest import ingest
    from warehouse.periods import build_periods
    from warehouse.persons import build_person_records

    out = tmp_path_factory.mktemp("indicators_demo")
    cmd = [sys.executable, "-m", "synthetic", "--tier", "demo", "--seed", "42", "--out", str(out / "gen")]
    subprocess.run(cmd, cwd=REPO_ROOT, check=True, capture_output=True)
    truth = out / "gen" / "truth"
    ingest(out / "gen" / "landing", out / "wh")
    con = duckdb.connect(str(next((out / "wh").glob("*.duckdb"))))
    as_of = dt.date.fromisoformat(json.loads((truth / "manifest.json").read_text())["cutoff"])
    build_person_records(con)
    con.execute("CHECKPOINT")
    (out / "wh_real").mkdir()
    shutil.copy(next((out / "wh").glob("*.duckdb")), out / "wh_real" / "restricted.duckdb")
    records = pd.read_parquet(truth / "person_records.parquet")
    xref = records.loc[records["person_id"] >= 0, ["source_system", "source_record_id", "person_id"]]
    xref = xref.drop_duplicates(["source_system", "source_record_id"])
    people = pd.read_parquet(truth / "people.parquet")[["person_id", "ssn"]]
    con.register("truth_xref", xref)
    con.register("truth_people", people)
    # the best SSN of a customer is the person's true SSN: wages match when the employer reported it,
    # which is the reference's wage_match="reported_ssn"
    con.execute(
        "CREATE OR REPLACE TABLE customer_xref AS SELECT source_system, source_record_id::VARCHAR AS "
        "source_record_id, person_id::BIGINT AS customer_id FROM truth_xref"
    )
    con.execute(
        "CREATE OR REPLACE TABLE customer_identity AS "
        "SELECT person_id::BIGINT AS customer_id, ssn::VARCHAR AS ssn FROM truth_people"
    )
    build_periods(con, as_of)
    build_wages(con)
    yield Demo(con, truth, as_of, out / "wh_real")
    con.close()
    shutil.rmtree(out, ignore_errors=True)


def _differences(mine: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    m = mine.drop(columns=["suppressed"]).merge(
        ref, on=KEY, how="outer", suffixes=("", "_ref"), indicator=True
    )
    num = m["numerator"].astype("Float64").fillna(-1) != m["numerator_ref"].astype("Float64").fillna(-1)
    same_value = (m["value"] == m["value_ref"]) | (m["value"].isna() & m["value_ref"].isna())
    bad = (
        (m["_merge"] != "both")
        | num
        | (m["denominator"] != m["denominator_ref"])
        | (m["pending"] != m["pending_ref"])
        | ~same_value
    )
    return m[bad.fillna(True)]


@pytest.mark.slow
def test_demo_tier_equals_the_reference_exactly(demo: Demo) -> None:
    assert wage_quarters_available(demo.con)[-1] == (2025, 1)
    mine = build_indicators(demo.con, demo.as_of)
    ref = reference_indicators(demo.truth, ReferenceSettings(wage_match="reported_ssn"))
    assert len(mine) == len(ref) > 80
    diff = _differences(mine, ref)
    assert diff.empty, diff.to_string()


@pytest.mark.slow
def test_demo_tier_equals_the_reference_with_pending_quarters(demo: Demo) -> None:
    """Wage files for 2024Q3 onwards not yet arrived: the pending counts must agree too."""
    quarters = tuple(q for q in wage_quarters_available(demo.con) if q < (2024, 3))
    labels = frozenset(f"{y}Q{q}" for y, q in quarters)
    mine = build_indicators(demo.con, demo.as_of, IndicatorSettings(delivered_wage_quarters=quarters))
    ref = reference_indicators(
        demo.truth, ReferenceSettings(wage_match="reported_ssn", delivered_wage_quarters=labels)
    )
    assert (mine["pending"] > 0).sum() > 10
    diff = _differences(mine, ref)
    assert diff.empty, diff.to_string()


@pytest.mark.slow
def test_demo_tier_annual_is_the_rolling_window_of_each_second_quarter(demo: Demo) -> None:
    tables = build_indicator_tables(demo.con, demo.as_of)
    q = tables.quarterly
    at_q2 = q[q["report_quarter"].str.endswith("Q2")].assign(
        program_year=lambda f: f["report_quarter"].str[:4].astype(int) - 1
    )
    merged = tables.annual.merge(at_q2, on=KEY, suffixes=("", "_q"))
    # every annual row whose report quarter has come (PY N ends in quarter 2 of N+1) is there
    assert len(merged) == (tables.annual["program_year"] + 1 <= demo.as_of.year).sum() > 60
    for col in ("denominator", "pending"):
        assert (merged[col] == merged[f"{col}_q"]).all(), col
    assert (merged["numerator"].fillna(-1) == merged["numerator_q"].fillna(-1)).all()
    assert np.allclose(merged["value"], merged["value_q"], equal_nan=True)


@pytest.mark.slow
def test_demo_tier_with_the_real_linkage_is_within_one_point_of_the_reference(demo: Demo) -> None:
    """The same landing zone linked by Splink instead of the truth: every rate within 1 percentage
    point of the reference, every median within 1 %, the cohorts within 1 % of their size. The
    reference gives wages to the people whose true SSN some record of theirs delivered (record_ssn):
    no linkage can find wages for a learner who never gave an SSN to any program."""
    from warehouse.linkage import link
    from warehouse.periods import build_periods

    con = duckdb.connect(str(demo.real / "restricted.duckdb"))
    try:
        link(con, demo.real, demo.as_of, "test-real-linkage")
        build_periods(con, demo.as_of)
        build_wages(con)
        mine = build_indicators(con, demo.as_of)
    finally:
        con.close()
    ref = reference_indicators(demo.truth, ReferenceSettings(wage_match="record_ssn"))
    m = mine.merge(ref, on=KEY, how="outer", suffixes=("", "_ref"), indicator=True)
    assert (m["_merge"] == "both").all(), m[m["_merge"] != "both"].to_string()
    rates = m[m["indicator"] != "MEDIAN_EARNINGS_Q2"]
    gap = (rates["value"] - rates["value_ref"]).abs()
    assert (gap.fillna(0) <= 0.01).all(), rates[gap > 0.01].to_string()
    medians = m[m["indicator"] == "MEDIAN_EARNINGS_Q2"]
    rel = ((medians["value"] - medians["value_ref"]) / medians["value_ref"]).abs()
    assert (rel.fillna(0) <= 0.01).all(), medians[rel > 0.01].to_string()
    size = (m["denominator"] + m["pending"] - m["denominator_ref"] - m["pending_ref"]).abs()
    assert (size <= np.maximum(1, 0.01 * m["denominator_ref"])).all(), m[size > 1].to_string()
