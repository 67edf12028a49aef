"""How each system writes its files, field by field, exactly as `shared/extracts/README.md` says.

Each file type turns a table of record versions into a table of output strings (one column per
contract field, in contract order). Identity fields are formatted per record from the noisy
`Reported` identity; event fields are formatted vectorised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synthetic import vocab
from synthetic.noise import Reported
from synthetic.population import EPOCH, day_numbers

if TYPE_CHECKING:
    from synthetic.wages import Employers

# ---------------------------------------------------------------------------------------- dates

DateFmt = Callable[[dt.date], str]
DATE_FMT: dict[str, DateFmt] = {
    "ymd": lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}",
    "mdy": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year:04d}",
    "iso": lambda d: d.isoformat(),
    "mdy_short": lambda d: f"{d.month}/{d.day}/{d.year}",
}


def _time_of_day(style: str) -> np.ndarray:
    s = np.arange(86_400)
    h, m, sec = s // 3600, (s // 60) % 60, s % 60
    if style == "compact":
        return np.asarray([f"{a:02d}{b:02d}{c:02d}" for a, b, c in zip(h, m, sec, strict=True)], dtype=object)
    if style == "24h":
        return np.asarray(
            [f"{a:02d}:{b:02d}:{c:02d}" for a, b, c in zip(h, m, sec, strict=True)], dtype=object
        )
    return np.asarray(
        [
            f"{(a % 12) or 12}:{b:02d}:{c:02d} {'AM' if a < 12 else 'PM'}"
            for a, b, c in zip(h, m, sec, strict=True)
        ],
        dtype=object,
    )


_TIME_CACHE: dict[str, np.ndarray] = {}


def days_to_str(days: pd.Series, style: str, missing: str = "") -> np.ndarray:
    """Format day numbers (NaN/None = missing) through a lookup of the distinct days."""
    vals = day_numbers(days)
    out = np.full(len(vals), missing, dtype=object)
    ok = ~np.isnan(vals)
    if ok.any():
        uniq, inv = np.unique(vals[ok].astype(np.int64), return_inverse=True)
        fmt = DATE_FMT[style]
        table = np.asarray([fmt(EPOCH + dt.timedelta(days=int(u))) for u in uniq], dtype=object)
        out[ok] = table[inv]
    return out


def ts_to_str(ts: pd.Series, date_style: str, time_style: str, sep: str) -> np.ndarray:
    t = ts.to_numpy(dtype=np.int64)
    if time_style not in _TIME_CACHE:
        _TIME_CACHE[time_style] = _time_of_day(time_style)
    date = days_to_str(pd.Series(t // 86_400), date_style)
    return np.asarray(date + sep + _TIME_CACHE[time_style][t % 86_400], dtype=object)


def dob_str(dob: tuple[int, int, int] | None, style: str) -> str:
    """Birth dates are identity fields: impossible ones are written as the clerk keyed them."""
    if dob is None:
        return "00000000" if style == "ymd_ui" else ""
    y, m, d = dob
    if style in ("ymd", "ymd_ui"):
        return f"{y:04d}{m:02d}{d:02d}"
    if style == "mdy":
        return f"{m:02d}/{d:02d}/{y}"
    if style == "iso":
        return f"{y:04d}-{m:02d}-{d:02d}"
    return f"{m}/{d}/{y}"


# ------------------------------------------------------------------------------------- identity


def _dashed(ssn: str) -> str:
    return f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}" if ssn else ""


def _phone(digits: str, style: str) -> str:
    if not digits:
        return ""
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return {"paren": f"({a}) {b}-{c}", "dash": f"{a}-{b}-{c}", "digits": digits, "tight": f"({a}){b}-{c}"}[
        style
    ]


def ascii_upper(s: str) -> str:
    return vocab.strip_accents(s).upper().encode("ascii", "replace").decode("ascii")


def identity_fields(system: str, rep: Reported, addr: dict[str, str], flip: float) -> dict[str, str]:
    """One record's identity as its system writes it; `flip` is a per-record draw in [0, 1)."""
    mi = rep.middle[:1]
    if system == "ui":
        return {
            "ssn": rep.ssn,
            "last_name": ascii_upper(rep.last),
            "first_name": ascii_upper(rep.first),
            "middle_initial": ascii_upper(mi),
            "name_suffix": rep.suffix,
            "birth_date": dob_str(rep.dob, "ymd_ui"),
            "sex": rep.sex,
            "street": ascii_upper(addr["street"]),
            "city": ascii_upper(addr["city"]),
            "state": addr["state"],
            "zip5": addr["zip5"],
            "zip4": addr["zip4"],
            "phone": rep.phone,
        }
    if system == "wp":
        zip_ = addr["zip5"] + (f"-{addr['zip4']}" if addr["zip4"] and flip < 0.5 else "")
        return {
            "SSN": _dashed(rep.ssn),
            "First Name": rep.first,
            "Middle Name": mi,
            "Last Name": rep.last,
            "Suffix": rep.suffix.title() if rep.suffix in ("JR", "SR") else rep.suffix,
            "Date of Birth": dob_str(rep.dob, "mdy"),
            "Gender": {"F": "Female", "M": "Male"}.get(rep.sex, "Did Not Self-Identify"),
            "Address": addr["street"].lower(),
            "City": addr["city"],
            "State": addr["state"],
            "ZIP": zip_,
            "Phone": _phone(rep.phone, "paren"),
            "Email": rep.email,
        }
    if system == "title1":
        return {
            "ssn": rep.ssn,
            "first_name": rep.first,
            "middle_name": mi,
            "last_name": rep.last,
            "birth_date": dob_str(rep.dob, "iso"),
            "sex": {"M": "1", "F": "2"}.get(rep.sex, "9"),
            "street": addr["street"].lower(),
            "city": addr["city"],
            "state": addr["state"],
            "zip": addr["zip5"],
            "phone": _phone(rep.phone, "dash"),
            "email": rep.email,
        }
    if system == "vr":
        name = (
            f"{rep.last}, {rep.first}" + (f" {mi}" if mi else "") + (f", {rep.suffix}" if rep.suffix else "")
        )
        return {
            "SSN": rep.ssn,
            "CLIENT_NAME": name.upper(),
            "DOB": dob_str(rep.dob, "ymd"),
            "GENDER": {"M": "M", "F": "F"}.get(rep.sex, "X"),
            "ADDR": addr["street"].upper(),
            "CITY": addr["city"].upper(),
            "ST": addr["state"],
            "ZIP": addr["zip5"],
            "PHONE": _phone(rep.phone, "digits"),
        }
    if system == "adult_ed":
        ssn = _dashed(rep.ssn) if flip < 0.5 else rep.ssn
        gender = {"M": "M", "F": "F"}.get(rep.sex, "X" if flip < 0.5 else "")
        return {
            "SSN": ssn,
            "LastName": rep.last,
            "FirstName": rep.first,
            "MiddleInitial": mi,
            "BirthDate": dob_str(rep.dob, "mdy_short"),
            "Gender": gender,
            "Address": addr["street"].lower(),
            "City": addr["city"],
            "State": addr["state"],
            "Zip": addr["zip5"],
            "Phone": _phone(rep.phone, "tight"),
            "Email": rep.email,
        }
    raise ValueError(system)


# ---------------------------------------------------------------------------------- file types

EDUCATION_TEXT = (
    "Less than High School",
    "High School Diploma",
    "High School Equivalency",
    "Some College",
    "Associate Degree",
    "Bachelor Degree",
    "Advanced Degree",
)


@dataclass(frozen=True)
class FileSpec:
    """What the writer needs to know of a file type: layout, and which fields a fault may hit."""

    system: str
    table: str
    pattern: str  # file name with {d} for YYYYMMDD
    kind: str  # fixed, csv, pipe, tsv
    columns: tuple[str, ...]
    widths: tuple[int, ...] = ()  # fixed width only, record type included
    key: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()  # event date fields a bad_date fault may hit
    codes: tuple[tuple[str, str], ...] = ()  # (field, a value outside its set)
    amounts: tuple[tuple[str, str], ...] = ()  # (field, a non-numeric value)
    sort: tuple[str, ...] = ("ts",)

    @property
    def sep(self) -> str:
        return {"csv": ",", "pipe": "|", "tsv": "\t", "fixed": ""}[self.kind]


UI_FIELDS = (
    ("record_type", 1), ("claim_id", 12), ("ssn", 9), ("last_name", 20), ("first_name", 15),
    ("middle_initial", 1), ("name_suffix", 3), ("birth_date", 8), ("sex", 1), ("street", 30), ("city", 20),
    ("state", 2), ("zip5", 5), ("zip4", 4), ("phone", 10), ("claim_type", 1), ("claim_filed_date", 8),
    ("benefit_year_begin", 8), ("weekly_benefit_amount", 7), ("employer_fein", 9), ("employer_naics", 6),
    ("separation_reason", 2), ("profiling_score", 3), ("resea_selected", 1), ("last_payment_date", 8),
    ("exhausted", 1), ("status", 1), ("last_updated", 14),
)  # fmt: skip
WAGE_FIELDS = (
    ("record_type", 1), ("ssn", 9), ("last_name", 20), ("first_name", 12), ("middle_initial", 1),
    ("employer_account", 10), ("employer_fein", 9), ("employer_naics", 6), ("year", 4), ("quarter", 1),
    ("wages", 11),
)  # fmt: skip

SPECS: dict[str, FileSpec] = {
    "ui_claims": FileSpec(
        "ui",
        "ui_claims",
        "UICLM.{d}.DAT",
        "fixed",
        tuple(f for f, _ in UI_FIELDS),
        tuple(w for _, w in UI_FIELDS),
        key=("claim_id",),
        dates=("claim_filed_date", "benefit_year_begin"),
        codes=(("claim_type", "X"),),
        amounts=(("weekly_benefit_amount", "00A5000"),),
    ),
    "wp_registrations": FileSpec(
        "wp",
        "wp_registrations",
        "wp_registrations_{d}.csv",
        "csv",
        (
            "Individual ID",
            "SSN",
            "First Name",
            "Middle Name",
            "Last Name",
            "Suffix",
            "Date of Birth",
            "Gender",
            "Hispanic",
            "Race",
            "Veteran",
            "Disability",
            "Address",
            "City",
            "State",
            "ZIP",
            "Phone",
            "Email",
            "Education Level",
            "Employment Status",
            "UI Claimant",
            "Registration Date",
            "Record Status",
            "Last Updated",
        ),
        key=("Individual ID",),
        dates=("Registration Date",),
        codes=(("Education Level", "Some Grad School"),),
    ),
    "wp_services": FileSpec(
        "wp",
        "wp_services",
        "wp_services_{d}.csv",
        "csv",
        (
            "Service ID",
            "Individual ID",
            "Service Code",
            "Service Date",
            "Staff Assisted",
            "Office",
            "Record Status",
            "Last Updated",
        ),
        key=("Service ID",),
        dates=("Service Date",),
        codes=(("Service Code", "999"),),
    ),
    "t1_participation": FileSpec(
        "title1",
        "t1_participation",
        "t1_participation_{d}.csv",
        "csv",
        (
            "participation_id",
            "participant_id",
            "program",
            "ssn",
            "first_name",
            "middle_name",
            "last_name",
            "birth_date",
            "sex",
            "disability",
            "veteran",
            "street",
            "city",
            "state",
            "zip",
            "phone",
            "email",
            "employment_status_at_entry",
            "low_income",
            "highest_education",
            "youth_in_school",
            "entry_date",
            "exit_date",
            "exit_reason",
            "training_type",
            "training_start_date",
            "training_end_date",
            "record_status",
            "updated_at",
        ),
        key=("participation_id",),
        dates=("entry_date",),
        codes=(("program", "ADLT"), ("training_type", "09")),
    ),
    "t1_outcomes": FileSpec(
        "title1",
        "t1_outcomes",
        "t1_outcomes_{d}.csv",
        "csv",
        (
            "outcome_id",
            "participation_id",
            "outcome_type",
            "outcome_code",
            "outcome_date",
            "record_status",
            "updated_at",
        ),
        key=("outcome_id",),
        dates=("outcome_date",),
        codes=(("outcome_type", "DEGREE"),),
    ),
    "vr_cases": FileSpec(
        "vr",
        "vr_cases",
        "VR_CASES_{d}.TXT",
        "pipe",
        (
            "CASE_ID",
            "CLIENT_ID",
            "SSN",
            "CLIENT_NAME",
            "DOB",
            "GENDER",
            "ADDR",
            "CITY",
            "ST",
            "ZIP",
            "PHONE",
            "APPLICATION_DT",
            "ELIGIBILITY_DT",
            "OOS_CATEGORY",
            "WAITLIST_START_DT",
            "WAITLIST_END_DT",
            "IPE_DT",
            "SERVICE_START_DT",
            "CLOSURE_DT",
            "CLOSURE_TYPE",
            "CLOSURE_REASON",
            "PRIMARY_IMPAIRMENT",
            "EDUCATION_TRAINING",
            "STATUS",
            "UPDATE_TS",
        ),
        key=("CASE_ID",),
        dates=("APPLICATION_DT",),
        codes=(("OOS_CATEGORY", "7"),),
    ),
    "vr_outcomes": FileSpec(
        "vr",
        "vr_outcomes",
        "VR_OUTCOMES_{d}.TXT",
        "pipe",
        ("OUTCOME_ID", "CASE_ID", "TYPE", "CODE", "OUTCOME_DT", "STATUS", "UPDATE_TS"),
        key=("OUTCOME_ID",),
        dates=("OUTCOME_DT",),
        codes=(("TYPE", "GED"),),
    ),
    "ae_students": FileSpec(
        "adult_ed",
        "ae_students",
        "ae_students_{d}.tsv",
        "tsv",
        (
            "StudentID",
            "SSN",
            "LastName",
            "FirstName",
            "MiddleInitial",
            "BirthDate",
            "Gender",
            "Address",
            "City",
            "State",
            "Zip",
            "Phone",
            "Email",
            "ProgramType",
            "HighestGradeAtEntry",
            "DiplomaAtEntry",
            "Section225",
            "Status",
            "LastModified",
        ),
        key=("StudentID",),
        dates=(),
        codes=(("ProgramType", "GED"),),
    ),
    "ae_attendance": FileSpec(
        "adult_ed",
        "ae_attendance",
        "ae_attendance_{d}.tsv",
        "tsv",
        ("StudentID", "ClassID", "ClassDate", "Hours"),
        key=("StudentID", "ClassDate", "ClassID"),
        dates=("ClassDate",),
        amounts=(("Hours", "2..5"),),
    ),
    "ae_assessments": FileSpec(
        "adult_ed",
        "ae_assessments",
        "ae_assessments_{d}.tsv",
        "tsv",
        ("AssessmentID", "StudentID", "TestDate", "Instrument", "ScaleScore", "EFL"),
        key=("AssessmentID",),
        dates=("TestDate",),
        codes=(("EFL", "9"),),
        amounts=(("ScaleScore", "4O0"),),
    ),
    "ae_outcomes": FileSpec(
        "adult_ed",
        "ae_outcomes",
        "ae_outcomes_{d}.tsv",
        "tsv",
        ("OutcomeID", "StudentID", "OutcomeType", "OutcomeDate", "CredentialCode", "Status", "LastModified"),
        key=("OutcomeID",),
        dates=("OutcomeDate",),
        codes=(("OutcomeType", "GED"),),
    ),
}
NIGHTLY_SYSTEMS: dict[str, tuple[str, ...]] = {
    "ui": ("ui_claims",),
    "wp": ("wp_registrations", "wp_services"),
    "title1": ("t1_participation", "t1_outcomes"),
    "vr": ("vr_cases", "vr_outcomes"),
    "adult_ed": ("ae_students", "ae_attendance", "ae_assessments", "ae_outcomes"),
}


def _s(x: pd.Series | np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=object)


def event_fields(
    name: str, v: pd.DataFrame, people: pd.DataFrame, employers: Employers, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The non-identity fields of one file type, formatted vectorised."""
    n = len(v)
    if name == "ui_claims":
        emp = v["employer"].to_numpy(dtype=np.int64)
        return {
            "record_type": np.full(n, "D", dtype=object),
            "claim_id": _s(v["claim_id"]),
            "claim_type": _s(v["claim_type"]),
            "claim_filed_date": days_to_str(v["filed"], "ymd"),
            "benefit_year_begin": days_to_str(v["byb"], "ymd"),
            "weekly_benefit_amount": np.char.zfill(v["wba_cents"].astype(str).to_numpy(dtype=str), 7).astype(
                object
            ),
            "employer_fein": _s(employers.fein[emp]),
            "employer_naics": _s(employers.naics[emp]),
            "separation_reason": _s(v["separation_reason"]),
            "profiling_score": np.char.zfill(v["profiling_score"].astype(str).to_numpy(dtype=str), 3).astype(
                object
            ),
            "resea_selected": _s(v["resea"]),
            "last_payment_date": days_to_str(v["last_paid"], "ymd", "00000000"),
            "exhausted": _s(v["exhausted"]),
            "status": _s(v["status"]),
            "last_updated": ts_to_str(v["ts"], "ymd", "compact", ""),
        }
    if name == "wp_registrations":
        pid = v["person_id"].to_numpy(dtype=np.int64)
        real = pid >= 0
        p = people.iloc[np.where(real, pid, 0)]
        hisp = np.where(p["hispanic"].to_numpy(), "Yes", "No").astype(object)
        hisp[rng.random(n) < 0.04] = "Did Not Self-Identify"
        dis = (
            p["disability"].map({"Y": "Yes", "N": "No", "U": "Did Not Self-Identify"}).to_numpy(dtype=object)
        )
        edu = np.asarray(EDUCATION_TEXT, dtype=object)[p["education"].to_numpy(dtype=np.int64)]
        race = _s(p["race"])
        vet = np.where(p["veteran"].to_numpy(), "Yes", "No").astype(object)
        for arr, default in (
            (hisp, "Did Not Self-Identify"),
            (dis, "Did Not Self-Identify"),
            (edu, "High School Diploma"),
            (race, ""),
            (vet, "No"),
        ):
            arr[~real] = default
        return {
            "Individual ID": _s(v["individual_id"]),
            "Hispanic": hisp,
            "Race": race,
            "Veteran": vet,
            "Disability": dis,
            "Education Level": edu,
            "Employment Status": _s(v["employment_status"]),
            "UI Claimant": _s(v["ui_claimant"]),
            "Registration Date": days_to_str(v["registered"], "mdy"),
            "Record Status": _s(v["status"]),
            "Last Updated": ts_to_str(v["ts"], "mdy", "24h", " "),
        }
    if name == "wp_services":
        return {
            "Service ID": _s(v["service_id"]),
            "Individual ID": _s(v["individual_id"]),
            "Service Code": _s(v["code"]),
            "Service Date": days_to_str(v["service_day"], "mdy"),
            "Staff Assisted": _s(v["staff"]),
            "Office": _s(v["office"]),
            "Record Status": _s(v["status"]),
            "Last Updated": ts_to_str(v["ts"], "mdy", "24h", " "),
        }
    if name == "t1_participation":
        return {
            "participation_id": _s(v["participation_id"]),
            "participant_id": _s(v["participant_id"]),
            "program": _s(v["program"]),
            "disability": _s(v["disability"]),
            "veteran": _s(v["veteran"]),
            "employment_status_at_entry": _s(v["employment_status"]),
            "low_income": _s(v["low_income"]),
            "highest_education": _s(v["education"]),
            "youth_in_school": _s(v["youth_in_school"]),
            "entry_date": days_to_str(v["entry"], "iso"),
            "exit_date": days_to_str(v["exit"], "iso"),
            "exit_reason": _s(v["exit_reason"]),
            "training_type": _s(v["training_type"]),
            "training_start_date": days_to_str(v["training_start"], "iso"),
            "training_end_date": days_to_str(v["training_end"], "iso"),
            "record_status": _s(v["status"]),
            "updated_at": ts_to_str(v["ts"], "iso", "24h", "T"),
        }
    if name == "t1_outcomes":
        return {
            "outcome_id": _s(v["outcome_id"]),
            "participation_id": _s(v["participation_id"]),
            "outcome_type": _s(v["type"]),
            "outcome_code": _s(v["code"]),
            "outcome_date": days_to_str(v["day"], "iso"),
            "record_status": _s(v["status"]),
            "updated_at": ts_to_str(v["ts"], "iso", "24h", "T"),
        }
    if name == "vr_cases":
        return {
            "CASE_ID": _s(v["case_id"]),
            "CLIENT_ID": _s(v["client_id"]),
            "APPLICATION_DT": days_to_str(v["application"], "ymd"),
            "ELIGIBILITY_DT": days_to_str(v["eligibility"], "ymd"),
            "OOS_CATEGORY": _s(v["oos"]),
            "WAITLIST_START_DT": days_to_str(v["wait_start"], "ymd"),
            "WAITLIST_END_DT": days_to_str(v["wait_end"], "ymd"),
            "IPE_DT": days_to_str(v["ipe"], "ymd"),
            "SERVICE_START_DT": days_to_str(v["service_start"], "ymd"),
            "CLOSURE_DT": days_to_str(v["closure"], "ymd"),
            "CLOSURE_TYPE": _s(v["closure_type"].fillna("")),
            "CLOSURE_REASON": _s(v["closure_reason"].fillna("")),
            "PRIMARY_IMPAIRMENT": _s(v["impairment"]),
            "EDUCATION_TRAINING": _s(v["edu_training"]),
            "STATUS": _s(v["status"]),
            "UPDATE_TS": ts_to_str(v["ts"], "ymd", "compact", ""),
        }
    if name == "vr_outcomes":
        return {
            "OUTCOME_ID": _s(v["outcome_id"]),
            "CASE_ID": _s(v["case_id"]),
            "TYPE": _s(v["type"]),
            "CODE": _s(v["code"]),
            "OUTCOME_DT": days_to_str(v["day"], "ymd"),
            "STATUS": _s(v["status"]),
            "UPDATE_TS": ts_to_str(v["ts"], "ymd", "compact", ""),
        }
    if name == "ae_students":
        return {
            "StudentID": _s(v["student_id"]),
            "ProgramType": _s(v["program_type"]),
            "HighestGradeAtEntry": _s(v["grade"].astype(str)),
            "DiplomaAtEntry": _s(v["diploma"]),
            "Section225": _s(v["s225"]),
            "Status": _s(v["status"]),
            "LastModified": ts_to_str(v["ts"], "mdy_short", "12h", " "),
        }
    if name == "ae_attendance":
        return {
            "StudentID": _s(v["student_id"]),
            "ClassID": _s(v["class_id"]),
            "ClassDate": days_to_str(v["day"], "mdy_short"),
            "Hours": _s(v["hours"].map("{:.1f}".format)),
        }
    if name == "ae_assessments":
        return {
            "AssessmentID": _s(v["assessment_id"]),
            "StudentID": _s(v["student_id"]),
            "TestDate": days_to_str(v["day"], "mdy_short"),
            "Instrument": _s(v["instrument"]),
            "ScaleScore": _s(v["score"].astype(str)),
            "EFL": _s(v["efl"].astype(str)),
        }
    if name == "ae_outcomes":
        return {
            "OutcomeID": _s(v["outcome_id"]),
            "StudentID": _s(v["student_id"]),
            "OutcomeType": _s(v["type"]),
            "OutcomeDate": days_to_str(v["day"], "mdy_short"),
            "CredentialCode": _s(v["credential"]),
            "Status": _s(v["status"]),
            "LastModified": ts_to_str(v["ts"], "mdy_short", "12h", " "),
        }
    raise ValueError(name)
