"""The source contract, checked independently of the generator.

`contract_reader` is written from `shared/extracts/README.md` only. These tests prove that it
accepts the contract's own samples, that each of its checks can fail, and that the synthetic
generator's landing zone follows the contract to the byte: the only rows it flags are the
rows the generator says it corrupted on purpose (`truth/injected_faults.csv`).
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from conftest import GENERATED_SEED, run_generator
from contract_reader import (
    FILE_TYPES,
    NIGHTLY_SYSTEMS,
    RECORD_KINDS,
    FileResult,
    LandingResult,
    Violation,
    check_landing,
)

ALL_TYPES = {t.name for t in FILE_TYPES}
INJECTED_KINDS = RECORD_KINDS - {"bad_value"}
MIN_DELTA_DROPS = 5  # "many" DELTA drops per nightly system

UI = "ui/20240301/UICLM.20240301.DAT"
WAGES = "ui_wages/2024Q1/UIWAGE.2024Q1.DAT"
WP_REG = "wp/20240301/wp_registrations_20240301.csv"
WP_SVC = "wp/20240301/wp_services_20240301.csv"
T1_PART = "title1/20240301/t1_participation_20240301.csv"
T1_OUT = "title1/20240301/t1_outcomes_20240301.csv"
VR_CASES = "vr/20240301/VR_CASES_20240301.TXT"
VR_OUT = "vr/20240301/VR_OUTCOMES_20240301.TXT"
AE_STU = "adult_ed/20240301/ae_students_20240301.tsv"
AE_ATT = "adult_ed/20240301/ae_attendance_20240301.tsv"
AE_ASM = "adult_ed/20240301/ae_assessments_20240301.tsv"
AE_OUT = "adult_ed/20240301/ae_outcomes_20240301.tsv"


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _landing_copy(samples_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    shutil.copytree(samples_dir, root)
    return root


def _edit(root: Path, rel: str, edit: Callable[[bytes], bytes], *, fix_ctl: bool = True) -> None:
    """Rewrite one file's bytes; keep its `.ctl` digest in step unless told not to."""
    path = root / rel
    new = edit(path.read_bytes())
    assert new != path.read_bytes(), "the corruption did not change the file"
    path.write_bytes(new)
    ctl = path.with_name(path.name + ".ctl")
    if fix_ctl and ctl.exists():
        lines = ctl.read_text(encoding="ascii").splitlines()
        lines = [f"sha256={hashlib.sha256(new).hexdigest()}" if x.startswith("sha256=") else x for x in lines]
        ctl.write_text("\n".join(lines) + "\n", encoding="ascii", newline="\n")


def _edit_line(
    root: Path, rel: str, line: int, edit: Callable[[bytes], bytes], *, fix_ctl: bool = True
) -> None:
    """Edit physical line `line` (1-based; terminator excluded, a CR stays in place)."""

    def apply(data: bytes) -> bytes:
        parts = data.split(b"\n")
        raw = parts[line - 1]
        cr = raw.endswith(b"\r")
        body = raw[:-1] if cr else raw
        parts[line - 1] = edit(body) + (b"\r" if cr else b"")
        return b"\n".join(parts)

    _edit(root, rel, apply, fix_ctl=fix_ctl)


def _replace(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        assert data.count(old) == 1, f"{old!r} must occur exactly once"
        return data.replace(old, new)

    return edit


def _fixed(start: int, value: bytes) -> Callable[[bytes], bytes]:
    """Overwrite a fixed-width field at 1-based position `start`."""

    def edit(data: bytes) -> bytes:
        return data[: start - 1] + value + data[start - 1 + len(value) :]

    return edit


def _one(result: LandingResult) -> Violation:
    assert len(result.violations) == 1, "\n".join(map(str, result.violations)) or "no violation"
    return result.violations[0]


def _assert_only(result: LandingResult, path: str, line: int, fld: str, kind: str) -> Violation:
    v = _one(result)
    assert (v.path, v.line, v.field, v.kind) == (path, line, fld, kind), v
    return v


def _sha256_tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _run_generator(out: Path, *extra: str) -> Path:
    return run_generator(out, *extra)


def _read_injected(truth: Path) -> list[tuple[str, int, str]]:
    path = truth / "injected_faults.csv"
    assert path.is_file(), f"{path} missing"
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        # the generator may add columns after these three (it adds the corrupted row's key)
        assert header is not None and header[:3] == ["file_path", "line_number", "kind"], header
        return [(r[0], int(r[1]), r[2]) for r in reader if r]


def _sample(items: Iterable[Any], n: int = 25) -> str:
    return "\n".join(map(str, sorted(items)[:n]))


# --------------------------------------------------------------------------------------
# the contract's own samples
# --------------------------------------------------------------------------------------


def test_samples_follow_the_contract(samples_dir: Path) -> None:
    result = check_landing(samples_dir, keep_rows=True)
    assert result.violations == []
    by_type = result.by_type()
    assert set(by_type) == ALL_TYPES
    for name, files in by_type.items():
        (f,) = files
        expected = 1 if name == "ae_outcomes" else 3
        assert f.records == f.declared_records == expected == len(f.rows), f
        assert f.count_ok
        assert f.digest_ok is (None if name in ("ui_claims", "ui_wages") else True)
        assert f.extract_type == (None if name == "ui_wages" else "DELTA")
    (wages,) = by_type["ui_wages"]
    assert wages.total_ok is True and wages.total_cents == 3_262_878
    (ae_outcomes,) = by_type["ae_outcomes"]
    assert ae_outcomes.trailing_blank_lines == 1  # the sample's blank last line is not a record


def test_rows_are_read_by_name(samples_dir: Path) -> None:
    result = check_landing(samples_dir, keep_rows=True)
    files = {f.path: f for f in result.files}
    first = files[UI].rows[0]
    assert (first.line, first.values["claim id"], first.values["weekly benefit amount"]) == (
        2,
        "C00000000018",
        "0056400",
    )
    svc = files[WP_SVC].rows[2]
    assert (svc.line, svc.values["Service Code"], svc.values["Service Date"]) == (4, "103", "02/04/2024")
    reg = files[WP_REG].rows[0]
    assert reg.values["Employment Status"] == "Unemployed" and reg.values["Race"] == "White"
    student = files[AE_STU].rows[0]
    assert student.values["StudentID"] == "100041"  # the BOM is not part of the first column


def test_missing_landing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        check_landing(tmp_path / "nowhere")


# --------------------------------------------------------------------------------------
# every check can fail: one corruption each, exactly one problem reported
# --------------------------------------------------------------------------------------


def test_wrong_digest_in_ctl(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, WP_SVC + ".ctl", 2, lambda _: b"sha256=" + b"0" * 64, fix_ctl=False)
    result = check_landing(root)
    _assert_only(result, WP_SVC + ".ctl", 2, "sha256", "file")
    assert next(f for f in result.files if f.path == WP_SVC).digest_ok is False


def test_data_changed_after_ctl_written(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, VR_OUT, 2, _replace(b"|4|", b"|5|"), fix_ctl=False)
    _assert_only(check_landing(root), VR_OUT + ".ctl", 2, "sha256", "file")


def test_wrong_records_in_ctl(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, T1_OUT + ".ctl", 1, lambda _: b"records=4", fix_ctl=False)
    result = check_landing(root)
    v = _assert_only(result, T1_OUT + ".ctl", 1, "records", "file")
    assert "3 data rows" in v.message
    assert next(f for f in result.files if f.path == T1_OUT).count_ok is False


def test_trailing_blank_line_counted_in_records_is_wrong(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, AE_OUT + ".ctl", 1, lambda _: b"records=2", fix_ctl=False)
    _assert_only(check_landing(root), AE_OUT + ".ctl", 1, "records", "file")


@pytest.mark.parametrize(
    ("line", "content", "fld"),
    [
        (3, b"extract_type=INCREMENTAL", "extract_type"),
        (4, b"extract_date=2024-03-02", "extract_date"),
        (4, b"extract_date=20240301", "extract_date"),
        (2, b"digest=abc", "sha256"),
    ],
)
def test_bad_ctl_values(samples_dir: Path, tmp_path: Path, line: int, content: bytes, fld: str) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, T1_PART + ".ctl", line, lambda _: content, fix_ctl=False)
    _assert_only(check_landing(root), T1_PART + ".ctl", line, fld, "file")


def test_ctl_must_have_exactly_four_lines(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit(root, WP_REG + ".ctl", lambda d: d + b"source=wp\n", fix_ctl=False)
    _assert_only(check_landing(root), WP_REG + ".ctl", 5, "<ctl>", "file")


def test_ctl_keys_in_order(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    path = root / (WP_REG + ".ctl")
    lines = path.read_bytes().split(b"\n")
    lines[2], lines[3] = lines[3], lines[2]
    path.write_bytes(b"\n".join(lines))
    result = check_landing(root)
    assert {(v.path, v.line, v.field) for v in result.violations} == {
        (WP_REG + ".ctl", 3, "extract_type"),
        (WP_REG + ".ctl", 4, "extract_date"),
    }


def test_missing_ctl(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    (root / (VR_CASES + ".ctl")).unlink()
    _assert_only(check_landing(root), VR_CASES, 0, "<file>", "file")


def test_ui_trailer_count_off_by_one(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, UI, 5, _fixed(1, b"T000000004"))
    result = check_landing(root)
    _assert_only(result, UI, 5, "<trailer>", "file")
    assert next(f for f in result.files if f.path == UI).count_ok is False


def test_wage_trailer_count_off_by_one(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, WAGES, 5, _fixed(2, b"000000002"))
    _assert_only(check_landing(root), WAGES, 5, "<trailer>", "file")


def test_wage_trailer_total_off_by_one_cent(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, WAGES, 5, _fixed(11, b"000000003262879"))
    result = check_landing(root)
    v = _assert_only(result, WAGES, 5, "<trailer>", "file")
    assert "3262879" in v.message and "3262878" in v.message
    assert next(f for f in result.files if f.path == WAGES).total_ok is False


def test_ui_record_of_209_characters(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, UI, 3, lambda line: line[:-1])
    _assert_only(check_landing(root), UI, 3, "<record>", "record_length")


def test_wage_record_of_85_characters(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, WAGES, 2, lambda line: line + b" ")
    result = check_landing(root)
    _assert_only(result, WAGES, 2, "<record>", "record_length")
    assert next(f for f in result.files if f.path == WAGES).total_ok is None  # not verifiable


@pytest.mark.parametrize(
    ("line", "edit"),
    [
        (1, _fixed(15, b"X")),
        (1, _fixed(2, b"20240302")),
        (1, _fixed(10, b"UICLX")),
        (1, _fixed(200, b"Z")),
    ],
)
def test_ui_header(samples_dir: Path, tmp_path: Path, line: int, edit: Callable[[bytes], bytes]) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, UI, line, edit)
    _assert_only(check_landing(root), UI, line, "<header>", "file")


def test_ui_full_flag(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, UI, 1, _fixed(15, b"F"))
    result = check_landing(root)
    assert result.violations == []
    assert next(f for f in result.files if f.path == UI).extract_type == "FULL"


def test_wage_header_quarter_must_match_folder(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, WAGES, 1, _fixed(2, b"20242"))
    _assert_only(check_landing(root), WAGES, 1, "<header>", "file")


def test_wage_row_of_another_quarter(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, WAGES, 3, _fixed(73, b"2"))
    _assert_only(check_landing(root), WAGES, 3, "quarter", "bad_date")


def test_lf_only_line_in_vr_file(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit(root, VR_CASES, lambda d: d.replace(b"\r\n", b"\n", 2).replace(b"\n", b"\r\n", 1))
    # line 1 keeps CRLF; line 2 now ends with LF only
    _assert_only(check_landing(root), VR_CASES, 2, "<line ending>", "file")


def test_crlf_line_in_lf_file(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, WP_SVC, 3, lambda line: line + b"\r")
    _assert_only(check_landing(root), WP_SVC, 3, "<line ending>", "file")


def test_missing_final_line_terminator(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit(root, T1_OUT, lambda d: d[:-1])
    _assert_only(check_landing(root), T1_OUT, 4, "<line ending>", "file")


def test_missing_bom_in_adult_ed_file(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit(root, AE_STU, lambda d: d[3:])
    _assert_only(check_landing(root), AE_STU, 1, "<encoding>", "file")


def test_bom_in_wp_file(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit(root, WP_REG, lambda d: b"\xef\xbb\xbf" + d)
    _assert_only(check_landing(root), WP_REG, 1, "<encoding>", "file")


@pytest.mark.parametrize(
    ("rel", "line", "edit"),
    [
        (WP_REG, 2, _replace(b"Amanda", b"Am\xe9nda")),  # Latin-1 byte in a UTF-8 file
        (VR_CASES, 3, _replace(b"ZARATE", b"ZAR\x81TE")),  # undefined in Windows-1252
        (UI, 2, _replace(b"COCKRILL", b"COCKR\xc9LL")),  # not ASCII
        (AE_STU, 4, _replace(b"Lough", b"L\xc3ugh")),  # truncated UTF-8 sequence
    ],
)
def test_undecodable_row(
    samples_dir: Path, tmp_path: Path, rel: str, line: int, edit: Callable[[bytes], bytes]
) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, rel, line, edit)
    _assert_only(check_landing(root), rel, line, "<record>", "encoding")


def test_windows_1252_accents_are_fine_in_vr(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, VR_CASES, 3, _replace(b"ZARATE", b"Z\xc1RATE"))  # Á in Windows-1252
    assert check_landing(root).violations == []


@pytest.mark.parametrize(
    ("rel", "line", "edit", "fld"),
    [
        (UI, 2, _fixed(143, b"20240230"), "claim filed date"),
        (UI, 2, _fixed(197, b"20240208256632"), "last updated"),
        (UI, 2, _fixed(187, b"        "), "last payment date"),
        (WP_SVC, 3, _replace(b",02/17/2024,", b",02/30/2024,"), "Service Date"),
        (WP_SVC, 3, _replace(b",02/17/2024,", b",2/17/2024,"), "Service Date"),
        (WP_REG, 2, _replace(b",02/23/2024 11:51:26", b",02/23/2024 24:51:26"), "Last Updated"),
        (T1_PART, 4, _replace(b",2023-05-20,", b",2023-13-20,"), "entry_date"),
        (T1_PART, 4, _replace(b",2023-05-20,", b",05/20/2023,"), "entry_date"),
        (T1_OUT, 2, _replace(b"2024-02-19T13:10:27", b"2024-02-19 13:10:27"), "updated_at"),
        (VR_CASES, 2, _replace(b"|20240209||2|", b"|20240231||2|"), "APPLICATION_DT"),
        (VR_OUT, 3, _replace(b"|20240211|", b"|2024021|"), "OUTCOME_DT"),
        (AE_ASM, 3, _replace(b"\t2/19/2024\t", b"\t02/19/2024\t"), "TestDate"),
        (AE_ATT, 2, _replace(b"\t2/11/2024\t", b"\t2/30/2024\t"), "ClassDate"),
        (AE_OUT, 2, _replace(b"6:36:19 AM", b"6:36:19"), "LastModified"),
        (AE_STU, 2, _replace(b"10:11:29 PM", b"22:11:29 PM"), "LastModified"),
    ],
)
def test_bad_event_date(
    samples_dir: Path, tmp_path: Path, rel: str, line: int, edit: Callable[[bytes], bytes], fld: str
) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, rel, line, edit)
    _assert_only(check_landing(root), rel, line, fld, "bad_date")


@pytest.mark.parametrize(
    ("rel", "line", "edit", "fld"),
    [
        (UI, 3, _fixed(181, b"XX"), "separation reason"),
        (UI, 3, _fixed(142, b"Q"), "claim type"),
        (UI, 3, _fixed(196, b"X"), "status"),
        (UI, 3, _fixed(1, b"W"), "record type"),
        (WP_SVC, 2, _replace(b",110,", b",999,"), "Service Code"),
        (WP_SVC, 2, _replace(b",Y,", b",Yes,"), "Staff Assisted"),
        (WP_REG, 2, _replace(b",White,", b",Purple,"), "Race"),
        (WP_REG, 2, _replace(b",Active,", b",A,"), "Record Status"),
        (T1_PART, 3, _replace(b",ADULT,", b",ADULTS,"), "program"),
        (T1_PART, 3, _replace(b",2,0,0,508", b",2,7,0,508"), "disability"),
        (T1_PART, 2, _replace(b",00,06,2023-05-01", b",04,06,2023-05-01"), "exit_reason"),
        (T1_OUT, 3, _replace(b",SKILL_GAIN,3,", b",SKILL_GAIN,7,"), "outcome_code"),
        (VR_OUT, 2, _replace(b"|MSG|", b"|SKILL|"), "TYPE"),
        (VR_OUT, 3, _replace(b"|CRED|6|", b"|CRED|9|"), "CODE"),
        (VR_CASES, 2, _replace(b"|09|N|", b"|9|N|"), "PRIMARY_IMPAIRMENT"),
        (AE_STU, 3, _replace(b"\tESL\t", b"\tGED\t"), "ProgramType"),
        (AE_STU, 3, _replace(b"\tESL\t10\t", b"\tESL\t13\t"), "HighestGradeAtEntry"),
        (AE_ASM, 2, _replace(b"\tTABE Reading\t", b"\tTABE\t"), "Instrument"),
        (AE_OUT, 2, _replace(b"\t2/14/2024\t\t", b"\t2/14/2024\t5\t"), "CredentialCode"),
    ],
)
def test_code_outside_its_set(
    samples_dir: Path, tmp_path: Path, rel: str, line: int, edit: Callable[[bytes], bytes], fld: str
) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, rel, line, edit)
    _assert_only(check_landing(root), rel, line, fld, "bad_code")


def test_youth_in_school_only_for_youth(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, T1_PART, 3, _replace(b",2,1,5,,2023", b",2,1,5,1,2023"))
    _assert_only(check_landing(root), T1_PART, 3, "youth_in_school", "bad_code")


def test_vr_type_7_closure_has_no_service_start(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, VR_CASES, 4, _replace(b"|0||||||||07|", b"|0||||20240222|20240301|7||07|"))
    _assert_only(check_landing(root), VR_CASES, 4, "SERVICE_START_DT", "bad_date")


@pytest.mark.parametrize(
    ("rel", "line", "edit", "fld"),
    [
        (UI, 2, _fixed(159, b"00564O0"), "weekly benefit amount"),
        (UI, 2, _fixed(183, b"101"), "profiling score"),
        (WAGES, 3, _fixed(74, b"0000135327-"), "wages"),
        (AE_ATT, 3, _replace(b"\t3.0", b"\t3,0"), "Hours"),
        (AE_ATT, 3, _replace(b"\t3.0", b"\t-3.0"), "Hours"),
        (AE_ASM, 4, _replace(b"\t420\t", b"\t42O\t"), "ScaleScore"),
    ],
)
def test_non_numeric_amount(
    samples_dir: Path, tmp_path: Path, rel: str, line: int, edit: Callable[[bytes], bytes], fld: str
) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, rel, line, edit)
    _assert_only(check_landing(root), rel, line, fld, "bad_amount")


@pytest.mark.parametrize(
    ("rel", "line", "edit", "fld"),
    [
        (UI, 4, _fixed(2, b" " * 12), "claim id"),
        (WAGES, 2, _fixed(44, b" " * 10), "employer UI account"),
        (WP_SVC, 4, _replace(b"S000000133,", b","), "Service ID"),
        (T1_OUT, 2, _replace(b",P00000003,", b",,"), "participation_id"),
        (VR_CASES, 2, _replace(b"VR00000002|", b"|"), "CASE_ID"),
        (AE_ATT, 4, _replace(b"\tCL036\t", b"\t\t"), "ClassID"),
        (AE_ATT, 4, _replace(b"\t2/17/2024\t", b"\t\t"), "ClassDate"),
    ],
)
def test_missing_key(
    samples_dir: Path, tmp_path: Path, rel: str, line: int, edit: Callable[[bytes], bytes], fld: str
) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, rel, line, edit)
    _assert_only(check_landing(root), rel, line, fld, "missing_key")


@pytest.mark.parametrize(
    ("rel", "line", "edit"),
    [
        (VR_OUT, 3, _replace(b"|A|", b"|A|X|")),
        (AE_ATT, 2, _replace(b"\t2.5", b"")),
        (WP_SVC, 3, _replace(b",Burlington,", b",Burlington,IA,")),
        (T1_OUT, 3, lambda _: b""),  # a blank line inside the data
    ],
)
def test_wrong_field_count(
    samples_dir: Path, tmp_path: Path, rel: str, line: int, edit: Callable[[bytes], bytes]
) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, rel, line, edit)
    _assert_only(check_landing(root), rel, line, "<record>", "field_count")


@pytest.mark.parametrize(
    "edit",
    [
        _replace(b",27743 n 103rd dr,", b',"27743 n 103rd dr,'),  # opens a quote that never closes
        _replace(b",27743 n 103rd dr,", b',27743 "n" 103rd dr,'),  # a quote inside an unquoted field
        _replace(b",27743 n 103rd dr,", b',"27743 n" 103rd dr,'),  # text after the closing quote
    ],
)
def test_stray_quote_does_not_swallow_the_next_lines(
    samples_dir: Path, tmp_path: Path, edit: Callable[[bytes], bytes]
) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, WP_REG, 2, edit)
    result = check_landing(root, keep_rows=True)
    _assert_only(result, WP_REG, 2, "<record>", "unbalanced_quote")
    reg = next(f for f in result.files if f.path == WP_REG)
    assert [r.line for r in reg.rows] == [3, 4] and reg.records == 3


def test_quoted_fields_are_rfc4180(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(
        root, WP_REG, 3, _replace(b",Not in Labor Force,", b',"Employed, Received Notice of Termination",')
    )
    _edit_line(root, WP_REG, 4, _replace(b",1180 e community dr,", b',"1180 ""E"" Community Dr, Apt 2",'))
    result = check_landing(root, keep_rows=True)
    assert result.violations == []
    rows = next(f for f in result.files if f.path == WP_REG).rows
    assert rows[1].values["Employment Status"] == "Employed, Received Notice of Termination"
    assert rows[2].values["Address"] == '1180 "E" Community Dr, Apt 2'


def test_renamed_header_column(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, T1_PART, 1, _replace(b",zip,", b",zip_code,"))
    v = _assert_only(check_landing(root), T1_PART, 1, "<header>", "file")
    assert "zip_code" in v.message


def test_reordered_header_columns(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, VR_OUT, 1, _replace(b"|STATUS|UPDATE_TS", b"|UPDATE_TS|STATUS"))
    _assert_only(check_landing(root), VR_OUT, 1, "<header>", "file")


def test_identity_fields_may_carry_their_errors(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, UI, 2, _fixed(14, b"77S712346"))  # OCR slip in the SSN
    _edit_line(root, UI, 3, _fixed(62, b"19851302"))  # impossible birth date
    _edit_line(root, UI, 4, _fixed(70, b"Q"))  # sex outside M/F/U
    _edit_line(root, WP_REG, 2, _replace(b",04/24/1992,", b",09/07/988,"))
    _edit_line(root, WP_REG, 3, _replace(b",476-38-7776,", b",476-38-777,"))
    _edit_line(root, WP_REG, 4, _replace(b",Male,", b",M,"))
    _edit_line(root, T1_PART, 3, _replace(b",1975-04-29,2,", b",1975-02-30,5,"))
    _edit_line(root, VR_CASES, 2, _replace(b"|19801016|M|", b"||Q|"))
    _edit_line(root, AE_STU, 2, _replace(b"\t10/21/1976\t", b"\t10/21/176\t"))
    _edit_line(root, AE_STU, 3, _replace(b"\t431-79-1403\t", b"\t431-79-14O3\t"))
    assert check_landing(root).violations == []


def test_trailing_blank_lines_are_not_records(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit(root, VR_OUT, lambda d: d + b"\r\n\r\n")
    _edit(root, WP_SVC, lambda d: d + b"\n")
    _edit(root, UI, lambda d: d + b"\n")
    result = check_landing(root)
    assert result.violations == []
    counts = {f.path: (f.records, f.trailing_blank_lines) for f in result.files}
    assert counts[VR_OUT] == (3, 2) and counts[WP_SVC] == (3, 1) and counts[UI] == (3, 1)


def test_file_date_must_equal_folder_date(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    folder = root / "title1" / "20240301"
    for name in ("t1_outcomes_20240301.csv", "t1_outcomes_20240301.csv.ctl"):
        (folder / name).rename(folder / name.replace("20240301", "20240302"))
    _assert_only(check_landing(root), "title1/20240301/t1_outcomes_20240302.csv", 0, "<file>", "file")


def test_folder_date_is_the_extract_date(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    (root / "ui" / "20240301").rename(root / "ui" / "20240302")
    (root / "ui" / "20240302" / "UICLM.20240301.DAT").rename(root / "ui" / "20240302" / "UICLM.20240302.DAT")
    _assert_only(check_landing(root), "ui/20240302/UICLM.20240302.DAT", 1, "<header>", "file")


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("wp/20240301/notes.txt", "wp/20240301/notes.txt"),
        ("wp/20240301/WP_SERVICES_20240301.csv", "wp/20240301/WP_SERVICES_20240301.csv"),
        ("ui/20240301/UICLM.20240301.DAT.ctl", "ui/20240301/UICLM.20240301.DAT.ctl"),
        ("vr/20240301/VR_CASES_20240302.TXT.ctl", "vr/20240301/VR_CASES_20240302.TXT.ctl"),
        ("extra/readme.txt", "extra"),
        ("adult_ed/2024-03-01/ae_students_2024-03-01.tsv", "adult_ed/2024-03-01"),
        ("ui_wages/2024Q5/UIWAGE.2024Q5.DAT", "ui_wages/2024Q5"),
    ],
)
def test_unknown_files_are_errors(samples_dir: Path, tmp_path: Path, rel: str, expected: str) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(b"x\n")
    _assert_only(check_landing(root), expected, 0, "<file>", "file")


def test_control_characters_do_not_fit(samples_dir: Path, tmp_path: Path) -> None:
    root = _landing_copy(samples_dir, tmp_path)
    _edit_line(root, WP_REG, 3, _replace(b",Dina,", b",Di\x00na,"))
    _assert_only(check_landing(root), WP_REG, 3, "First Name", "bad_value")


# --------------------------------------------------------------------------------------
# the generator's landing zone (tests fail until `python -m synthetic` exists)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(generated_state: Path) -> LandingResult:
    return check_landing(generated_state / "landing")


@pytest.fixture(scope="module")
def injected(generated_state: Path) -> list[tuple[str, int, str]]:
    return _read_injected(generated_state / "truth")


def _drops(files: list[FileResult], system: str) -> dict[str, set[str | None]]:
    out: dict[str, set[str | None]] = {}
    for f in files:
        if f.system == system:
            out.setdefault(f.folder, set()).add(f.extract_type)
    return out


@pytest.mark.slow
def test_generated_has_all_file_types(generated: LandingResult) -> None:
    present = set(generated.by_type())
    assert present == ALL_TYPES, f"missing: {sorted(ALL_TYPES - present)}"


@pytest.mark.slow
def test_generated_full_and_delta_drops(generated: LandingResult) -> None:
    for system in NIGHTLY_SYSTEMS:
        drops = _drops(generated.files, system)
        assert drops, system
        first = min(drops)
        assert drops[first] == {"FULL"}, f"{system}: first drop {first} is {drops[first]}"
        mixed = {d: t for d, t in drops.items() if len(t) != 1}
        assert not mixed, f"{system}: drops mixing FULL and DELTA: {mixed}"
        deltas = [d for d, t in drops.items() if t == {"DELTA"}]
        assert len(deltas) >= MIN_DELTA_DROPS, f"{system}: only {len(deltas)} DELTA drops"
    assert _drops(generated.files, "ui_wages"), "no wage quarter"


@pytest.mark.slow
def test_generated_files_are_sound(generated: LandingResult) -> None:
    """Names, encodings, BOMs, line endings, headers, trailers, counts, digests, totals."""
    assert not generated.file_violations, _sample(generated.file_violations)
    for f in generated.files:
        assert f.count_ok, f
        if f.file_type not in ("ui_claims", "ui_wages"):
            assert f.digest_ok, f
        if f.file_type == "ui_wages":
            assert f.total_ok is not False, f


@pytest.mark.slow
def test_generated_wage_totals_verified(generated: LandingResult) -> None:
    """A wage control total is verifiable unless a detail record's wages cannot be read."""
    wages = [f for f in generated.files if f.file_type == "ui_wages"]
    assert wages
    for f in wages:
        assert f.total_ok is True or (f.total_ok is None and f.unreadable_amounts > 0), f


@pytest.mark.slow
def test_generated_only_injected_rows_are_flagged(
    generated: LandingResult, injected: list[tuple[str, int, str]]
) -> None:
    assert injected, "the default run should inject some malformed rows"
    listed = {(path, line) for path, line, _ in injected}
    assert len(listed) == len(injected), "a line is listed twice in injected_faults.csv"
    flagged = generated.flagged_lines()
    missed = listed - flagged
    unlisted = flagged - listed
    details = [v for v in generated.record_violations if (v.path, v.line) in unlisted]
    assert not missed, f"{len(missed)} injected faults not flagged, e.g.:\n{_sample(missed)}"
    assert not unlisted, f"{len(unlisted)} lines flagged but not injected, e.g.:\n{_sample(details)}"


@pytest.mark.slow
def test_generated_injected_faults_are_well_formed(
    generated: LandingResult, injected: list[tuple[str, int, str]]
) -> None:
    paths = {f.path for f in generated.files}
    for path, line, kind in injected:
        assert kind in INJECTED_KINDS, (path, line, kind)
        assert path in paths, (path, line, kind)
        assert line >= 2, (path, line, kind)  # never the header row or header record
    assert {kind for _, _, kind in injected} <= INJECTED_KINDS


# Kinds the checker may report for an injected kind (a stray quote is an unbalanced quote to an
# RFC 4180 reading, and a score or year can be read as a code, an amount or a date).
_KIND_ALIASES: dict[str, set[str]] = {
    "field_count": {"field_count", "unbalanced_quote"},
    "unbalanced_quote": {"unbalanced_quote", "field_count"},
    "bad_code": {"bad_code", "bad_amount"},
    "bad_amount": {"bad_amount", "bad_code"},
    "bad_date": {"bad_date", "missing_key"},
    "missing_key": {"missing_key"},
    "encoding": {"encoding"},
    "record_length": {"record_length"},
}


@pytest.mark.slow
def test_generated_fault_kinds_agree(generated: LandingResult, injected: list[tuple[str, int, str]]) -> None:
    reported = generated.kinds_by_line()
    disagree = [
        (path, line, kind, sorted(reported[(path, line)]))
        for path, line, kind in injected
        if (path, line) in reported and not reported[(path, line)] & _KIND_ALIASES.get(kind, {kind})
    ]
    assert not disagree, f"{len(disagree)} faults read as another kind, e.g.:\n{_sample(disagree)}"


@pytest.fixture(scope="module")
def clean_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run_generator(tmp_path_factory.mktemp("synthetic_clean"), "--malformed-rate", "0")


@pytest.mark.slow
def test_generated_without_malformed_rows_is_clean(clean_state: Path) -> None:
    result = check_landing(clean_state / "landing")
    assert set(result.by_type()) == ALL_TYPES
    assert not result.violations, _sample(result.violations)
    assert all(f.total_ok is True for f in result.files if f.file_type == "ui_wages")
    assert _read_injected(clean_state / "truth") == []


@pytest.mark.slow
def test_generator_is_deterministic(generated_state: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    again = _run_generator(tmp_path_factory.mktemp("synthetic_again"))
    first = _sha256_tree(generated_state / "landing")
    second = _sha256_tree(again / "landing")
    assert first, "empty landing zone"
    assert first.keys() == second.keys(), sorted(first.keys() ^ second.keys())[:25]
    differ = sorted(k for k in first if first[k] != second[k])
    assert not differ, (
        f"{len(differ)} files differ between two runs with seed {GENERATED_SEED}: {differ[:25]}"
    )
