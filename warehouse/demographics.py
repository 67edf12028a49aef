"""Who the participants are, for breakdowns: `customer_demographics` and `period_characteristics`.

Performance reports break each indicator down by sex, age group, race/ethnicity, veteran,
disability, low income and local office. Both tables are published (analytics zone), so they hold
categories only: no name, SSN, date of birth or address; the DOB is read to place the age at entry
in a band and goes no further.

* `customer_demographics`, one row per customer in `customer_identity`: what the customer's records
  say over all systems (race/ethnicity only from WP registrations; veteran from WP and Title I;
  disability from WP, Title I and any VR case with IPE services; low income from Title I). A flag is
  true when any record dated on or before the as-of date says so, false when they only say no, NULL
  when none says.
* `period_characteristics`, one row per `participation` period, every column a non-null category
  in a fixed list (`CATEGORIES`): characteristics *at entry* come from the period's own source
  record where it carries them, else from the customer; sex and age from the customer's voted
  identity (a period without a customer: its own record).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import duckdb

from warehouse.periods import PROGRAMS
from warehouse.sql import has_table, run_named, sql, transaction

NOT_REPORTED = "NOT_REPORTED"
YES = "YES"
NO = "NO"
SEX_CATEGORIES = ("M", "F", "U")
"""U: not known, did not self-identify, or X (the layouts map every such code to U)."""

AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("UNDER_16", 0),
    ("16-18", 16),
    ("19-24", 19),
    ("25-44", 25),
    ("45-54", 45),
    ("55-59", 55),
    ("60+", 60),
)
"""ETA-9169 age bands as (label, lowest age); a band runs up to the next band's lowest age."""

HISPANIC = "HISPANIC"
TWO_OR_MORE = "TWO_OR_MORE"
RACE_CODES: tuple[tuple[str, str], ...] = (
    ("AIAN", "AMERICAN_INDIAN_ALASKA_NATIVE"),
    ("ASIAN", "ASIAN"),
    ("BLACK", "BLACK"),
    ("NHPI", "NATIVE_HAWAIIAN_PACIFIC_ISLANDER"),
    ("WHITE", "WHITE"),
)
"""WP `race` canonical codes (sources/layouts/wp.yaml) -> the published label, in report order."""

BREAKDOWNS: dict[str, str] = {
    "sex": "Sex",
    "age_group": "Age at program entry",
    "race_ethnicity": "Race/ethnicity (Hispanic of any race; otherwise the race, or two or more races)",
    "veteran": "Veteran",
    "disability": "Individual with a disability",
    "low_income": "Low-income individual",
    "office": "Local office (Wagner-Peyser: office of the first qualifying service)",
}
"""Breakdown column of `period_characteristics` -> its label in reports and the data dictionary."""


@dataclass(frozen=True)
class DemographicsSettings:
    """Report conventions a state may change: the age bands and the not-reported label."""

    age_bands: tuple[tuple[str, int], ...] = AGE_BANDS
    """(label, lowest age), ascending; an age below the first band is not reported."""
    not_reported: str = NOT_REPORTED

    def __post_init__(self) -> None:
        labels = [label for label, _ in self.age_bands]
        mins = [low for _, low in self.age_bands]
        if not self.age_bands:
            raise ValueError("age_bands: at least one band")
        if any(b <= a for a, b in pairwise(mins)):
            raise ValueError(f"age_bands: lowest ages must ascend strictly, got {mins}")
        if len(set(labels)) != len(labels) or self.not_reported in labels:
            raise ValueError(f"age_bands: labels must be distinct and not {self.not_reported!r}")


def categories(settings: DemographicsSettings | None = None) -> dict[str, tuple[str, ...]]:
    """The fixed category order of each breakdown, not-reported last. `office` is open-ended: only
    its not-reported label is fixed; `ordered_categories` places the offices found."""
    s = settings or DemographicsSettings()
    nr = s.not_reported
    flags = (YES, NO, nr)
    return {
        "sex": SEX_CATEGORIES,
        "age_group": (*(label for label, _ in s.age_bands), nr),
        "race_ethnicity": (HISPANIC, *(label for _, label in RACE_CODES), TWO_OR_MORE, nr),
        "veteran": flags,
        "disability": flags,
        "low_income": flags,
        "office": (nr,),
    }


CATEGORIES: dict[str, tuple[str, ...]] = categories()
"""`categories()` with the default settings."""


def ordered_categories(
    column: str, observed: Iterable[str] = (), settings: DemographicsSettings | None = None
) -> list[str]:
    """Report rows for a breakdown: its fixed categories in order (shown even when empty), then any
    other value observed (offices) alphabetically, the not-reported label always last."""
    s = settings or DemographicsSettings()
    fixed = categories(s)[column]
    extra = sorted(set(observed) - set(fixed))
    head = [c for c in fixed if c != s.not_reported]
    tail = [s.not_reported] if s.not_reported in fixed else []
    return head + extra + tail


_TEMPS = ("demog_records", "demog_xref", "demog_identity")


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    return int(con.execute(query).fetchall()[0][0])


def build_demographics(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, settings: DemographicsSettings | None = None
) -> dict[str, int]:
    """(Re)build `customer_demographics` and `period_characteristics` in one transaction; return
    counts, including how many periods leave each breakdown not reported (data quality).

    Reads `participation`, `stg_wp_registrations`, `stg_t1_participation`, `stg_vr_cases`,
    `stg_ae_students` and, when linkage has run, `customer_xref` and `customer_identity` (without
    them there are no customers and every period uses its own record). Records dated after `as_of`
    do not count toward a customer's values, so a rebuild for a past date sees that night's facts.
    """
    s = settings or DemographicsSettings()
    values: dict[str, Any] = {
        "as_of": as_of,
        "not_reported": s.not_reported,
        "yes": YES,
        "no": NO,
        "hispanic_label": HISPANIC,
        "two_or_more": TWO_OR_MORE,
        "race_codes": [code for code, _ in RACE_CODES],
        "race_labels": [label for _, label in RACE_CODES],
        "band_labels": [label for label, _ in s.age_bands],
        "band_mins": [low for _, low in s.age_bands],
        "programs": list(PROGRAMS),
    }
    linked = has_table(con, "customer_xref") and has_table(con, "customer_identity")
    with transaction(con):
        for name in ("inputs.sql" if linked else "inputs_empty.sql", "macros.sql", "records.sql"):
            run_named(con, f"demographics/{name}", values)
        run_named(con, "demographics/customers.sql", values)
        run_named(con, "demographics/periods.sql", values)
        stats = _stats(con, values)
        if stats["periods"] != stats["participation"]:
            raise RuntimeError(
                f"period_characteristics has {stats['periods']} rows for {stats['participation']} "
                "periods: a staged source key is not unique"
            )
        for temp in _TEMPS:
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    return stats


def _stats(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> dict[str, int]:
    """Row counts and, per breakdown, the periods it cannot place (sex: U)."""
    cur = con.execute(sql("demographics/stats.sql"), {"not_reported": values["not_reported"]})
    names = [str(c[0]) for c in cur.description or ()]
    stats = {name: int(n) for name, n in zip(names, cur.fetchall()[0], strict=True)}
    stats["customers"] = _count(con, "SELECT count(*) FROM customer_demographics")
    stats["participation"] = _count(con, "SELECT count(*) FROM participation")
    return stats
