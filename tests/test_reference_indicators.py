"""The reference WIOA indicators (tests/reference) on hand-made truth directories, one rule at a time.

Each test writes a handful of people's records and wages as the generator's truth would hold them,
and states the expected periods or indicator cells worked out by hand from the domain file. A last
test runs the reference on a generated demo tier and checks that the table is consistent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO_ROOT
from tests.reference import (
    INDICATOR_COLUMNS,
    PERIOD_COLUMNS,
    ReferenceSettings,
    reference_indicators,
    reference_periods,
)

AS_OF = "2025-06-30"
ALL_QUARTERS = tuple(f"{y}Q{q}" for y in range(2021, 2026) for q in range(1, 5) if (y, q) <= (2025, 1))
DATES = {"service_day", "entry", "exit", "training_start", "training_end", "day", "service_start", "closure"}
FEIN_A, FEIN_B, FEIN_C = "111111111", "222222222", "333333333"


class Mini:
    """A tiny truth directory: `records/<file_type>.parquet`, `wages.parquet`, `manifest.json`."""

    def __init__(self, root: Path, as_of: str = AS_OF, quarters: tuple[str, ...] = ALL_QUARTERS) -> None:
        self.root, self.as_of, self.quarters = root, as_of, quarters
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self.wages: list[dict[str, Any]] = []
        self.n = 0

    def _add(self, table: str, **row: Any) -> None:
        self.tables.setdefault(table, []).append(row)

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n:05d}"

    def wp(self, person: int, *services: tuple[str, str], status: str = "Active", reg: str = "Active") -> str:
        """A WP registration and its services, each (date, code)."""
        ind = self._id("IA")
        self._add("wp_registrations", individual_id=ind, person_id=person, status=reg)
        for day, code in services:
            self._add(
                "wp_services",
                service_id=self._id("S"),
                individual_id=ind,
                person_id=person,
                code=code,
                service_day=day,
                staff="N" if code in ("001", "002") else "Y",
                status=status,
            )
        return ind

    def t1(
        self,
        person: int,
        program: str,
        entry: str,
        exit: str | None = None,
        reason: str = "00",
        training: str = "00",
        t_start: str | None = None,
        t_end: str | None = None,
        in_school: str = "",
    ) -> str:
        pid = self._id("P")
        self._add(
            "t1_participation",
            participation_id=pid,
            person_id=person,
            program=program,
            entry=entry,
            exit=exit,
            exit_reason=reason,
            training_type=training,
            training_start=t_start,
            training_end=t_end,
            youth_in_school=in_school,
            status="A",
        )
        return pid

    def t1_out(self, participation_id: str, otype: str, code: str, day: str) -> None:
        self._add(
            "t1_outcomes",
            outcome_id=self._id("O"),
            participation_id=participation_id,
            type=otype,
            code=code,
            day=day,
            status="A",
        )

    def vr(
        self,
        person: int,
        start: str | None,
        closure: str | None = None,
        ctype: str | None = None,
        reason: str | None = None,
        edu: str = "N",
    ) -> str:
        cid = self._id("VR")
        self._add(
            "vr_cases",
            case_id=cid,
            person_id=person,
            service_start=start,
            closure=closure,
            closure_type=ctype,
            closure_reason=reason,
            edu_training=edu,
            status="A",
        )
        return cid

    def vr_out(self, case_id: str, otype: str, code: str, day: str) -> None:
        self._add(
            "vr_outcomes",
            outcome_id=self._id("VO"),
            case_id=case_id,
            type=otype,
            code=code,
            day=day,
            status="A",
        )

    def ae(self, person: int, ptype: str = "ABE", diploma: str = "Y", s225: str = "N") -> str:
        sid = self._id("")
        self._add(
            "ae_students",
            student_id=sid,
            person_id=person,
            program_type=ptype,
            diploma=diploma,
            s225=s225,
            status="Active",
        )
        return sid

    def classes(self, student: str, first: str, n: int, hours: float = 3.0, every: int = 2) -> str:
        """n classes every `every` days from `first`; returns the last class date."""
        day = pd.Timestamp(first)
        for i in range(n):
            day = pd.Timestamp(first) + pd.Timedelta(days=every * i)
            self._add(
                "ae_attendance", student_id=student, class_id="CL001", day=day.date().isoformat(), hours=hours
            )
        return day.date().isoformat()

    def assess(self, student: str, day: str, efl: int) -> None:
        self._add("ae_assessments", assessment_id=self._id("A"), student_id=student, day=day, efl=efl)

    def ae_out(self, student: str, otype: str, day: str, credential: str = "") -> None:
        self._add(
            "ae_outcomes",
            outcome_id=self._id("AO"),
            student_id=student,
            type=otype,
            day=day,
            credential=credential,
            status="Active",
        )

    def wage(self, person: int, quarter: str, cents: int, fein: str = FEIN_A) -> None:
        self.wages.append(
            {
                "person_id": person,
                "reported_ssn": f"{500000000 + person}",
                "employer_fein": fein,
                "year": int(quarter[:4]),
                "quarter": int(quarter[5]),
                "wage_cents": cents,
            }
        )

    def write(self) -> Path:
        rec = self.root / "records"
        rec.mkdir(parents=True, exist_ok=True)
        for name, rows in self.tables.items():
            df = pd.DataFrame(rows)
            for c in df.columns:
                if c in DATES:
                    df[c] = pd.to_datetime(df[c])
            df.to_parquet(rec / f"{name}.parquet", index=False)
        cols = ["person_id", "reported_ssn", "employer_fein", "year", "quarter", "wage_cents"]
        pd.DataFrame(self.wages, columns=cols).to_parquet(self.root / "wages.parquet", index=False)
        manifest = {"cutoff": self.as_of, "wage_quarters": list(self.quarters)}
        (self.root / "manifest.json").write_text(json.dumps(manifest))
        return self.root


@pytest.fixture
def mini(tmp_path: Path) -> Mini:
    return Mini(tmp_path / "truth")


def cell(ind: pd.DataFrame, indicator: str, program: str, year: int) -> tuple[Any, int, int]:
    """(numerator, denominator, pending) of one published cell."""
    row = ind[(ind["indicator"] == indicator) & (ind["program"] == program) & (ind["program_year"] == year)]
    assert len(row) == 1, f"{indicator} {program} PY{year}: {len(row)} rows"
    r = row.iloc[0]
    num = None if pd.isna(r["numerator"]) else int(r["numerator"])
    return num, int(r["denominator"]), int(r["pending"])


def spans(per: pd.DataFrame, person: int, program: str) -> list[tuple[str, str | None]]:
    p = per[(per["person_id"] == person) & (per["program"] == program)].sort_values("entry_date")
    return [
        (e.date().isoformat(), None if pd.isna(x) else x.date().isoformat())
        for e, x in zip(p["entry_date"], p["exit_date"], strict=True)
    ]


# --------------------------------------------------------------------------- participation and exit


def test_ninety_day_exit(mini: Mini) -> None:
    # a service 90 days after the last continues the period; 91 days later starts a new one
    mini.wp(1, ("2023-01-10", "101"), ("2023-04-10", "102"), ("2023-07-10", "103"))
    mini.wp(2, ("2025-04-01", "101"))  # as-of is 90 days later: not yet exited
    mini.wp(3, ("2025-03-31", "101"))  # 91 days: exited, retroactively on its last service
    per = reference_periods(mini.write())
    assert list(per.columns) == list(PERIOD_COLUMNS)
    assert spans(per, 1, "WP") == [("2023-01-10", "2023-04-10"), ("2023-07-10", "2023-07-10")]
    assert spans(per, 2, "WP") == [("2025-04-01", None)]
    assert spans(per, 3, "WP") == [("2025-03-31", "2025-03-31")]
    # the threshold is a setting
    per = reference_periods(mini.root, ReferenceSettings(exit_gap_days=60))
    assert spans(per, 1, "WP") == [
        ("2023-01-10", "2023-01-10"),
        ("2023-04-10", "2023-04-10"),
        ("2023-07-10", "2023-07-10"),
    ]
    assert spans(per, 2, "WP") == [("2025-04-01", "2025-04-01")]


def test_follow_up_and_self_service_do_not_extend_participation(mini: Mini) -> None:
    mini.wp(1, ("2023-03-01", "101"), ("2023-05-15", "190"), ("2023-05-20", "001"), ("2023-07-01", "190"))
    mini.wp(2, ("2023-03-01", "001"), ("2023-03-05", "002"))  # reportable individual only
    mini.wp(3, ("2023-03-01", "101"))
    mini.wp(3, ("2023-04-01", "102"), status="Deleted")  # voided service
    mini.wp(4, ("2023-03-01", "101"), reg="Deleted")  # services of a voided registration
    per = reference_periods(mini.write())
    assert spans(per, 1, "WP") == [("2023-03-01", "2023-03-01")]
    assert spans(per, 2, "WP") == []
    assert spans(per, 3, "WP") == [("2023-03-01", "2023-03-01")]
    assert spans(per, 4, "WP") == []


def test_adult_ed_under_twelve_hours_is_not_a_participant(mini: Mini) -> None:
    mini.classes(mini.ae(1), "2023-02-01", 3, hours=3.0)  # 9 hours
    mini.classes(mini.ae(2), "2023-02-01", 4, hours=3.0)  # 12 hours: entry on the first class
    s3 = mini.ae(3)
    mini.classes(s3, "2023-02-01", 3, hours=3.0)  # 9 hours, then a gap of more than 90 days
    mini.classes(s3, "2023-09-01", 5, hours=3.0)  # 15 hours: hours do not carry over
    per = reference_periods(mini.write())
    assert spans(per, 1, "ADULT_ED") == []
    assert spans(per, 2, "ADULT_ED") == [("2023-02-01", "2023-02-07")]
    assert spans(per, 3, "ADULT_ED") == [("2023-09-01", "2023-09-09")]
    assert per.loc[per["person_id"] == 2, "hours"].tolist() == [12.0]
    per = reference_periods(mini.root, ReferenceSettings(adult_ed_min_hours=9.0))
    assert spans(per, 1, "ADULT_ED") == [("2023-02-01", "2023-02-05")]


def test_vr_participant_needs_service_start_and_a_participant_closure(mini: Mini) -> None:
    mini.vr(1, "2022-05-01", "2023-04-01", "5", "00")
    mini.vr(2, None, "2023-04-01", "7", "00")  # IPE signed, services never began
    mini.vr(3, "2022-05-01", "2023-04-01", "3", "00")  # contradictory: not a participant exit
    mini.vr(4, "2022-05-01", "2026-01-01", "6", "00")  # closure after the as-of date: still open
    per = reference_periods(mini.write())
    assert spans(per, 1, "VR") == [("2022-05-01", "2023-04-01")]
    assert spans(per, 2, "VR") == [] and spans(per, 3, "VR") == []
    assert spans(per, 4, "VR") == [("2022-05-01", None)]


def test_common_exit_across_wp_and_title_i(mini: Mini) -> None:
    # WP, then Adult 19 days later, then WP again 46 days after the Adult exit: one DOL spell
    mini.wp(1, ("2023-01-05", "101"), ("2023-02-01", "120"), ("2023-11-15", "102"))
    mini.t1(1, "ADULT", "2023-02-20", "2023-09-30", reason="02")
    mini.classes(mini.ae(1), "2023-03-01", 6)  # Adult Ed keeps its own exit
    mini.vr(1, "2023-01-10", "2023-05-01", "5", "00")  # so does VR
    # the spell's exit reason comes from the Title I record closed on the common exit date
    mini.wp(2, ("2023-03-01", "101"))
    mini.t1(2, "DW", "2023-03-10", "2023-06-30", reason="03")
    # a Title I case reopened within 90 days of its recorded exit had not exited
    mini.t1(3, "ADULT", "2022-01-10", "2022-06-01")
    mini.t1(3, "ADULT", "2022-08-01", "2022-12-01")
    root = mini.write()

    per = reference_periods(root)
    assert spans(per, 1, "WP") == [("2023-01-05", "2023-11-15")]
    assert spans(per, 1, "ADULT") == [("2023-02-20", "2023-11-15")]
    assert spans(per, 1, "ADULT_ED") == [("2023-03-01", "2023-03-11")]
    assert spans(per, 1, "VR") == [("2023-01-10", "2023-05-01")]
    p1 = per[per["person_id"] == 1].set_index("program")
    assert p1.loc["ADULT", "exit_reason"] is None and p1.loc["WP", "exit_reason"] is None  # WP closed it
    assert p1.loc["ADULT", "own_exit_date"] == pd.Timestamp("2023-09-30")
    assert p1.loc["WP", "source_ids"] == (p1.loc["WP", "source_ids"][0],)
    p2 = per[per["person_id"] == 2].set_index("program")
    assert spans(per, 2, "WP") == [("2023-03-01", "2023-06-30")]
    assert p2.loc["WP", "exit_reason"] == "03" and p2.loc["DW", "exit_reason"] == "03"
    assert spans(per, 3, "ADULT") == [("2022-01-10", "2022-12-01")]

    per = reference_periods(root, ReferenceSettings(common_exit=False))
    assert spans(per, 1, "WP") == [("2023-01-05", "2023-02-01"), ("2023-11-15", "2023-11-15")]
    assert spans(per, 1, "ADULT") == [("2023-02-20", "2023-09-30")]
    assert spans(per, 2, "WP") == [("2023-03-01", "2023-03-01")]
    assert per.loc[(per["person_id"] == 2) & (per["program"] == "WP"), "exit_reason"].tolist() == [None]
    assert spans(per, 3, "ADULT") == [("2022-01-10", "2022-12-01")]

    # the deceased person's WP and DW exits leave the employment cohort; person 1's do not
    ind = reference_indicators(root)
    assert cell(ind, "EMP_Q2", "WP", 2024) == (0, 1, 0)  # person 1, exit 2023-11-15
    assert cell(ind, "EMP_Q2", "ADULT", 2024) == (0, 1, 0)
    assert not ((ind["program"] == "DW") & (ind["indicator"] == "EMP_Q2")).any()


def test_excluded_exit_reasons(mini: Mini) -> None:
    exit_day = "2023-08-15"  # EMP_Q2 PY2024, Q2 after exit = 2024Q1
    for person, reason in enumerate(("00", "01", "02", "03", "05", "06"), start=1):
        mini.t1(person, "ADULT", "2023-01-10", exit_day, reason=reason)  # 06 excludes Youth only
        mini.wage(person, "2024Q1", 500_000)
    mini.t1(11, "YOUTH", "2023-01-10", exit_day, reason="06")
    mini.t1(12, "YOUTH", "2023-01-10", exit_day, reason="00")
    mini.vr(13, "2022-01-10", exit_day, "6", "04")  # found ineligible: VR only
    mini.vr(14, "2022-01-10", exit_day, "6", "00")
    s = mini.ae(15, s225="Y")  # corrections education: out of employment, kept in MSG
    last = mini.classes(s, "2023-05-01", 6)
    mini.assess(s, "2023-05-01", 2)
    mini.assess(s, last, 3)
    mini.wage(15, "2024Q1", 500_000)
    ind = reference_indicators(mini.write())
    assert cell(ind, "EMP_Q2", "ADULT", 2024) == (2, 2, 0)
    assert cell(ind, "EMP_Q2", "YOUTH", 2024) == (0, 1, 0)
    assert cell(ind, "EMP_Q2", "VR", 2024) == (0, 1, 0)
    assert not ((ind["program"] == "ADULT_ED") & (ind["indicator"] == "EMP_Q2")).any()
    assert cell(ind, "MSG", "ADULT_ED", 2022) == (1, 1, 0)
    # retention: persons 1 and 6 (Adult), none of the excluded ones
    assert cell(ind, "RETENTION_SAME_EMPLOYER", "ALL", 2024) == (0, 2, 0)


# --------------------------------------------------------------------------- cohorts and wages


def test_employment_cohort_windows_at_program_year_edges(mini: Mini) -> None:
    mini.t1(1, "ADULT", "2022-06-01", "2022-12-31")  # Q2 after = 2023Q2, Q4 after = 2023Q4
    mini.wage(1, "2023Q2", 400_000)
    mini.t1(2, "ADULT", "2022-06-01", "2023-01-01")  # 2023Q3, 2024Q1
    mini.wage(2, "2023Q2", 400_000)  # Q1 after exit only
    mini.t1(3, "ADULT", "2022-06-01", "2023-06-30")  # 2023Q4, 2024Q2
    mini.wage(3, "2023Q4", 400_000)
    mini.wage(3, "2024Q2", 400_000)
    mini.t1(4, "ADULT", "2022-06-01", "2023-07-01")  # 2024Q1, 2024Q3
    mini.wage(4, "2024Q3", 400_000)
    ind = reference_indicators(mini.write())
    # Q2: exits Jul 1 N-1 .. Jun 30 N; Q4: exits in calendar N-1
    assert cell(ind, "EMP_Q2", "ADULT", 2023) == (2, 3, 0)  # persons 1, 2, 3
    assert cell(ind, "EMP_Q2", "ADULT", 2024) == (0, 1, 0)  # person 4
    assert cell(ind, "EMP_Q4", "ADULT", 2023) == (0, 1, 0)  # person 1
    assert cell(ind, "EMP_Q4", "ADULT", 2024) == (2, 3, 0)  # persons 2, 3, 4
    row = ind[(ind["indicator"] == "EMP_Q2") & (ind["program_year"] == 2023)].iloc[0]
    assert row["value"] == pytest.approx(2 / 3)


def test_undelivered_wage_quarter_is_pending_not_zero(tmp_path: Path) -> None:
    quarters = tuple(q for q in ALL_QUARTERS if q <= "2024Q2")
    mini = Mini(tmp_path / "truth", as_of="2024-09-30", quarters=quarters)
    mini.t1(1, "ADULT", "2023-01-10", "2023-10-15")  # Q2 after = 2024Q2: delivered
    mini.wage(1, "2024Q2", 300_000)
    mini.t1(2, "ADULT", "2023-01-10", "2024-01-10")  # Q2 after = 2024Q3: not yet delivered
    ind = reference_indicators(mini.write())
    assert cell(ind, "EMP_Q2", "ADULT", 2024) == (1, 1, 1)
    assert cell(ind, "MEDIAN_EARNINGS_Q2", "ADULT", 2024) == (None, 1, 1)
    # once 2024Q3 is delivered (a setting overrides the manifest), person 2 counts as not employed
    more = ReferenceSettings(delivered_wage_quarters=frozenset({*quarters, "2024Q3"}))
    assert cell(reference_indicators(mini.root, more), "EMP_Q2", "ADULT", 2024) == (1, 2, 0)


def test_median_earnings_even_count(mini: Mini) -> None:
    for person in range(1, 6):  # exit 2023-08-01: EMP_Q2 PY2024, Q2 after = 2024Q1
        mini.wp(person, ("2023-08-01", "101"))
    mini.wage(1, "2024Q1", 100_000)
    mini.wage(2, "2024Q1", 150_000, FEIN_A)  # two employers: total 200_000
    mini.wage(2, "2024Q1", 50_000, FEIN_B)
    mini.wage(3, "2024Q1", 300_000)
    mini.wage(4, "2024Q1", 500_000)
    mini.wage(5, "2023Q4", 900_000)  # Q1 after exit: not employed in Q2
    ind = reference_indicators(mini.write())
    assert cell(ind, "EMP_Q2", "WP", 2024) == (4, 5, 0)
    assert cell(ind, "MEDIAN_EARNINGS_Q2", "WP", 2024) == (None, 4, 0)
    med = ind[(ind["indicator"] == "MEDIAN_EARNINGS_Q2") & (ind["program"] == "WP")]["value"].item()
    assert med == 2500.00  # (200_000 + 300_000) / 2 cents


# --------------------------------------------------------------------------- credential, MSG, Youth


def test_credential_denominator_and_numerator(mini: Mini) -> None:
    ex = "2023-05-01"  # calendar-2023 exits: PY2024
    p = mini.t1(1, "ADULT", "2022-05-01", ex, training="06", t_start="2022-05-10", t_end="2023-03-01")
    mini.t1_out(p, "CREDENTIAL", "5", "2023-11-17")  # 200 days after exit
    for person, ttype in ((2, "01"), (3, "05"), (4, "00")):  # OJT, customized only, none: not in it
        p = mini.t1(person, "ADULT", "2022-05-01", ex, training=ttype)
        mini.t1_out(p, "CREDENTIAL", "5", "2023-01-10")
    p = mini.t1(5, "ADULT", "2022-05-01", ex, training="02", t_start="2022-05-10", t_end="2023-03-01")
    mini.t1_out(p, "CREDENTIAL", "5", "2024-06-04")  # more than one year after exit
    p = mini.t1(9, "ADULT", "2022-05-01", ex, training="06", t_start="2022-05-10", t_end="2023-03-01")
    mini.t1_out(p, "CREDENTIAL", "8", "2023-02-01")  # graduate degree: VR only
    p = mini.t1(6, "YOUTH", "2022-05-01", ex, in_school="1")
    mini.t1_out(p, "CREDENTIAL", "1", "2023-04-01")  # diploma, but neither employed nor in school
    p = mini.t1(7, "YOUTH", "2022-05-01", ex, in_school="1")
    mini.t1_out(p, "CREDENTIAL", "1", "2023-04-01")
    mini.wage(7, "2023Q4", 200_000)  # Q2 after exit: employed within the year
    p = mini.t1(8, "YOUTH", "2022-05-01", ex, in_school="0")  # out of school, no training
    mini.t1_out(p, "CREDENTIAL", "5", "2023-04-01")
    c = mini.vr(10, "2021-06-01", "2023-04-01", "6", "00", edu="Y")
    mini.vr_out(c, "CRED", "8", "2023-05-01")
    s = mini.ae(11, "ASE", diploma="N")
    last = mini.classes(s, "2023-02-01", 6)  # exits 2023-02-11
    mini.ae_out(s, "HSE", "2023-02-05")
    mini.ae_out(s, "POSTSECONDARY_ENROLLMENT", "2023-06-01")
    mini.classes(mini.ae(12, "ABE", diploma="N"), "2023-02-01", 6)  # ABE: not in the denominator
    s = mini.ae(13, "IET")
    mini.classes(s, "2023-02-01", 6)
    mini.ae_out(s, "CREDENTIAL", "2023-08-01", credential="6")
    s = mini.ae(14, "ASE", diploma="N", s225="Y")  # corrections education: excluded
    mini.classes(s, "2023-02-01", 6)
    mini.wp(15, ("2023-03-01", "101"))
    assert last == "2023-02-11"
    ind = reference_indicators(mini.write())
    assert cell(ind, "CREDENTIAL", "ADULT", 2024) == (1, 3, 0)  # persons 1, 5, 9; only 1 earned one
    assert cell(ind, "CREDENTIAL", "YOUTH", 2024) == (1, 2, 0)  # persons 6, 7; only 7
    assert cell(ind, "CREDENTIAL", "VR", 2024) == (1, 1, 0)
    assert cell(ind, "CREDENTIAL", "ADULT_ED", 2024) == (2, 2, 0)  # persons 11, 13
    assert not ((ind["program"] == "WP") & (ind["indicator"] == "CREDENTIAL")).any()


def test_msg_once_per_period_per_program_year(mini: Mini) -> None:
    p = mini.t1(
        1, "ADULT", "2023-05-01", "2024-10-31", training="06", t_start="2023-05-10", t_end="2024-09-30"
    )
    for day in ("2023-08-01", "2023-12-01", "2024-08-01"):  # two in PY2023: counted once
        mini.t1_out(p, "SKILL_GAIN", "4", day)
    p = mini.t1(2, "ADULT", "2023-05-01", "2024-10-31")  # no training: not in the denominator
    mini.t1_out(p, "SKILL_GAIN", "4", "2023-08-01")
    s = mini.ae(3)  # two periods inside PY2023: each counts
    mini.classes(s, "2023-09-01", 6)
    mini.assess(s, "2023-09-01", 2)
    mini.assess(s, "2023-09-09", 3)  # EFL gain
    mini.classes(s, "2024-03-01", 6)
    mini.assess(s, "2024-03-01", 3)
    mini.assess(s, "2024-03-09", 3)  # no gain
    c = mini.vr(4, "2023-01-01", None, edu="Y")  # open: its span runs to the as-of date
    mini.vr_out(c, "MSG", "3", "2025-01-15")
    mini.wp(5, ("2023-09-01", "101"))
    ind = reference_indicators(mini.write())
    assert cell(ind, "MSG", "ADULT", 2022) == (0, 1, 0)
    assert cell(ind, "MSG", "ADULT", 2023) == (1, 1, 0)
    assert cell(ind, "MSG", "ADULT", 2024) == (1, 1, 0)
    assert cell(ind, "MSG", "ADULT_ED", 2023) == (1, 2, 0)
    assert cell(ind, "MSG", "VR", 2022) == (0, 1, 0)
    assert cell(ind, "MSG", "VR", 2023) == (0, 1, 0)
    assert cell(ind, "MSG", "VR", 2024) == (1, 1, 0)
    assert not ((ind["program"] == "WP") & (ind["indicator"] == "MSG")).any()
    assert ind["program_year"].max() == 2024  # nothing after the as-of date's program year


def test_youth_education_or_employment(mini: Mini) -> None:
    ex = "2023-08-15"  # Q2 after exit = 2024Q1
    p = mini.t1(1, "YOUTH", "2023-01-10", ex)
    mini.t1_out(p, "POST_EXIT_EDUCATION", "2", "2024-02-10")  # in Q2 after exit
    p = mini.t1(2, "YOUTH", "2023-01-10", ex)
    mini.t1_out(p, "POST_EXIT_EDUCATION", "2", "2023-12-01")  # Q1 after exit only
    mini.t1(3, "YOUTH", "2023-01-10", ex)
    mini.wage(3, "2024Q1", 100_000)
    p = mini.t1(4, "ADULT", "2023-01-10", ex)  # the variant is Youth's only
    mini.t1_out(p, "POST_EXIT_EDUCATION", "2", "2024-02-10")
    ind = reference_indicators(mini.write())
    assert cell(ind, "EMP_Q2", "YOUTH", 2024) == (2, 3, 0)
    assert cell(ind, "EMP_Q2", "ADULT", 2024) == (0, 1, 0)
    assert cell(ind, "MEDIAN_EARNINGS_Q2", "YOUTH", 2024) == (None, 1, 0)  # earnings: wages only


def test_retention_with_the_same_employer(mini: Mini) -> None:
    # exits 2023-03-15: Q2 after = 2023Q3, Q4 after = 2024Q1
    for person in range(1, 5):
        mini.wp(person, ("2023-03-15", "101"))
    mini.wage(1, "2023Q3", 300_000, FEIN_A)
    mini.wage(1, "2024Q1", 300_000, FEIN_A)
    mini.wage(2, "2023Q3", 300_000, FEIN_A)
    mini.wage(2, "2024Q1", 300_000, FEIN_B)
    for q, f in (("2023Q3", FEIN_A), ("2023Q3", FEIN_B), ("2024Q1", FEIN_B), ("2024Q1", FEIN_C)):
        mini.wage(3, q, 100_000, f)
    mini.wage(4, "2024Q1", 300_000, FEIN_A)  # not employed in Q2: outside the measure
    # two exits in 2023: counted once, at the latest (VR 2023-11-15: Q2 = 2024Q2, Q4 = 2024Q4)
    mini.wp(5, ("2023-02-01", "101"))
    mini.vr(5, "2022-01-10", "2023-11-15", "5", "00")
    for q in ("2023Q3", "2024Q1", "2024Q2"):
        mini.wage(5, q, 300_000, FEIN_A)
    mini.wage(5, "2024Q4", 300_000, FEIN_B)
    ind = reference_indicators(mini.write())
    assert cell(ind, "RETENTION_SAME_EMPLOYER", "ALL", 2024) == (2, 4, 0)  # persons 1, 3 of 1, 2, 3, 5
    assert set(ind.loc[ind["indicator"] == "RETENTION_SAME_EMPLOYER", "program"]) == {"ALL"}


def test_wage_match_on_reported_ssn(mini: Mini) -> None:
    mini.wp(1, ("2023-08-01", "101"))
    mini.wp(2, ("2023-08-01", "101"))
    mini.wage(1, "2024Q1", 100_000)
    mini.wage(2, "2024Q1", 100_000)
    root = mini.write()
    wages = pd.read_parquet(root / "wages.parquet")
    wages.loc[wages["person_id"] == 2, "reported_ssn"] = "500000009"  # mis-keyed by the employer
    wages.to_parquet(root / "wages.parquet", index=False)
    pd.DataFrame({"person_id": [1, 2], "ssn": ["500000001", "500000002"]}).to_parquet(root / "people.parquet")
    assert cell(reference_indicators(root), "EMP_Q2", "WP", 2024) == (2, 2, 0)
    by_ssn = ReferenceSettings(wage_match="reported_ssn")
    assert cell(reference_indicators(root, by_ssn), "EMP_Q2", "WP", 2024) == (1, 2, 0)


# --------------------------------------------------------------------------- a generated state


@pytest.fixture(scope="module")
def demo_truth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("reference_demo")
    cmd = [sys.executable, "-m", "synthetic", "--tier", "demo", "--seed", "42", "--out", str(out)]
    subprocess.run(cmd, cwd=REPO_ROOT, check=True, capture_output=True)
    yield out / "truth"


@pytest.mark.slow
def test_demo_tier_is_consistent(demo_truth: Path) -> None:
    ind = reference_indicators(demo_truth)
    assert list(ind.columns) == list(INDICATOR_COLUMNS)
    assert not ind.duplicated(["program", "program_year", "indicator"]).any()
    rates = ind[ind["indicator"] != "MEDIAN_EARNINGS_Q2"]
    assert (rates["numerator"] <= rates["denominator"]).all()
    assert ((rates["denominator"] >= 0) & (rates["pending"] >= 0)).all()
    has = rates["denominator"] > 0
    assert np.allclose(rates.loc[has, "value"], rates.loc[has, "numerator"] / rates.loc[has, "denominator"])
    med = ind[ind["indicator"] == "MEDIAN_EARNINGS_Q2"]
    assert med["numerator"].isna().all() and (med["value"].dropna() > 0).all()
    # the median rests on the exiters employed in Q2: EMP_Q2's numerator (Youth: less the students)
    emp2 = ind[ind["indicator"] == "EMP_Q2"].set_index(["program", "program_year"])["numerator"]
    med_n = med.set_index(["program", "program_year"])["denominator"]
    assert med_n.index.equals(emp2.index)
    youth = med_n.index.get_level_values("program") == "YOUTH"
    assert (med_n[~youth] == emp2[~youth]).all() and (med_n[youth] <= emp2[youth]).all()

    programs = {"ADULT", "DW", "YOUTH", "ADULT_ED", "WP", "VR"}
    for indicator in ("EMP_Q2", "EMP_Q4", "MEDIAN_EARNINGS_Q2"):
        assert set(ind.loc[ind["indicator"] == indicator, "program"]) == programs, indicator
    for indicator in ("CREDENTIAL", "MSG"):
        assert set(ind.loc[ind["indicator"] == indicator, "program"]) == programs - {"WP"}, indicator
    assert set(ind.loc[ind["indicator"] == "RETENTION_SAME_EMPLOYER", "program"]) == {"ALL"}
    for indicator in ("EMP_Q2", "EMP_Q4", "CREDENTIAL", "RETENTION_SAME_EMPLOYER"):
        assert {2023, 2024} <= set(ind.loc[ind["indicator"] == indicator, "program_year"]), indicator
    assert set(ind.loc[ind["indicator"] == "MSG", "program_year"]) == {2021, 2022, 2023, 2024}
    assert ind["program_year"].max() == 2024  # the as-of date (2025-06-30) is in PY2024

    # without the common exit, the periods are the generator's own (which never applies it),
    # but for Title I cases reopened within 90 days of a recorded exit (chained here)
    per = reference_periods(demo_truth, ReferenceSettings(common_exit=False))
    truth = pd.read_parquet(demo_truth / "periods.parquet")
    for program in ("WP", "ADULT_ED", "VR"):
        mine = per[per["program"] == program][["person_id", "entry_date", "exit_date"]]
        theirs = truth[truth["program"] == program][["person_id", "entry_date", "exit_date"]]
        key = ["person_id", "entry_date"]
        a = mine.sort_values(key).reset_index(drop=True)
        b = theirs.astype({"entry_date": "datetime64[ns]", "exit_date": "datetime64[ns]"})
        pd.testing.assert_frame_equal(a, b.sort_values(key).reset_index(drop=True), check_dtype=False)
    common = reference_periods(demo_truth)
    assert len(common) < len(per)  # the common exit merges WP periods bridged by Title I
