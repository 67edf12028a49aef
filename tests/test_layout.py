"""The layout loader refuses inconsistent layouts with a message naming the file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sources.layout import LayoutError, file_layouts, load_layouts, load_system

GOOD = """\
system: demo
period: daily
files:
  demo_cases:
    pattern: "demo_{period}.csv"
    format: delimited
    delimiter: ","
    encoding: utf-8
    header_row: true
    control_file: true
    key: [case_id]
    fields:
      - {name: case_id, source: CaseID, type: key}
      - {name: opened, source: Opened, type: date, required: true, format: "%Y-%m-%d"}
"""


def _write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_repository_layouts_describe_the_twelve_file_types() -> None:
    assert len(file_layouts()) == 12
    assert {s.system for s in load_layouts()} == {"ui", "ui_wages", "wp", "title1", "vr", "adult_ed"}


def test_a_good_layout_loads(tmp_path: Path) -> None:
    system = load_system(_write(tmp_path, GOOD))
    assert system.files[0].key == ("case_id",) and system.period == "daily"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("period: daily", "period: monthly"), "period 'monthly'"),
        (("encoding: utf-8", "encoding: utf-9x"), "unknown encoding"),
        (("type: key}", "type: keyy}"), "type 'keyy'"),
        (('format: "%Y-%m-%d"}', "}"), "needs a format"),
        (("key: [case_id]", "key: [case_no]"), "'case_no' is named as key"),
        (('pattern: "demo_{period}.csv"', 'pattern: "demo.csv"'), "lacks {period}"),
        (("source: Opened, ", ""), "needs its header name"),
        (("required: true, ", "required: true, identity: true, "), "cannot be required"),
    ],
)
def test_inconsistent_layouts_are_refused(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        load_system(_write(tmp_path, GOOD.replace(*change)))


def test_a_system_described_twice_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, GOOD, "a.yaml")
    _write(
        tmp_path,
        GOOD.replace("demo_cases", "demo_other").replace("demo_{period}", "other_{period}"),
        "b.yaml",
    )
    with pytest.raises(LayoutError, match="described twice"):
        load_layouts(tmp_path)


def test_fixed_width_positions_must_tile_the_record(tmp_path: Path) -> None:
    text = """\
system: fw
period: quarterly
files:
  fw_rows:
    pattern: "FW.{period}.DAT"
    format: fixed_width
    encoding: ascii
    record_length: 10
    key: []
    fields:
      - {name: a, type: text, start: 1, length: 4}
      - {name: b, type: text, start: 6, length: 5}
"""
    with pytest.raises(LayoutError, match="starts at 6, expected 5"):
        load_system(_write(tmp_path, text, "fw.yaml"))
