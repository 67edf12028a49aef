"""The six WIOA performance indicators per program and program year: the `indicators` table.

Reads `participation` (periods), the wage outcomes (`warehouse.outcomes`), the staged outcome,
assessment and case tables, and `customer_xref`. The rules (cohort windows, exclusions, pending,
the Youth variant, the credential denominator, MSG, statewide retention) are in
`shared/domain/wioa-performance.md` and live in `warehouse/sql/indicators/`; what a state may
choose is in `IndicatorSettings`. Annual figures only (the PY N report's cohorts).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from warehouse.outcomes import wage_quarters_available
from warehouse.sql import has_table, registered, run_named
from warehouse.suppression import DEFAULT_THRESHOLD, suppress_indicators

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


def build_indicators(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, settings: IndicatorSettings | None = None
) -> pd.DataFrame:
    """(Re)build the `indicators` table as of `as_of` and return it.

    Rows exist for every program and program year whose cohort holds at least one period
    (denominator + pending > 0); a median row wherever its EMP_Q2 row exists. Rates are
    numerator / denominator (NaN when the denominator is 0); the median is in dollars with a null
    numerator and the count of employed exiters as its denominator.
    """
    s = settings or IndicatorSettings()
    quarters = (
        s.delivered_wage_quarters if s.delivered_wage_quarters is not None else wage_quarters_available(con)
    )
    values: dict[str, Any] = {
        "as_of": as_of,
        "delivered": sorted({y * 4 + q - 1 for y, q in quarters}) or [-1],
        "all_years": s.program_years is None,
        "max_py": program_year(as_of),
        "years": list(s.program_years) if s.program_years else [-1],
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
    _run(con, "macros.sql", values)
    _run(con, "units.sql", values)
    _run(con, "records.sql" if has_table(con, "customer_xref") else "records_no_xref.sql", values)
    _run(con, "unit_flags.sql", values)
    _run(con, "events.sql", values)
    _run(con, "spans.sql", values)
    _run(con, "wages.sql", values)
    _run(con, "employers.sql", values)
    _run(con, "out_ddl.sql", values)
    for k in (2, 4):
        _run(con, "employment.sql", {**values, "k": k})
    for name in ("credential.sql", "msg.sql", "retention.sql"):
        _run(con, name, values)
    out = _ordered(con.execute("SELECT * FROM ind_out").df())
    for temp in _TEMPS:
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    out = suppress_indicators(out, threshold=s.suppression_threshold)
    out = out.loc[:, list(COLUMNS)]
    with registered(con, "indicators_frame", out):
        con.execute("CREATE OR REPLACE TABLE indicators AS SELECT * FROM indicators_frame")
    return out


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
