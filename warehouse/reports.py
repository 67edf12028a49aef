"""The report writers: the published tables as an Excel workbook and as one self-contained HTML page.

Only what may leave the warehouse reaches these files. Every table goes through
`published_frame`, which replaces each suppressed cell by ``**`` before anything is formatted
(a row flagged `suppressed` masks all its value columns; a ``<col>__suppressed`` flag masks
one cell), and the charts (`warehouse.report_charts`) are drawn from unsuppressed values alone.

Both files are deterministic (the same bundle gives the same bytes, so a re-run that changes
nothing publishes nothing new) and written atomically (a reader never sees half a file). The
HTML loads nothing: CSS inline, charts as base64 PNG, no scripts, fonts or links to fetch.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import html
import io
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import xlsxwriter

from warehouse import report_charts as charts
from warehouse.files import write_bytes_atomic, write_text_atomic
from warehouse.indicators import COLUMNS as INDICATOR_TABLE_COLUMNS
from warehouse.report_charts import NOT_AVAILABLE, Chart
from warehouse.suppression import FLAG_COL, MEDIAN_INDICATORS, REASON_COL, SUPPRESSED

__all__ = [
    "ReportBundle",
    "ReportTable",
    "coenrollment_report_table",
    "indicator_report_table",
    "linkage_report_tables",
    "published_frame",
    "render_html",
    "suppression_rule",
    "write_html",
    "write_xlsx",
]

CELL_FLAG_SUFFIX: Final = "__suppressed"
DEFAULT_KEY_NAMES: Final = ("program_year", "year", "quarter", "period")
"""Numeric columns taken as row labels (never masked) when a table does not name its keys."""
FILE_MODE: Final = 0o644  # published numbers only

ABOUT_SHEET: Final = "About"
INDICATORS_SHEET: Final = "Indicators"
COENROLLMENT_SHEET: Final = "Co-enrollment"
LINKAGE_SUMMARY_SHEET: Final = "Linkage summary"
LINKAGE_PAIRS_SHEET: Final = "Linkage pairs"
_RESERVED: Final = (
    ABOUT_SHEET,
    INDICATORS_SHEET,
    COENROLLMENT_SHEET,
    LINKAGE_SUMMARY_SHEET,
    LINKAGE_PAIRS_SHEET,
)
_BAD_SHEET_CHARS: Final = re.compile(r"[\[\]:*?/\\]")
_NUMBER_TEXT: Final = re.compile(r"[-+]?\$?[\d,]*\.?\d+%?")
_MARKERS: Final = (SUPPRESSED, NOT_AVAILABLE)

INDICATOR_COLUMNS: Final = INDICATOR_TABLE_COLUMNS
"""The `indicators` table's published shape (warehouse.indicators.COLUMNS)."""
COENROLLMENT_COLUMNS: Final = ("programs", "period", "program_year", "customers", FLAG_COL)


@dataclass(frozen=True, eq=False)
class ReportTable:
    """One published table: a sheet of the workbook and a section of the HTML page.

    `frame` holds the true values plus the flags: a boolean `suppressed` column masks every
    value column of its row (all columns but `key_columns`), a boolean ``<col>__suppressed``
    column masks that one cell. Flags and `hidden_columns` are never shown; a column named
    ``suppression`` (the restricted reason) is refused unless hidden.
    """

    name: str
    """Sheet name (at most 31 characters, unique) and HTML anchor."""
    title: str
    description: str
    """What one row is, and how small cells are protected."""
    frame: pd.DataFrame
    percent_columns: tuple[str, ...] = ()
    """Fractions 0..1 shown as percent with one decimal."""
    money_columns: tuple[str, ...] = ()
    """Dollars, shown whole."""
    hidden_columns: tuple[str, ...] = ()
    """Carried in the frame, never shown (e.g. a numerator that would give a suppressed rate away)."""
    key_columns: tuple[str, ...] | None = None
    """Columns that label the row and stay visible when it is suppressed. None: the text, date
    and boolean columns plus any of `DEFAULT_KEY_NAMES`; every other column is masked."""
    column_labels: Mapping[str, str] = field(default_factory=dict)
    """Header text per column; default the column name spelled out ('program_year' -> 'Program year')."""


@dataclass(frozen=True, eq=False)
class ReportBundle:
    """Everything one report run publishes."""

    title: str
    run_date: dt.date
    as_of: dt.date
    suppression_threshold: int
    tables: tuple[ReportTable, ...]
    indicators: pd.DataFrame
    """The `indicators` table: program, program_year, indicator, numerator, denominator, pending, value, suppressed."""
    coenrollment: pd.DataFrame
    """The `coenrollment` table: programs ('+'-joined or ALL), period, program_year, customers, suppressed."""
    linkage_summary: Mapping[str, float | int] | None = None
    linkage_system_pairs: pd.DataFrame | None = None
    """system_l, system_r, links (records linked per system pair); optional `suppressed`."""
    notes: tuple[str, ...] = ()


def suppression_rule(threshold: int) -> str:
    """The disclosure rule in words, for the About sheet and the HTML header."""
    return (
        f"A published number that rests on fewer than {threshold} individuals is suppressed and shown "
        f"as {SUPPRESSED}, and so is every cell that would let a reader work it out from the published "
        f"totals. A rate is suppressed when its denominator is below {threshold}, together with its "
        f"numerator and denominator; a median is shown only when computed from at least {threshold} "
        f"values. Charts are drawn from published values only. {NOT_AVAILABLE}: no value exists "
        "(for example no one in the cohort)."
    )


# --------------------------------------------------------------------------- what may be shown


def published_frame(table: ReportTable) -> pd.DataFrame:
    """The table as shown: flag and hidden columns dropped, every suppressed cell replaced by ``**``.

    Object columns, original row order, a fresh 0..n-1 index.
    """
    _check_table(table)
    frame = table.frame.reset_index(drop=True)
    row = (
        _flag(frame[FLAG_COL], FLAG_COL) if FLAG_COL in frame.columns else pd.Series(False, index=frame.index)
    )
    keys = _key_columns(table)
    out = pd.DataFrame(index=frame.index)
    for col in _shown_columns(table):
        mask = row.copy() if col not in keys else pd.Series(False, index=frame.index)
        cell_flag = f"{col}{CELL_FLAG_SUFFIX}"
        if cell_flag in frame.columns:
            mask |= _flag(frame[cell_flag], cell_flag)
        values = frame[col].astype(object)
        out[col] = values.where(~mask, SUPPRESSED)
    return out


def _shown_columns(table: ReportTable) -> list[str]:
    return [
        str(c)
        for c in table.frame.columns
        if c != FLAG_COL and not str(c).endswith(CELL_FLAG_SUFFIX) and c not in table.hidden_columns
    ]


def _key_columns(table: ReportTable) -> set[str]:
    if table.key_columns is not None:
        return set(table.key_columns)
    keys: set[str] = set()
    for col in _shown_columns(table):
        if col in table.percent_columns or col in table.money_columns:
            continue
        s = table.frame[col]
        if col in DEFAULT_KEY_NAMES or _is_label(s):
            keys.add(col)
    return keys


def _is_label(s: pd.Series) -> bool:
    """Text, dates or booleans that do not look like numbers: a dimension, not a count."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return True
    if pd.api.types.is_numeric_dtype(s):
        return False
    for v in s:
        if _missing(v) or isinstance(v, bool | np.bool_ | dt.date):
            continue
        if not isinstance(v, str) or v in _MARKERS or _NUMBER_TEXT.fullmatch(v.strip()):
            return False
    return True


def _flag(s: pd.Series, name: str) -> pd.Series:
    if s.isna().any():
        raise ValueError(f"{name} has missing values: a flag must say true or false")
    if not pd.api.types.is_bool_dtype(s):
        raise ValueError(f"{name} must be boolean, got {s.dtype}")
    return s.astype(bool)


def _check_table(table: ReportTable) -> None:
    frame = table.frame
    name = table.name
    if frame.columns.duplicated().any():
        raise ValueError(f"{name}: duplicate column names")
    cols = set(frame.columns)
    listed = {
        "percent_columns": table.percent_columns,
        "money_columns": table.money_columns,
        "hidden_columns": table.hidden_columns,
        "key_columns": table.key_columns or (),
    }
    for what, names in listed.items():
        missing = [c for c in names if c not in cols]
        if missing:
            raise ValueError(f"{name}: {what} not in the frame: {missing}")
    for c in frame.columns:
        if str(c).endswith(CELL_FLAG_SUFFIX) and str(c)[: -len(CELL_FLAG_SUFFIX)] not in cols:
            raise ValueError(f"{name}: {c} flags a column that is not in the frame")
    if REASON_COL in cols and REASON_COL not in table.hidden_columns:
        raise ValueError(
            f"{name}: the '{REASON_COL}' column (why a cell was suppressed) is restricted: it tells a "
            "reader which suppressed cell is the small one"
        )


# --------------------------------------------------------------------------- the standard tables


def indicator_report_table(indicators: pd.DataFrame) -> ReportTable:
    """The `indicators` table in words: names spelled out, the rate as percent, the median in dollars.

    A suppressed row shows ``**`` for its numerator, denominator, pending and value; a rate with
    no one in its denominator shows ``n/a``. `note` says which.
    """
    _require(indicators, INDICATOR_COLUMNS, "indicators")
    ind = indicators.reset_index(drop=True)
    flag = charts.row_flags(ind, "value")
    value = pd.to_numeric(ind["value"].where(~flag), errors="coerce")
    is_median = ind["indicator"].isin(list(MEDIAN_INDICATORS))
    absent = value.isna() & ~flag
    shown = value.astype(object).where(~absent, NOT_AVAILABLE)
    frame = pd.DataFrame(
        {
            "indicator": ind["indicator"].map(charts.indicator_name),
            "program": ind["program"].map(charts.program_name),
            "program_year": ind["program_year"],
            "numerator": ind["numerator"].astype(object).where(~flag),
            "denominator": ind["denominator"].astype(object).where(~flag),
            "pending": ind["pending"].astype(object).where(~flag),
            "rate": shown.where(~is_median & ~flag),
            "median_earnings": shown.where(is_median & ~flag),
            "note": np.where(flag, charts.SUPPRESSED_STATUS, np.where(absent, NOT_AVAILABLE, "")),
        }
    )
    for col in ("numerator", "denominator", "pending"):
        frame[f"{col}{CELL_FLAG_SUFFIX}"] = flag.to_numpy()
    frame[f"rate{CELL_FLAG_SUFFIX}"] = (flag & ~is_median).to_numpy()
    frame[f"median_earnings{CELL_FLAG_SUFFIX}"] = (flag & is_median).to_numpy()
    return ReportTable(
        name=INDICATORS_SHEET,
        title="WIOA performance indicators",
        description=(
            "One row per indicator, program and program year. Rates are numerator / denominator; for "
            "median earnings the denominator is the number of exiters employed in Q2 after exit. Pending: "
            "exiters whose wage quarter has not arrived yet, left out of the rate. A rate whose denominator "
            "(a median whose number of values) is below the threshold is suppressed with its counts."
        ),
        frame=frame,
        percent_columns=("rate",),
        money_columns=("median_earnings",),
        key_columns=("indicator", "program", "program_year", "note"),
        column_labels={"pending": "Pending (wages not yet available)"},
    )


def coenrollment_report_table(coenrollment: pd.DataFrame) -> ReportTable:
    """The `coenrollment` table with program names spelled out; suppressed counts show ``**``."""
    _require(coenrollment, COENROLLMENT_COLUMNS, "coenrollment")
    co = coenrollment.reset_index(drop=True)
    flag = charts.row_flags(co, "customers")
    frame = pd.DataFrame(
        {
            "programs": co["programs"].astype(str).map(charts.combination_name),
            "period": co["period"],
            "program_year": co["program_year"],
            "customers": co["customers"].astype(object).where(~flag),
            FLAG_COL: flag.to_numpy(),
        }
    )
    return ReportTable(
        name=COENROLLMENT_SHEET,
        title="Co-enrollment by program combination",
        description=(
            "One row per combination of programs and period: customers whose programs in the period were "
            "exactly that combination (each customer once per period); the 'All participants' row is their "
            "sum. Small counts are suppressed, and so are the counts that would reveal them from the total."
        ),
        frame=frame,
        key_columns=("programs", "period", "program_year"),
    )


def linkage_report_tables(
    summary: Mapping[str, float | int] | None, pairs: pd.DataFrame | None
) -> list[ReportTable]:
    """The linkage key numbers (one row per measure) and the links per system pair, when given."""
    out: list[ReportTable] = []
    if summary is not None:
        frame = pd.DataFrame(
            {
                "measure": [_spell(k) for k in summary],
                "value": pd.Series(list(summary.values()), dtype=object),
            }
        )
        out.append(
            ReportTable(
                name=LINKAGE_SUMMARY_SHEET,
                title="Record linkage: key numbers",
                description="One row per measure of tonight's record linkage (records, customers, review queue).",
                frame=frame,
                key_columns=("measure",),
            )
        )
    if pairs is not None:
        _require(pairs, ("system_l", "system_r", "links"), "linkage_system_pairs")
        frame = pairs.reset_index(drop=True).copy()
        for col in ("system_l", "system_r"):
            frame[col] = frame[col].map(lambda s: charts.SYSTEM_NAMES.get(str(s), str(s)))
        out.append(
            ReportTable(
                name=LINKAGE_PAIRS_SHEET,
                title="Record linkage: links per pair of source systems",
                description="One row per pair of source systems: records linked to a record of the other system.",
                frame=frame,
                key_columns=("system_l", "system_r"),
                column_labels={"system_l": "System", "system_r": "Other system", "links": "Records linked"},
            )
        )
    return out


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing columns {missing}")


# --------------------------------------------------------------------------- layout shared by both writers


@dataclass(frozen=True, eq=False)
class _Section:
    table: ReportTable
    anchor: str
    charts: tuple[Chart, ...] = ()
    no_chart: str = ""
    """Said in place of a chart the section should have but cannot (nothing published)."""


def _layout(bundle: ReportBundle, *, with_charts: bool) -> list[_Section]:
    """The report's tables in order: indicators, co-enrollment, the bundle's tables, linkage."""
    _check_names(bundle.tables)
    sections: list[_Section] = []
    ind_charts: tuple[Chart, ...] = tuple(charts.indicator_charts(bundle.indicators)) if with_charts else ()
    sections.append(
        _Section(
            indicator_report_table(bundle.indicators),
            "indicators",
            ind_charts,
            "" if ind_charts or not with_charts else "No indicator has a published value to chart.",
        )
    )
    upset = charts.upset_chart(bundle.coenrollment) if with_charts else None
    sections.append(
        _Section(
            coenrollment_report_table(bundle.coenrollment),
            "coenrollment",
            (upset,) if upset else (),
            "" if upset or not with_charts else "No published program combination to chart.",
        )
    )
    used = {s.anchor for s in sections} | {"about", "contents", "linkage-summary", "linkage-pairs"}
    for table in bundle.tables:
        sections.append(_Section(table, _anchor(table.name, used)))
    for table in linkage_report_tables(bundle.linkage_summary, bundle.linkage_system_pairs):
        if table.name == LINKAGE_PAIRS_SHEET:
            pairs = bundle.linkage_system_pairs
            chart = charts.linkage_chart(pairs) if with_charts and pairs is not None else None
            sections.append(_Section(table, "linkage-pairs", (chart,) if chart else ()))
        else:
            sections.append(_Section(table, "linkage-summary"))
    return sections


def _check_names(tables: Iterable[ReportTable]) -> None:
    seen: set[str] = {n.lower() for n in _RESERVED}
    for t in tables:
        n = t.name
        if not n or len(n) > 31 or _BAD_SHEET_CHARS.search(n) or n.startswith("'") or n.endswith("'"):
            raise ValueError(
                f"{n!r} is not a valid sheet name (1-31 characters, none of []:*?/\\, no edge ')"
            )
        if n.lower() in seen:
            raise ValueError(f"sheet name {n!r} is reserved or used twice (Excel ignores case)")
        seen.add(n.lower())


def _anchor(name: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "table"
    anchor, k = base, 2
    while anchor in used:
        anchor, k = f"{base}-{k}", k + 1
    used.add(anchor)
    return anchor


# --------------------------------------------------------------------------- cell values


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float | np.floating) and math.isnan(v)


def _kind(table: ReportTable, col: str, keys: set[str]) -> str:
    if col in table.percent_columns:
        return "percent"
    if col in table.money_columns:
        return "money"
    return "key" if col in keys else "plain"


def _text(v: Any, kind: str) -> str:
    """How a cell reads in HTML (and how wide it is in Excel)."""
    if _missing(v):
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool | np.bool_):
        return "Yes" if v else "No"
    if isinstance(v, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(v)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, numbers.Real | decimal.Decimal):
        x = float(v)
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if kind == "percent":
            return f"{x * 100:.1f}%"
        if kind == "money":
            return f"{'-' if x < 0 else ''}${abs(x):,.0f}"
        if kind == "key" and x.is_integer():
            return str(int(x))
        return f"{x:,.0f}" if x.is_integer() else f"{x:,.2f}"
    return str(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real | decimal.Decimal) and not isinstance(v, bool | np.bool_)


def _label(table: ReportTable, col: str) -> str:
    return table.column_labels.get(col) or _spell(col)


def _spell(name: str) -> str:
    words = str(name).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


# --------------------------------------------------------------------------- Excel


def write_xlsx(bundle: ReportBundle, path: Path) -> Path:
    """The workbook: an About sheet, then one sheet per table. Returns `path`.

    Built in memory (xlsxwriter then stamps every zip entry 1980-01-01) with the document's
    created date fixed to the run date, so the same bundle gives the same bytes.
    """
    sections = _layout(bundle, with_charts=False)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"title": bundle.title, "created": dt.datetime.combine(bundle.run_date, dt.time())})
    fmt = _formats(wb)
    _about_sheet(wb, fmt, bundle, sections)
    for section in sections:
        _table_sheet(wb, fmt, section.table)
    wb.close()
    data = buf.getvalue()
    return write_bytes_atomic(Path(path), data, FILE_MODE)


def _formats(wb: Any) -> dict[str, Any]:
    base = {"valign": "top"}
    return {
        "header": wb.add_format(
            {**base, "bold": True, "text_wrap": True, "bg_color": "#DCE6F1", "border": 1, "align": "left"}
        ),
        "text": wb.add_format(base),
        "wrap": wb.add_format({**base, "text_wrap": True}),
        "bold": wb.add_format({**base, "bold": True}),
        "title": wb.add_format({**base, "bold": True, "font_size": 14}),
        "marker": wb.add_format({**base, "align": "right"}),
        "int": wb.add_format({**base, "num_format": "#,##0"}),
        "key": wb.add_format({**base, "num_format": "0", "align": "left"}),
        "float": wb.add_format({**base, "num_format": "#,##0.00"}),
        "percent": wb.add_format({**base, "num_format": "0.0%"}),
        "money": wb.add_format({**base, "num_format": "$#,##0"}),
        "date": wb.add_format({**base, "num_format": "yyyy-mm-dd", "align": "left"}),
        "datetime": wb.add_format({**base, "num_format": "yyyy-mm-dd hh:mm", "align": "left"}),
    }


def _about_sheet(wb: Any, fmt: dict[str, Any], bundle: ReportBundle, sections: list[_Section]) -> None:
    ws = wb.add_worksheet(ABOUT_SHEET)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 100)
    ws.write_string(0, 0, bundle.title, fmt["title"])
    rows: list[tuple[str, str]] = [
        ("Run date", bundle.run_date.isoformat()),
        ("Data as of", bundle.as_of.isoformat()),
        ("Suppression", suppression_rule(bundle.suppression_threshold)),
    ]
    rows += [("Note" if i == 0 else "", note) for i, note in enumerate(bundle.notes)]
    r = 2
    for label, text in rows:
        ws.write_string(r, 0, label, fmt["bold"])
        ws.write_string(r, 1, text, fmt["wrap"])
        r += 1
    r += 1
    ws.write_string(r, 0, "Sheet", fmt["header"])
    ws.write_string(r, 1, "Contents", fmt["header"])
    for section in sections:
        r += 1
        t = section.table
        target = t.name.replace("'", "''")
        ws.write_url(r, 0, f"internal:'{target}'!A1", string=t.name)
        ws.write_string(r, 1, f"{t.title}. {t.description}", fmt["wrap"])


def _table_sheet(wb: Any, fmt: dict[str, Any], table: ReportTable) -> None:
    ws = wb.add_worksheet(table.name)
    shown = published_frame(table)
    keys = _key_columns(table)
    cols = list(shown.columns)
    for c, col in enumerate(cols):
        header = _label(table, col)
        kind = _kind(table, col, keys)
        values = shown[col].tolist()
        ws.write_string(0, c, header, fmt["header"])
        for r, v in enumerate(values, start=1):
            _xlsx_cell(ws, r, c, v, kind, fmt)
        longest = max((len(_text(v, kind)) for v in values), default=0)
        word = max((len(w) for w in header.split()), default=0)
        ws.set_column(c, c, min(60, max(8, longest + 2, word + 2, min(len(header), 18) + 2)))
    ws.freeze_panes(1, 0)
    if cols:
        ws.autofilter(0, 0, len(shown), len(cols) - 1)


def _xlsx_cell(ws: Any, r: int, c: int, v: Any, kind: str, fmt: dict[str, Any]) -> None:
    if _missing(v):
        return
    if isinstance(v, str):
        ws.write_string(r, c, v, fmt["marker"] if v in _MARKERS and kind != "key" else fmt["text"])
    elif isinstance(v, bool | np.bool_):
        ws.write_string(r, c, _text(v, kind), fmt["text"])
    elif isinstance(v, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(v)
        ws.write_datetime(r, c, ts.to_pydatetime(), fmt["date" if ts == ts.normalize() else "datetime"])
    elif isinstance(v, dt.date):
        ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()), fmt["date"])
    elif _is_number(v):
        x = float(v)
        if math.isinf(x):
            ws.write_string(r, c, _text(v, kind), fmt["marker"])
        elif kind in ("percent", "money", "key"):
            ws.write_number(r, c, x, fmt[kind])
        else:
            ws.write_number(r, c, x, fmt["int" if x.is_integer() else "float"])
    else:
        ws.write_string(r, c, str(v), fmt["text"])


# --------------------------------------------------------------------------- HTML

_CSS: Final = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1b1b;
margin:2rem auto;max-width:75rem;padding:0 1rem;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.25rem}h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:1px solid #ccc}
.meta td{padding:.1rem 1rem .1rem 0;vertical-align:top}.meta td:first-child{font-weight:bold;white-space:nowrap}
.scroll{overflow-x:auto}
table.data{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.88rem}
table.data th,table.data td{border:1px solid #c8c8c8;padding:.2rem .5rem;vertical-align:top}
table.data th{background:#dce6f1;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.marker{text-align:right;color:#555}
figure{margin:1rem 0 1.5rem}figure img{max-width:100%;height:auto}
figcaption{font-size:.85rem;color:#444;max-width:60rem}
p.desc{color:#333;max-width:60rem}
""".strip()


def write_html(bundle: ReportBundle, path: Path) -> Path:
    """The report as one self-contained HTML page. Returns `path`."""
    return write_text_atomic(Path(path), render_html(bundle), mode=FILE_MODE)


def render_html(bundle: ReportBundle) -> str:
    """The page's text (deterministic: no clock, charts rendered reproducibly)."""
    sections = _layout(bundle, with_charts=True)
    e = html.escape
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(bundle.title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        '<header id="about">',
        f"<h1>{e(bundle.title)}</h1>",
        '<table class="meta">',
        f"<tr><td>Run date</td><td>{e(bundle.run_date.isoformat())}</td></tr>",
        f"<tr><td>Data as of</td><td>{e(bundle.as_of.isoformat())}</td></tr>",
        f"<tr><td>Suppression</td><td>{e(suppression_rule(bundle.suppression_threshold))}</td></tr>",
        "</table>",
    ]
    if bundle.notes:
        out.append('<ul class="notes">')
        out += [f"<li>{e(n)}</li>" for n in bundle.notes]
        out.append("</ul>")
    out += ["</header>", '<nav id="contents">', "<h2>Contents</h2>", "<ul>"]
    out += [f'<li><a href="#{s.anchor}">{e(s.table.title)}</a></li>' for s in sections]
    out += ["</ul>", "</nav>"]
    for s in sections:
        out += _html_section(s)
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def _html_section(s: _Section) -> list[str]:
    e = html.escape
    t = s.table
    out = [
        f'<section id="{s.anchor}">',
        f"<h2>{e(t.title)}</h2>",
        f'<p class="desc">{e(t.description)}</p>',
    ]
    for chart in s.charts:
        b64 = base64.b64encode(chart.png).decode("ascii")
        out += [
            f'<figure id="{e(chart.key)}">',
            f'<img src="data:image/png;base64,{b64}" alt="{e(chart.title)}">',
            f"<figcaption>{e(chart.caption)}</figcaption>",
            "</figure>",
        ]
    if s.no_chart:
        out.append(f'<p class="desc">{e(s.no_chart)}</p>')
    out += _html_table(t)
    out.append("</section>")
    return out


def _html_table(table: ReportTable) -> list[str]:
    e = html.escape
    shown = published_frame(table)
    keys = _key_columns(table)
    cols = list(shown.columns)
    kinds = [_kind(table, c, keys) for c in cols]
    out = ['<div class="scroll">', '<table class="data">', "<thead><tr>"]
    out += [f'<th scope="col">{e(_label(table, c))}</th>' for c in cols]
    out.append("</tr></thead>")
    out.append("<tbody>")
    for row in shown.itertuples(index=False, name=None):
        out.append("<tr>" + "".join(_html_cell(v, k) for v, k in zip(row, kinds, strict=True)) + "</tr>")
    out += ["</tbody>", "</table>", "</div>"]
    return out


def _html_cell(v: Any, kind: str) -> str:
    if _missing(v):
        return "<td></td>"
    text = html.escape(_text(v, kind))
    if isinstance(v, str) and v in _MARKERS and kind != "key":
        return f'<td class="marker">{text}</td>'
    if _is_number(v) and kind != "key":
        return f'<td class="num">{text}</td>'
    return f"<td>{text}</td>"
