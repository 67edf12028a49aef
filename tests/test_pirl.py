"""The PIRL-shaped per-period table and its CSV: hand-made tables, hand-worked expectations."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from warehouse.outcomes import build_wages
from warehouse.pirl import PirlSettings, build_pirl, write_pirl_csv
from warehouse.sql import sql

AS_OF = dt.date(2025, 6, 30)
# Wage files 2022Q1 .. 2024Q4 have arrived; 2025Q1 onward have not.
DELIVERED = tuple((y, q) for y in range(2022, 2025) for q in range(1, 5))

_TABLES = {
    "customer_identity": "customer_id BIGINT, ssn VARCHAR, birth_date DATE, sex VARCHAR",
    "customer_xref": "source_system VARCHAR, source_record_id VARCHAR, customer_id BIGINT",
    "person_records": "source_system VARCHAR, source_record_id VARCHAR, ssn VARCHAR, birth_date DATE, "
    "sex VARCHAR",
    "stg_ui_wages": "ssn VARCHAR, employer_account VARCHAR, employer_fein VARCHAR, year BIGINT, "
    "quarter BIGINT, wages DECIMAL(15, 2)",
    "stg_t1_outcomes": "outcome_id VARCHAR, participation_id VARCHAR, outcome_type VARCHAR, "
    "outcome_code VARCHAR, outcome_date DATE",
    "stg_vr_outcomes": "outcome_id VARCHAR, case_id VARCHAR, outcome_type VARCHAR, outcome_code VARCHAR, "
    "outcome_date DATE",
    "stg_ae_students": "student_id VARCHAR",
    "stg_ae_attendance": "student_id VARCHAR, class_id VARCHAR, class_date DATE, hours DOUBLE",
    "stg_ae_assessments": "assessment_id VARCHAR, student_id VARCHAR, test_date DATE, efl VARCHAR",
    "stg_ae_outcomes": "outcome_id VARCHAR, student_id VARCHAR, outcome_type VARCHAR, outcome_date DATE, "
    "credential_code VARCHAR",
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


def ssn_of(customer_id: int) -> str:
    """A valid-looking SSN (area 5xx) that no date, wage or id in these tests spells."""
    return f"5{customer_id:02d}{customer_id:02d}{4321 + customer_id:04d}"


class State:
    """A tiny restricted warehouse: participation, identities, wages and staged outcomes."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.con.execute(sql("periods/ddl.sql"))
        for table, cols in _TABLES.items():
            self.con.execute(f"CREATE TABLE {table} ({cols})")
        self.n = 0
        self.people: set[int] = set()

    def person(self, customer_id: int, birth: str | None = "1980-01-01", sex: str | None = "F") -> None:
        self.people.add(customer_id)
        self.con.execute(
            "INSERT INTO customer_identity VALUES (?, ?, ?, ?)",
            [customer_id, ssn_of(customer_id), d(birth) if birth else None, sex],
        )

    def period(
        self,
        customer_id: int | None,
        program: str,
        entry: str,
        exit: str | None,
        reason: str | None = None,
        **kw: Any,
    ) -> str:
        """A period; returns its period_id. Its record id is `record_id=` or a fresh one."""
        if customer_id is not None and customer_id not in self.people:
            self.person(customer_id)
        self.n += 1
        rid = kw.pop("record_id", f"R{self.n}")
        system = _SYSTEM[program]
        pid = f"{program}:{rid}:{entry.replace('-', '')}"
        row: dict[str, Any] = {
            "period_id": pid,
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
            **{k: d(v) if k.endswith("_date") else v for k, v in kw.items()},
        }
        cols = ", ".join(row)
        self.con.execute(
            f"INSERT INTO participation ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )
        if customer_id is not None:
            self.con.execute("INSERT INTO customer_xref VALUES (?, ?, ?)", [system, rid, customer_id])
        if system == "adult_ed":
            self.con.execute("INSERT INTO stg_ae_students VALUES (?)", [rid])
        return pid

    def wage(self, customer_id: int, year: int, quarter: int, amount: float, fein: str = "F1") -> None:
        self.con.execute(
            "INSERT INTO stg_ui_wages VALUES (?, ?, ?, ?, ?, ?)",
            [ssn_of(customer_id), "A" + fein, fein, year, quarter, amount],
        )

    def t1(self, participation_id: str, kind: str, code: str | None, date: str) -> None:
        self.n += 1
        self.con.execute(
            "INSERT INTO stg_t1_outcomes VALUES (?, ?, ?, ?, ?)",
            [f"O{self.n}", participation_id, kind, code, d(date)],
        )

    def vr(self, case_id: str, kind: str, code: str, date: str) -> None:
        self.n += 1
        self.con.execute(
            "INSERT INTO stg_vr_outcomes VALUES (?, ?, ?, ?, ?)", [f"O{self.n}", case_id, kind, code, d(date)]
        )

    def ae(self, student_id: str, kind: str, date: str, code: str | None = None) -> None:
        self.n += 1
        self.con.execute(
            "INSERT INTO stg_ae_outcomes VALUES (?, ?, ?, ?, ?)",
            [f"O{self.n}", student_id, kind, d(date), code],
        )

    def test(self, student_id: str, date: str, efl: int) -> None:
        self.n += 1
        self.con.execute(
            "INSERT INTO stg_ae_assessments VALUES (?, ?, ?, ?)",
            [f"A{self.n}", student_id, d(date), str(efl)],
        )

    def run(self, quarters: tuple[tuple[int, int], ...] = DELIVERED) -> dict[str, int]:
        build_wages(self.con)
        return build_pirl(self.con, AS_OF, PirlSettings(delivered_wage_quarters=quarters))

    def row(self, period_id: str) -> dict[str, Any]:
        cur = self.con.execute("SELECT * FROM pirl WHERE period_id = ?", [period_id])
        names = [c[0] for c in cur.description or ()]
        rows = cur.fetchall()
        assert len(rows) == 1, (period_id, len(rows))
        return dict(zip(names, rows[0], strict=True))


@pytest.fixture
def st() -> Iterator[State]:
    s = State()
    yield s
    s.con.close()


EMP = (
    "e1600_employed_q1_after_exit",
    "e1602_employed_q2_after_exit",
    "e1604_employed_q3_after_exit",
    "e1606_employed_q4_after_exit",
)
WAGES = (
    "e1703_wages_q1_after_exit",
    "e1704_wages_q2_after_exit",
    "e1705_wages_q3_after_exit",
    "e1706_wages_q4_after_exit",
)
FLAGS = (
    "e903_adult",
    "e904_dislocated_worker",
    "e905_youth",
    "e910_adult_education",
    "e917_vocational_rehabilitation",
    "e918_wagner_peyser",
)
CREDS = (
    "e1800_type_of_credential_1",
    "e1801_date_attained_credential_1",
    "e1802_type_of_credential_2",
    "e1803_date_attained_credential_2",
    "e1804_type_of_credential_3",
    "e1805_date_attained_credential_3",
)
GAINS = (
    "e1806_date_latest_gain_efl",
    "e1807_date_latest_gain_secondary_diploma",
    "e1808_date_latest_gain_transcript_report_card",
    "e1809_date_latest_gain_training_milestone",
    "e1810_date_latest_gain_skills_progression",
)


def pick(row: dict[str, Any], cols: tuple[str, ...]) -> list[Any]:
    return [None if row[c] is None else (float(row[c]) if c in WAGES else row[c]) for c in cols]


# --------------------------------------------------------------------------- wages after exit


def test_quarters_after_exit_cross_the_year_boundary(st: State) -> None:
    # Exit 2023-11-15 is in 2023Q4, so Q1..Q4 after exit are 2024Q1..2024Q4.
    pid = st.period(1, "ADULT", "2023-01-10", "2023-11-15")
    st.wage(1, 2023, 4, 999.99)  # the exit quarter itself: never reported
    st.wage(1, 2024, 1, 100.50)
    st.wage(1, 2024, 2, 200.00, "F1")
    st.wage(1, 2024, 2, 50.00, "F2")  # Q2 total = 250.00 across two employers
    # 2024Q3: no wages though the file arrived -> 0 / 0.00
    st.wage(1, 2024, 4, 300.00, "F1")
    st.run()
    r = st.row(pid)
    assert pick(r, EMP) == [1, 1, 0, 1]
    assert pick(r, WAGES) == [100.50, 250.00, 0.0, 300.00]
    assert r["e1618_retention_with_same_employer"] == 1  # F1 paid in both 2024Q2 and 2024Q4


def test_undelivered_quarter_is_9_and_delivered_without_wages_is_0(st: State) -> None:
    # Exit 2024-02-10 is in 2024Q1: Q1..Q4 after exit = 2024Q2, 2024Q3, 2024Q4, 2025Q1 (not arrived).
    pid = st.period(2, "DW", "2023-06-01", "2024-02-10")
    st.wage(2, 2024, 3, 10.00)
    st.wage(2, 2024, 4, -50.00, "F9")  # an adjustment: total < 0 is not employment, reported as 0.00
    st.wage(2, 2025, 1, 500.00)  # staged but its quarter is not delivered: still 9, blank wages
    st.run()
    r = st.row(pid)
    assert pick(r, EMP) == [0, 1, 0, 9]
    assert pick(r, WAGES) == [0.0, 10.0, 0.0, None]
    # employed in Q2 (2024Q3) and Q4 (2025Q1) not yet available -> 9
    assert r["e1618_retention_with_same_employer"] == 9


def test_retention_with_same_employer_cases(st: State) -> None:
    # Exits in 2023Q4 have Q2 = 2024Q2 and Q4 = 2024Q4, both delivered.
    several = st.period(10, "ADULT", "2023-01-01", "2023-10-05")
    st.wage(10, 2024, 2, 100, "F1")
    st.wage(10, 2024, 2, 100, "F2")
    st.wage(10, 2024, 4, 100, "F2")  # F2 paid in both: 1
    moved = st.period(11, "ADULT", "2023-01-01", "2023-10-05")
    st.wage(11, 2024, 2, 100, "F1")
    st.wage(11, 2024, 4, 100, "F3")  # employed both quarters, no common FEIN: 0
    netted = st.period(12, "ADULT", "2023-01-01", "2023-10-05")
    st.wage(12, 2024, 2, 100, "F1")
    st.wage(12, 2024, 4, 50, "F1")
    st.wage(12, 2024, 4, -50, "F1")  # F1 nets to 0 in Q4: it did not pay: 0
    not_q2 = st.period(13, "ADULT", "2023-01-01", "2023-10-05")
    st.wage(13, 2024, 4, 100, "F1")  # not employed in Q2 (delivered): blank
    # Exit 2024-05-01 (2024Q2): Q2 = 2024Q4 (employed), Q4 = 2025Q2 (not delivered): 9
    q4_pending = st.period(14, "ADULT", "2024-01-01", "2024-05-01")
    st.wage(14, 2024, 4, 100, "F1")
    # Exit 2024-08-01 (2024Q3): Q2 = 2025Q1 not delivered: 9 even with no wages at all
    q2_pending = st.period(15, "ADULT", "2024-01-01", "2024-08-01")
    still_open = st.period(16, "ADULT", "2024-01-01", None)
    st.wage(16, 2024, 2, 100, "F1")
    st.wage(16, 2024, 4, 100, "F1")
    st.run()
    got = {
        name: st.row(pid)["e1618_retention_with_same_employer"]
        for name, pid in [
            ("several", several),
            ("moved", moved),
            ("netted", netted),
            ("not_q2", not_q2),
            ("q4_pending", q4_pending),
            ("q2_pending", q2_pending),
            ("open", still_open),
        ]
    }
    assert got == {
        "several": 1,
        "moved": 0,
        "netted": 0,
        "not_q2": None,
        "q4_pending": 9,
        "q2_pending": 9,
        "open": None,
    }


# --------------------------------------------------------------------------- co-enrollment


def test_coenrollment_flags_overlapping_versus_sequential(st: State) -> None:
    adult = st.period(20, "ADULT", "2023-01-01", "2023-06-30")
    wp = st.period(20, "WP", "2023-03-01", "2023-04-01")  # inside ADULT
    vr = st.period(20, "VR", "2023-07-01", None)  # starts the day after ADULT's exit: sequential
    ae = st.period(20, "ADULT_ED", "2023-06-30", "2023-08-31")  # starts on ADULT's exit day: overlaps
    st.period(21, "DW", "2023-01-01", "2023-12-31")  # another customer: never flags customer 20
    unlinked = st.period(None, "YOUTH", "2023-01-01", "2023-12-31")
    st.run()
    # columns: ADULT, DW, YOUTH, ADULT_ED, VR, WP
    assert pick(st.row(adult), FLAGS) == [1, 0, 0, 1, 0, 1]
    assert pick(st.row(wp), FLAGS) == [1, 0, 0, 0, 0, 1]  # AE starts 06-30, after WP's 04-01 exit
    assert pick(st.row(vr), FLAGS) == [0, 0, 0, 1, 1, 0]  # open VR runs to as-of: meets AE
    assert pick(st.row(ae), FLAGS) == [1, 0, 0, 1, 1, 0]
    assert pick(st.row(unlinked), FLAGS) == [0, 0, 1, 0, 0, 0]  # no customer: its own program only


# --------------------------------------------------------------------------- credentials


def test_credentials_in_date_order_capped_at_three_window_applied(st: State) -> None:
    # Entry 2022-01-10, exit 2022-12-20: window 2022-01-10 .. 2023-12-20.
    full = st.period(30, "ADULT", "2022-01-10", "2022-12-20", record_id="T1")
    st.t1("T1", "CREDENTIAL", "5", "2022-01-09")  # the day before entry: out
    st.t1("T1", "CREDENTIAL", "6", "2022-03-01")
    st.t1("T1", "CREDENTIAL", "5", "2022-02-01")
    st.t1("T1", "CREDENTIAL", "2", "2023-06-01")
    st.t1("T1", "CREDENTIAL", "3", "2023-12-01")  # in the window but a 4th: capped
    st.t1("T1", "SKILL_GAIN", "4", "2022-01-15")  # not a credential
    # Entry 2022-01-10, exit 2022-06-30: window ends 2023-06-30 (inclusive).
    short = st.period(31, "DW", "2022-01-10", "2022-06-30", record_id="T2")
    st.t1("T2", "CREDENTIAL", "4", "2022-01-20")
    st.t1("T2", "CREDENTIAL", "3", "2023-06-30")
    st.t1("T2", "CREDENTIAL", "7", "2023-07-01")  # a day past the window: out
    # An open VR case: window runs to as-of; a graduate degree (8) passes through as its code.
    vr = st.period(32, "VR", "2023-01-01", None, record_id="V1")
    st.vr("V1", "CREDENTIAL", "8", "2023-03-01")
    st.vr("V1", "CREDENTIAL", "5", "2025-07-01")  # after as-of: out
    # One Adult Ed student, two periods: an outcome goes to the latest period entered on or before it.
    ae1 = st.period(33, "ADULT_ED", "2023-01-05", "2023-05-31", record_id="S1")
    ae2 = st.period(33, "ADULT_ED", "2024-01-10", "2024-04-30", record_id="S1")
    st.ae("S1", "HSE", "2023-05-01")  # secondary diploma or equivalent: type 1
    st.ae("S1", "CREDENTIAL", "2023-06-01", None)  # no type code: left out
    st.ae("S1", "CREDENTIAL", "2023-09-01", "7")
    st.ae("S1", "CREDENTIAL", "2024-03-01", "5")  # inside ae1's window too, but belongs to ae2
    st.run()
    assert pick(st.row(full), CREDS) == [5, d("2022-02-01"), 6, d("2022-03-01"), 2, d("2023-06-01")]
    assert pick(st.row(short), CREDS) == [4, d("2022-01-20"), 3, d("2023-06-30"), None, None]
    assert pick(st.row(vr), CREDS) == [8, d("2023-03-01"), None, None, None, None]
    assert pick(st.row(ae1), CREDS) == [1, d("2023-05-01"), 7, d("2023-09-01"), None, None]
    assert pick(st.row(ae2), CREDS) == [5, d("2024-03-01"), None, None, None, None]


# --------------------------------------------------------------------------- skill gains


def test_skill_gain_dates_latest_of_each_type_inside_the_period(st: State) -> None:
    youth = st.period(40, "YOUTH", "2023-01-01", "2023-12-31", record_id="Y1")
    st.t1("Y1", "SKILL_GAIN", "1", "2023-02-01")
    st.t1("Y1", "SKILL_GAIN", "1", "2023-05-01")  # the later EFL gain wins
    st.t1("Y1", "SKILL_GAIN", "3", "2023-04-01")
    st.t1("Y1", "SKILL_GAIN", "5", "2023-12-31")  # on the exit date: inside
    st.t1("Y1", "SKILL_GAIN", "4", "2024-01-15")  # after exit: out
    st.t1("Y1", "SKILL_GAIN", "2", "2022-12-31")  # before entry: out
    vr = st.period(41, "VR", "2024-01-01", None, record_id="V2")
    st.vr("V2", "SKILL_GAIN", "4", "2024-03-01")
    st.vr("V2", "SKILL_GAIN", "2", "2025-07-01")  # after as-of: out
    ae = st.period(42, "ADULT_ED", "2023-01-02", "2023-06-30", record_id="S5")
    st.test("S5", "2022-12-15", 1)  # before entry: not the period's first test
    st.test("S5", "2023-01-02", 3)  # the period's first test (pre-test): EFL 3
    st.test("S5", "2023-03-01", 4)  # above 3: a gain
    st.test("S5", "2023-06-15", 3)  # not above 3 (it would be above the pre-entry 1): no gain
    st.test("S5", "2023-07-15", 6)  # after exit: out
    st.ae("S5", "DIPLOMA", "2023-06-01")  # secondary diploma: 1807
    st.run()
    assert pick(st.row(youth), GAINS) == [d("2023-05-01"), None, d("2023-04-01"), None, d("2023-12-31")]
    assert pick(st.row(vr), GAINS) == [None, None, None, d("2024-03-01"), None]
    assert pick(st.row(ae), GAINS) == [d("2023-03-01"), d("2023-06-01"), None, None, None]


# --------------------------------------------------------------------------- exit, education, identity


def test_exit_reason_and_open_period_blanks(st: State) -> None:
    none = st.period(50, "ADULT", "2023-01-01", "2023-06-30", None)
    deceased = st.period(51, "DW", "2023-01-01", "2023-06-30", "03")
    vr = st.period(52, "VR", "2023-01-01", "2023-06-30", "04")
    still_open = st.period(53, "WP", "2024-01-05", None)
    st.wage(53, 2024, 2, 1000.00)  # wages exist, but an open period reports no outcomes
    st.run()
    assert st.row(none)["e923_other_reasons_for_exit"] == "00"
    assert st.row(deceased)["e923_other_reasons_for_exit"] == "03"
    assert st.row(vr)["e923_other_reasons_for_exit"] == "04"
    r = st.row(still_open)
    assert r["e900_date_of_program_entry"] == d("2024-01-05")
    blank = (
        "e901_date_of_program_exit",
        "e923_other_reasons_for_exit",
        *EMP,
        "e1618_retention_with_same_employer",
        *WAGES,
        "e1811_date_enrolled_post_exit_education",
    )
    assert pick(r, blank) == [None] * len(blank)


def test_post_exit_education_and_completed_training(st: State) -> None:
    done = st.period(60, "ADULT", "2023-01-01", "2023-06-30", record_id="T6", training_end_date="2023-05-15")
    st.t1("T6", "POST_EXIT_EDUCATION", "2", "2023-09-01")
    st.t1("T6", "POST_EXIT_EDUCATION", "3", "2023-08-01")  # the first enrollment after exit
    late = st.period(61, "DW", "2023-01-01", "2023-06-30", record_id="T7", training_end_date="2023-08-01")
    st.t1("T7", "POST_EXIT_EDUCATION", "2", "2023-06-30")  # on the exit date: not after exit
    ae = st.period(62, "ADULT_ED", "2023-01-01", "2023-06-30", record_id="S6")
    st.ae("S6", "POSTSECONDARY_ENROLLMENT", "2023-03-01")  # during participation: not post-exit
    st.ae("S6", "POSTSECONDARY_ENROLLMENT", "2023-10-01")
    # Still participating, training finished before as-of: completed during participation.
    ongoing = st.period(63, "ADULT", "2023-06-01", None, record_id="T8", training_end_date="2024-01-01")
    st.run()
    cols = ("e1811_date_enrolled_post_exit_education", "e1813_date_completed_education_or_training")
    assert pick(st.row(done), cols) == [d("2023-08-01"), d("2023-05-15")]
    assert pick(st.row(late), cols) == [None, None]  # training ended after exit
    assert pick(st.row(ae), cols) == [d("2023-10-01"), None]
    assert pick(st.row(ongoing), cols) == [None, d("2024-01-01")]


def test_identity_elements_and_the_unlinked_surrogate(st: State) -> None:
    st.person(70, "1980-02-03", "M")
    st.person(71, "1975-12-31", "F")
    st.person(72, None, None)
    male = st.period(70, "WP", "2024-01-01", None)
    female = st.period(71, "WP", "2024-01-01", None)
    unknown = st.period(72, "WP", "2024-01-01", None)
    lone = st.period(None, "WP", "2024-01-01", "2024-03-01", record_id="WP77")
    again = st.period(None, "WP", "2024-09-01", None, record_id="WP77")  # the same record later on
    other = st.period(None, "WP", "2024-01-01", None, record_id="WP78")
    st.con.execute("INSERT INTO person_records VALUES ('wp', 'WP77', '599887777', DATE '1990-01-01', 'F')")
    st.run()
    cols = ("e100_unique_individual_identifier", "e200_date_of_birth", "e201_sex")
    assert pick(st.row(male), cols) == ["70", d("1980-02-03"), 1]
    assert pick(st.row(female), cols) == ["71", d("1975-12-31"), 2]
    assert pick(st.row(unknown), cols) == ["72", None, 9]
    # unlinked: "U" + the first 16 hex digits of sha256("wp:WP77"); identity from its own record
    surrogate = "U" + hashlib.sha256(b"wp:WP77").hexdigest()[:16]
    assert pick(st.row(lone), cols) == [surrogate, d("1990-01-01"), 2]
    assert st.row(again)["e100_unique_individual_identifier"] == surrogate
    assert pick(st.row(other), cols) == ["U" + hashlib.sha256(b"wp:WP78").hexdigest()[:16], None, 9]
    st.run()  # a rebuild gives the same surrogate
    assert st.row(lone)["e100_unique_individual_identifier"] == surrogate


def test_one_row_per_period_and_counts(st: State) -> None:
    st.period(80, "ADULT", "2023-01-01", "2024-05-01")  # Q4 after exit = 2025Q2: pending
    st.period(80, "WP", "2023-02-01", "2024-05-01")  # same
    st.period(81, "VR", "2022-01-01", "2022-12-31")  # 2023Q1..Q4 all delivered
    st.period(None, "ADULT_ED", "2024-01-01", None, record_id="S9")
    stats = st.run()
    n = st.con.execute("SELECT count(*) FROM participation").fetchall()[0][0]
    assert n == 4
    assert stats == {"pirl_rows": 4, "pirl_exited": 3, "pirl_unlinked": 1, "pirl_wages_pending": 2}
    keys = st.con.execute("SELECT period_id FROM pirl EXCEPT SELECT period_id FROM participation").fetchall()
    assert keys == []


# --------------------------------------------------------------------------- the CSV


HEADER = [
    "program",
    "100_unique_individual_identifier",
    "200_date_of_birth",
    "201_sex",
    "900_date_of_program_entry",
    "901_date_of_program_exit",
    "903_adult",
    "904_dislocated_worker",
    "905_youth",
    "910_adult_education",
    "917_vocational_rehabilitation",
    "918_wagner_peyser",
    "923_other_reasons_for_exit",
    "1600_employed_q1_after_exit",
    "1602_employed_q2_after_exit",
    "1604_employed_q3_after_exit",
    "1606_employed_q4_after_exit",
    "1618_retention_with_same_employer",
    "1703_wages_q1_after_exit",
    "1704_wages_q2_after_exit",
    "1705_wages_q3_after_exit",
    "1706_wages_q4_after_exit",
    "1800_type_of_credential_1",
    "1801_date_attained_credential_1",
    "1802_type_of_credential_2",
    "1803_date_attained_credential_2",
    "1804_type_of_credential_3",
    "1805_date_attained_credential_3",
    "1806_date_latest_gain_efl",
    "1807_date_latest_gain_secondary_diploma",
    "1808_date_latest_gain_transcript_report_card",
    "1809_date_latest_gain_training_milestone",
    "1810_date_latest_gain_skills_progression",
    "1811_date_enrolled_post_exit_education",
    "1813_date_completed_education_or_training",
]


def test_csv_header_rows_formats_no_ssn_and_mode(st: State, tmp_path: Path) -> None:
    st.person(90, "1980-02-03", "M")
    st.period(90, "ADULT", "2023-01-10", "2023-11-15", record_id="T9")
    st.wage(90, 2024, 1, 1234.5)
    st.t1("T9", "CREDENTIAL", "5", "2023-04-01")
    st.period(91, "WP", "2024-01-01", None)
    st.period(None, "VR", "2024-01-01", None, record_id="V9")
    st.con.execute(f"INSERT INTO person_records VALUES ('vr', 'V9', '{ssn_of(92)}', NULL, NULL)")
    st.run()
    out = tmp_path / "pirl" / "pirl.csv"
    out.parent.mkdir()
    out.write_text("stale")  # replaced whole
    assert write_pirl_csv(st.con, out) == out
    text = out.read_text()
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == HEADER
    assert len(rows) - 1 == st.con.execute("SELECT count(*) FROM participation").fetchall()[0][0] == 3
    # rows in period_id order: ADULT:T9:..., VR:V9:..., WP:R...
    adult = dict(zip(HEADER, rows[1], strict=True))
    assert adult["program"] == "ADULT" and adult["100_unique_individual_identifier"] == "90"
    assert adult["200_date_of_birth"] == "19800203" and adult["201_sex"] == "1"
    assert adult["900_date_of_program_entry"] == "20230110"
    assert adult["901_date_of_program_exit"] == "20231115"
    assert adult["923_other_reasons_for_exit"] == "00"
    assert adult["1703_wages_q1_after_exit"] == "1234.50"  # 2024Q1
    assert adult["1704_wages_q2_after_exit"] == "0.00"
    assert (adult["1800_type_of_credential_1"], adult["1801_date_attained_credential_1"]) == ("5", "20230401")
    assert adult["1618_retention_with_same_employer"] == ""  # not employed in Q2
    vr = dict(zip(HEADER, rows[2], strict=True))
    assert vr["100_unique_individual_identifier"].startswith("U") and vr["901_date_of_program_exit"] == ""
    # No SSN from any input appears, with or without dashes.
    ssns = [
        r[0]
        for r in st.con.execute(
            "SELECT ssn FROM customer_identity UNION SELECT ssn FROM person_records "
            "UNION SELECT ssn FROM stg_ui_wages"
        ).fetchall()
    ]
    assert len(ssns) >= 3
    for ssn in ssns:
        assert ssn not in text and f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}" not in text
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["pirl.csv"]  # no temp file left behind
