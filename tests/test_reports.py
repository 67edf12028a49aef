"""The report writers: what is shown, where ``**`` goes, what never leaves, and byte-identical reruns.

The bundle is hand-made. Every suppressed number in it is chosen to appear nowhere among the
published numbers (3, 6, 7, 9, 23, 54, 3/7, 23/54, 8.5, 4.0, 5432.1), so finding one in a file
means it leaked. The workbook is read back with the standard library (no openpyxl here): the
sheet XML, shared strings and styles.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import stat
import time
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from warehouse import report_charts as charts
from warehouse.reports import (
    ReportBundle,
    ReportTable,
    published_frame,
    render_html,
    write_html,
    write_xlsx,
)

NAN = np.nan
M = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

INDICATOR_COLUMNS = [
    "program",
    "program_year",
    "indicator",
    "numerator",
    "denominator",
    "pending",
    "value",
    "suppressed",
]


def _indicators() -> pd.DataFrame:
    rows = [
        ("ADULT", 2023, "EMP_Q2", 40, 50, 0, 0.8, False),
        # 7 in the cohort: suppressed with its numerator 3 and pending 6.
        ("ADULT", 2024, "EMP_Q2", 3, 7, 6, 3 / 7, True),
        ("DW", 2023, "EMP_Q2", 12, 20, 0, 0.6, False),
        ("DW", 2024, "EMP_Q2", 15, 25, 2, 0.6, False),
        # Everyone pending: no rate (n/a), nothing suppressed.
        ("WP", 2024, "EMP_Q2", 0, 0, 30, NAN, False),
        ("ADULT", 2023, "MEDIAN_EARNINGS_Q2", None, 40, 0, 6500.0, False),
        # A median of 3 values: suppressed.
        ("ADULT", 2024, "MEDIAN_EARNINGS_Q2", None, 3, 6, 5432.1, True),
        ("DW", 2024, "MEDIAN_EARNINGS_Q2", None, 15, 2, 7100.0, False),
        ("ALL", 2024, "RETENTION_SAME_EMPLOYER", 30, 40, 0, 0.75, False),
    ]
    return pd.DataFrame(rows, columns=INDICATOR_COLUMNS).astype({"numerator": "Int64"})


def _coenrollment() -> pd.DataFrame:
    rows = [
        ("ADULT", "PY2024", 2024, 120, False),
        ("WP", "PY2024", 2024, 250, False),
        ("ADULT+WP", "PY2024", 2024, 45, False),
        ("ADULT+VR", "PY2024", 2024, 7, True),  # primary
        ("VR", "PY2024", 2024, 31, False),
        ("VR+WP", "PY2024", 2024, 23, True),  # complementary: ALL - the rest would give 7 away
        ("ALL", "PY2024", 2024, 476, False),  # 120 + 250 + 45 + 7 + 31 + 23
        ("ADULT", "PY2023", 2023, 100, False),
        ("WP", "PY2023", 2023, 200, False),
        ("ADULT+WP", "PY2023", 2023, 40, False),
        ("ALL", "PY2023", 2023, 340, False),
    ]
    return pd.DataFrame(rows, columns=["programs", "period", "program_year", "customers", "suppressed"])


def _shares() -> ReportTable:
    """A table of the bundle's own: default keys (the text columns), a hidden column, a cell flag."""
    frame = pd.DataFrame(
        {
            "program": ["ADULT", "VR", "WP"],
            "other_program": ["WP", "WP", "ADULT"],
            "participants": [172, 54, 295],
            "coenrolled": [45, 23, 45],
            "share": [45 / 172, 23 / 54, 45 / 295],
            "median_days": [12.5, 8.5, 4.0],
            "median_days__suppressed": [False, True, True],
            "suppressed": [False, True, False],
        }
    )
    return ReportTable(
        name="Shares",
        title="Co-enrollment shares",
        description="One row per program and other program.",
        frame=frame,
        percent_columns=("share",),
        hidden_columns=("coenrolled",),
    )


def _pairs() -> pd.DataFrame:
    return pd.DataFrame(
        [("title1", "wp", 140, False), ("ui", "wp", 90, False), ("vr", "wp", 9, True)],
        columns=["system_l", "system_r", "links", "suppressed"],
    )


def _bundle() -> ReportBundle:
    return ReportBundle(
        title="Workforce report <PY2024>",
        run_date=dt.date(2025, 8, 1),
        as_of=dt.date(2025, 7, 31),
        suppression_threshold=10,
        tables=(_shares(),),
        indicators=_indicators(),
        coenrollment=_coenrollment(),
        linkage_summary={"records": 1234, "customers": 1000, "review_queue": 12},
        linkage_system_pairs=_pairs(),
        notes=("Wage records through 2025 Q1.",),
    )


# --------------------------------------------------------------------------- reading the workbook back


@dataclass
class Sheet:
    cells: dict[tuple[int, int], Any]  # (row, col) 0-based -> str or float
    formats: dict[tuple[int, int], str]  # number format code per cell ("General" if none)
    pane: dict[str, str]
    autofilter: str | None

    def row(self, r: int) -> list[Any]:
        width = max(c for _, c in self.cells) + 1
        return [self.cells.get((r, c)) for c in range(width)]

    def where(self, value: Any) -> set[tuple[int, int]]:
        return {k for k, v in self.cells.items() if v == value}


def _col(ref: str) -> tuple[int, int]:
    m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
    assert m
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def read_xlsx(path: Path) -> tuple[dict[str, Sheet], str]:
    """Sheets in workbook order, and all the XML text (for grepping)."""
    with zipfile.ZipFile(path) as z:
        xml = "\n".join(
            z.read(n).decode("utf-8") for n in sorted(z.namelist()) if n.endswith((".xml", ".rels"))
        )
        shared = [
            "".join(t.text or "" for t in si.iter(f"{{{M}}}t"))
            for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall(f"{{{M}}}si")
        ]
        styles = ET.fromstring(z.read("xl/styles.xml"))
        codes = {n.get("numFmtId"): n.get("formatCode") for n in styles.iter(f"{{{M}}}numFmt")}
        xfs = styles.find(f"{{{M}}}cellXfs")
        assert xfs is not None
        xf_codes = [codes.get(xf.get("numFmtId") or "0") or "General" for xf in xfs]
        targets = {r.get("Id"): r.get("Target") for r in ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))}
        sheets: dict[str, Sheet] = {}
        book = ET.fromstring(z.read("xl/workbook.xml"))
        for s in book.iter(f"{{{M}}}sheet"):
            root = ET.fromstring(z.read(f"xl/{targets[s.get(f'{{{R}}}id')]}"))
            cells: dict[tuple[int, int], Any] = {}
            formats: dict[tuple[int, int], str] = {}
            for c in root.iter(f"{{{M}}}c"):
                v = c.find(f"{{{M}}}v")
                if v is None:
                    continue
                key = _col(c.get("r", ""))
                text = v.text or ""
                cells[key] = shared[int(text)] if c.get("t") == "s" else float(text)
                formats[key] = xf_codes[int(c.get("s", "0"))]
            pane = root.find(f".//{{{M}}}pane")
            auto = root.find(f"{{{M}}}autoFilter")
            sheets[s.get("name", "")] = Sheet(
                cells,
                formats,
                dict(pane.attrib) if pane is not None else {},
                auto.get("ref") if auto is not None else None,
            )
    return sheets, xml


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("reports")
    bundle = _bundle()
    return write_xlsx(bundle, out / "report.xlsx"), write_html(bundle, out / "report.html")


def _html_text(path: Path) -> str:
    """The page without its image payloads (base64 could hold any digits by chance)."""
    return re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- what may be shown


def _row(frame: pd.DataFrame, i: int) -> list[Any]:
    return list(frame.to_numpy()[i])


def test_published_frame_masks_suppressed_rows_and_cells() -> None:
    shown = published_frame(_shares())
    # coenrolled is hidden, the flags are dropped.
    assert list(shown.columns) == ["program", "other_program", "participants", "share", "median_days"]
    # Row 1 is suppressed: every value column masked, the text keys stay. Row 2 has one cell flag.
    assert _row(shown, 0) == ["ADULT", "WP", 172, 45 / 172, 12.5]
    assert _row(shown, 1) == ["VR", "WP", "**", "**", "**"]
    assert _row(shown, 2) == ["WP", "ADULT", 295, 45 / 295, "**"]


def test_published_frame_explicit_keys_and_refusals() -> None:
    frame = pd.DataFrame({"year": [2024], "n": [4], "suppressed": [True]})
    # Named keys: only `year` stays. Without them, `year` is a default key name too.
    keyed = published_frame(ReportTable("T", "t", "d", frame, key_columns=("year",)))
    assert _row(keyed, 0) == [2024, "**"]
    assert _row(published_frame(ReportTable("T", "t", "d", frame)), 0) == [2024, "**"]
    # Declared keys replace the defaults: with none, even the year is masked.
    assert _row(published_frame(ReportTable("T", "t", "d", frame, key_columns=())), 0) == ["**", "**"]
    with pytest.raises(ValueError, match="restricted"):
        published_frame(ReportTable("T", "t", "d", frame.assign(suppression="primary")))
    with pytest.raises(ValueError, match="missing values"):
        published_frame(
            ReportTable("T", "t", "d", frame.assign(suppressed=pd.array([pd.NA], dtype="boolean")))
        )
    with pytest.raises(ValueError, match="not in the frame"):
        published_frame(ReportTable("T", "t", "d", frame.assign(other__suppressed=[True])))
    with pytest.raises(ValueError, match="percent_columns"):
        published_frame(ReportTable("T", "t", "d", frame, percent_columns=("rate",)))


def test_sheet_names_are_checked(tmp_path: Path) -> None:
    frame = pd.DataFrame({"n": [12]})
    for tables in (
        (ReportTable("Indicators", "t", "d", frame),),  # reserved for the bundle's indicators
        (ReportTable("A", "t", "d", frame), ReportTable("a", "t", "d", frame)),  # Excel ignores case
        (ReportTable("x" * 32, "t", "d", frame),),
        (ReportTable("a/b", "t", "d", frame),),
    ):
        bundle = ReportBundle(
            "r", dt.date(2025, 8, 1), dt.date(2025, 7, 31), 10, tables, _indicators(), _coenrollment()
        )
        with pytest.raises(ValueError):
            write_xlsx(bundle, tmp_path / "r.xlsx")
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- the workbook


def test_xlsx_sheets_headers_panes(written: tuple[Path, Path]) -> None:
    sheets, _ = read_xlsx(written[0])
    assert list(sheets) == [
        "About",
        "Indicators",
        "Co-enrollment",
        "Shares",
        "Linkage summary",
        "Linkage pairs",
    ]
    headers = {
        "Indicators": [
            "Indicator",
            "Program",
            "Program year",
            "Numerator",
            "Denominator",
            "Pending (wages not yet available)",
            "Rate",
            "Median earnings",
            "Note",
        ],
        "Co-enrollment": ["Programs", "Period", "Program year", "Customers"],
        "Shares": ["Program", "Other program", "Participants", "Share", "Median days"],
        "Linkage summary": ["Measure", "Value"],
        "Linkage pairs": ["System", "Other system", "Records linked"],
    }
    rows = {"Indicators": 9, "Co-enrollment": 11, "Shares": 3, "Linkage summary": 3, "Linkage pairs": 3}
    last_col = {
        "Indicators": "I",
        "Co-enrollment": "D",
        "Shares": "E",
        "Linkage summary": "B",
        "Linkage pairs": "C",
    }
    for name, header in headers.items():
        sheet = sheets[name]
        assert sheet.row(0) == header, name
        assert sheet.pane.get("state") == "frozen" and sheet.pane.get("ySplit") == "1", name
        assert sheet.pane.get("topLeftCell") == "A2", name
        assert sheet.autofilter == f"A1:{last_col[name]}{rows[name] + 1}", name
    about = sheets["About"]
    assert about.cells[(0, 0)] == "Workforce report <PY2024>"
    values = set(about.cells.values())
    assert {"2025-08-01", "2025-07-31", "Wage records through 2025 Q1."} <= values
    assert any("fewer than 10 individuals" in str(v) for v in values)
    assert {"Indicators", "Co-enrollment", "Shares", "Linkage summary", "Linkage pairs"} <= values

    ind = sheets["Indicators"]
    # Names spelled out; row 1 is ADULT PY2023 EMP_Q2: 40 / 50 = 80%, as a percent format.
    assert ind.row(1)[:3] == ["Employment rate Q2 after exit", "Title I Adult", 2023.0]
    assert ind.cells[(1, 6)] == pytest.approx(0.8) and ind.formats[(1, 6)] == "0.0%"
    # Row 6 is ADULT PY2023 median earnings, $6,500 in a currency format.
    assert ind.cells[(6, 7)] == 6500.0 and ind.formats[(6, 7)] == "$#,##0"
    # The pending-only WP row has no rate: n/a, noted.
    assert ind.cells[(5, 6)] == "n/a" and ind.cells[(5, 8)] == "n/a"
    assert sheets["Co-enrollment"].cells[(7, 0)] == "All participants (unduplicated)"


def test_xlsx_stars_exactly_where_suppressed(written: tuple[Path, Path]) -> None:
    sheets, _ = read_xlsx(written[0])
    expected = {
        # EMP_Q2 ADULT 2024 (row 2): numerator, denominator, pending, rate; its median column is empty.
        # Median ADULT 2024 (row 7): numerator, denominator, pending, median earnings; rate empty.
        "Indicators": {(2, 3), (2, 4), (2, 5), (2, 6), (7, 3), (7, 4), (7, 5), (7, 7)},
        "Co-enrollment": {(4, 3), (6, 3)},  # ADULT+VR and VR+WP
        # VR row suppressed (participants, share, median days); WP row: the median days cell alone.
        "Shares": {(2, 2), (2, 3), (2, 4), (3, 4)},
        "Linkage summary": set(),
        "Linkage pairs": {(3, 2)},
    }
    for name, cells in expected.items():
        assert sheets[name].where("**") == cells, name
        for cell in cells:
            assert sheets[name].formats[cell] == "General"
    assert (2, 7) not in sheets["Indicators"].cells and (7, 6) not in sheets["Indicators"].cells
    assert sheets["Indicators"].cells[(2, 8)] == "suppressed"
    # The shown Shares cells, all of them: 23/54, 54 and the median days 8.5 and 4.0 are gone.
    numbers = {k: v for k, v in sheets["Shares"].cells.items() if isinstance(v, float)}
    assert numbers == {
        (1, 2): 172.0,
        (1, 3): pytest.approx(45 / 172),
        (1, 4): 12.5,
        (3, 2): 295.0,
        (3, 3): pytest.approx(45 / 295),
    }


def test_suppressed_values_are_nowhere_in_the_files(written: tuple[Path, Path]) -> None:
    sheets, xml = read_xlsx(written[0])
    secret = {3.0, 6.0, 7.0, 9.0, 23.0, 54.0, 8.5, 4.0, 5432.1}
    for name, sheet in sheets.items():
        if name == "About":
            continue
        found = {v for v in sheet.cells.values() if isinstance(v, float)}
        assert not found & secret, name
        assert not any(
            isinstance(v, float) and (abs(v - 3 / 7) < 1e-6 or abs(v - 23 / 54) < 1e-6) for v in found
        )
    for text in ("0.42857", "0.42592", "5432", "Coenrolled"):
        assert text not in xml

    page = _html_text(written[1])
    for text in ("42.9%", "42.6%", "0.428", "5,432", "5432", "8.50", ">4<", ">4.00<", "Coenrolled"):
        assert text not in page, text
    for n in (3, 6, 7, 9, 23, 54):
        assert f">{n}<" not in page, n


# --------------------------------------------------------------------------- the page


def test_html_sections_images_and_nothing_to_load(written: tuple[Path, Path]) -> None:
    raw = written[1].read_text(encoding="utf-8")
    page = _html_text(written[1])
    for anchor in (
        "about",
        "contents",
        "indicators",
        "coenrollment",
        "shares",
        "linkage-summary",
        "linkage-pairs",
    ):
        assert f'id="{anchor}"' in page
        if anchor not in ("about", "contents"):
            assert f'href="#{anchor}"' in page
    # Title escaped, rule and notes shown.
    assert "<h1>Workforce report &lt;PY2024&gt;</h1>" in page
    assert "fewer than 10 individuals" in page and "Wage records through 2025 Q1." in page
    # Charts: EMP_Q2, median earnings and retention have a published value; UpSet; linkage pairs.
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', raw)
    assert len(images) == 5
    assert all(base64.b64decode(b).startswith(b"\x89PNG\r\n\x1a\n") for b in images)
    for key in ("chart-emp_q2", "chart-median_earnings_q2", "chart-retention_same_employer", "chart-upset"):
        assert f'id="{key}"' in page
    assert "set sizes (horizontal bars) are totals of the combinations shown only" in page
    # Self-contained: no address to fetch, no script, stylesheet link or font.
    assert "http://" not in raw and "https://" not in raw
    assert "<script" not in raw and "<link" not in raw and "@import" not in raw and "url(" not in raw
    assert set(re.findall(r'\bsrc="([a-z]+):', raw)) == {"data"}
    # Suppressed cells as ** in the tables; the WP rate as n/a.
    assert page.count('<td class="marker">**</td>') == 8 + 2 + 4 + 1
    assert '<td class="marker">n/a</td>' in page


def test_files_are_byte_identical_when_written_again(written: tuple[Path, Path], tmp_path: Path) -> None:
    xlsx, page = written
    time.sleep(2)  # zip entry times and document dates would differ if taken from the clock
    bundle = _bundle()
    again_xlsx = write_xlsx(bundle, tmp_path / "again.xlsx")
    again_html = write_html(bundle, tmp_path / "again.html")
    assert again_xlsx.read_bytes() == xlsx.read_bytes()
    assert again_html.read_bytes() == page.read_bytes()
    with zipfile.ZipFile(again_xlsx) as z:
        core = z.read("docProps/core.xml").decode()
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert "2025-08-01T00:00:00Z" in core
    # Written atomically: nothing left beside the files; readable by all, writable by the owner only.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.html", "again.xlsx"]
    assert stat.S_IMODE(again_html.stat().st_mode) & 0o022 == 0


# --------------------------------------------------------------------------- chart data


def test_upset_leaves_suppressed_combinations_out() -> None:
    year, period, counts = charts.upset_data(_coenrollment())
    # PY2024 only; ADULT+VR (7) and VR+WP (23) suppressed, ALL is not a combination; largest first.
    assert (year, period) == (2024, "PY2024")
    assert counts.to_dict() == {"WP": 250, "ADULT": 120, "ADULT+WP": 45, "VR": 31}
    assert list(counts.index) == ["WP", "ADULT", "ADULT+WP", "VR"]
    before = matplotlib.rcParams.copy()
    chart = charts.upset_chart(_coenrollment())
    assert chart is not None and chart.png.startswith(b"\x89PNG")
    # Drawn without touching global state: rc settings restored (bar the backend, which matplotlib
    # resolves on first use whoever draws), no pyplot figure left open.
    assert {k: v for k, v in matplotlib.rcParams.items() if k != "backend"} == {
        k: v for k, v in before.items() if k != "backend"
    }
    assert plt.get_fignums() == []
    # Nothing published in the latest year: no chart at all.
    only_small = _coenrollment().assign(suppressed=lambda d: d["program_year"] == 2024)
    assert charts.upset_data(only_small)[2].empty and charts.upset_chart(only_small) is None
    # Only one program's combination published: no intersection to draw, no chart (and no crash).
    only_wp = _coenrollment().assign(
        suppressed=lambda d: (d["program_year"] == 2024) & (d["programs"] != "WP")
    )
    assert list(charts.upset_data(only_wp)[2].index) == ["WP"] and charts.upset_chart(only_wp) is None


def test_indicator_chart_data_holds_published_values_only() -> None:
    data = charts.indicator_chart_data(_indicators()).set_index(["indicator", "program", "program_year"])
    status = data["status"].to_dict()
    value = data["value"].to_dict()
    assert status[("EMP_Q2", "ADULT", 2024)] == "suppressed" and np.isnan(value[("EMP_Q2", "ADULT", 2024)])
    assert status[("MEDIAN_EARNINGS_Q2", "ADULT", 2024)] == "suppressed"
    assert np.isnan(value[("MEDIAN_EARNINGS_Q2", "ADULT", 2024)])
    # WP 2024 has no rate (denominator 0); WP 2023 and DW 2023 median have no row at all.
    assert status[("EMP_Q2", "WP", 2024)] == "n/a" and status[("EMP_Q2", "WP", 2023)] == "n/a"
    assert status[("MEDIAN_EARNINGS_Q2", "DW", 2023)] == "n/a"
    assert value[("EMP_Q2", "DW", 2024)] == 0.6 and value[("MEDIAN_EARNINGS_Q2", "DW", 2024)] == 7100.0
    # Three programs x two years for EMP_Q2, two x two for the median, statewide x two for retention.
    assert data.groupby(level="indicator").size().to_dict() == {
        "EMP_Q2": 6,
        "MEDIAN_EARNINGS_Q2": 4,
        "RETENTION_SAME_EMPLOYER": 2,
    }
    shown = data.loc[data["status"] == "shown", "value"]
    assert not shown.isin([3 / 7, 5432.1]).any() and shown.notna().all()


def test_linkage_pairs_chart_leaves_suppressed_pairs_out() -> None:
    data = charts.linkage_pair_data(_pairs())
    assert data.to_dict() == {"Title I / Wagner-Peyser": 140, "UI claims / Wagner-Peyser": 90}
    assert charts.linkage_chart(_pairs().assign(suppressed=True)) is None


def test_empty_bundle_still_renders() -> None:
    empty = ReportBundle(
        "r",
        dt.date(2025, 8, 1),
        dt.date(2025, 7, 31),
        10,
        (),
        _indicators().iloc[0:0],
        _coenrollment().iloc[0:0],
    )
    page = render_html(empty)
    assert "No indicator has a published value to chart." in page
    assert "No published program combination to chart." in page
    assert "<img" not in page
