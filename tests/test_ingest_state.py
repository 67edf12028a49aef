"""Ingest of a whole generated state: every delivered row is accounted for, the staged state
equals the generator's truth, reruns are no-ops, and what is pending comes from the warehouse."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from sources.layout import load_layouts
from tests.landing_helpers import copy_layouts, write_control_file
from tests.test_landing import TANF_CASES, TANF_LAYOUT
from warehouse.ingest import connect, ingest
from warehouse.persons import build_person_records

KEYS = {"wp_registrations": "individual_id", "wp_services": "service_id", "ui_claims": "claim_id",
        "t1_participation": "participation_id", "t1_outcomes": "outcome_id", "vr_cases": "case_id",
        "vr_outcomes": "outcome_id", "ae_students": "student_id", "ae_outcomes": "outcome_id",
        "ae_assessments": "assessment_id"}  # fmt: skip


@pytest.fixture(scope="module")
def loaded(generated_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("wh")
    ingest(generated_state / "landing", wh)
    return wh


@pytest.fixture()
def con(loaded: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(str(loaded / "restricted.duckdb"), read_only=True)
    yield c
    c.close()


def test_every_delivered_row_is_loaded_or_quarantined(
    con: duckdb.DuckDBPyConnection, generated_state: Path
) -> None:
    landing = generated_state / "landing"
    delivered = {
        str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file() and p.suffix != ".ctl"
    }
    audit = con.execute(
        "SELECT file_name, status, rows_in_file, rows_loaded, rows_quarantined, reason FROM load_audit"
    ).df()
    assert set(audit["file_name"]) == delivered
    assert (audit["status"] == "LOADED").all()
    assert (audit["rows_in_file"] == audit["rows_loaded"] + audit["rows_quarantined"]).all()
    assert audit["reason"].isna().all(), "control counts and rows read agree for every file"


def test_quarantine_holds_exactly_the_corrupted_rows(
    con: duckdb.DuckDBPyConnection, generated_state: Path
) -> None:
    with (generated_state / "truth" / "injected_faults.csv").open() as fh:
        injected = {(r["file_path"], int(r["line_number"])): r["kind"] for r in csv.DictReader(fh)}
    got = {
        (f, int(n)): k
        for f, n, k in con.execute("SELECT file_name, line_number, kind FROM quarantine").fetchall()
    }
    assert got == injected
    assert con.execute(
        "SELECT count(*) FROM quarantine WHERE raw_record IS NULL OR reason = ''"
    ).fetchone() == (0,)


@pytest.mark.parametrize("file_type", sorted(KEYS))
def test_staged_state_equals_the_truth(
    con: duckdb.DuckDBPyConnection, generated_state: Path, file_type: str
) -> None:
    truth = pd.read_parquet(generated_state / "truth" / "records" / f"{file_type}.parquet")
    key = KEYS[file_type]
    if "status" in truth:
        truth = truth[~truth["status"].isin(["D", "Deleted"]) & ~truth["removed_at_source"]]
    staged = {r[0] for r in con.execute(f'SELECT "{key}" FROM stg_{file_type}').fetchall()}
    assert staged == set(truth[key].astype(str))


def test_newest_versions_win(con: duckdb.DuckDBPyConnection, generated_state: Path) -> None:
    truth = pd.read_parquet(generated_state / "truth" / "records" / "vr_cases.parquet")
    staged = con.execute(
        "SELECT case_id, closure_date, service_start_date, eligibility_date FROM stg_vr_cases"
    ).df()
    m = truth.merge(staged, on="case_id")
    for t_col, s_col in (
        ("closure", "closure_date"),
        ("service_start", "service_start_date"),
        ("eligibility", "eligibility_date"),
    ):
        assert (
            pd.to_datetime(m[t_col]).fillna(pd.Timestamp(0))
            == pd.to_datetime(m[s_col]).fillna(pd.Timestamp(0))
        ).all()


def test_wage_quarters_match_what_was_written(con: duckdb.DuckDBPyConnection, generated_state: Path) -> None:
    written = pd.read_parquet(generated_state / "truth" / "wages.parquet")
    staged = con.execute("SELECT ssn, employer_fein, year, quarter, wages FROM stg_ui_wages").df()
    total_truth = written.groupby(["year", "quarter"])["wage_cents"].sum()
    # the truth holds customers' rows only; every one of them is in the staged wages
    m = written.merge(
        staged.assign(cents=(staged["wages"].astype(float) * 100).round().astype("int64")),
        left_on=["reported_ssn", "employer_fein", "year", "quarter", "wage_cents"],
        right_on=["ssn", "employer_fein", "year", "quarter", "cents"],
        how="left",
        indicator=True,
    )
    assert (m["_merge"] == "both").all()
    assert len(total_truth) == staged.groupby(["year", "quarter"]).ngroups


def test_rerun_loads_nothing(loaded: Path, generated_state: Path) -> None:
    report = ingest(generated_state / "landing", loaded)
    assert report.files == [] and report.drops == 0


def test_a_second_warehouse_loads_exactly_what_it_lacks(
    loaded: Path, generated_state: Path, tmp_path: Path
) -> None:
    landing = generated_state / "landing"
    first = ingest(landing, tmp_path / "wh", systems=["wp", "title1"], up_to="20240101")
    assert first.files and all(f.file_name.split("/")[1] <= "20240101" for f in first.files)
    rest = ingest(landing, tmp_path / "wh")
    names = {f.file_name for f in first.files} | {f.file_name for f in rest.files}
    assert not {f.file_name for f in first.files} & {f.file_name for f in rest.files}
    one_go = connect(loaded)
    in_steps = connect(tmp_path / "wh")
    assert len(names) == one_go.execute("SELECT count(*) FROM load_audit").fetchone()[0]  # type: ignore[index]
    for table in ("stg_wp_services", "stg_t1_participation", "stg_ui_claims", "stg_wp_registrations"):
        a = one_go.execute(f"SELECT * EXCLUDE (_load_id) FROM {table} ORDER BY ALL").df()
        b = in_steps.execute(f"SELECT * EXCLUDE (_load_id) FROM {table} ORDER BY ALL").df()
        pd.testing.assert_frame_equal(a, b)  # the same rows, from the same deliveries


def test_person_records_cover_every_person_bearing_record(loaded: Path, generated_state: Path) -> None:
    c = connect(loaded)
    counts = build_person_records(c)
    truth = pd.read_parquet(generated_state / "truth" / "person_records.parquet")
    active = truth[~truth["status"].isin(["D", "Deleted"]) & ~truth["removed_at_source"]]
    assert counts == active.groupby("source_system").size().to_dict()
    rec = c.execute("SELECT source_system, source_record_id, ssn FROM person_records").df()
    m = rec.merge(truth, on=["source_system", "source_record_id"])
    valid = m["ssn"].notna()
    assert (m.loc[valid, "ssn"] == m.loc[valid, "reported_ssn"]).all()
    assert c.execute(
        "SELECT count(*) FROM person_records WHERE source_system = 'vr' AND last_name IS NULL"
    ).fetchone() == (0,), "VR's one-field names are split"


def test_a_sixth_system_loads_with_a_layout_file_and_no_code(tmp_path: Path) -> None:
    layouts = load_layouts(copy_layouts(tmp_path / "layouts", {"tanf.yaml": TANF_LAYOUT}))
    cases = tmp_path / "landing" / "tanf" / "20240301" / "tanf_cases_20240301.csv"
    cases.parent.mkdir(parents=True)
    cases.write_text(TANF_CASES, encoding="utf-8")
    write_control_file(cases, records=3, extract_date="2024-03-01")
    report = ingest(tmp_path / "landing", tmp_path / "wh", layouts=layouts)
    assert report.by_status() == {"LOADED": 1}
    c = connect(tmp_path / "wh")
    assert report.totals()["rows_loaded"] == 3
    assert c.execute("SELECT count(*) FROM cur_tanf_cases").fetchone() == (3,)
    assert c.execute("SELECT case_id FROM stg_tanf_cases ORDER BY 1").fetchall() == [
        ("T0001",),
        ("T0002",),
    ]  # T0003 voided
    assert build_person_records(c, layouts)["tanf"] == 2
