"""Landing-zone discovery and completeness verification (sources.landing) on copies of the samples."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from landing_helpers import copy_samples, write_data

from sources.landing import (
    INVENTORY_SCHEMA,
    Drop,
    ExtractType,
    LandingZoneError,
    Status,
    complete_drops,
    discover_drops,
    inventory_table,
    verify_drop,
)

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
