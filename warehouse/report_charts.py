"""Charts for the published reports, drawn only from numbers that may be published.

Each chart first selects its data from the frames as they carry their `suppressed` flags
(`indicator_chart_data`, `upset_data`, `linkage_pair_data`) and draws nothing else, so a
suppressed number never reaches a figure, not even as a bar's height or a set size.

Rendering is deterministic (same frames, same PNG bytes) so a re-run that changes nothing
publishes identical files: the object API (`Figure` with an Agg canvas; no pyplot figure
manager, nothing global to close), the DejaVu Sans font matplotlib ships (no system fonts),
fixed size and dpi, and no ``Software`` stamp in the PNG. The rc settings are applied with
`matplotlib.rc_context`, which restores the caller's settings afterwards.

The labels (program, indicator and system names) live here because both the charts and the
tables (`warehouse.reports`) spell codes out the same way.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

import matplotlib
import numpy as np
import pandas as pd
import upsetplot
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from warehouse.indicators import ALL_PROGRAMS, INDICATORS
from warehouse.periods import PROGRAMS
from warehouse.suppression import FLAG_COL, MEDIAN_INDICATORS, SUPPRESSED

NOT_AVAILABLE: Final = "n/a"
SHOWN: Final = "shown"
SUPPRESSED_STATUS: Final = "suppressed"

PROGRAM_NAMES: Final[Mapping[str, str]] = {
    "ADULT": "Title I Adult",
    "DW": "Title I Dislocated Worker",
    "YOUTH": "Title I Youth",
    "ADULT_ED": "Adult Education (Title II)",
    "WP": "Wagner-Peyser Employment Service (Title III)",
    "VR": "Vocational Rehabilitation (Title IV)",
    "UI": "Unemployment Insurance claimants",
    ALL_PROGRAMS: "All core programs (statewide)",
}
"""Program names in tables."""

PROGRAM_SHORT: Final[Mapping[str, str]] = {
    "ADULT": "Adult",
    "DW": "Dislocated Worker",
    "YOUTH": "Youth",
    "ADULT_ED": "Adult Ed",
    "WP": "Wagner-Peyser",
    "VR": "Voc Rehab",
    "UI": "UI claimants",
    ALL_PROGRAMS: "Statewide",
}
"""Program names on chart axes, where space is short."""

INDICATOR_NAMES: Final[Mapping[str, str]] = {
    "EMP_Q2": "Employment rate Q2 after exit",
    "EMP_Q4": "Employment rate Q4 after exit",
    "MEDIAN_EARNINGS_Q2": "Median earnings Q2 after exit",
    "CREDENTIAL": "Credential attainment rate",
    "MSG": "Measurable skill gains rate",
    "RETENTION_SAME_EMPLOYER": "Retention with the same employer (effectiveness in serving employers)",
}

SYSTEM_NAMES: Final[Mapping[str, str]] = {
    "ui": "UI claims",
    "wp": "Wagner-Peyser",
    "title1": "Title I",
    "vr": "Voc Rehab",
    "adult_ed": "Adult Ed",
}

DPI: Final = 100
_COLORS: Final = ("#9ecae1", "#2171b5")  # previous year light, latest year dark
_MISSING_COLOR: Final = "0.35"
_RC: Final[dict[str, Any]] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "text.parse_math": False,  # "$6,789" is money, not mathtext
    "svg.hashsalt": "workforce-warehouse",
    "svg.fonttype": "path",
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.facecolor": "white",
    "figure.facecolor": "white",
}


@dataclass(frozen=True)
class Chart:
    """One rendered chart: a PNG and the words that go with it."""

    key: str
    title: str
    caption: str
    png: bytes


def program_name(code: str) -> str:
    return PROGRAM_NAMES.get(code, code)


def combination_name(programs: str) -> str:
    """'ADULT+WP' -> 'Title I Adult + Wagner-Peyser ...'; ALL is the period's unduplicated participants."""
    if programs == ALL_PROGRAMS:
        return "All participants (unduplicated)"
    return " + ".join(program_name(p) for p in programs.split("+"))


def indicator_name(code: str) -> str:
    return INDICATOR_NAMES.get(code, code)


def row_flags(frame: pd.DataFrame, value_col: str) -> pd.Series:
    """Rows that must not be shown: flagged `suppressed` (a missing flag counts as suppressed),
    or whose value is already the ``**`` marker."""
    if FLAG_COL in frame.columns:
        flag = frame[FLAG_COL].astype("boolean").fillna(True).astype(bool)
    else:
        flag = pd.Series(False, index=frame.index)
    return flag | (frame[value_col].astype(object) == SUPPRESSED)


# --------------------------------------------------------------------------- indicators


def indicator_chart_data(indicators: pd.DataFrame) -> pd.DataFrame:
    """What the indicator charts show: the latest program year and the one before, per program.

    One row per indicator x program x year (every program with a row in either year), with
    `status` ``shown`` / ``suppressed`` / ``n/a`` (no row, or no value) and `value` only
    where shown, so nothing suppressed can be drawn.
    """
    cols = ["indicator", "program", "program_year", "status", "value"]
    if indicators.empty:
        return pd.DataFrame(columns=cols)
    latest = int(indicators["program_year"].max())
    years = (latest - 1, latest)
    ind = indicators.loc[indicators["program_year"].isin(years)]
    flag = row_flags(ind, "value")
    value = pd.to_numeric(ind["value"].where(~flag), errors="coerce")
    rows: list[dict[str, Any]] = []
    for code in _ordered(ind["indicator"].unique(), INDICATORS):
        this = ind["indicator"] == code
        for program in _ordered(ind.loc[this, "program"].unique(), (*PROGRAMS, ALL_PROGRAMS)):
            for year in years:
                hit = this & (ind["program"] == program) & (ind["program_year"] == year)
                status, shown = NOT_AVAILABLE, np.nan
                if flag[hit].any():
                    status = SUPPRESSED_STATUS
                elif hit.any() and value[hit].notna().any():
                    status, shown = SHOWN, float(value[hit].iloc[0])
                rows.append(
                    {
                        "indicator": code,
                        "program": program,
                        "program_year": year,
                        "status": status,
                        "value": shown,
                    }
                )
    return pd.DataFrame(rows, columns=cols)


def indicator_charts(indicators: pd.DataFrame) -> list[Chart]:
    """One grouped bar chart per indicator with at least one published value in the two years."""
    data = indicator_chart_data(indicators)
    charts: list[Chart] = []
    for code in pd.unique(data["indicator"]):
        sub = data.loc[data["indicator"] == code]
        if not (sub["status"] == SHOWN).any():
            continue
        charts.append(_indicator_chart(str(code), sub))
    return charts


def _indicator_chart(code: str, sub: pd.DataFrame) -> Chart:
    money = code in MEDIAN_INDICATORS
    programs = list(pd.unique(sub["program"]))
    years = sorted(int(y) for y in pd.unique(sub["program_year"]))
    width = 0.38
    with _style():
        fig = _figure((max(4.8, 1.6 + 1.15 * len(programs)), 3.6))
        ax = fig.add_subplot()
        top = float(sub["value"].max()) if money else 1.0
        for j, year in enumerate(years):
            rows = sub.loc[sub["program_year"] == year].set_index("program").reindex(programs)
            xs = np.arange(len(programs)) + (j - 0.5) * width
            shown = (rows["status"] == SHOWN).to_numpy()
            heights = rows["value"].to_numpy(dtype=float)
            ax.bar(xs[shown], heights[shown], width, color=_COLORS[j % len(_COLORS)])
            for x, v in zip(xs[shown], heights[shown], strict=True):
                ax.annotate(
                    _money(v) if money else f"{v * 100:.1f}%",
                    (x, v),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
            for x, status in zip(xs[~shown], rows["status"].to_numpy()[~shown], strict=True):
                ax.text(
                    x,
                    top * 0.02,
                    str(status),
                    rotation=90,
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    color=_MISSING_COLOR,
                )
        ax.set_xticks(np.arange(len(programs)), [PROGRAM_SHORT.get(p, p) for p in programs])
        if money:
            ax.set_ylim(0, top * 1.18 if top > 0 else 1.0)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _money(v)))
        else:
            ax.set_ylim(0, 1.12)
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.set_title(indicator_name(code), fontsize=10)
        ax.legend(
            handles=[Patch(color=_COLORS[j % len(_COLORS)], label=f"PY{y}") for j, y in enumerate(years)],
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            frameon=False,
        )
        png = _png(fig)
    caption = (
        f"{indicator_name(code)} by program, PY{years[0]} beside PY{years[-1]}"
        + (" (dollars)" if money else "")
        + ". Bars are drawn only for published values: a value suppressed to protect small numbers is "
        'marked "suppressed", and a value that does not exist (no one in the cohort, no row for the '
        'program, or not computed for it) is marked "n/a".'
    )
    return Chart(key=f"chart-{code.lower()}", title=indicator_name(code), caption=caption, png=png)


# --------------------------------------------------------------------------- co-enrollment


def upset_data(coenrollment: pd.DataFrame) -> tuple[int | None, str | None, pd.Series]:
    """The latest program year's published combinations: (program year, period, customers by combination).

    Left out: the ALL row, suppressed combinations, and zero counts (nothing to draw). The
    series is indexed by the '+'-joined program codes, largest first (ties by code).
    """
    empty = pd.Series(dtype="int64", name="customers")
    if coenrollment.empty:
        return None, None, empty
    latest = int(coenrollment["program_year"].max())
    rows = coenrollment.loc[coenrollment["program_year"] == latest]
    periods = sorted(str(p) for p in pd.unique(rows["period"]))
    period = f"PY{latest}" if f"PY{latest}" in periods else periods[-1]
    rows = rows.loc[rows["period"].astype(str) == period]
    flag = row_flags(rows, "customers")
    rows = rows.loc[~flag & (rows["programs"] != ALL_PROGRAMS)]
    counts = pd.to_numeric(rows["customers"], errors="coerce")
    keep = counts.notna() & (counts > 0)
    out = pd.Series(
        counts[keep].astype("int64").to_numpy(), index=rows.loc[keep, "programs"].astype(str).to_numpy()
    )
    out = out.iloc[np.lexsort((out.index.to_numpy(), -out.to_numpy()))] if len(out) else out
    out.name = "customers"
    return latest, period, out if len(out) else empty


def upset_chart(coenrollment: pd.DataFrame) -> Chart | None:
    """UpSet chart of the latest program year's published program combinations (None: nothing to show)."""
    latest, period, counts = upset_data(coenrollment)
    if latest is None or counts.empty:
        return None
    memberships = [[PROGRAM_SHORT.get(p, p) for p in combo.split("+")] for combo in counts.index]
    if len({p for m in memberships for p in m}) < 2:
        return None  # one program alone is no intersection to draw (and upsetplot cannot index it)
    with _style(), warnings.catch_warnings():
        # upsetplot 0.9 trips pandas' chained-assignment / downcasting FutureWarnings: its noise, not ours.
        warnings.filterwarnings("ignore", category=FutureWarning, module="upsetplot")
        series = upsetplot.from_memberships(memberships, data=counts.to_numpy())
        fig = _figure((6.0, 4.0))  # upsetplot sizes it from its element size
        upset = upsetplot.UpSet(
            series,
            subset_size="sum",
            sort_by="cardinality",
            sort_categories_by="-cardinality",
        )
        axes = upset.plot(fig=fig)
        _label_upset(axes)
        fig.suptitle(f"Customers by combination of programs, {period}", fontsize=10)
        png = _png(fig)
    caption = (
        f"Customers by the combination of programs they took part in, {period}. Combinations whose count "
        "is suppressed (too few customers, or needed to protect another cell) are left out, as are empty "
        "combinations; the set sizes (horizontal bars) are totals of the combinations shown only, not "
        "program totals."
    )
    return Chart(key="chart-upset", title=f"Co-enrollment, {period}", caption=caption, png=png)


def _label_upset(axes: Mapping[str, Any]) -> None:
    """Counts on the bars (upsetplot 0.9's own `show_counts` fails on this numpy: array margins)."""
    for rect in axes["intersections"].patches:
        top = rect.get_y() + rect.get_height()
        axes["intersections"].annotate(
            f"{top:,.0f}",
            (rect.get_x() + rect.get_width() / 2, top),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
        )
    totals = axes.get("totals")
    if totals is None:
        return
    for rect in totals.patches:  # the totals axis runs right to left
        end = rect.get_x() + rect.get_width()
        totals.annotate(
            f"{end:,.0f}",
            (end, rect.get_y() + rect.get_height() / 2),
            xytext=(-2, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=7,
        )


# --------------------------------------------------------------------------- linkage


def linkage_pair_data(pairs: pd.DataFrame) -> pd.Series:
    """Published links per system pair ('Title I / Wagner-Peyser' -> links), largest first."""
    if pairs.empty:
        return pd.Series(dtype="int64", name="links")
    flag = row_flags(pairs, "links")
    rows = pairs.loc[~flag]
    links = pd.to_numeric(rows["links"], errors="coerce")
    keep = links.notna()
    labels = [
        f"{SYSTEM_NAMES.get(str(a), str(a))} / {SYSTEM_NAMES.get(str(b), str(b))}"
        for a, b in zip(rows.loc[keep, "system_l"], rows.loc[keep, "system_r"], strict=True)
    ]
    out = pd.Series(links[keep].astype("int64").to_numpy(), index=labels, name="links")
    return out.iloc[np.lexsort((out.index.to_numpy(), -out.to_numpy()))] if len(out) else out


def linkage_chart(pairs: pd.DataFrame) -> Chart | None:
    """Horizontal bars of records linked per system pair (published rows only)."""
    data = linkage_pair_data(pairs)
    if data.empty:
        return None
    with _style():
        fig = _figure((6.4, 1.2 + 0.32 * len(data)))
        ax = fig.add_subplot()
        ys = np.arange(len(data))[::-1]
        ax.barh(ys, data.to_numpy(), color=_COLORS[1])
        ax.set_yticks(ys, list(data.index))
        for y, v in zip(ys, data.to_numpy(), strict=True):
            ax.annotate(
                f"{int(v):,}", (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7
            )
        ax.set_xlim(0, max(1.0, float(data.max()) * 1.15))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_title("Records linked, by pair of source systems", fontsize=10)
        png = _png(fig)
    caption = (
        "Records linked to a record of another source system, per pair of systems (published rows only)."
    )
    return Chart(key="chart-linkage-pairs", title="Links per system pair", caption=caption, png=png)


# --------------------------------------------------------------------------- rendering


def _style() -> AbstractContextManager[None]:
    """The fixed rc settings for the duration of one chart; the caller's are restored afterwards."""
    rc: Any = _RC  # matplotlib types rc keys as literals
    return matplotlib.rc_context(rc)


def _figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)  # attaches itself; needed for text extents (upsetplot) and savefig
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _money(v: float) -> str:
    return f"{'-' if v < 0 else ''}${abs(v):,.0f}"


def _ordered(values: Sequence[Any] | np.ndarray, order: Sequence[str]) -> list[Any]:
    """Known codes in their conventional order, then the others sorted."""
    known = [v for v in order if v in set(values)]
    return known + sorted(v for v in set(values) if v not in set(order))
