"""The six WIOA performance indicators per program and program year: the `indicators` table.

Reads `participation` (periods), the wage outcomes (`warehouse.outcomes`), the staged outcome,
assessment and case tables, and `customer_xref`. The rules (cohort windows, exclusions, pending,
the Youth variant, the credential denominator, MSG, statewide retention) are in
`shared/domain/wioa-performance.md` and live in `warehouse/sql/indicators/`; what a state may
choose is in `IndicatorSettings`. Three tables: `indicators` (the PY N annual report's cohorts),
`indicators_quarterly` (the rolling four-quarter windows at the same lags) and
`indicator_breakdowns` (annual, by the characteristics in `period_characteristics`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from warehouse.outcomes import wage_quarters_available
from warehouse.sql import has_table, registered, run_named, sql
from warehouse.suppression import DEFAULT_THRESHOLD, suppress_counts, suppress_indicators

PROGRAMS = ("ADULT", "DW", "YOUTH", "ADULT_ED", "WP", "VR")
ALL_PROGRAMS = "ALL"
INDICATORS = ("EMP_Q2", "EMP_Q4", "MEDIAN_EARNINGS_Q2", "CREDENTIAL", "MSG", "RETENTION_SAME_EMPLOYER")
COLUMNS = (
    "program",
    "program_year",
    "indicator",
    "numerator",
    "denominator",
    "pending",
    "value",
    "suppressed",
)
QUARTERLY_COLUMNS = (
    "program",
    "report_quarter",
    "indicator",
    "cohort_start",
    "cohort_end",
    "numerator",
    "denominator",
    "pending",
    "value",
    "suppressed",
)
BREAKDOWN_COLUMNS = (
    "program",
    "program_year",
    "indicator",
    "breakdown",
    "category",
    "numerator",
    "denominator",
    "pending",
    "value",
    "suppressed",
)
COHORT_LAG_QUARTERS = {
    "EMP_Q2": 4,
    "MEDIAN_EARNINGS_Q2": 4,
    "EMP_Q4": 6,
    "CREDENTIAL": 6,
    "RETENTION_SAME_EMPLOYER": 6,
    "MSG": 0,
}
"""How many quarters before a report's last quarter its cohort window of four quarters ends; the
rule itself is `ind_lag` in warehouse/sql/indicators/macros.sql (this copy labels the windows and a
test holds the two equal)."""
TOTAL_BREAKDOWN = "TOTAL"
TOTAL_CATEGORY = "ALL"
BREAKDOWN_DIMENSIONS = ("sex", "age_group", "race_ethnicity", "veteran", "disability", "low_income", "office")
"""Columns of `period_characteristics` the annual figures are broken down by."""

EXCLUDED_FOR_ALL = ("01", "02", "03", "05")
"""Institutionalized, health, deceased, reserve called to active duty (domain file, Exclusions)."""
EXCLUDED_YOUTH = ("06",)
EXCLUDED_VR = ("04",)
NO_CREDENTIAL_TRAINING = ("00", "01", "05")
"""Title I training types that do not put an exiter in the credential denominator: none, OJT,
customized training."""
GRADUATE_PROGRAMS = ("VR",)

_TEMPS = (
    "ind_units",
    "ind_records",
    "ind_unit_flags",
    "ind_events",
    "ind_spans",
    "ind_wages",
    "ind_employers",
    "ind_detail",
    "ind_msg",
    "ind_groups",
    "ind_out",
)


@dataclass(frozen=True)
class IndicatorSettings:
    """State policy choices and the run's facts for the indicators."""

    suppression_threshold: int = DEFAULT_THRESHOLD
    delivered_wage_quarters: tuple[tuple[int, int], ...] | None = None
    """(year, quarter) whose wage file has arrived; None: `wage_quarters_available` (load audit)."""
    program_years: tuple[int, ...] | None = None
    """None: every program year up to the one containing the as-of date."""
    quarterly: bool = True
    """Also the rolling four-quarter figures of every quarter up to the one holding the as-of date."""
    breakdowns: bool = True
    """Also the annual figures by characteristic (needs `period_characteristics`)."""
    breakdown_columns: tuple[str, ...] = BREAKDOWN_DIMENSIONS
    excluded_for_all: tuple[str, ...] = EXCLUDED_FOR_ALL
    excluded_youth: tuple[str, ...] = EXCLUDED_YOUTH
    excluded_vr: tuple[str, ...] = EXCLUDED_VR
    exclude_section225: bool = True
    """Adult Ed corrections learners leave the employment, earnings and credential indicators."""
    youth_education_counts: bool = True
    """Youth: post-exit education in the target quarter counts as a positive outcome."""
    no_credential_training: tuple[str, ...] = NO_CREDENTIAL_TRAINING
    graduate_programs: tuple[str, ...] = GRADUATE_PROGRAMS
    merge_in_chain: bool = True
    """Periods of one Title I program inside one common-exit chain count as one period."""
    chain_exit_reason: bool = True
    """A common-exit chain's exit reason (from its Title I records) applies to all its programs."""


def program_year(d: dt.date) -> int:
    """PY N runs July 1 N - June 30 N+1."""
    return d.year - (1 if d.month < 7 else 0)


def _run(con: duckdb.DuckDBPyConnection, name: str, values: dict[str, Any]) -> None:
    """Run `indicators/<name>`, binding the `$x` values it names."""
    run_named(con, f"indicators/{name}", values)


@dataclass(frozen=True)
class IndicatorTables:
    """The night's indicator tables (as written to the warehouse)."""

    annual: pd.DataFrame
    quarterly: pd.DataFrame
    breakdowns: pd.DataFrame


def build_indicators(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, settings: IndicatorSettings | None = None
) -> pd.DataFrame:
    """(Re)build the indicator tables as of `as_of` and return the annual `indicators` table.

    Rows exist for every program and program year whose cohort holds at least one period
    (denominator + pending > 0); a median row wherever its EMP_Q2 row exists. Rates are
    numerator / denominator (NaN when the denominator is 0); the median is in dollars with a null
    numerator and the count of employed exiters as its denominator. See `build_indicator_tables`.
    """
    return build_indicator_tables(con, as_of, settings).annual


def build_indicator_tables(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, settings: IndicatorSettings | None = None
) -> IndicatorTables:
    """(Re)build `indicators`, `indicators_quarterly` and `indicator_breakdowns` as of `as_of`.

    One computation per unit (warehouse/sql/indicators/detail.sql, msg_detail.sql) feeds every
    report: the PY annual cohorts, the rolling four-quarter windows of each quarter up to the one
    holding `as_of`, and the annual figures by the characteristics of `period_characteristics`
    (when that table exists and `settings.breakdowns`). The rules live in SQL once.
    """
    s = settings or IndicatorSettings()
    quarters = (
        s.delivered_wage_quarters if s.delivered_wage_quarters is not None else wage_quarters_available(con)
    )
    values: dict[str, Any] = {
        "as_of": as_of,
        "delivered": sorted({y * 4 + q - 1 for y, q in quarters}) or [-1],
        "excluded_all": list(s.excluded_for_all) or [""],
        "excluded_youth": list(s.excluded_youth) or [""],
        "excluded_vr": list(s.excluded_vr) or [""],
        "exclude_section225": s.exclude_section225,
        "youth_education": s.youth_education_counts,
        "no_credential_training": list(s.no_credential_training) or [""],
        "graduate_programs": list(s.graduate_programs) or [""],
        "merge_in_chain": s.merge_in_chain,
        "chain_reason": s.chain_exit_reason,
        "all_label": ALL_PROGRAMS,
    }
    try:
        for name in (
            "macros.sql",
            "units.sql",
            "records.sql" if has_table(con, "customer_xref") else "records_no_xref.sql",
            "unit_flags.sql",
            "events.sql",
            "spans.sql",
            "wages.sql",
            "employers.sql",
            "detail.sql",
            "msg_detail.sql",
        ):
            _run(con, name, values)
        first = con.execute(
            "SELECT least((SELECT min(cohort_q) FROM ind_detail), (SELECT min(q_start) FROM ind_msg))"
        ).fetchall()[0][0]
        last_q = as_of.year * 4 + (as_of.month - 1) // 3
        if first is None:
            years: list[int] = []
            report_quarters: list[int] = []
        else:
            max_py = program_year(as_of)
            years = list(s.program_years) if s.program_years else list(range(int(first) // 4 - 2, max_py + 1))
            report_quarters = list(range(int(first), last_q + 1))
        with_breakdowns = s.breakdowns and has_table(con, "period_characteristics")
        if with_breakdowns:
            con.execute(sql("indicators/groups.sql", columns=list(s.breakdown_columns)))
        else:
            _run(con, "groups_total.sql", values)
        annual_all = _aggregate(con, [(n + 1) * 4 + 1 for n in years], values)
        _run(con, "groups_total.sql", values)
        quarterly = _aggregate(con, report_quarters, values) if s.quarterly else _aggregate(con, [], values)
    finally:
        for temp in _TEMPS:
            con.execute(f"DROP TABLE IF EXISTS {temp}")

    annual_all["program_year"] = annual_all["r"] // 4 - 1
    total = (annual_all["breakdown"] == TOTAL_BREAKDOWN).to_numpy()
    annual = _ordered(annual_all.loc[total].reset_index(drop=True))
    annual = suppress_indicators(annual, threshold=s.suppression_threshold).loc[:, list(COLUMNS)]
    breakdowns = _breakdowns(annual_all, total, s) if with_breakdowns else _empty(BREAKDOWN_COLUMNS)
    quarterly_out = _quarterly(quarterly, s)
    for table, frame in (
        ("indicators", annual),
        ("indicators_quarterly", quarterly_out),
        ("indicator_breakdowns", breakdowns),
    ):
        with registered(con, "indicators_frame", frame):
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM indicators_frame")
    return IndicatorTables(annual=annual, quarterly=quarterly_out, breakdowns=breakdowns)


def _aggregate(con: duckdb.DuckDBPyConnection, windows: list[int], values: dict[str, Any]) -> pd.DataFrame:
    """aggregate.sql over the report quarters `windows` (nothing when empty)."""
    _run(con, "aggregate.sql", {**values, "windows": windows or [-(10**6)]})
    return con.execute("SELECT * FROM ind_out").df()


def _quarter_label(q: int) -> str:
    return f"{q // 4}Q{q % 4 + 1}"


def _quarter_start(q: int) -> dt.date:
    return dt.date(q // 4, (q % 4) * 3 + 1, 1)


def _quarter_end(q: int) -> dt.date:
    return _quarter_start(q + 1) - dt.timedelta(days=1)


def _quarterly(df: pd.DataFrame, s: IndicatorSettings) -> pd.DataFrame:
    """Rolling four-quarter figures: report quarter, the cohort window it covers, suppressed."""
    if df.empty:
        return _empty(QUARTERLY_COLUMNS)
    df = df.copy()
    lag = df["indicator"].map(COHORT_LAG_QUARTERS).astype(int)
    df["report_quarter"] = [_quarter_label(int(r)) for r in df["r"]]
    df["cohort_start"] = [_quarter_start(int(r) - g - 3) for r, g in zip(df["r"], lag, strict=True)]
    df["cohort_end"] = [_quarter_end(int(r) - g) for r, g in zip(df["r"], lag, strict=True)]
    df["program_year"] = 0  # for _ordered's typing; the report quarter orders instead
    df = _ordered(df.sort_values("r", kind="mergesort")).sort_values(["report_quarter"], kind="mergesort")
    df = suppress_indicators(df.reset_index(drop=True), threshold=s.suppression_threshold)
    return df.loc[:, list(QUARTERLY_COLUMNS)]


def _breakdowns(annual_all: pd.DataFrame, total: npt.NDArray[np.bool_], s: IndicatorSettings) -> pd.DataFrame:
    """Annual figures by category, each breakdown with its ALL row (the program's total).

    The categories of a breakdown add up to its ALL row, so small denominators are protected with
    complementary suppression (`suppress_counts`, stacked breakdowns share the ALL margin), and a
    rate or median is withheld wherever its denominator cell is.
    """
    parts = annual_all.loc[~total]
    if parts.empty:
        return _empty(BREAKDOWN_COLUMNS)
    totals = annual_all.loc[total]
    margins = [totals.assign(breakdown=b, category=TOTAL_CATEGORY) for b in s.breakdown_columns]
    df = pd.concat([parts, *margins], ignore_index=True)
    df["numerator"] = df["numerator"].astype("Int64")
    cells = suppress_counts(
        df,
        dims=["category"],
        value_col="denominator",
        by=["program", "program_year", "indicator"],
        stacked=("breakdown", "category"),
        threshold=s.suppression_threshold,
    ).cells
    order_b = {b: i for i, b in enumerate(s.breakdown_columns)}
    cells = cells.assign(
        _b=cells["breakdown"].map(order_b), _all=cells["category"] != TOTAL_CATEGORY
    ).sort_values(["program", "program_year", "indicator", "_b", "_all", "category"], kind="mergesort")
    cells = cells.astype({"program_year": np.int64, "denominator": np.int64, "pending": np.int64})
    return cells.loc[:, list(BREAKDOWN_COLUMNS)].reset_index(drop=True)


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    """Indicator, then program (ALL last), then year; typed like the published table."""
    order_i = {v: i for i, v in enumerate(INDICATORS)}
    order_p = {v: i for i, v in enumerate((*PROGRAMS, ALL_PROGRAMS))}
    df = df.assign(_i=df["indicator"].map(order_i), _p=df["program"].map(order_p))
    df = df.sort_values(["_i", "_p", "program_year"], kind="mergesort").drop(columns=["_i", "_p"])
    return df.reset_index(drop=True).astype(
        {
            "program": object,
            "program_year": np.int64,
            "indicator": object,
            "numerator": "Int64",
            "denominator": np.int64,
            "pending": np.int64,
            "value": float,
        }
    )
