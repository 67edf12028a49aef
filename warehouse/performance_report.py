"""The performance report for people: one Excel workbook and one HTML page from the analytics zone.

It reads only `analytics.duckdb` (the de-identified zone, opened read-only), so nothing in it can
come from the restricted zone; every number it shows carries the suppression decided where the
table was built (`suppressed` flags), and the writers (`warehouse.reports`) print `**` for them.
Both files are dated by the night they report on, so a rerun of that night writes the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.publish import ANALYTICS_DB
from warehouse.reports import ReportBundle, ReportTable, write_html, write_xlsx
from warehouse.suppression import DEFAULT_THRESHOLD

REPORT_DIR = "reports"
XLSX_NAME = "performance_report.xlsx"
HTML_NAME = "performance_report.html"
TITLE = "WIOA performance and co-enrollment"
PROGRAM_NAMES = {
    "ADULT": "Title I Adult",
    "DW": "Title I Dislocated Worker",
    "YOUTH": "Title I Youth",
    "ADULT_ED": "Title II Adult Education",
    "WP": "Title III Wagner-Peyser",
    "VR": "Title IV Vocational Rehabilitation",
    "ALL": "All core programs",
    "ANY": "Any Title I program",
}


@dataclass(frozen=True)
class ReportFiles:
    xlsx: Path
    html: Path


def _df(con: duckdb.DuckDBPyConnection, query: str, params: list[object] | None = None) -> pd.DataFrame:
    return con.execute(query, params or []).df()


def _programs(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    out = frame.copy()
    for c in cols:
        out[c] = out[c].map(lambda p: PROGRAM_NAMES.get(str(p), str(p)))
    return out


def _split_value(frame: pd.DataFrame) -> pd.DataFrame:
    """`value` holds rates and, for the median, dollars: two columns so each gets its format."""
    out = frame.copy()
    median = out["indicator"].str.startswith("MEDIAN")
    at = list(out.columns).index("value")
    out.insert(at, "rate", out["value"].where(~median))
    out.insert(at + 1, "median_earnings", out["value"].where(median))
    return out.drop(columns=["value"])


def build_bundle(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, threshold: int = DEFAULT_THRESHOLD
) -> ReportBundle:
    """The report's content from an open analytics connection."""
    indicators = _df(con, "SELECT * FROM indicators ORDER BY indicator, program, program_year")
    coenrollment = _df(con, "SELECT * FROM coenrollment ORDER BY program_year, programs")
    latest_py = int(indicators["program_year"].max()) if len(indicators) else as_of.year
    tables: list[ReportTable] = []

    quarters = _df(
        con,
        "SELECT * FROM indicators_quarterly WHERE report_quarter IN (SELECT DISTINCT report_quarter "
        "FROM indicators_quarterly ORDER BY report_quarter DESC LIMIT 4) ORDER BY report_quarter, indicator, program",
    )
    tables.append(
        ReportTable(
            name="Rolling quarters",
            title="Indicators over rolling four-quarter windows (last four report quarters)",
            description="One row per report quarter, indicator and program: the same rules as the annual "
            "report over the four quarters of exits (or, for skill gains, participation) ending at the same lag.",
            frame=_split_value(_programs(quarters, "program")),
            percent_columns=("rate",),
            money_columns=("median_earnings",),
            key_columns=("program", "report_quarter", "indicator", "cohort_start", "cohort_end"),
        )
    )
    breakdowns = _df(
        con,
        "SELECT * FROM indicator_breakdowns WHERE program_year = ? ORDER BY program, indicator, breakdown, category",
        [latest_py],
    )
    tables.append(
        ReportTable(
            name="Breakdowns",
            title=f"Indicators by participant characteristics, PY{latest_py}",
            description="One row per program, indicator, characteristic and category (at entry). Each "
            "characteristic's categories add up to its ALL row; small denominators and the cells that "
            "would reveal them are suppressed.",
            frame=_split_value(_programs(breakdowns, "program")),
            percent_columns=("rate",),
            money_columns=("median_earnings",),
            key_columns=("program", "program_year", "indicator", "breakdown", "category"),
        )
    )
    overlap = _df(
        con,
        "SELECT * FROM coenrollment_overlap WHERE program_year = (SELECT max(program_year) FROM "
        "coenrollment_overlap) ORDER BY program, other_program",
    )
    tables.append(
        ReportTable(
            name="Co-enrolled shares",
            title="Share of each program's participants co-enrolled in each other program (latest year)",
            description="One row per program and other program: participants in the year, those whose "
            "period overlapped one of the other program within the year, and the share.",
            frame=_programs(overlap, "program", "other_program"),
            percent_columns=("share",),
            key_columns=("period", "program_year", "program", "other_program"),
        )
    )
    ui = _df(con, "SELECT * FROM ui_claimants_wp ORDER BY program_year")
    ui = ui.rename(
        columns={"days_to_first_wp_service_suppressed": "median_days_to_first_wp_service__suppressed"}
    )
    ui["mean_days_to_first_wp_service__suppressed"] = ui["median_days_to_first_wp_service__suppressed"]
    for col in ("registered_with_wp", "served_by_wp", "resea_selected"):
        ui = ui.rename(columns={f"{col}_suppressed": f"{col}__suppressed"})
    tables.append(
        ReportTable(
            name="UI claimants and WP",
            title="UI claimants registered with and served by Wagner-Peyser",
            description="One row per program year of the claim: claimants, those registered with WP, those "
            "given a staff-assisted WP service after the claim, and the days from claim to that first service.",
            frame=ui,
            key_columns=("period", "program_year"),
        )
    )
    tables.append(
        ReportTable(
            name="VR wait list and WP",
            title="VR order-of-selection wait-list customers served by Wagner-Peyser",
            description="One row per program year: customers on the VR waiting list during the year and "
            "those served by WP while waiting.",
            frame=_df(con, "SELECT * FROM vr_waitlist_wp ORDER BY program_year"),
            percent_columns=("share",),
            key_columns=("period", "program_year"),
        )
    )
    tables.append(
        ReportTable(
            name="Adult Ed and Title I",
            title="Adult Education learners co-enrolled in Title I",
            description="One row per program year and Title I program: Adult Ed learners in the year and "
            "those whose Adult Ed period overlapped a period of that Title I program.",
            frame=_programs(
                _df(con, "SELECT * FROM adult_ed_title1 ORDER BY program_year, title1_program"),
                "title1_program",
            ),
            percent_columns=("share",),
            key_columns=("period", "program_year", "title1_program"),
        )
    )
    summary, pairs = _linkage(con, threshold)
    quarters_in = _df(con, "SELECT year, quarter FROM wage_quarters ORDER BY year, quarter")
    latest_wages = (
        f"{int(quarters_in['year'].iloc[-1])}Q{int(quarters_in['quarter'].iloc[-1])}"
        if len(quarters_in)
        else "none"
    )
    return ReportBundle(
        title=TITLE,
        run_date=as_of,
        as_of=as_of,
        suppression_threshold=threshold,
        tables=tuple(tables),
        indicators=indicators,
        coenrollment=coenrollment,
        linkage_summary=summary,
        linkage_system_pairs=pairs,
        notes=(
            f"Wage records are available through {latest_wages}; exiters whose outcome quarter is later are "
            "counted as pending, not as unemployed.",
            "People are linked across programs into common customers; co-enrollment counts customers.",
        ),
    )


def _linkage(
    con: duckdb.DuckDBPyConnection, threshold: int
) -> tuple[dict[str, float | int] | None, pd.DataFrame | None]:
    """The linkage's state (not the run's work, so a rerun reports the same), and customers spanning
    each pair of source systems."""
    runs = _df(con, "SELECT * FROM linkage_runs ORDER BY started_at DESC LIMIT 1")
    if runs.empty:
        return None, None
    r = runs.iloc[0]
    customers = _df(con, "SELECT systems FROM customers")
    multi = int(customers["systems"].str.contains("+", regex=False).sum())
    summary: dict[str, float | int] = {
        "person_records": int(r["records"]),
        "customers": int(r["customers"]),
        "customers_in_several_systems": multi,
        "links_at_threshold": int(r["links"]),
        "pairs_awaiting_review": int(r["review_queue"]),
    }
    counts: dict[tuple[str, str], int] = {}
    for systems in customers["systems"]:
        for a, b in combinations(sorted(str(systems).split("+")), 2):
            counts[(a, b)] = counts.get((a, b), 0) + 1
    pairs = pd.DataFrame(
        [(a, b, n) for (a, b), n in sorted(counts.items())], columns=["system_l", "system_r", "links"]
    )
    pairs["suppressed"] = (pairs["links"] > 0) & (pairs["links"] < threshold)
    return summary, pairs


def write_reports(
    warehouse: Path, as_of: dt.date, threshold: int = DEFAULT_THRESHOLD, out_dir: Path | None = None
) -> ReportFiles:
    """Write the workbook and the HTML page from `<warehouse>/analytics.duckdb`."""
    out = out_dir or Path(warehouse) / REPORT_DIR
    con = duckdb.connect(str(Path(warehouse) / ANALYTICS_DB), read_only=True)
    try:
        bundle = build_bundle(con, as_of, threshold)
    finally:
        con.close()
    return ReportFiles(xlsx=write_xlsx(bundle, out / XLSX_NAME), html=write_html(bundle, out / HTML_NAME))
