"""Co-enrollment tables: hand-made periods, claims, services and wait lists, hand-worked numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import duckdb
import pandas as pd
import pytest

from warehouse.coenrollment import TABLES, CoenrollmentSettings, build_coenrollment
from warehouse.sql import sql

AS_OF = dt.date(2025, 6, 30)

_STAGED = {
    "customer_xref": "source_system VARCHAR, source_record_id VARCHAR, customer_id BIGINT",
    "customer_identity": "customer_id BIGINT, ssn VARCHAR, first_name VARCHAR, last_name VARCHAR, "
    "birth_date DATE",
    "stg_ui_claims": "claim_id VARCHAR, ssn VARCHAR, last_name VARCHAR, birth_date DATE, "
    "claim_filed_date DATE, resea_selected BOOLEAN",
    "stg_wp_registrations": "individual_id VARCHAR, ssn VARCHAR, registration_date DATE",
    "stg_wp_services": "service_id VARCHAR, individual_id VARCHAR, service_code VARCHAR, service_date DATE",
    "stg_vr_cases": "case_id VARCHAR, waitlist_start_date DATE, waitlist_end_date DATE",
}
_SYSTEM = {
    "ADULT": "title1",
    "DW": "title1",
    "YOUTH": "title1",
    "WP": "wp",
    "ADULT_ED": "adult_ed",
    "VR": "vr",
}


def d(s: str | None) -> dt.date | None:
    return dt.date.fromisoformat(s) if s else None


class State:
    """A tiny warehouse: periods, the crosswalk, and the staged UI, WP and VR rows."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.con.execute(sql("periods/ddl.sql"))
        for table, cols in _STAGED.items():
            self.con.execute(f"CREATE TABLE {table} ({cols})")
        self.n = 0

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def _xref(self, system: str, record: str, customer: int | None) -> None:
        if customer is not None:
            self.con.execute("INSERT INTO customer_xref VALUES (?, ?, ?)", [system, record, customer])

    def period(
        self, customer: int | None, program: str, entry: str, exit: str | None, record: str | None = None
    ) -> None:
        record = record or self._id("R")
        self.n += 1
        self.con.execute(
            "INSERT INTO participation (period_id, customer_id, program, source_system, source_record_id, "
            "entry_date, exit_date, as_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                f"{program}:{record}:{self.n}",
                customer,
                program,
                _SYSTEM.get(program, "other"),
                record,
                d(entry),
                d(exit),
                AS_OF,
            ],
        )

    def customers(self, count: int, first: int, *periods: tuple[str, str, str | None]) -> None:
        """`count` customers from id `first`, each with the same periods (program, entry, exit)."""
        for c in range(first, first + count):
            for program, entry, exit in periods:
                self.period(c, program, entry, exit)

    def claim(self, customer: int | None, filed: str, resea: bool = False) -> None:
        claim = self._id("CLM")
        self.con.execute(
            "INSERT INTO stg_ui_claims VALUES (?, ?, ?, ?, ?, ?)",
            [claim, f"{customer or 0:09d}", "Doe", d("1980-01-01"), d(filed), resea],
        )
        self._xref("ui", claim, customer)

    def _wp_record(self, customer: int) -> str:
        """The customer's (linked) WP record `W<customer>`."""
        record = f"W{customer}"
        linked = "SELECT 1 FROM customer_xref WHERE source_system = 'wp' AND source_record_id = ?"
        if not self.con.execute(linked, [record]).fetchall():
            self._xref("wp", record, customer)
        return record

    def registration(self, customer: int, date: str = "2020-01-01") -> None:
        record = self._wp_record(customer)
        self.con.execute(
            "INSERT INTO stg_wp_registrations VALUES (?, ?, ?)", [record, f"{customer:09d}", d(date)]
        )

    def service(self, customer: int, date: str, code: str = "101") -> None:
        record = self._wp_record(customer)
        self.con.execute(
            "INSERT INTO stg_wp_services VALUES (?, ?, ?, ?)", [self._id("S"), record, code, d(date)]
        )

    def waitlist(self, customer: int | None, start: str | None, end: str | None) -> None:
        case = self._id("CASE")
        self.con.execute("INSERT INTO stg_vr_cases VALUES (?, ?, ?)", [case, d(start), d(end)])
        self._xref("vr", case, customer)

    def run(self, as_of: dt.date = AS_OF, **kw: Any) -> dict[str, int]:
        return build_coenrollment(self.con, as_of, CoenrollmentSettings(**kw))

    def q(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.con.execute(query, list(params)).fetchall()

    def table(self, name: str) -> pd.DataFrame:
        return self.con.execute(f"SELECT * FROM {name}").df()

    def combos(self, year: int) -> dict[str, int]:
        rows = self.con.execute(
            "SELECT programs, customers FROM coenrollment WHERE program_year = ?", [year]
        ).fetchall()
        return {str(p): int(n) for p, n in rows}

    def overlap(self, year: int, program: str, other: str) -> tuple[int, int]:
        rows = self.con.execute(
            "SELECT participants, coenrolled FROM coenrollment_overlap "
            "WHERE program_year = ? AND program = ? AND other_program = ?",
            [year, program, other],
        ).fetchall()
        assert len(rows) == 1
        return int(rows[0][0]), int(rows[0][1])


@pytest.fixture
def st() -> Iterator[State]:
    s = State()
    yield s
    s.con.close()


def test_sequential_periods_share_a_combination_but_are_not_coenrolled(st: State) -> None:
    # customer 1: WP Aug-Oct 2023, then Adult Jan-Mar 2024 - both in PY2023, never at the same time
    st.period(1, "WP", "2023-08-01", "2023-10-31")
    st.period(1, "ADULT", "2024-01-15", "2024-03-31")
    # customer 2: WP Aug 2023 - Feb 1 2024 overlaps Adult from Jan 15 2024
    st.period(2, "WP", "2023-08-01", "2024-02-01")
    st.period(2, "ADULT", "2024-01-15", "2024-03-31")
    st.run()
    # both are ADULT+WP for the year (the programs are written in the fixed order, ADULT before WP)
    assert st.combos(2023) == {"ADULT+WP": 2, "ALL": 2}
    # nobody participated in PY2024 (up to the as-of year): only the ALL row, zero
    assert st.combos(2024) == {"ALL": 0}
    # only customer 2 is co-enrolled, seen from either side
    assert st.overlap(2023, "ADULT", "WP") == (2, 1)
    assert st.overlap(2023, "WP", "ADULT") == (2, 1)
    share = st.con.execute(
        "SELECT share FROM coenrollment_overlap WHERE program_year = 2023 AND program = 'ADULT' "
        "AND other_program = 'WP'"
    ).fetchall()
    assert share == [(0.5,)]
    # the grid: 2 years x 6 programs x 5 others; a program without participants has a NULL share
    overlap = st.table("coenrollment_overlap")
    assert len(overlap) == 2 * 6 * 5
    assert overlap.loc[overlap["program"] == "VR", "share"].isna().all()


def test_program_year_edges(st: State) -> None:
    # customer 3: Adult ends June 30 2023 (PY2022), WP starts July 1 2023 (PY2023): no common day
    st.period(3, "ADULT", "2022-09-01", "2023-06-30")
    st.period(3, "WP", "2023-07-01", "2023-09-30")
    # customer 4: WP starts June 30 2023, the last day of Adult: one common day, in PY2022
    st.period(4, "ADULT", "2022-09-01", "2023-06-30")
    st.period(4, "WP", "2023-06-30", "2023-08-31")
    st.run()
    assert st.combos(2022) == {"ADULT": 1, "ADULT+WP": 1, "ALL": 2}
    assert st.combos(2023) == {"WP": 2, "ALL": 2}
    assert st.overlap(2022, "ADULT", "WP") == (2, 1)  # customer 4 only
    assert st.overlap(2022, "WP", "ADULT") == (1, 1)  # customer 4's WP touches PY2022
    # PY2023: customer 4's only common day was in PY2022, so no co-enrollment in PY2023
    assert st.overlap(2023, "WP", "ADULT") == (2, 0)
    assert st.overlap(2023, "ADULT", "WP") == (0, 0)


def test_open_periods_run_to_the_as_of_date_and_nothing_after_counts(st: State) -> None:
    as_of = dt.date(2024, 9, 30)  # PY2024
    st.period(5, "VR", "2022-01-10", None)  # open: in PY2021 .. PY2024
    st.period(5, "WP", "2024-08-01", None)  # open: PY2024, overlapping the VR case
    st.period(5, "ADULT", "2024-10-15", None)  # entered after the as-of date: not counted
    st.run(as_of=as_of)
    combos = st.table("coenrollment")
    assert sorted(combos["program_year"].unique().tolist()) == [2021, 2022, 2023, 2024]
    for year in (2021, 2022, 2023):
        assert st.combos(year) == {"VR": 1, "ALL": 1}
    assert st.combos(2024) == {"WP+VR": 1, "ALL": 1}
    assert st.overlap(2024, "VR", "WP") == (1, 1)
    assert st.overlap(2024, "ADULT", "VR") == (0, 0)
    assert combos.loc[combos["program_year"] == 2024, "period"].unique().tolist() == ["PY2024"]


def test_unlinked_periods_count_as_their_own_individuals(st: State) -> None:
    # one unlinked WP record with two periods in PY2023: one individual (its record), WP only
    st.period(None, "WP", "2023-08-01", "2023-09-01", record="W9")
    st.period(None, "WP", "2024-01-01", "2024-02-01", record="W9")
    # an unlinked Title I record at the same time: a different individual, Adult only
    st.period(None, "ADULT", "2023-08-15", "2023-12-31", record="T9")
    # a linked customer in both
    st.period(6, "WP", "2023-08-01", "2023-09-01")
    st.period(6, "ADULT", "2023-08-15", "2023-12-31")
    stats = st.run()
    assert st.combos(2023) == {"ADULT": 1, "WP": 1, "ADULT+WP": 1, "ALL": 3}
    assert st.overlap(2023, "ADULT", "WP") == (2, 1)  # customer 6 only
    assert stats["coenrollment_unlinked_individuals"] == 2


def test_combinations_are_one_per_individual_and_add_up_to_all(st: State) -> None:
    st.customers(4, 100, ("ADULT", "2023-08-01", "2024-05-01"))
    st.customers(3, 200, ("ADULT", "2023-08-01", "2024-05-01"), ("DW", "2023-09-01", "2023-10-01"))
    st.customers(
        2, 300, ("YOUTH", "2023-08-01", None), ("ADULT_ED", "2023-09-01", None), ("VR", "2024-01-01", None)
    )
    st.customers(1, 400, ("WP", "2023-08-01", "2023-08-01"), ("WP", "2024-03-01", "2024-03-01"))
    st.run()
    # 4 + 3 + 2 + 1 individuals, each once (the WP customer's two periods make one WP combination)
    assert st.combos(2023) == {"ADULT": 4, "ADULT+DW": 3, "YOUTH+ADULT_ED+VR": 2, "WP": 1, "ALL": 10}
    # PY2024: only the open periods of the 300s continue
    assert st.combos(2024) == {"YOUTH+ADULT_ED+VR": 2, "ALL": 2}
    combos = st.table("coenrollment")
    for _, year in combos.groupby("program_year"):
        parts = year.loc[year["programs"] != "ALL", "customers"].sum()
        assert parts == year.loc[year["programs"] == "ALL", "customers"].item()
    # rows: combinations by size, then the programs' order, ALL last
    assert combos.loc[combos["program_year"] == 2023, "programs"].tolist() == [
        "ADULT",
        "WP",
        "ADULT+DW",
        "YOUTH+ADULT_ED+VR",
        "ALL",
    ]


def test_a_small_combination_is_protected_against_all_and_against_program_totals(st: State) -> None:
    # PY2023 only (as of June 30 2024): Adult only 20, WP only 15, DW only 3 -> ALL 38
    st.customers(20, 1000, ("ADULT", "2023-08-01", "2024-01-31"))
    st.customers(15, 2000, ("WP", "2023-08-01", "2024-01-31"))
    st.customers(3, 3000, ("DW", "2023-08-01", "2024-01-31"))
    st.run(as_of=dt.date(2024, 6, 30))
    combos = st.table("coenrollment").set_index("programs")
    assert combos["customers"].to_dict() == {"ADULT": 20, "DW": 3, "WP": 15, "ALL": 38}
    # DW (3) is small. ALL - ADULT - WP would give it away, so the smallest other combination, WP (15),
    # is withheld with it. Then WP's participants (15, in coenrollment_overlap) would give WP away
    # and ALL - ADULT - WP the DW cell again: the WP total is withheld too.
    assert combos["suppressed"].to_dict() == {"ADULT": False, "DW": True, "WP": True, "ALL": False}
    overlap = st.table("coenrollment_overlap")
    withheld = overlap.groupby("program")["suppressed"].all().to_dict()
    assert withheld["WP"] and withheld["DW"]  # WP total withheld; DW total (3) is small
    # Adult rows (20 participants, none co-enrolled) stay: the zero with DW does not reveal the
    # DW total (withheld everywhere), and programs without participants are zeros
    adult = overlap.loc[overlap["program"] == "ADULT"]
    assert not adult["suppressed"].any()
    assert not overlap.loc[overlap["program"] == "YOUTH", "suppressed"].any()


def test_complementary_suppression_leaves_no_equation_with_one_withheld_cell(st: State) -> None:
    # PY2023: Adult only 20, WP only 15, Adult+WP 12 (overlapping), DW only 3; ALL 50
    st.customers(20, 1000, ("ADULT", "2023-08-01", "2024-01-31"))
    st.customers(15, 2000, ("WP", "2023-08-01", "2024-01-31"))
    st.customers(12, 3000, ("ADULT", "2023-08-01", "2024-01-31"), ("WP", "2023-09-01", "2023-12-31"))
    st.customers(3, 4000, ("DW", "2023-08-01", "2024-01-31"))
    st.run(as_of=dt.date(2024, 6, 30))
    combos = st.table("coenrollment").set_index("programs")
    # DW (3) small; against ALL the smallest other combination ADULT+WP (12) goes; the Adult total
    # (32 = 20 + 12) would then give ADULT+WP away, so ADULT (20) goes; likewise WP (27 = 15 + 12).
    assert combos["suppressed"].to_dict() == {
        "ADULT": True,
        "DW": True,
        "WP": True,
        "ADULT+WP": True,
        "ALL": False,
    }
    # every published equation (ALL; each published program total) has 0 or >= 2 withheld cells
    overlap = st.table("coenrollment_overlap")
    totals = overlap.groupby("program").agg(n=("participants", "first"), hidden=("suppressed", "all"))
    assert totals.loc["ADULT", "n"] == 32 and not totals.loc["ADULT", "hidden"]
    assert totals.loc["WP", "n"] == 27
    for program in ("ADULT", "WP"):
        members = [p for p in combos.index if program in p.split("+")]
        assert combos.loc[members, "suppressed"].sum() >= 2
    # Adult -> WP: 32 participants, 12 co-enrolled, 20 not: published; so is its mirror (27, 12, 15)
    row = overlap.set_index(["program", "other_program"])
    assert (row.loc[("ADULT", "WP"), "coenrolled"], row.loc[("ADULT", "WP"), "suppressed"]) == (12, False)
    assert not row.loc[("WP", "ADULT"), "suppressed"]


def test_overlap_rows_and_their_mirrors_are_withheld_together(st: State) -> None:
    # Adult 15: 12 co-enrolled in WP, 3 in WP only after their Adult period (ADULT+WP, not co-enrolled);
    # WP 43: those 15 and 28 in WP only. Combinations ADULT+WP 15, WP 28: nothing small there.
    st.customers(12, 100, ("ADULT", "2023-08-01", "2023-10-31"), ("WP", "2023-09-01", "2023-12-31"))
    st.customers(3, 200, ("ADULT", "2023-08-01", "2023-10-31"), ("WP", "2024-01-01", "2024-02-28"))
    st.customers(28, 300, ("WP", "2023-08-01", "2024-01-31"))
    st.run(as_of=dt.date(2024, 6, 30))
    assert not st.table("coenrollment")["suppressed"].any()
    assert st.overlap(2023, "ADULT", "WP") == (15, 12)
    assert st.overlap(2023, "WP", "ADULT") == (43, 12)
    row = st.table("coenrollment_overlap").set_index(["program", "other_program"])
    # Adult minus co-enrolled = 3 is small: (ADULT, WP) is withheld, and (WP, ADULT) too, since it
    # publishes the same 12 while the Adult total (15) is published in Adult's other rows
    assert row.loc[("ADULT", "WP"), "suppressed"]
    assert row.loc[("WP", "ADULT"), "suppressed"]
    assert not row.loc[("ADULT", "VR"), "suppressed"]  # 15 participants, 0 co-enrolled
    assert not row.loc[("WP", "VR"), "suppressed"]


def test_ui_claimants_days_to_first_wp_service(st: State) -> None:
    # 10: claims Sep 1 2023 (RESEA) and Mar 1 2024; a WP service before the claim does not count,
    #     the first one on or after it is Sep 11: 10 days
    st.claim(10, "2023-09-01", resea=True)
    st.claim(10, "2024-03-01")
    st.registration(10)
    st.service(10, "2023-08-15")
    st.service(10, "2023-09-11")
    # 11: self-service (001) on Oct 5 is not qualifying; the 102 on Oct 21 is: 20 days
    st.claim(11, "2023-10-01")
    st.registration(11)
    st.service(11, "2023-10-05", code="001")
    st.service(11, "2023-10-21", code="102")
    # 12: registered, never served
    st.claim(12, "2024-01-10")
    st.registration(12)
    # 13: RESEA; served 367 days after the claim, outside the 365-day window; no registration row
    st.claim(13, "2024-02-01", resea=True)
    st.service(13, "2025-02-02")
    # 14: claim on the last day of PY2023, served 60 days later (in PY2024): counts for PY2023
    st.claim(14, "2024-06-30")
    st.service(14, "2024-08-29")
    # 16: served exactly 365 days later (Nov 1 2023 + 365 days = Oct 31 2024, a leap year between)
    st.claim(16, "2023-11-01")
    st.service(16, "2024-10-31")
    # an unlinked claim: a claimant of its own, never registered or served
    st.claim(None, "2023-12-01")
    # 15: PY2024, served the same day; a claim after the as-of date is ignored
    st.claim(15, "2024-07-01")
    st.service(15, "2024-07-01")
    st.claim(17, "2025-07-15")
    st.run(suppression_threshold=3)
    ui = st.table("ui_claimants_wp").set_index("program_year")
    assert ui.index.tolist() == [2023, 2024]
    py23 = ui.loc[2023]
    # claimants 10, 11, 12, 13, 14, 16 and the unlinked claim; registered 10, 11, 12;
    # served 10, 11, 14, 16 with 10, 20, 60, 365 days: median (20 + 60) / 2, mean 455 / 4
    assert (py23["claimants"], py23["registered_with_wp"], py23["served_by_wp"]) == (7, 3, 4)
    assert py23["median_days_to_first_wp_service"] == 40.0
    assert py23["mean_days_to_first_wp_service"] == pytest.approx(113.75)
    assert py23["resea_selected"] == 2
    assert py23["period"] == "PY2023"
    py24 = ui.loc[2024]
    assert (py24["claimants"], py24["served_by_wp"], py24["median_days_to_first_wp_service"]) == (1, 1, 0.0)
    # threshold 3: PY2023 counts of 3+ (and claimants minus them 3+) show; RESEA 2 does not
    flags = [
        "suppressed",
        "registered_with_wp_suppressed",
        "served_by_wp_suppressed",
        "days_to_first_wp_service_suppressed",
        "resea_selected_suppressed",
    ]
    shown = st.q(f"SELECT {', '.join(flags)} FROM ui_claimants_wp ORDER BY program_year")
    assert shown == [(False, False, False, False, True), (True,) * 5]  # PY2024: one claimant


def test_vr_waitlist_served_by_wp_only_inside_the_span(st: State) -> None:
    # 20: on the list Mar 1 - Sep 30 2023 (PY2022 and PY2023); a WP service before it doesn't count,
    #     the one on Aug 10 2023 (PY2023) does
    st.waitlist(20, "2023-03-01", "2023-09-30")
    st.service(20, "2023-02-15")
    st.service(20, "2023-08-10")
    # 21: on the list from Jan 1 2024, still waiting (runs to the as-of date); served Jan 15 2025
    st.waitlist(21, "2024-01-01", None)
    st.service(21, "2025-01-15")
    # 22: off the list Dec 31 2023, served Jan 5 2024 (after); a follow-up (190) inside doesn't count
    st.waitlist(22, "2023-10-01", "2023-12-31")
    st.service(22, "2023-11-15", code="190")
    st.service(22, "2024-01-05")
    # 23: a case never wait-listed
    st.waitlist(23, None, None)
    st.service(23, "2023-11-15")
    # an unlinked case on the list: counted, cannot be matched to WP
    st.waitlist(None, "2023-11-01", "2024-02-01")
    st.run()
    vr = st.q("SELECT program_year, waitlist_customers, served_by_wp, share, suppressed FROM vr_waitlist_wp")
    assert sorted(vr) == [
        (2022, 1, 0, 0.0, True),  # 20
        (2023, 4, 1, 0.25, True),  # 20, 21, 22 and the unlinked case; 20 served
        (2024, 1, 1, 1.0, True),  # 21
    ]


def test_adult_ed_learners_coenrolled_in_title1(st: State) -> None:
    st.period(30, "ADULT_ED", "2023-09-01", "2024-03-31")
    st.period(30, "ADULT", "2024-01-01", "2024-06-30")  # overlaps: Adult
    st.period(31, "ADULT_ED", "2023-08-01", "2023-12-31")
    st.period(31, "DW", "2024-02-01", "2024-05-31")  # same PY, after: not co-enrolled
    st.period(32, "ADULT_ED", "2023-10-01", None)  # open into PY2024
    st.period(32, "YOUTH", "2023-11-01", "2024-01-31")
    st.period(32, "ADULT", "2023-12-01", "2023-12-31")
    st.period(33, "ADULT_ED", "2023-09-01", "2024-02-29")
    st.run()
    ae = st.q(
        "SELECT program_year, title1_program, adult_ed_learners, coenrolled, share FROM adult_ed_title1"
    )
    # PY2023: learners 30, 31, 32, 33; Adult: 30 and 32; DW: none; Youth: 32; any of them: 30 and 32.
    # PY2024: 32 is still enrolled, with no Title I period.
    assert sorted(ae) == sorted(
        [
            (2023, "ADULT", 4, 2, 0.5),
            (2023, "DW", 4, 0, 0.0),
            (2023, "YOUTH", 4, 1, 0.25),
            (2023, "ANY", 4, 2, 0.5),
            (2024, "ADULT", 1, 0, 0.0),
            (2024, "DW", 1, 0, 0.0),
            (2024, "YOUTH", 1, 0, 0.0),
            (2024, "ANY", 1, 0, 0.0),
        ]
    )
    # a program row is the overlap table's (ADULT_ED, program) count, with its flag
    same = st.q(
        "SELECT a.coenrolled = o.coenrolled AND a.suppressed = o.suppressed FROM adult_ed_title1 AS a "
        "JOIN coenrollment_overlap AS o ON o.program_year = a.program_year AND o.program = 'ADULT_ED' "
        "AND o.other_program = a.title1_program"
    )
    assert same == [(True,)] * 6


def test_adult_ed_any_is_withheld_with_a_program_row(st: State) -> None:
    # threshold 3, PY2023: 10 learners; 2 co-enrolled in Adult (small), 5 in DW, 3 in neither
    st.customers(2, 100, ("ADULT_ED", "2023-08-01", "2024-01-31"), ("ADULT", "2023-09-01", "2023-12-31"))
    st.customers(5, 200, ("ADULT_ED", "2023-08-01", "2024-01-31"), ("DW", "2023-09-01", "2023-12-31"))
    st.customers(3, 300, ("ADULT_ED", "2023-08-01", "2024-01-31"))
    st.run(as_of=dt.date(2024, 6, 30), suppression_threshold=3)
    ae = st.q("SELECT title1_program, coenrolled, suppressed FROM adult_ed_title1")
    # ANY (7) passes on its own (7 and 10 - 7 = 3 are not below 3), but beside DW (5) it would show
    # that 2 learners are in Adult: withheld with the Adult row
    assert sorted(ae) == sorted([("ADULT", 2, True), ("DW", 5, False), ("YOUTH", 0, False), ("ANY", 7, True)])


def test_no_identifier_reaches_an_output_table(st: State) -> None:
    st.con.execute("INSERT INTO customer_identity VALUES (10, '123456789', 'JANE', 'DOE', DATE '1980-01-01')")
    st.period(10, "WP", "2023-08-01", "2023-10-31")
    st.period(10, "ADULT", "2023-09-01", "2023-12-31")
    st.claim(10, "2023-09-01")
    st.service(10, "2023-09-11")
    st.waitlist(10, "2023-08-01", "2023-10-01")
    st.run()
    forbidden = {"123456789", "000000010", "JANE", "DOE", "Doe", "1980-01-01"}
    for table in TABLES:
        frame = st.table(table)
        assert not [c for c in frame.columns if any(k in c for k in ("ssn", "name", "birth", "customer_id"))]
        text = {str(v) for col in frame.columns for v in frame[col].tolist()}
        assert not text & forbidden, table


def test_rebuild_replaces_the_tables_and_rejects_an_unknown_program(st: State) -> None:
    st.period(1, "WP", "2023-08-01", "2023-10-31")
    st.run()
    st.period(2, "WP", "2023-08-01", "2023-10-31")
    st.run()
    assert st.combos(2023) == {"WP": 2, "ALL": 2}
    st.period(3, "TAA", "2023-08-01", "2023-10-31")
    with pytest.raises(ValueError, match="TAA"):
        st.run()
    assert st.combos(2023) == {"WP": 2, "ALL": 2}  # the previous tables are untouched
