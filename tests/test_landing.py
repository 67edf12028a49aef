"""Landing-zone discovery and completeness verification (sources.landing) on copies of the samples."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from landing_helpers import copy_layouts, copy_samples, write_control_file, write_data

from sources.landing import (
    INVENTORY_SCHEMA,
    Drop,
    ExtractType,
    LandingZoneError,
    Status,
    complete_drops,
    discover_drops,
    inventory_table,
    read_fixed_width_summary,
    spec_for,
    systems,
    verify_drop,
)
from sources.layout import LayoutError, load_layouts

EXPECTED_DROPS = {
    "ui/20240301": 1,
    "ui_wages/2024Q1": 1,
    "wp/20240301": 2,
    "title1/20240301": 2,
    "vr/20240301": 2,
    "adult_ed/20240301": 4,
}


@pytest.fixture
def landing(samples_dir: Path, tmp_path: Path) -> Path:
    return copy_samples(samples_dir, tmp_path / "landing")


def _drops(landing: Path) -> dict[str, Drop]:
    return {d.key: d for d in discover_drops(landing)}


def _file(drop: Drop, name: str):
    return next(f for f in drop.files if f.name == name)


# ------------------------------------------------------------------------------------ happy path


def test_samples_all_verified(landing: Path) -> None:
    drops = _drops(landing)
    assert {k: len(d.files) for k, d in drops.items()} == EXPECTED_DROPS
    for drop in drops.values():
        assert drop.status is Status.VERIFIED, drop.reason
        assert all(f.status is Status.VERIFIED and f.reason is None for f in drop.files)
        assert all(f.sha256 is not None and len(f.sha256) == 64 for f in drop.files)

    ui = _file(drops["ui/20240301"], "UICLM.20240301.DAT")
    assert (ui.records, ui.extract_type, ui.extract_date) == (3, ExtractType.DELTA, date(2024, 3, 1))
    wages = _file(drops["ui_wages/2024Q1"], "UIWAGE.2024Q1.DAT")
    assert (wages.records, wages.extract_type) == (3, ExtractType.QUARTER)
    # The sample ae_outcomes ends with a blank line: it is not a record.
    outcomes = _file(drops["adult_ed/20240301"], "ae_outcomes_20240301.tsv")
    assert outcomes.records == 1
    assert _file(drops["wp/20240301"], "wp_services_20240301.csv").records == 3


def test_the_shared_samples_verify_in_place(samples_dir: Path) -> None:
    assert all(d.status is Status.VERIFIED for d in discover_drops(samples_dir))


def test_inventory_table_has_the_published_columns(landing: Path) -> None:
    table = inventory_table(discover_drops(landing))
    assert table.schema == INVENTORY_SCHEMA
    assert table.column_names == [
        "system", "drop", "file", "extract_type", "extract_date", "records", "sha256", "status", "reason",
    ]  # fmt: skip
    assert table.num_rows == sum(EXPECTED_DROPS.values())
    assert set(table.column("status").to_pylist()) == {"VERIFIED"}


def test_unbalanced_quote_is_a_malformed_row_not_a_cut_off_file(landing: Path) -> None:
    # One row a line: a quote that never closes must not swallow the rows after it (the row is
    # set aside at ingest; the file is complete).
    path = landing / "wp" / "20240301" / "wp_services_20240301.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    broken = lines[1].replace(b",Sioux City,", b',"Sioux City,')
    quoted = lines[2].replace(b",Burlington,", b',"Burlington, IA",')
    assert broken != lines[1] and quoted != lines[2]
    write_data(path, b"".join([lines[0], broken, quoted, *lines[3:]]))
    drop = _drops(landing)["wp/20240301"]
    assert drop.status is Status.VERIFIED, drop.reason
    assert _file(drop, path.name).records == 3


# ------------------------------------------------------------------------------------ failures


def test_digest_mismatch(landing: Path) -> None:
    path = landing / "wp" / "20240301" / "wp_services_20240301.csv"
    path.write_bytes(path.read_bytes().replace(b"Sioux City", b"Sioux Falls"))
    drop = _drops(landing)["wp/20240301"]
    assert drop.status is Status.REJECTED
    bad = _file(drop, path.name)
    assert bad.status is Status.REJECTED
    assert "wp/20240301/wp_services_20240301.csv" in bad.reason
    assert "sha256 mismatch" in bad.reason
    # Nothing of a rejected drop is loaded: the intact sibling is held back, saying why.
    sibling = _file(drop, "wp_registrations_20240301.csv")
    assert sibling.status is Status.REJECTED
    assert "held back" in sibling.reason and path.name in sibling.reason
    # Other drops are unaffected.
    assert _drops(landing)["vr/20240301"].status is Status.VERIFIED


def test_records_mismatch(landing: Path) -> None:
    path = landing / "title1" / "20240301" / "t1_outcomes_20240301.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    write_data(path, b"".join(lines[:-1]))  # a row lost, digest re-computed: only the count is wrong
    bad = _file(_drops(landing)["title1/20240301"], path.name)
    assert bad.status is Status.REJECTED
    assert "title1/20240301/t1_outcomes_20240301.csv" in bad.reason
    assert "records=3" in bad.reason and "2 data rows" in bad.reason
    assert "sha256" not in bad.reason


def test_ui_trailer_count(landing: Path) -> None:
    path = landing / "ui" / "20240301" / "UICLM.20240301.DAT"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([lines[0], *lines[2:]]))  # one detail record dropped, trailer still says 3
    drop = _drops(landing)["ui/20240301"]
    assert drop.status is Status.REJECTED
    bad = _file(drop, path.name)
    assert "ui/20240301/UICLM.20240301.DAT" in bad.reason
    assert "trailer says 3 detail records, the file has 2" in bad.reason


def test_ui_cut_off_before_trailer(landing: Path) -> None:
    path = landing / "ui" / "20240301" / "UICLM.20240301.DAT"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))
    bad = _file(_drops(landing)["ui/20240301"], path.name)
    assert bad.status is Status.REJECTED
    assert "no trailer record" in bad.reason and path.name in bad.reason


def test_wage_control_total(landing: Path) -> None:
    path = landing / "ui_wages" / "2024Q1" / "UIWAGE.2024Q1.DAT"
    lines = path.read_bytes().splitlines(keepends=True)
    record = lines[1]
    assert record[73:84] == b"00001210010"
    lines[1] = record[:73] + b"00001210011" + record[84:]  # one cent more than the trailer's total
    path.write_bytes(b"".join(lines))
    bad = _file(_drops(landing)["ui_wages/2024Q1"], path.name)
    assert bad.status is Status.REJECTED
    assert "ui_wages/2024Q1/UIWAGE.2024Q1.DAT" in bad.reason
    assert "control total 32628.78 does not match the sum of wages 32628.79" in bad.reason


def test_missing_control_file(landing: Path) -> None:
    (landing / "vr" / "20240301" / "VR_CASES_20240301.TXT.ctl").unlink()
    drop = _drops(landing)["vr/20240301"]
    assert drop.status is Status.REJECTED
    bad = _file(drop, "VR_CASES_20240301.TXT")
    assert "vr/20240301/VR_CASES_20240301.TXT" in bad.reason
    assert "no control file VR_CASES_20240301.TXT.ctl" in bad.reason


def test_control_file_without_data_file(landing: Path) -> None:
    (landing / "vr" / "20240301" / "VR_OUTCOMES_20240301.TXT").unlink()
    drop = _drops(landing)["vr/20240301"]
    bad = _file(drop, "VR_OUTCOMES_20240301.TXT.ctl")
    assert bad.status is Status.REJECTED
    assert "without its data file VR_OUTCOMES_20240301.TXT" in bad.reason


def test_control_extract_date_must_be_the_drops(landing: Path) -> None:
    ctl = landing / "adult_ed" / "20240301" / "ae_students_20240301.tsv.ctl"
    ctl.write_text(ctl.read_text().replace("extract_date=2024-03-01", "extract_date=2024-02-29"))
    bad = _file(_drops(landing)["adult_ed/20240301"], "ae_students_20240301.tsv")
    assert bad.status is Status.REJECTED
    assert "extract_date=2024-02-29" in bad.reason and "2024-03-01" in bad.reason


def test_unknown_file_name(landing: Path) -> None:
    stray = landing / "wp" / "20240301" / "wp_services_20240301.csv.part"
    stray.write_bytes(b"half a file")
    drop = _drops(landing)["wp/20240301"]
    assert drop.status is Status.REJECTED
    bad = _file(drop, stray.name)
    assert "wp/20240301/wp_services_20240301.csv.part" in bad.reason
    assert "unexpected file name" in bad.reason


def test_file_name_with_the_wrong_date(landing: Path) -> None:
    path = landing / "title1" / "20240301" / "t1_outcomes_20240301.csv"
    path.rename(path.with_name("t1_outcomes_20240302.csv"))
    drop = _drops(landing)["title1/20240301"]
    assert drop.status is Status.REJECTED
    assert "t1_outcomes_20240302.csv" in drop.reason


def test_unknown_system_and_bad_drop_directory(landing: Path) -> None:
    (landing / "snap").mkdir()
    (landing / "wp" / "2024-03-02").mkdir()
    drops = _drops(landing)
    assert drops["snap"].status is Status.REJECTED and "snap" in drops["snap"].reason
    bad_dir = drops["wp/2024-03-02"]
    assert bad_dir.status is Status.REJECTED and "wp/2024-03-02" in bad_dir.reason


def test_symlink_outside_the_landing_root(landing: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.tsv"
    students = landing / "adult_ed" / "20240301" / "ae_students_20240301.tsv"
    outside.write_bytes(students.read_bytes())
    students.unlink()
    students.symlink_to(outside)
    drop = _drops(landing)["adult_ed/20240301"]
    assert drop.status is Status.REJECTED
    bad = _file(drop, students.name)
    assert "adult_ed/20240301/ae_students_20240301.tsv" in bad.reason
    assert "symlink points outside the landing zone" in bad.reason


def test_symlink_inside_the_landing_root_is_followed(landing: Path) -> None:
    drop_dir = landing / "adult_ed" / "20240301"
    students = drop_dir / "ae_students_20240301.tsv"
    keep = landing / "adult_ed" / "ae_students_copy"
    keep.write_bytes(students.read_bytes())
    students.unlink()
    students.symlink_to(keep)
    drops = _drops(landing)
    assert drops["adult_ed/20240301"].status is Status.VERIFIED
    # ...but the stray file in the system directory is itself reported.
    assert drops["adult_ed/ae_students_copy"].status is Status.REJECTED


def test_symlinked_drop_directory_outside(landing: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (landing / "vr" / "20240301").rename(elsewhere)
    (landing / "vr" / "20240301").symlink_to(elsewhere, target_is_directory=True)
    drop = _drops(landing)["vr/20240301"]
    assert drop.status is Status.REJECTED
    assert "vr/20240301" in drop.reason and "outside the landing zone" in drop.reason


def test_dotdot_path_is_refused(landing: Path, tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    drop = verify_drop(landing, "wp/../../secrets")
    assert drop.status is Status.REJECTED
    assert "wp/../../secrets" in drop.reason and "leaves the landing zone" in drop.reason
    absolute = verify_drop(landing, str(tmp_path / "secrets"))
    assert absolute.status is Status.REJECTED and "leaves the landing zone" in absolute.reason
    assert verify_drop(landing, "wp/20240301").status is Status.VERIFIED


# ------------------------------------------------------------------- names and paths (issue 6)


def test_a_symlink_out_of_the_zone_is_recorded_and_valid_drops_still_load(
    landing: Path, tmp_path: Path
) -> None:
    from warehouse.ingest import audit_frame, connect, ingest

    outside = tmp_path / "secret.tsv"  # e.g. a file of another system the pipeline may read
    students = landing / "adult_ed" / "20240301" / "ae_students_20240301.tsv"
    outside.write_bytes(students.read_bytes())
    students.unlink()
    students.symlink_to(outside)
    report = ingest(landing, tmp_path / "wh")
    con = connect(tmp_path / "wh", read_only=True)
    try:
        audit = audit_frame(con)
        loaded_ae = con.execute("SELECT count(*) FROM hist_ae_students").fetchall()[0][0]
    finally:
        con.close()
    row = audit[audit["file_name"] == "adult_ed/20240301/ae_students_20240301.tsv"].iloc[0]
    assert row["status"] == "REJECTED"
    assert "adult_ed/20240301/ae_students_20240301.tsv" in row["reason"]
    assert "outside the landing zone" in row["reason"] and str(outside) in row["reason"]
    assert loaded_ae == 0  # nothing of the drop was read
    # the other five systems' drops (1 + 1 + 2 + 2 + 2 files) loaded as before
    loaded = audit[audit["status"] == "LOADED"]
    assert set(loaded["source_system"]) == {"ui", "ui_wages", "wp", "title1", "vr"}
    assert len(loaded) == 8 and report.by_status()["LOADED"] == 8


def test_a_symlink_chain_leading_out_is_rejected(landing: Path, tmp_path: Path) -> None:
    # drop file -> a link inside the zone -> a file outside: the final target is what counts
    outside = tmp_path / "elsewhere.tsv"
    students = landing / "adult_ed" / "20240301" / "ae_students_20240301.tsv"
    outside.write_bytes(students.read_bytes())
    hop = landing / "adult_ed" / "hop"
    hop.symlink_to(outside)
    students.unlink()
    students.symlink_to(hop)
    drops = _drops(landing)
    bad = _file(drops["adult_ed/20240301"], students.name)
    assert bad.status is Status.REJECTED and "outside the landing zone" in bad.reason


def test_a_symlinked_system_directory_outside_is_rejected(landing: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "wp_elsewhere"
    (landing / "wp").rename(elsewhere)
    (landing / "wp").symlink_to(elsewhere, target_is_directory=True)
    drops = _drops(landing)
    assert not any(k.startswith("wp/") for k in drops)  # nothing under it is read
    assert drops["wp"].status is Status.REJECTED
    reason = drops["wp"].reason or ""
    assert "wp" in reason and "outside the landing zone" in reason


def test_a_symlink_loop_is_rejected_not_fatal(landing: Path) -> None:
    loop = landing / "vr" / "20240301" / "VR_CASES_20240301.TXT"
    loop.unlink()
    loop.symlink_to(loop.with_name("VR_LOOP"))
    loop.with_name("VR_LOOP").symlink_to(loop)
    drop = _drops(landing)["vr/20240301"]
    assert drop.status is Status.REJECTED
    assert "loop" in _file(drop, loop.name).reason


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("wp/../../secrets", "leaves the landing zone"),
        ("wp\\..\\..\\secrets", "leaves the landing zone"),  # Windows separators are separators
        ("wp/20240301\x00", "NUL"),
        ("wp/.20240301", "hidden name"),
        ("wp/20240301\nREJECTED forged", "control characters"),
    ],
)
def test_traversal_and_odd_names_are_refused(landing: Path, relative: str, expected: str) -> None:
    drop = verify_drop(landing, relative)
    assert drop.status is Status.REJECTED
    reason = drop.reason or ""
    assert expected in reason
    assert "\n" not in reason  # a name cannot forge a line in a log or the inventory


def test_a_hidden_file_rejects_its_drop(landing: Path) -> None:
    (landing / "wp" / "20240301" / ".wp_services_20240301.csv.part").write_bytes(b"partial")
    drop = _drops(landing)["wp/20240301"]
    assert drop.status is Status.REJECTED
    reason = drop.reason or ""
    assert "wp/20240301/.wp_services_20240301.csv.part" in reason and "hidden name" in reason
    # the sensor sees a drop still arriving, not a complete one
    assert "wp/20240301" not in {a.key for a in complete_drops(landing)}


def test_a_file_name_with_a_newline_is_quoted_in_the_reason(landing: Path) -> None:
    (landing / "title1" / "20240301" / "t1_outcomes_20240301.csv\nVERIFIED").write_bytes(b"x")
    drop = _drops(landing)["title1/20240301"]
    assert drop.status is Status.REJECTED
    reason = drop.reason or ""
    assert "control characters" in reason and "\n" not in reason
    assert all("\n" not in (f.reason or "") for f in drop.files)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("20240301\n", "control characters"),  # `$` alone would accept the trailing newline
        ("\u0662\u0660\u0662\u0664\u0660\u0663\u0660\u0661", "is not named <YYYYMMDD>"),  # `\\d` takes these
    ],
)
def test_a_drop_directory_must_be_named_in_plain_ascii_digits(
    landing: Path, name: str, expected: str
) -> None:
    (landing / "vr" / name).mkdir()
    rejected = [d for d in discover_drops(landing) if d.system == "vr" and d.name == name]
    assert len(rejected) == 1 and rejected[0].status is Status.REJECTED
    assert expected in (rejected[0].reason or "") and "\n" not in (rejected[0].reason or "")


def test_missing_landing_root(tmp_path: Path) -> None:
    with pytest.raises(LandingZoneError, match="landing zone not found"):
        discover_drops(tmp_path / "nope")


# ------------------------------------------------------------------------------------ arrival


def test_complete_drops_fingerprint_matches_the_verified_digest(landing: Path) -> None:
    arrivals = {a.key: a for a in complete_drops(landing)}
    assert set(arrivals) == set(EXPECTED_DROPS)
    for drop in discover_drops(landing):
        assert arrivals[drop.key].fingerprint == drop.digest
        assert arrivals[drop.key].run_key == f"{drop.key}/{drop.digest[:16]}"
    # Stable across scans: the same drop keeps its run key.
    assert [a.run_key for a in complete_drops(landing)] == [a.run_key for a in arrivals.values()]


def test_incomplete_drops_are_not_arrivals(landing: Path) -> None:
    (landing / "wp" / "20240301" / "wp_services_20240301.csv.ctl").unlink()  # control file not yet here
    ui = landing / "ui" / "20240301" / "UICLM.20240301.DAT"
    ui.write_bytes(b"".join(ui.read_bytes().splitlines(keepends=True)[:-1]))  # trailer not yet written
    keys = {a.key for a in complete_drops(landing)}
    assert "wp/20240301" not in keys and "ui/20240301" not in keys
    assert "vr/20240301" in keys


def test_redelivery_changes_the_run_key(landing: Path) -> None:
    before = {a.key: a.run_key for a in complete_drops(landing)}
    wages = landing / "ui_wages" / "2024Q1" / "UIWAGE.2024Q1.DAT"
    stamp = wages.stat().st_mtime_ns
    wages.write_bytes(wages.read_bytes().replace(b"SADOWSKI", b"SADOWSKY"))  # amended, same totals
    os.utime(wages, ns=(stamp + 10**9, stamp + 10**9))  # a later delivery (coarse clocks: be explicit)
    after = {a.key: a.run_key for a in complete_drops(landing)}
    assert after["ui_wages/2024Q1"] != before["ui_wages/2024Q1"]
    assert after["wp/20240301"] == before["wp/20240301"]


# ------------------------------------------------------------------------- header/trailer by role


def _rewrite_line(path: Path, index: int, edit) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    lines[index] = edit(lines[index])
    path.write_bytes(b"".join(lines))


def test_header_extract_date_must_be_the_drops(landing: Path) -> None:
    path = landing / "ui" / "20240301" / "UICLM.20240301.DAT"
    _rewrite_line(path, 0, lambda line: line.replace(b"H20240301", b"H20240229", 1))
    bad = _file(_drops(landing)["ui/20240301"], path.name)
    assert bad.status is Status.REJECTED
    assert "header extract date 2024-02-29 is not the drop's date 2024-03-01" in bad.reason


def test_header_extract_type_code(landing: Path) -> None:
    path = landing / "ui" / "20240301" / "UICLM.20240301.DAT"
    _rewrite_line(path, 0, lambda line: line[:14] + b"F" + line[15:])
    full = _file(_drops(landing)["ui/20240301"], path.name)
    assert full.status is Status.VERIFIED and full.extract_type is ExtractType.FULL
    _rewrite_line(path, 0, lambda line: line[:14] + b"X" + line[15:])
    bad = _file(_drops(landing)["ui/20240301"], path.name)
    assert bad.status is Status.REJECTED
    assert "header extract_type (positions 15-15) 'X' is not 'D' or 'F'" in bad.reason


def test_header_const_field(landing: Path) -> None:
    path = landing / "ui" / "20240301" / "UICLM.20240301.DAT"
    _rewrite_line(path, 0, lambda line: line.replace(b"UICLM", b"UICLX", 1))
    bad = _file(_drops(landing)["ui/20240301"], path.name)
    assert "header file_tag (positions 10-14) is 'UICLX', expected 'UICLM'" in bad.reason


def test_wage_header_period_must_be_the_drops(landing: Path) -> None:
    path = landing / "ui_wages" / "2024Q1" / "UIWAGE.2024Q1.DAT"
    _rewrite_line(path, 0, lambda line: line.replace(b"H20241", b"H20242", 1))
    bad = _file(_drops(landing)["ui_wages/2024Q1"], path.name)
    assert bad.status is Status.REJECTED
    assert "header period (positions 2-6) '20242' is not the drop's period '20241'" in bad.reason


def test_wrong_length_detail_record_is_a_row_problem_not_a_file_problem(landing: Path) -> None:
    # A short record is set aside at ingest with its line; the file is complete (the count holds).
    path = landing / "ui" / "20240301" / "UICLM.20240301.DAT"
    _rewrite_line(path, 2, lambda line: line[:180] + b"\n")
    drop = _drops(landing)["ui/20240301"]
    assert drop.status is Status.VERIFIED, drop.reason
    summary = read_fixed_width_summary(path, spec_for("ui", "20240301", path.name))
    assert (summary.detail_records, summary.wrong_length_lines, summary.wrong_length_count) == (3, (3,), 1)
    assert (summary.header_line, summary.trailer_line) == (1, 5)


def test_short_wage_record_names_its_line_when_the_total_fails(landing: Path) -> None:
    path = landing / "ui_wages" / "2024Q1" / "UIWAGE.2024Q1.DAT"
    _rewrite_line(path, 2, lambda line: line[:79] + b"\n")  # the wage field cut off
    bad = _file(_drops(landing)["ui_wages/2024Q1"], path.name)
    assert bad.status is Status.REJECTED
    assert "control total 32628.78 does not match the sum of wages 19096.00" in bad.reason
    assert "1 record with an unreadable wages (line 3)" in bad.reason
    assert "1 record not 84 characters long (line 3)" in bad.reason


def test_crlf_and_blank_lines_in_a_fixed_width_file(landing: Path) -> None:
    path = landing / "ui" / "20240301" / "UICLM.20240301.DAT"
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\r\n".join([lines[0], b"", *lines[1:], b"   ", b""]))
    drop = _drops(landing)["ui/20240301"]
    assert drop.status is Status.VERIFIED, drop.reason
    assert _file(drop, path.name).records == 3


# ------------------------------------------------------------------------------ a sixth system

# Made up for the test: a daily CSV system with control files...
TANF_LAYOUT = """\
system: tanf
period: daily
description: Temporary Assistance for Needy Families cases (made up for the test) - CSV, UTF-8.
files:
  tanf_cases:
    pattern: "tanf_cases_{period}.csv"
    format: delimited
    delimiter: ","
    quoting: rfc4180
    encoding: utf-8
    header_row: true
    control_file: true
    key: [case_id]
    last_updated: updated_at
    status: status
    deleted_values: [D]
    person: true
    fields:
      - {name: case_id, source: CaseID, type: key}
      - {name: ssn, source: SSN, type: ssn}
      - {name: grant_start, source: GrantStart, type: date, required: true, format: "%Y-%m-%d"}
      - {name: monthly_grant, source: MonthlyGrant, type: decimal}
      - {name: status, source: Status, type: code, required: true, codes: {A: A, D: D}}
      - {name: updated_at, source: UpdatedAt, type: timestamp, required: true, format: "%Y-%m-%dT%H:%M:%S"}
"""

TANF_CASES = (
    "CaseID,SSN,GrantStart,MonthlyGrant,Status,UpdatedAt\n"
    "T0001,123-45-6780,2024-01-15,412.00,A,2024-03-01T08:00:00\n"
    '"T0002",,2024-02-01,"388.50",A,2024-03-01T08:05:00\n'
    "T0003,234567891,2023-11-20,0.00,D,2024-03-01T09:12:44\n"
)

# ...and a quarterly fixed-width one whose trailer totals a whole-dollar field in cents.
TANF_PAYMENTS_LAYOUT = """\
system: tanf_payments
period: quarterly
description: TANF payments per case and quarter (made up for the test) - fixed width, 30 characters.
files:
  tanf_payments:
    pattern: "TANFPAY.{period}.DAT"
    format: fixed_width
    encoding: ascii
    record_length: 30
    header_record:
      tag: HDR
      fields:
        - {name: record_type, type: const, start: 1, length: 3, value: HDR}
        - {name: period, type: text, start: 4, length: 6, role: period}
        - {name: extract_type, type: code, start: 10, length: 1, codes: {D: DELTA, F: FULL}, role: extract_type}
    trailer_record:
      tag: TRL
      fields:
        - {name: record_type, type: const, start: 1, length: 3, value: TRL}
        - {name: record_count, type: integer, start: 4, length: 6, role: record_count}
        - {name: total_paid, type: amount, start: 10, length: 10, implied_decimals: 2, role: control_total}
    control_total: amount_paid
    replace_by: period
    key: [case_id]
    fields:
      - {name: record_type, type: const, start: 1, length: 1, value: P}
      - {name: case_id, type: key, start: 2, length: 10}
      - {name: ssn, type: ssn, start: 12, length: 9}
      - {name: months, type: integer, start: 21, length: 1}
      - {name: amount_paid, type: amount, start: 22, length: 9}
"""

TANF_PAYMENTS = b"".join(
    line.ljust(30).encode("ascii") + b"\n"
    for line in (
        "HDR2024Q1F",
        "PT0001     123456780" + "3" + "000001236",
        "PT0002              " + "2" + "000000777",
        "PT0003     234567891" + "1" + "000000000",
        "TRL000003" + "0000201300",  # 1236 + 777 dollars, in cents
    )
)

SIXTH = {"tanf/20240301": 1, "tanf_payments/2024Q1": 1}


@pytest.fixture
def sixth_system(landing: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The contract samples plus a TANF drop and a TANF payments quarter; a layout dir with both."""
    layouts = copy_layouts(
        tmp_path / "layouts", {"tanf.yaml": TANF_LAYOUT, "tanf_payments.yaml": TANF_PAYMENTS_LAYOUT}
    )
    cases = landing / "tanf" / "20240301" / "tanf_cases_20240301.csv"
    cases.parent.mkdir(parents=True)
    cases.write_text(TANF_CASES, encoding="utf-8")
    write_control_file(cases, records=3, extract_date="2024-03-01")
    payments = landing / "tanf_payments" / "2024Q1" / "TANFPAY.2024Q1.DAT"
    payments.parent.mkdir(parents=True)
    payments.write_bytes(TANF_PAYMENTS)
    return landing, layouts


def test_a_sixth_system_is_a_layout_file_not_a_code_change(sixth_system: tuple[Path, Path]) -> None:
    landing, layout_dir = sixth_system
    layouts = load_layouts(layout_dir)
    assert {"tanf", "tanf_payments"} <= set(systems(layouts))

    drops = {d.key: d for d in discover_drops(landing, layouts=layouts)}
    assert {k: len(d.files) for k, d in drops.items()} == {**EXPECTED_DROPS, **SIXTH}
    for drop in drops.values():
        assert drop.status is Status.VERIFIED, drop.reason

    cases = _file(drops["tanf/20240301"], "tanf_cases_20240301.csv")
    assert (cases.file_type, cases.records, cases.extract_type, cases.extract_date) == (
        "tanf_cases", 3, ExtractType.DELTA, date(2024, 3, 1),
    )  # fmt: skip
    payments = _file(drops["tanf_payments/2024Q1"], "TANFPAY.2024Q1.DAT")
    assert (payments.file_type, payments.records, payments.extract_type, payments.extract_date) == (
        "tanf_payments", 3, ExtractType.FULL, None,
    )  # fmt: skip

    assert verify_drop(landing, "tanf/20240301", layouts=layouts).verified
    arrivals = {a.key: a for a in complete_drops(landing, layouts=layouts)}
    assert set(arrivals) == set(drops)
    assert arrivals["tanf/20240301"].fingerprint == drops["tanf/20240301"].digest
    assert arrivals["tanf_payments/2024Q1"].fingerprint == drops["tanf_payments/2024Q1"].digest
    table = inventory_table(list(drops.values()))
    assert table.num_rows == sum(EXPECTED_DROPS.values()) + sum(SIXTH.values())


def test_a_sixth_system_drop_with_a_wrong_digest_is_rejected(sixth_system: tuple[Path, Path]) -> None:
    landing, layout_dir = sixth_system
    cases = landing / "tanf" / "20240301" / "tanf_cases_20240301.csv"
    write_control_file(cases, records=3, extract_date="2024-03-01", sha256="0" * 64)
    drops = {d.key: d for d in discover_drops(landing, layouts=load_layouts(layout_dir))}
    drop = drops["tanf/20240301"]
    assert drop.status is Status.REJECTED
    bad = _file(drop, cases.name)
    assert bad.status is Status.REJECTED
    assert "tanf/20240301/tanf_cases_20240301.csv" in bad.reason and "sha256 mismatch" in bad.reason
    # The other drops are unaffected.
    assert all(d.verified for k, d in drops.items() if k != "tanf/20240301")


@pytest.mark.parametrize(
    ("index", "edit", "expected"),
    [
        (1, lambda s: s.replace(b"1236", b"1237"), "control total 2013.00 does not match the sum of amount_paid 2014.00"),
        (0, lambda s: s.replace(b"2024Q1", b"2024Q2"), "header period (positions 4-9) '2024Q2' is not the drop's period '2024Q1'"),
        (0, lambda s: s.replace(b"Q1F", b"Q1Z"), "header extract_type (positions 10-10) 'Z' is not 'D' or 'F'"),
        (0, lambda s: s.replace(b"HDR", b"HED"), "the file does not begin with a header record (tag 'HDR')"),
        (-1, lambda s: s.replace(b"000003", b"000004"), "trailer says 4 detail records, the file has 3"),
        (-1, lambda s: b"", "no trailer record at the end (the file was cut off)"),
    ],
)  # fmt: skip
def test_a_sixth_system_fixed_width_file_is_checked_by_its_layout(
    sixth_system: tuple[Path, Path], index: int, edit, expected: str
) -> None:
    landing, layout_dir = sixth_system
    path = landing / "tanf_payments" / "2024Q1" / "TANFPAY.2024Q1.DAT"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[index] = edit(lines[index])
    path.write_bytes(b"".join(lines))
    drop = verify_drop(landing, "tanf_payments/2024Q1", layouts=load_layouts(layout_dir))
    assert drop.status is Status.REJECTED
    assert "tanf_payments/2024Q1/TANFPAY.2024Q1.DAT" in drop.reason and expected in drop.reason


def test_a_system_without_a_layout_is_rejected_with_a_clear_reason(sixth_system: tuple[Path, Path]) -> None:
    landing, _layout_dir = sixth_system  # the repository's own layouts know no TANF
    drops = _drops(landing)
    for system in ("tanf", "tanf_payments"):
        assert drops[system].status is Status.REJECTED and not drops[system].files
        assert f"no layout describes a system {system!r}" in drops[system].reason
        assert "systems with a layout: adult_ed, title1, ui, ui_wages, vr, wp" in drops[system].reason
    assert {k for k, d in drops.items() if d.verified} == set(EXPECTED_DROPS)
    refused = verify_drop(landing, "tanf/20240301")
    assert refused.status is Status.REJECTED and "systems with a layout" in refused.reason
    assert {a.key for a in complete_drops(landing)} == set(EXPECTED_DROPS)


def test_a_layout_without_any_completeness_proof_cannot_verify(landing: Path, tmp_path: Path) -> None:
    unproven = TANF_LAYOUT.replace("control_file: true", "control_file: false")
    layouts = load_layouts(copy_layouts(tmp_path / "layouts", {"tanf.yaml": unproven}))
    cases = landing / "tanf" / "20240301" / "tanf_cases_20240301.csv"
    cases.parent.mkdir(parents=True)
    cases.write_text(TANF_CASES, encoding="utf-8")
    drop = verify_drop(landing, "tanf/20240301", layouts=layouts)
    assert drop.status is Status.REJECTED and "completeness cannot be proven" in drop.reason


def test_a_layout_verification_cannot_use_is_refused(landing: Path, tmp_path: Path) -> None:
    monthly = TANF_LAYOUT.replace("period: daily", "period: monthly")
    layout_dir = copy_layouts(tmp_path / "layouts", {"tanf.yaml": monthly})
    with pytest.raises(LayoutError, match="period 'monthly' is not daily or quarterly"):
        discover_drops(landing, layouts=load_layouts(layout_dir))  # the loader refuses it already


# ------------------------------------------------------------------------------ verification memo


def test_memo_skips_unchanged_files_and_reverifies_a_changed_one(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sources.landing as sl

    memo_path = tmp_path / "memo" / "verified.json"
    first = discover_drops(landing, memo=sl.VerificationMemo(memo_path))
    assert first == discover_drops(landing)  # the same verdicts as without a memo
    assert oct(memo_path.stat().st_mode & 0o777) == "0o600"
    verified: list[str] = []
    real = sl._verify_file

    def counting(system, period, path, layout, control):  # type: ignore[no-untyped-def]
        verified.append(path.name)
        return real(system, period, path, layout, control)

    monkeypatch.setattr(sl, "_verify_file", counting)
    assert discover_drops(landing, memo=sl.VerificationMemo(memo_path)) == first
    assert verified == []  # nothing read again
    # changed in place with its modification time put back: verified again, and the change caught
    path = landing / "wp" / "20240301" / "wp_services_20240301.csv"
    st = path.stat()
    path.write_bytes(path.read_bytes().replace(b"Sioux City", b"Sioux Falls"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = discover_drops(landing, memo=sl.VerificationMemo(memo_path))
    assert verified == [path.name]
    bad = _file({d.key: d for d in again}["wp/20240301"], path.name)
    assert bad.status is Status.REJECTED and "sha256 mismatch" in (bad.reason or "")
    # no row data in the memo: digests, counts and reasons only
    assert "Sioux" not in memo_path.read_text()
