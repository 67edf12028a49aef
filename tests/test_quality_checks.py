"""Quality suites derived from the layouts, run for real through Great Expectations (no mocks).

Every layout's fabricated valid frame validates clean; then one kind of failure at a time, each
asserting that the report names the expectation, the column and the failing rows' keys (and
never an identity value). `volume_bounds` on steady, volatile and outlier-laden histories.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quality_checks import (
    CROSS_FIELD_RULES,
    METADATA_COLUMNS,
    FieldOrder,
    ValidationReport,
    build_suite,
    staged_columns,
    validate,
    volume_bounds,
)
from quality_checks._gx import gx
from quality_checks.fabricate import staged_frame
from quality_checks.suites import codes_regex
from sources.layout import FileLayout, file_layouts

AS_OF = date(2025, 6, 30)
LAYOUTS = file_layouts()
FILE_NAME = "wp_services_20250630.csv"


def _layout(file_type: str) -> FileLayout:
    return LAYOUTS[file_type]


def _frame(file_type: str, n: int = 20) -> pd.DataFrame:
    return staged_frame(_layout(file_type), n, as_of=AS_OF)


def _validate(df: pd.DataFrame, file_type: str, **kwargs: object) -> ValidationReport:
    return validate(df, _layout(file_type), as_of=AS_OF, **kwargs)  # type: ignore[arg-type]


def _only_failure(report: ValidationReport) -> str:
    assert not report.success
    (failed,) = report.failed
    return failed.expectation


def _key(df: pd.DataFrame, pos: int, *key: str) -> dict[str, object]:
    row = df.iloc[pos]
    out: dict[str, object] = {}
    for k in key:
        v = row[k]
        out[k] = v.date().isoformat() if isinstance(v, pd.Timestamp) else v
    out["_file"] = row["_file"]
    out["_line"] = int(row["_line"])
    return out


# --------------------------------------------------------------------------- suites from layouts


def test_twelve_layouts() -> None:
    assert len(LAYOUTS) == 12


@pytest.mark.parametrize("file_type", sorted(LAYOUTS))
def test_every_layout_validates_clean_on_its_valid_frame(file_type: str) -> None:
    df = _frame(file_type, 60)
    report = _validate(df, file_type, volume=(10, 100))
    assert report.success, report.to_markdown()
    assert report.rows == 60 and report.file_type == file_type
    assert all(r.unexpected_count in (0, None) and not r.failing_keys for r in report.results)
    rules = {r.rule for r in report.results}
    assert {"schema", "not_null", "volume"} <= rules
    assert ("unique" in rules) == bool(_layout(file_type).key)
    assert report.failing_positions() == ()


@pytest.mark.parametrize("file_type", sorted(LAYOUTS))
def test_suite_follows_the_layout(file_type: str) -> None:
    layout = _layout(file_type)
    suite = build_suite(layout, as_of=AS_OF)
    assert isinstance(suite, gx.ExpectationSuite)
    by_name = {e.meta["name"]: e for e in suite.expectations}
    assert len(by_name) == len(suite.expectations), "expectation names are unique"

    schema = by_name["columns match the layout"]
    assert set(schema.column_set) == set(layout.columns) | set(METADATA_COLUMNS)
    assert not any(f.name in schema.column_set for f in layout.fields if f.type == "const")
    for col in layout.key:
        assert f"{col} not null" in by_name
    for f in layout.fields:
        if f.required or f.type == "key":
            assert f"{f.name} not null" in by_name
        if f.type == "code":
            assert by_name[f"{f.name} in its code set"].value_set == sorted(set((f.codes or {}).values()))
        if f.type in ("date", "timestamp"):
            (name,) = [n for n in by_name if n.startswith(f"{f.name} between ")]
            assert name.endswith(
                AS_OF.isoformat() if f.identity else (AS_OF + timedelta(days=400)).isoformat()
            )
    for rule in CROSS_FIELD_RULES.get(file_type, ()):
        assert f"{rule.later} on or after {rule.earlier}" in by_name
    # no volume expectation unless bounds are given
    assert not any(e.meta["rule"] == "volume" for e in suite.expectations)


def test_suite_details() -> None:
    att = {e.meta["name"]: e for e in build_suite(_layout("ae_attendance"), as_of=AS_OF).expectations}
    assert att["(student_id, class_date, class_id) unique within a file"].column_list == [
        "student_id", "class_date", "class_id", "_file",
    ]  # fmt: skip
    assert att["hours between 0 and 24"].min_value == 0 and att["hours between 0 and 24"].max_value == 24
    services = {e.meta["name"]: e for e in build_suite(_layout("wp_services"), as_of=AS_OF).expectations}
    assert services["service_id unique within a file per last_updated"].column_list == [
        "service_id", "last_updated", "_file",
    ]  # fmt: skip
    assert "individual_id not null" in services  # a reference to another record is an event field
    wages = build_suite(_layout("ui_wages"), as_of=AS_OF, volume=(5, 9)).expectations
    assert not any(e.meta["rule"] == "unique" for e in wages)
    assert {e.meta["name"] for e in wages} >= {
        "year between 1990 and 2100",
        "quarter between 1 and 4",
        "row count between 5 and 9",
    }
    claims = {e.meta["name"] for e in build_suite(_layout("ui_claims"), as_of=AS_OF).expectations}
    assert {"profiling_score between 0 and 100", "claim_filed_date on or after benefit_year_begin"} <= claims
    assert "birth_date between 1900-01-01 and 2025-06-30" in claims
    assert "claim_filed_date between 1990-01-01 and 2026-08-04" in claims


def test_codes_regex() -> None:
    rx = re.compile(codes_regex({"Asian": "ASIAN", "White": "WHITE", "Other Pacific": "A.B"}, ";"))
    for ok in ("ASIAN", "WHITE;ASIAN", "A.B;WHITE"):
        assert rx.search(ok)
    for bad in ("", "ASIAN;", ";ASIAN", "ASIANX", "ASIAN;MARTIAN", "AxB", "asian"):
        assert not rx.search(bad), bad


def test_a_cross_field_rule_on_a_missing_column_is_a_build_error(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = dict(CROSS_FIELD_RULES)
    rules["wp_services"] = (FieldOrder("service_date", "no_such_date"),)
    monkeypatch.setattr("quality_checks.suites.CROSS_FIELD_RULES", rules)
    with pytest.raises(ValueError, match="wp_services has no no_such_date"):
        build_suite(_layout("wp_services"), as_of=AS_OF)


# --------------------------------------------------------------------------- one failure at a time


def test_duplicate_key() -> None:
    df = _frame("wp_services")
    df.loc[5, ["service_id", "last_updated"]] = df.loc[3, ["service_id", "last_updated"]].to_numpy()
    report = _validate(df, "wp_services")
    name = _only_failure(report)
    assert name == "service_id unique within a file per last_updated"
    result = report.result(name)
    assert result.column == "service_id" and result.unexpected_count == 2
    assert result.failing_keys == [_key(df, 3, "service_id"), _key(df, 5, "service_id")]
    assert result.failing_keys[0] == {"service_id": df.loc[3, "service_id"], "_file": FILE_NAME, "_line": 5}
    assert result.failing_positions == (3, 5)


def test_two_versions_of_a_key_are_not_duplicates() -> None:
    df = _frame("wp_services")
    df.loc[5, "service_id"] = df.loc[3, "service_id"]  # same key, a newer last_updated: a second version
    df.loc[7, "_file"] = "wp_services_20250701.csv"
    df.loc[7, ["service_id", "last_updated"]] = df.loc[3, ["service_id", "last_updated"]].to_numpy()
    assert _validate(df, "wp_services").success  # and the same version re-sent in another file


def test_duplicate_compound_key() -> None:
    df = _frame("ae_attendance")
    df.loc[9, ["student_id", "class_date", "class_id"]] = df.loc[
        2, ["student_id", "class_date", "class_id"]
    ].to_numpy()
    report = _validate(df, "ae_attendance")
    name = _only_failure(report)
    assert name == "(student_id, class_date, class_id) unique within a file"
    result = report.result(name)
    assert result.column == "student_id, class_date, class_id"
    key = ("student_id", "class_date", "class_id")
    assert result.failing_keys == [_key(df, 2, *key), _key(df, 9, *key)]
    assert result.failing_keys[0]["class_date"] == df.loc[2, "class_date"].date().isoformat()


def test_null_required_field() -> None:
    df = _frame("wp_services")
    df.loc[4, "service_date"] = pd.NaT
    df.loc[11, "service_code"] = None
    report = _validate(df, "wp_services")
    assert {r.expectation for r in report.failed} == {"service_date not null", "service_code not null"}
    result = report.result("service_date not null")
    assert result.column == "service_date" and result.unexpected_count == 1
    assert result.failing_keys == [_key(df, 4, "service_id")]
    assert report.result("service_code not null").failing_keys == [_key(df, 11, "service_id")]
    assert report.failing_positions() == (4, 11)


def test_null_key() -> None:
    df = _frame("t1_outcomes")
    df.loc[6, "outcome_id"] = None
    df.loc[8, "participation_id"] = None
    report = _validate(df, "t1_outcomes")
    assert {r.expectation for r in report.failed} == {"outcome_id not null", "participation_id not null"}
    assert report.result("outcome_id not null").failing_keys == [
        {"outcome_id": None, "_file": df.loc[6, "_file"], "_line": 8}
    ]


def test_optional_fields_may_be_null() -> None:
    df = _frame("t1_participation")
    for col in ("exit_date", "exit_reason", "training_start_date", "birth_date", "ssn", "veteran", "sex"):
        df.loc[::2, col] = None
    assert _validate(df, "t1_participation").success


def test_code_outside_its_set() -> None:
    df = _frame("wp_services")
    df.loc[[2, 17], "service_code"] = "999"
    report = _validate(df, "wp_services")
    name = _only_failure(report)
    assert name == "service_code in its code set"
    result = report.result(name)
    assert result.column == "service_code" and result.unexpected_count == 2
    assert result.failing_keys == [_key(df, 2, "service_id"), _key(df, 17, "service_id")]
    # a delivered (not canonical) code is outside the set too
    df = _frame("wp_registrations")
    df.loc[1, "sex"] = "Male"
    assert _only_failure(_validate(df, "wp_registrations")) == "sex in its code set"


def test_codes_list_with_a_bad_part() -> None:
    df = _frame("wp_registrations")
    assert df["race"].str.contains(";").any()  # the valid frame has lists of two
    df.loc[3, "race"] = "ASIAN;MARTIAN"
    df.loc[8, "race"] = "WHITE;"
    df.loc[9, "race"] = None  # blank is allowed
    report = _validate(df, "wp_registrations")
    name = _only_failure(report)
    assert name == "every part of race in its code set"
    result = report.result(name)
    assert result.column == "race" and result.unexpected_count == 2
    assert result.failing_keys == [_key(df, 3, "individual_id"), _key(df, 8, "individual_id")]


@pytest.mark.parametrize(
    ("file_type", "column", "value", "name"),
    [
        ("ae_attendance", "hours", 24.5, "hours between 0 and 24"),
        ("ae_attendance", "hours", -1.0, "hours between 0 and 24"),
        ("ae_students", "highest_grade_at_entry", 13, "highest_grade_at_entry between 0 and 12"),
        ("ui_claims", "profiling_score", 101, "profiling_score between 0 and 100"),
        ("ae_assessments", "scale_score", -5, "scale_score at least 0"),
        ("ui_wages", "quarter", 5, "quarter between 1 and 4"),
    ],
)
def test_min_max(file_type: str, column: str, value: float, name: str) -> None:
    df = _frame(file_type)
    df.loc[6, column] = value
    report = _validate(df, file_type)
    assert _only_failure(report) == name
    result = report.result(name)
    assert result.column == column and result.unexpected_count == 1
    assert result.failing_keys == [_key(df, 6, *_layout(file_type).key)]


def test_wage_rows_are_named_by_file_and_line() -> None:
    df = _frame("ui_wages")
    df.loc[6, "wages"] = np.nan
    report = _validate(df, "ui_wages")
    assert _only_failure(report) == "wages not null"
    assert report.result("wages not null").failing_keys == [{"_file": df.loc[6, "_file"], "_line": 8}]
    assert report.key_columns == ("_file", "_line")


def test_exit_before_entry() -> None:
    df = _frame("t1_participation")
    df.loc[4, "exit_date"] = df.loc[4, "entry_date"] - pd.Timedelta(days=1)
    df.loc[5, "exit_date"] = df.loc[5, "entry_date"]  # same day is fine
    df.loc[6, ["exit_date", "entry_date"]] = [pd.NaT, df.loc[6, "entry_date"]]  # still open: not checked
    report = _validate(df, "t1_participation")
    name = _only_failure(report)
    assert name == "exit_date on or after entry_date"
    result = report.result(name)
    assert result.column == "exit_date, entry_date" and result.unexpected_count == 1
    assert result.failing_keys == [_key(df, 4, "participation_id")]


@pytest.mark.parametrize(
    ("file_type", "later", "earlier"),
    [(ft, rule.later, rule.earlier) for ft, rules in sorted(CROSS_FIELD_RULES.items()) for rule in rules],
)
def test_every_cross_field_rule(file_type: str, later: str, earlier: str) -> None:
    df = _frame(file_type)
    df.loc[7, later] = df.loc[7, earlier] - pd.Timedelta(days=3)
    report = _validate(df, file_type)
    assert _only_failure(report) == f"{later} on or after {earlier}"
    assert report.failed[0].failing_keys == [_key(df, 7, *_layout(file_type).key)]


def test_birth_date_in_the_future() -> None:
    df = _frame("wp_registrations")
    df.loc[3, "birth_date"] = pd.Timestamp(AS_OF + timedelta(days=1))
    df.loc[4, "birth_date"] = pd.Timestamp("1899-12-31")
    df.loc[5, "birth_date"] = pd.Timestamp(AS_OF)  # born today: plausible enough
    report = _validate(df, "wp_registrations")
    name = _only_failure(report)
    assert name == "birth_date between 1900-01-01 and 2025-06-30"
    result = report.result(name)
    assert result.column == "birth_date" and result.unexpected_count == 2
    assert result.failing_keys == [_key(df, 3, "individual_id"), _key(df, 4, "individual_id")]


def test_event_dates_may_be_scheduled_but_not_far_ahead() -> None:
    df = _frame("wp_services")
    df.loc[3, "service_date"] = pd.Timestamp(AS_OF + timedelta(days=400))
    assert _validate(df, "wp_services").success
    df.loc[4, "service_date"] = pd.Timestamp(AS_OF + timedelta(days=401))
    df.loc[5, "service_date"] = pd.Timestamp("1989-12-31")
    report = _validate(df, "wp_services")
    assert _only_failure(report) == "service_date between 1990-01-01 and 2026-08-04"
    assert [k["_line"] for k in report.failed[0].failing_keys] == [6, 7]


def test_missing_and_unexpected_columns() -> None:
    df = _frame("wp_services").drop(columns=["office"]).assign(notes="x")
    report = _validate(df, "wp_services")
    name = _only_failure(report)
    assert name == "columns match the layout"
    result = report.result(name)
    assert result.column == "notes, office"
    assert result.observed == "missing: office; unexpected: notes"
    assert result.unexpected_count is None and result.failing_keys == []


def test_a_missing_checked_column_is_reported_not_evaluated() -> None:
    df = _frame("wp_services").drop(columns=["service_code", "_is_deleted"])
    report = _validate(df, "wp_services")
    failed = {r.expectation: r for r in report.failed}
    assert set(failed) == {
        "columns match the layout",
        "service_code not null",
        "service_code in its code set",
    }
    assert failed["columns match the layout"].observed == "missing: _is_deleted, service_code"
    assert failed["service_code in its code set"].error == "not evaluated: column missing (service_code)"
    assert report.result("service_date not null").success  # the rest still ran


def test_a_missing_key_column_still_names_rows_by_file_and_line() -> None:
    df = _frame("wp_services").drop(columns=["service_id"])
    df.loc[2, "service_code"] = "999"
    report = _validate(df, "wp_services")
    assert report.key_columns == ("_file", "_line")
    assert report.result("service_code in its code set").failing_keys == [{"_file": FILE_NAME, "_line": 4}]
    assert report.result("service_id unique within a file per last_updated").error is not None


def test_volume_out_of_bounds() -> None:
    df = _frame("wp_services", 20)
    assert _validate(df, "wp_services", volume=(20, 20)).success
    for bounds in ((21, 500), (0, 19)):
        report = _validate(df, "wp_services", volume=bounds)
        name = _only_failure(report)
        assert name == f"row count between {bounds[0]} and {bounds[1]}"
        result = report.result(name)
        assert result.observed == "20 rows" and result.column is None and result.failing_keys == []
    empty = _validate(df.iloc[0:0], "wp_services", volume=(5, 500))
    assert _only_failure(empty) == "row count between 5 and 500"


def test_max_keys_caps_the_keys_not_the_count() -> None:
    df = _frame("wp_services", 300)
    df.loc[100:219, "service_code"] = "999"
    report = _validate(df, "wp_services", max_keys=10)
    result = report.result("service_code in its code set")
    assert result.unexpected_count == 120 and len(result.failing_keys) == 10
    assert result.failing_keys[0] == _key(df, 100, "service_id")
    assert result.failing_positions == tuple(range(100, 220))
    assert "… 115 more" in report.to_markdown()
    assert len(_validate(df, "wp_services", max_keys=None).failed[0].failing_keys) == 120


def test_positions_and_keys_follow_the_rows_not_the_index() -> None:
    full = _frame("wp_services", 40)
    df = full.iloc[::2]  # index 0, 2, 4, …: positions differ from labels
    df.loc[10, "service_code"] = "999"  # label 10 = position 5
    before = df.index.copy()
    report = _validate(df, "wp_services")
    result = report.result("service_code in its code set")
    assert result.failing_positions == (5,)
    assert result.failing_keys == [_key(df, 5, "service_id")]
    assert df.index.equals(before) and df.index.name is None  # the caller's frame is untouched


def test_report_carries_no_identity_value() -> None:
    df = _frame("wp_registrations", 30)
    df.loc[2, "birth_date"] = pd.Timestamp("2031-02-03")
    df.loc[3, "sex"] = "Q"
    df.loc[4, "highest_education"] = "9"
    df.loc[5, "race"] = "ASIAN;MARTIAN"
    df.loc[6, ["individual_id", "last_updated"]] = df.loc[7, ["individual_id", "last_updated"]].to_numpy()
    report = _validate(df, "wp_registrations", volume=(100, 200))
    assert len(report.failed) == 6
    text = report.to_markdown() + json.dumps(report.failing_keys()) + repr(report) + report.summary()
    identity = [f.name for f in _layout("wp_registrations").fields if f.identity]
    assert {"ssn", "first_name", "last_name", "birth_date", "street", "phone", "email", "zip"} <= set(
        identity
    )
    for col in identity:
        for value in df.loc[2:7, col].dropna():
            shown = value.date().isoformat() if isinstance(value, pd.Timestamp) else str(value)
            if len(shown) > 2:  # codes like M/F would match anywhere
                assert shown not in text, (col, shown)
    for bad in ("2031-02-03", "MARTIAN"):
        assert bad not in text
    assert "individual_id=" + df.loc[2, "individual_id"] in report.to_markdown()


def test_markdown_report() -> None:
    df = _frame("wp_services")
    df.loc[2, "service_code"] = "9|9"
    md = _validate(df, "wp_services").to_markdown()
    assert md.startswith("**wp_services**: 20 rows,")
    lines = md.splitlines()
    assert lines[2].startswith("| result | expectation |")
    assert lines[4].startswith("| **FAILED** | service_code in its code set | service_code | 1 | service_id=")
    assert "9|9" not in md and "9\\|9" not in md
    assert all(line.startswith("| passed") for line in lines[5:])


def test_staged_columns() -> None:
    layout = _layout("ui_claims")
    cols = staged_columns(layout)
    assert cols[-4:] == METADATA_COLUMNS and "record_type" not in cols
    assert list(_frame("ui_claims").columns) == list(cols)


# --------------------------------------------------------------------------- volume bounds


def test_volume_bounds_need_history() -> None:
    assert volume_bounds([]) is None
    assert volume_bounds([300] * 6) is None
    assert volume_bounds([300] * 7) is not None
    assert volume_bounds([300] * 3, min_nights=3) is not None
    with pytest.raises(ValueError):
        volume_bounds([3, 4, -1, 5, 6, 7, 8])


def _inside(count: int, bounds: tuple[int, int] | None) -> bool:
    assert bounds is not None
    return bounds[0] <= count <= bounds[1]


def test_volume_bounds_on_weeks_of_hundreds() -> None:
    rng = np.random.default_rng(1)
    history = list(rng.poisson(300, 28))
    bounds = volume_bounds(history)
    assert not _inside(0, bounds)  # an empty file after weeks of hundreds
    assert not _inside(50 * 300, bounds)  # fifty times the usual
    for ordinary in (120, 300, 600, 900):  # a quiet night, a catch-up night after a missed one
        assert _inside(ordinary, bounds)


def test_volume_bounds_on_small_volatile_nights() -> None:
    history = [0, 0, 1, 3, 0, 2, 5, 0, 1, 0, 0, 4, 1, 0, 2, 0, 7, 0, 1, 1]
    bounds = volume_bounds(history)
    assert bounds is not None and bounds[0] == 0
    for ordinary in (0, 1, 9, 14):
        assert _inside(ordinary, bounds)
    assert not _inside(50 * 2, bounds)


def test_volume_bounds_are_robust_to_outliers_in_the_history() -> None:
    history = [300] * 40
    history[10] = 15_000  # one runaway night
    history[20] = 0  # one empty night
    bounds = volume_bounds(history)
    assert bounds is not None
    assert bounds[1] < 3000 and not _inside(15_000, bounds)
    assert bounds[0] >= 1 and not _inside(0, bounds)


def test_volume_bounds_follow_the_recent_window() -> None:
    history = [10] * 300 + [1000] * 90
    bounds = volume_bounds(history)
    assert bounds is not None and not _inside(10, bounds) and _inside(1000, bounds)
    assert _inside(10, volume_bounds(history, window=0))  # the whole history


def _volatile_nights(rng: np.random.Generator, rate: float, nights: int = 400) -> list[int]:
    """Seasonal and weekday swings, over-dispersed counts, and missed nights carried to the next."""
    day = np.arange(nights)
    mean = rate * (1 + 0.5 * np.sin(day * 2 * np.pi / 365)) * np.where(day % 7 >= 5, 0.5, 1.1)
    counts = rng.negative_binomial(5, 5 / (5 + mean))
    out: list[int] = []
    carried = 0
    for c in counts:
        if rng.random() < 0.01:
            carried += int(c)
            continue
        out.append(int(c) + carried)
        carried = 0
    return out


@pytest.mark.parametrize("rate", [0.3, 2, 12, 150, 2000])
def test_volume_bounds_do_not_fire_on_ordinary_variation(rate: float) -> None:
    rng = np.random.default_rng(int(rate * 10))
    nights = _volatile_nights(rng, rate)
    alarms = [
        (i, n, b)
        for i, n in enumerate(nights)
        if (b := volume_bounds(nights[:i])) is not None and not _inside(n, b)
    ]
    assert alarms == []


@pytest.mark.slow
def test_volume_bounds_do_not_fire_on_the_synthetic_state(generated_state: Path) -> None:
    """Night by night over a generated state's DELTA drops (counts from the control files)."""
    history: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for ctl in (generated_state / "landing").glob("*/*/*.ctl"):
        fields = dict(line.split("=", 1) for line in ctl.read_text().splitlines() if "=" in line)
        if fields["extract_type"] == "DELTA":
            file_type = re.sub(r"_\d{8}\..*$", "", ctl.name).lower()
            history[file_type].append((fields["extract_date"], int(fields["records"])))
    assert len(history) == 10
    for file_type, nights in history.items():
        counts = [n for _, n in sorted(nights)]
        alarms = [
            (i, n, b)
            for i, n in enumerate(counts)
            if (b := volume_bounds(counts[:i])) is not None and not _inside(n, b)
        ]
        assert alarms == [], file_type


# --------------------------------------------------------------------------- a big run, a part at a time


def test_parts_of_whole_files_report_like_one_frame() -> None:
    """A catch-up is validated a few files at a time: the merged report equals one validation."""
    from quality_checks import validate_parts

    df = _frame("wp_services", 60)
    df["_file"] = ["wp_services_20250628.csv"] * 20 + ["wp_services_20250629.csv"] * 25 + [FILE_NAME] * 15
    df.loc[4, "service_date"] = pd.NaT  # first part
    df.loc[30, "service_code"] = None  # second part
    df.loc[50, "service_date"] = pd.NaT  # third part
    df.loc[52, ["service_id", "last_updated"]] = df.loc[51, ["service_id", "last_updated"]].to_numpy()
    df.loc[25, ["service_id", "last_updated"]] = df.loc[3, ["service_id", "last_updated"]].to_numpy()
    whole = _validate(df, "wp_services", max_keys=None)
    parts = [df.iloc[:20], df.iloc[20:45], df.iloc[45:]]
    merged = validate_parts(parts, _layout("wp_services"), as_of=AS_OF, max_keys=None)
    assert not whole.success and merged == whole
    assert merged.failing_positions() == (4, 30, 50, 51, 52)
    capped = validate_parts(parts, _layout("wp_services"), as_of=AS_OF, max_keys=1)
    assert capped.result("service_date not null").failing_keys == [_key(df, 4, "service_id")]
    assert capped.result("service_date not null").unexpected_count == 2
    with pytest.raises(ValueError, match="volume"):
        validate_parts(parts, _layout("wp_services"), as_of=AS_OF, volume=(10, 100))


def test_microsecond_dates_validate_like_nanosecond_ones() -> None:
    """DuckDB hands out datetime64[us]; the check converts them (GX is vectorised only for ns)."""
    df = _frame("wp_services", 30)
    df.loc[3, "service_date"] = pd.Timestamp("1985-01-01")  # before the plausible range
    ns = _validate(df, "wp_services", max_keys=None)
    us = df.copy()
    for c in us.columns:
        if pd.api.types.is_datetime64_dtype(us[c].dtype):
            us[c] = us[c].astype("datetime64[us]")
    us.loc[7, "service_date"] = np.datetime64("2999-05-01", "us")  # beyond nanoseconds' range
    report = _validate(us, "wp_services", max_keys=None)
    name = "service_date between 1990-01-01 and " + (AS_OF + timedelta(days=400)).isoformat()
    assert report.result(name).failing_positions == (3, 7)
    assert [r.expectation for r in ns.failed] == [r.expectation for r in report.failed]
    assert us["service_date"].dtype == "datetime64[us]"  # the caller's frame is untouched
