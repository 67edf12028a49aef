"""The customer dimension and per-period characteristics for breakdowns (warehouse.demographics).

Hand-made participation, linkage and staged rows; every expected category is worked out in the
comment beside it from the rules in the module docstring.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest

from warehouse.demographics import (
    BREAKDOWNS,
    CATEGORIES,
    DemographicsSettings,
    build_demographics,
    categories,
    ordered_categories,
)
from warehouse.sql import sql

AS_OF = dt.date(2025, 6, 30)
NR = "NOT_REPORTED"

_STAGED = {
    "stg_wp_registrations": "individual_id VARCHAR, sex VARCHAR, birth_date DATE, hispanic VARCHAR, "
    "race VARCHAR, veteran BOOLEAN, disability VARCHAR, registration_date DATE",
    "stg_t1_participation": "participation_id VARCHAR, sex VARCHAR, birth_date DATE, veteran BOOLEAN, "
    "disability VARCHAR, low_income BOOLEAN, entry_date DATE",
    "stg_vr_cases": "case_id VARCHAR, sex VARCHAR, birth_date DATE, service_start_date DATE",
    "stg_ae_students": "student_id VARCHAR, sex VARCHAR, birth_date DATE",
}
_LINKAGE = {
    "customer_xref": "source_system VARCHAR, source_record_id VARCHAR, customer_id BIGINT",
    "customer_identity": "customer_id BIGINT, records BIGINT, systems VARCHAR, ssn VARCHAR, "
    "first_name VARCHAR, middle_name VARCHAR, last_name VARCHAR, birth_date DATE, sex VARCHAR, "
    "ssn_count BIGINT, ssn_conflict BOOLEAN",
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
    """A tiny warehouse: periods, linkage and the staged records the characteristics come from."""

    def __init__(self, linked: bool = True) -> None:
        self.con = duckdb.connect()
        self.con.execute(sql("periods/ddl.sql"))
        tables = {**_STAGED, **(_LINKAGE if linked else {})}
        for table, cols in tables.items():
            self.con.execute(f"CREATE TABLE {table} ({cols})")

    def person(
        self, customer_id: int, birth: str | None = None, sex: str | None = None, systems: str = "wp"
    ) -> None:
        """A customer with a clear identity (the SSN and names must never reach the outputs)."""
        self.con.execute(
            "INSERT INTO customer_identity VALUES (?, 1, ?, ?, 'ZELDA', 'Q', 'XYLOPHONE', ?, ?, 1, false)",
            [customer_id, systems, f"99988{customer_id:04d}", d(birth), sex],
        )

    def link(self, system: str, record_id: str, customer_id: int) -> None:
        self.con.execute("INSERT INTO customer_xref VALUES (?, ?, ?)", [system, record_id, customer_id])

    def wp_reg(
        self,
        individual_id: str,
        customer_id: int | None,
        hispanic: str | None = "N",
        race: str | None = None,
        veteran: bool | None = None,
        disability: str | None = None,
        registered: str = "2023-01-01",
        sex: str = "U",
        birth: str | None = None,
    ) -> None:
        self.con.execute(
            "INSERT INTO stg_wp_registrations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [individual_id, sex, d(birth), hispanic, race, veteran, disability, d(registered)],
        )
        if customer_id is not None:
            self.link("wp", individual_id, customer_id)

    def t1(
        self,
        participation_id: str,
        customer_id: int | None,
        veteran: bool | None = None,
        disability: str | None = None,
        low_income: bool | None = None,
        entry: str = "2024-01-10",
        sex: str = "U",
        birth: str | None = None,
    ) -> None:
        self.con.execute(
            "INSERT INTO stg_t1_participation VALUES (?, ?, ?, ?, ?, ?, ?)",
            [participation_id, sex, d(birth), veteran, disability, low_income, d(entry)],
        )
        if customer_id is not None:
            self.link("title1", participation_id, customer_id)

    def vr(self, case_id: str, customer_id: int | None, service_start: str | None = "2024-01-10") -> None:
        self.con.execute("INSERT INTO stg_vr_cases VALUES (?, 'U', NULL, ?)", [case_id, d(service_start)])
        if customer_id is not None:
            self.link("vr", case_id, customer_id)

    def ae(self, student_id: str, customer_id: int | None) -> None:
        self.con.execute("INSERT INTO stg_ae_students VALUES (?, 'U', NULL)", [student_id])
        if customer_id is not None:
            self.link("adult_ed", student_id, customer_id)

    def period(
        self,
        customer_id: int | None,
        program: str,
        record_id: str,
        entry: str,
        office: str | None = None,
        low_income: bool | None = None,
    ) -> str:
        """A participation row for an existing source record; returns its period_id."""
        period_id = f"{program}:{record_id}:{entry}"
        self.con.execute(
            "INSERT INTO participation (period_id, customer_id, program, source_system, source_record_id, "
            "entry_date, office, low_income, as_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                period_id,
                customer_id,
                program,
                _SYSTEM[program],
                record_id,
                d(entry),
                office,
                low_income,
                AS_OF,
            ],
        )
        return period_id

    def build(self, settings: DemographicsSettings | None = None) -> dict[str, int]:
        return build_demographics(self.con, AS_OF, settings)

    def _row(self, table: str, key: str, value: Any) -> dict[str, Any]:
        """The one row of `table` with `key` = value, as plain Python values (None for NULL)."""
        cur = self.con.execute(f"SELECT * FROM {table} WHERE {key} = ?", [value])
        names = [c[0] for c in cur.description or ()]
        rows = cur.fetchall()
        assert len(rows) == 1, value
        return dict(zip(names, rows[0], strict=True))

    def period_row(self, period_id: str) -> dict[str, Any]:
        return self._row("period_characteristics", "period_id", period_id)

    def customer_row(self, customer_id: int) -> dict[str, Any]:
        return self._row("customer_demographics", "customer_id", customer_id)


def test_age_at_entry_birthday_edge_and_no_dob() -> None:
    s = State()
    s.person(1, birth="2005-06-30", sex="F")
    s.t1("T1", 1, entry="2024-06-30")
    s.t1("T2", 1, entry="2024-06-29")
    s.person(2, birth=None, sex="M")
    s.t1("T3", 2, entry="2024-06-30")
    on_birthday = s.period(1, "ADULT", "T1", "2024-06-30")
    day_before = s.period(1, "DW", "T2", "2024-06-29")
    no_dob = s.period(2, "ADULT", "T3", "2024-06-30")
    s.build()
    # Born 2005-06-30: on 2024-06-30 they turn 19 that very day -> 19-24; the day before they are
    # still 18 -> 16-18.
    assert s.period_row(on_birthday)["age_group"] == "19-24"
    assert s.period_row(day_before)["age_group"] == "16-18"
    # Customer 2 has no date of birth anywhere.
    assert s.period_row(no_dob)["age_group"] == NR
    assert s.period_row(on_birthday)["sex"] == "F"
    assert s.period_row(no_dob)["sex"] == "M"


def test_age_bands_come_from_settings() -> None:
    s = State()
    s.person(1, birth="2000-01-01")
    s.t1("T1", 1, entry="2024-06-30")
    p = s.period(1, "ADULT", "T1", "2024-06-30")
    # Age 24 at entry; with bands [0,21) and 21+ that is OVER_21; with the default bands 19-24.
    s.build(DemographicsSettings(age_bands=(("UNDER_21", 0), ("OVER_21", 21)), not_reported="UNKNOWN"))
    assert s.period_row(p)["age_group"] == "OVER_21"
    # The custom label replaces NOT_REPORTED everywhere (no race, veteran, office known here).
    row = s.period_row(p)
    assert (row["race_ethnicity"], row["veteran"], row["office"]) == ("UNKNOWN", "UNKNOWN", "UNKNOWN")
    s.build()
    assert s.period_row(p)["age_group"] == "19-24"


def test_race_ethnicity_hispanic_wins_and_two_or_more() -> None:
    s = State()
    # Customer 1: one registration Hispanic No / White, another Hispanic Yes / Black. Any Yes ->
    # HISPANIC for the customer (wins over the two races that would make TWO_OR_MORE).
    s.person(1)
    s.wp_reg("W1a", 1, hispanic="N", race="WHITE")
    s.wp_reg("W1b", 1, hispanic="Y", race="BLACK")
    # Customer 2: one registration with two races -> TWO_OR_MORE.
    s.person(2)
    s.wp_reg("W2", 2, hispanic="N", race="AIAN;WHITE")
    # Customer 3: Asian on one registration, White on another: two races over the records.
    s.person(3)
    s.wp_reg("W3a", 3, hispanic="U", race="ASIAN")
    s.wp_reg("W3b", 3, hispanic="N", race="WHITE")
    # Customer 4: a single race -> its label.
    s.person(4)
    s.wp_reg("W4", 4, hispanic="N", race="NHPI")
    # Customer 5: Hispanic did not self-identify, no race -> NOT_REPORTED, hispanic NULL.
    s.person(5)
    s.wp_reg("W5", 5, hispanic="U", race=None)
    pa = s.period(1, "WP", "W1a", "2024-01-05")
    pb = s.period(1, "WP", "W1b", "2024-03-05")
    s.build()
    assert s.customer_row(1)["race_ethnicity"] == "HISPANIC"
    assert s.customer_row(1)["hispanic"] is True
    assert s.customer_row(2)["race_ethnicity"] == "TWO_OR_MORE"
    assert s.customer_row(2)["hispanic"] is False
    assert s.customer_row(3)["race_ethnicity"] == "TWO_OR_MORE"
    # W3a says U, W3b says N: the customer is reported not Hispanic.
    assert s.customer_row(3)["hispanic"] is False
    assert s.customer_row(4)["race_ethnicity"] == "NATIVE_HAWAIIAN_PACIFIC_ISLANDER"
    assert s.customer_row(5)["race_ethnicity"] == NR
    assert s.customer_row(5)["hispanic"] is None
    # Each WP period takes its own registration: W1a says White, W1b Hispanic.
    assert s.period_row(pa)["race_ethnicity"] == "WHITE"
    assert s.period_row(pb)["race_ethnicity"] == "HISPANIC"


def test_period_veteran_from_its_title1_record_beats_the_customer() -> None:
    s = State()
    s.person(1, systems="title1+wp")
    s.wp_reg("W1", 1, veteran=True)  # the WP registration says veteran
    s.t1("T1", 1, veteran=False)  # this Title I record says not
    s.t1("T2", 1, veteran=None)  # this one says nothing
    t1_no = s.period(1, "ADULT", "T1", "2024-01-10")
    t1_blank = s.period(1, "DW", "T2", "2024-01-10")
    wp = s.period(1, "WP", "W1", "2024-01-10", office="Ames")
    s.build()
    # The customer: any record says veteran -> true.
    assert s.customer_row(1)["veteran"] is True
    # T1 says No at entry: its own record wins over the customer's true.
    assert s.period_row(t1_no)["veteran"] == "NO"
    # T2 carries no veteran value: the customer's true.
    assert s.period_row(t1_blank)["veteran"] == "YES"
    assert s.period_row(wp)["veteran"] == "YES"


def test_disability_vr_period_and_low_income() -> None:
    s = State()
    # Customer 1: the WP registration says no disability, but a VR case with IPE services means a
    # disability -> customer true, VR period YES, and the WP period its own registration's NO.
    s.person(1)
    s.wp_reg("W1", 1, disability="N")
    s.vr("V1", 1)
    vr = s.period(1, "VR", "V1", "2024-01-10")
    wp = s.period(1, "WP", "W1", "2024-01-10")
    # Customer 2: a VR case never reaching services says nothing; Title I disability U says nothing.
    s.person(2)
    s.vr("V2", 2, service_start=None)
    s.t1("T2", 2, disability="U", low_income=True)
    s.wp_reg("W2", 2, disability="U")
    t1 = s.period(2, "ADULT", "T2", "2024-01-10", low_income=True)
    wp2 = s.period(2, "WP", "W2", "2024-02-10")
    # An unlinked VR period: its own case -> YES.
    s.vr("V3", None)
    vr_unlinked = s.period(None, "VR", "V3", "2024-01-10")
    s.build()
    assert s.customer_row(1)["disability"] is True
    assert s.period_row(vr)["disability"] == "YES"
    assert s.period_row(wp)["disability"] == "NO"
    assert s.customer_row(2)["disability"] is None
    assert s.period_row(t1)["disability"] == NR
    assert s.period_row(vr_unlinked)["disability"] == "YES"
    # Low income: customer 1 has no Title I record -> NULL / NOT_REPORTED; customer 2's Title I record
    # says low income -> true, and the customer's WP period inherits YES.
    assert s.customer_row(1)["low_income"] is None
    assert s.period_row(wp)["low_income"] == NR
    assert s.customer_row(2)["low_income"] is True
    assert s.period_row(t1)["low_income"] == "YES"
    assert s.period_row(wp2)["low_income"] == "YES"


def test_unknown_is_not_reported_and_office() -> None:
    s = State()
    # Customer 1 only ever was an Adult Ed learner: no source says race, veteran, disability or
    # low income; identity has no sex.
    s.person(1, birth="1990-05-05", sex=None, systems="adult_ed")
    s.ae("A1", 1)
    ae = s.period(1, "ADULT_ED", "A1", "2024-01-10")
    s.person(2)
    s.wp_reg("W2", 2, race="WHITE")
    s.wp_reg("W3", 2, race="WHITE")
    wp_office = s.period(2, "WP", "W2", "2024-01-10", office="Des Moines")
    wp_blank = s.period(2, "WP", "W3", "2024-05-10", office="  ")
    s.build()
    c = s.customer_row(1)
    assert (c["sex"], c["race_ethnicity"], c["hispanic"], c["veteran"], c["disability"], c["low_income"]) == (
        "U",
        NR,
        None,
        None,
        None,
        None,
    )
    row = s.period_row(ae)
    # Born 1990-05-05, entry 2024-01-10: 33 -> 25-44.
    assert row["age_group"] == "25-44"
    assert [row[k] for k in ("sex", "race_ethnicity", "veteran", "disability", "low_income", "office")] == [
        "U",
        NR,
        NR,
        NR,
        NR,
        NR,
    ]
    assert s.period_row(wp_office)["office"] == "Des Moines"
    assert s.period_row(wp_blank)["office"] == NR


def test_unlinked_period_uses_its_own_record_only() -> None:
    s = State()
    # Customer 1 is a veteran by its WP registration; the unlinked Title I record T9 (same person
    # perhaps, but not linked) must not borrow that.
    s.person(1)
    s.wp_reg("W1", 1, veteran=True)
    s.t1("T9", None, veteran=None, disability="Y", low_income=False, sex="F", birth="1960-01-10")
    p = s.period(None, "ADULT", "T9", "2024-01-10")
    s.build()
    row = s.period_row(p)
    # Born 1960-01-10, entry 2024-01-10: 64 that day -> 60+.
    assert row["customer_id"] is None
    assert [
        row[k] for k in ("sex", "age_group", "race_ethnicity", "veteran", "disability", "low_income")
    ] == [
        "F",
        "60+",
        NR,
        NR,
        "YES",
        "NO",
    ]


def test_records_after_as_of_do_not_count_and_programs_ever() -> None:
    s = State()
    s.person(1, systems="title1+vr+wp")
    s.wp_reg("W1", 1, veteran=False, race="ASIAN")
    s.wp_reg("W2", 1, veteran=True, race="BLACK", registered="2025-07-01")  # after AS_OF
    s.t1("T1", 1)
    s.vr("V1", 1)
    s.period(1, "VR", "V1", "2024-01-10")
    s.period(1, "WP", "W1", "2024-01-10")
    s.period(1, "ADULT", "T1", "2024-01-10")
    s.period(1, "WP", "W1", "2024-09-10")
    s.person(2, systems="ui")  # a UI claimant only: a customer without periods
    s.build()
    c = s.customer_row(1)
    # W2 is dated after the as-of date: still not a veteran, and the one race ASIAN.
    assert (c["veteran"], c["race_ethnicity"]) == (False, "ASIAN")
    # Programs in the fixed order ADULT, DW, YOUTH, ADULT_ED, WP, VR; WP once though two periods.
    assert c["programs_ever"] == "ADULT+WP+VR"
    assert c["systems"] == "title1+vr+wp"
    assert s.customer_row(2)["programs_ever"] is None


_FORBIDDEN = {"ssn", "first_name", "middle_name", "last_name", "name", "birth_date", "dob", "street", "city"}


def test_no_identity_columns_or_values_and_one_row_per_period() -> None:
    s = State()
    s.person(1, birth="1985-03-03", sex="M", systems="title1+wp")
    s.wp_reg("W1", 1, race="WHITE", veteran=False, disability="N")
    s.t1("T1", 1, low_income=True)
    s.wp_reg("W9", None, hispanic="Y", sex="F", birth="2001-02-02")
    s.ae("A9", None)
    periods = [
        s.period(1, "WP", "W1", "2024-01-10", office="Ames"),
        s.period(1, "WP", "W1", "2024-08-10", office="Ames"),
        s.period(1, "DW", "T1", "2024-01-10"),
        s.period(None, "WP", "W9", "2024-01-10", office="Waterloo"),
        s.period(None, "ADULT_ED", "A9", "2024-01-10"),
    ]
    stats = s.build()
    for table in ("customer_demographics", "period_characteristics"):
        cols = {c[0] for c in s.con.execute(f"DESCRIBE {table}").fetchall()}
        assert not cols & _FORBIDDEN, table
        cells = {str(v) for row in s.con.execute(f"SELECT * FROM {table}").fetchall() for v in row}
        # The SSN, the names and the DOBs seeded above appear nowhere.
        assert not cells & {"999880001", "ZELDA", "XYLOPHONE", "1985-03-03", "2001-02-02"}, table
    got = s.con.execute("SELECT period_id FROM period_characteristics ORDER BY period_id").fetchall()
    assert [r[0] for r in got] == sorted(periods)
    assert stats["periods"] == 5 and stats["periods_without_customer"] == 2 and stats["customers"] == 1
    # Every breakdown column is a non-null category from its list (office: any name or NR).
    frame = s.con.execute("SELECT * FROM period_characteristics").df()
    for col in BREAKDOWNS:
        assert frame[col].notna().all(), col
        if col != "office":
            assert set(frame[col]) <= set(CATEGORIES[col]), col
    # The unlinked WP period: Hispanic Yes, F, born 2001-02-02 -> 22 on 2024-01-10 -> 19-24.
    row = s.period_row(periods[3])
    assert (row["race_ethnicity"], row["sex"], row["age_group"], row["office"]) == (
        "HISPANIC",
        "F",
        "19-24",
        "Waterloo",
    )


def test_without_linkage_every_period_uses_its_own_record() -> None:
    s = State(linked=False)
    s.wp_reg("W1", None, race="BLACK", veteran=True)
    p = s.period(None, "WP", "W1", "2024-01-10")
    stats = s.build()
    assert stats["customers"] == 0 and stats["periods"] == 1
    row = s.period_row(p)
    assert (row["race_ethnicity"], row["veteran"]) == ("BLACK", "YES")


def test_rebuild_replaces_and_categories_order() -> None:
    s = State()
    s.person(1)
    s.wp_reg("W1", 1)
    s.period(1, "WP", "W1", "2024-01-10")
    s.build()
    s.build()  # a second night: the same one row, not two
    assert s.con.execute("SELECT count(*) FROM period_characteristics").fetchall() == [(1,)]
    assert set(BREAKDOWNS) == set(CATEGORIES)
    assert CATEGORIES["age_group"] == ("UNDER_16", "16-18", "19-24", "25-44", "45-54", "55-59", "60+", NR)
    assert CATEGORIES["race_ethnicity"][0] == "HISPANIC" and CATEGORIES["race_ethnicity"][-1] == NR
    # Offices: found ones alphabetically, not reported last; fixed lists keep their order.
    assert ordered_categories("office", ["Waterloo", NR, "Ames"]) == ["Ames", "Waterloo", NR]
    assert ordered_categories("veteran", ["NO"]) == ["YES", "NO", NR]
    assert categories(DemographicsSettings(not_reported="UNK"))["veteran"] == ("YES", "NO", "UNK")


@pytest.mark.parametrize(
    "bands",
    [(), (("A", 0), ("B", 0)), (("A", 10), ("B", 5)), (("A", 0), ("A", 5)), (("NOT_REPORTED", 0),)],
)
def test_bad_age_bands_are_refused(bands: tuple[tuple[str, int], ...]) -> None:
    with pytest.raises(ValueError):
        DemographicsSettings(age_bands=bands)
