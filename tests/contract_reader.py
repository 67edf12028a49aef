"""An independent reader and checker of a landing zone, written from the source contract only.

The contract is `shared/extracts/README.md` (12 file types of 5 systems). This module is
deliberately independent of `synthetic/` (the generator) and of the pipeline's own layouts:
it is the second, separately written reading of the contract that the test suite holds the
generator's output against, byte for byte.

Two classes of problems are reported:

* **file level** (`Violation.kind == "file"`): anything that makes a whole delivery
  unloadable or malformed as a file: unknown names, folder/file date mismatch, encoding
  and byte-order mark, line endings, header/trailer records, header row, `.ctl` content,
  record counts, digests and control totals;
* **record level** (every other `kind`): one physical line that the pipeline must set
  aside (wrong field count or record length, undecodable bytes, a stray quote, a missing
  key, an unreadable event date, code or amount), plus `bad_value` for an identity or
  free-text value that does not even fit (control characters).

Identity fields (SSN, names, birth date, sex/gender, address, city, state, ZIP, phone,
email) only have to fit: they may carry typos, OCR slips, impossible dates or blanks.
Event fields must be readable. Which is which, and which event fields may be blank, is
declared in one table per file type below.

Lines are numbered 1-based and physically (the header row or header record is line 1).
Every data file is read line by line: no field may contain a line break, so a stray quote
can never swallow the following lines.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final, Literal

__all__ = [
    "DELIMITED_TYPES",
    "FILE_TYPES",
    "FIXED_TYPES",
    "NIGHTLY_SYSTEMS",
    "RECORD_KINDS",
    "SYSTEMS",
    "FileResult",
    "FileType",
    "LandingResult",
    "Row",
    "Violation",
    "check_landing",
]

UTF8_BOM: Final = b"\xef\xbb\xbf"
MIN_EVENT_YEAR: Final = 1900
MAX_EVENT_YEAR: Final = 2099

#: Record-level kinds (the generator's fault vocabulary, plus `bad_value`).
RECORD_KINDS: Final = frozenset(
    {
        "field_count",
        "encoding",
        "bad_date",
        "bad_code",
        "bad_amount",
        "unbalanced_quote",
        "missing_key",
        "record_length",
        "bad_value",
    }
)

Problem = tuple[str, str]  # (kind, message)


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Violation:
    """One problem: `path` relative to the landing root (`/`-separated), 1-based physical line
    (0 when the problem is about the file as a whole), the field (a column name, or a
    `<pseudo-field>` such as `<header>`, `<trailer>`, `<line ending>`, `<encoding>`,
    `<record>`, `<file>`; for a `.ctl` the key), a message and the kind."""

    path: str
    line: int
    field: str
    message: str
    kind: str = "file"

    @property
    def level(self) -> Literal["file", "record"]:
        return "file" if self.kind == "file" else "record"

    def as_tuple(self) -> tuple[str, int, str, str]:
        return (self.path, self.line, self.field, self.message)


@dataclass(frozen=True)
class Row:
    """One data row that passed every check (kept only with `keep_rows=True`)."""

    line: int
    values: Mapping[str, str]


@dataclass
class FileResult:
    path: str
    system: str
    file_type: str
    folder: str
    size: int
    sha256: str
    records: int = 0
    declared_records: int | None = None
    extract_type: str | None = None
    ctl_path: str | None = None
    declared_sha256: str | None = None
    total_cents: int | None = None
    declared_total_cents: int | None = None
    unreadable_amounts: int = 0
    trailing_blank_lines: int = 0
    rows: list[Row] = field(default_factory=list)

    @property
    def count_ok(self) -> bool:
        return self.declared_records == self.records

    @property
    def digest_ok(self) -> bool | None:
        """None for fixed-width files (no control file)."""
        if self.ctl_path is None:
            return None
        return self.declared_sha256 == self.sha256

    @property
    def total_ok(self) -> bool | None:
        """Wages only; None when not applicable or not verifiable (unreadable wage fields)."""
        if self.declared_total_cents is None or self.total_cents is None or self.unreadable_amounts:
            return None
        return self.declared_total_cents == self.total_cents


@dataclass
class LandingResult:
    root: Path
    files: list[FileResult] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    @property
    def file_violations(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "file"]

    @property
    def record_violations(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "record"]

    def flagged_lines(self) -> set[tuple[str, int]]:
        """(path, line) of every record-level violation."""
        return {(v.path, v.line) for v in self.record_violations}

    def kinds_by_line(self) -> dict[tuple[str, int], set[str]]:
        out: dict[tuple[str, int], set[str]] = {}
        for v in self.record_violations:
            out.setdefault((v.path, v.line), set()).add(v.kind)
        return out

    def by_type(self) -> dict[str, list[FileResult]]:
        out: dict[str, list[FileResult]] = {}
        for f in self.files:
            out.setdefault(f.file_type, []).append(f)
        return out


# --------------------------------------------------------------------------------------
# Date and timestamp formats (one per system habit)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fmt:
    """A date or timestamp format; named groups y, mo, d and optionally H (24 h) or h + ampm
    (12 h), mi, s, oh/om (UTC offset). Dates must exist and lie in MIN..MAX_EVENT_YEAR."""

    label: str
    regex: re.Pattern[str]

    def valid(self, value: str) -> bool:
        m = self.regex.fullmatch(value)
        if m is None:
            return False
        g = m.groupdict()
        year = int(g["y"])
        if not MIN_EVENT_YEAR <= year <= MAX_EVENT_YEAR:
            return False
        try:
            date(year, int(g["mo"]), int(g["d"]))
        except ValueError:
            return False
        if g.get("H") is not None and int(g["H"]) > 23:
            return False
        if g.get("h") is not None and not 1 <= int(g["h"]) <= 12:
            return False
        for part in ("mi", "s", "om"):
            if g.get(part) is not None and int(g[part]) > 59:
                return False
        return not (g.get("oh") is not None and int(g["oh"]) > 23)


def _fmt(label: str, pattern: str) -> Fmt:
    return Fmt(label, re.compile(pattern))


YMD = _fmt("YYYYMMDD", r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})")
YMDHMS = _fmt("YYYYMMDDHHMMSS", r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?P<H>\d{2})(?P<mi>\d{2})(?P<s>\d{2})")
US_DATE = _fmt("MM/DD/YYYY", r"(?P<mo>\d{2})/(?P<d>\d{2})/(?P<y>\d{4})")
US_STAMP = _fmt(
    "MM/DD/YYYY HH:MM:SS", r"(?P<mo>\d{2})/(?P<d>\d{2})/(?P<y>\d{4}) (?P<H>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})"
)
ISO_DATE = _fmt("YYYY-MM-DD", r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})")
ISO_STAMP = _fmt(
    "ISO 8601 YYYY-MM-DDTHH:MM:SS[.f][Z|+hh:mm]",
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})T(?P<H>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:\.\d{1,6})?"
    r"(?:Z|[+-](?P<oh>\d{2}):(?P<om>\d{2}))?",
)
AE_DATE = _fmt("M/D/YYYY", r"(?P<mo>[1-9]|1[0-2])/(?P<d>[1-9]|[12]\d|3[01])/(?P<y>\d{4})")
AE_STAMP = _fmt(
    "M/D/YYYY h:mm:ss AM",
    r"(?P<mo>[1-9]|1[0-2])/(?P<d>[1-9]|[12]\d|3[01])/(?P<y>\d{4}) "
    r"(?P<h>[1-9]|1[0-2]):(?P<mi>\d{2}):(?P<s>\d{2}) (?:AM|PM)",
)


# --------------------------------------------------------------------------------------
# Field rules
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ctx:
    """What a rule may know about the file besides the row."""

    folder: str
    year: int | None = None
    quarter: int | None = None


class Rule:
    """A field rule; `check` returns None when the value is acceptable."""

    identity: bool = False

    def check(self, value: str, row: Mapping[str, str], ctx: Ctx) -> Problem | None:
        raise NotImplementedError


@dataclass(frozen=True)
class Identity(Rule):
    """Identity field: kept as delivered; only has to fit (checked for every field)."""

    identity: bool = True

    def check(self, value: str, row: Mapping[str, str], ctx: Ctx) -> Problem | None:
        return None


@dataclass(frozen=True)
class Text(Rule):
    """Descriptive field with no format in the contract (FEIN, NAICS, office): only has to fit."""

    def check(self, value: str, row: Mapping[str, str], ctx: Ctx) -> Problem | None:
        return None


@dataclass(frozen=True)
class Key(Rule):
    """A key or key part: must not be blank."""

    def check(self, value: str, row: Mapping[str, str], ctx: Ctx) -> Problem | None:
        return ("missing_key", "key is blank") if not value.strip() else None


@dataclass(frozen=True)
class Const(Rule):
    value: str

    def check(self, value: str, row: Mapping[str, str], ctx: Ctx) -> Problem | None:
        return (
            None if value == self.value else ("bad_code", f"record type {value!r}, expected {self.value!r}")
        )


@dataclass(frozen=True)
class When(Rule):
    """Date or timestamp in `fmt`. `optional`: may be blank (empty);
    `zero_ok`: `00000000` means none; `blank_if`: must be blank when another column holds
    one of the given values; `key`: blank is a missing key."""

    fmt: Fmt
    optional: bool = False
    zero_ok: bool = False
    blank_if: tuple[str, frozenset[str]] | None = None
    key: bool = False

    def check(self, value: str, row: Mapping[str, str], ctx: Ctx) -> Problem | None:
        if self.blank_if is not None and row.get(self.blank_if[0]) in self.blank_if[1]:
            if value:
                return ("bad_date", f"must be blank when {self.blank_if[0]} is {row[self.blank_if[0]]}")
            return None
        if value == "":
            if self.optional:
                return None
            return ("missing_key", "key is blank") if self.key else ("bad_date", "required date is blank")
        if self.zero_ok and value == "0" * len(value):
            return None
        return None if self.fmt.valid(value) else ("bad_date", f"{value!r} is not a valid {self.fmt.label}")


@dataclass(frozen=True)
class Code(Rule):
    values: frozenset[str]
    optional: bool = False

    def check(self, value: str, row: Mapping[str, str], ctx: Ctx) -> Problem | None:
        if value in self.values or (self.optional and value == ""):
            return None
        return (
            "bad_code",
            f"{value!r} not in {sorted(self.values)}" + (" or blank" if self.optional else ""),
        )


@dataclass(frozen=True)
class CodeList(Rule):
    """A `sep`-separated list of codes (items stripped); blank allowed when optional."""

    values: frozenset[str]
    sep: str = ";"
    optional: bool = True

    def check(self, value: str, row: Mapping[str, str], ctx: Ctx) -> Problem | None:
        if not value:
            return None if self.optional else ("bad_code", "required list is blank")
        bad = [item for item in value.split(self.sep) if item.strip() not in self.values]
        return ("bad_code", f"items {bad!r} not in {sorted(self.values)}") if bad else None


@dataclass(frozen=True)
class CodeBy(Rule):
    """A code whose set depends on another column. Controller values in `sets` require a code
    from that set; other values of `domain` require a blank; a controller outside `domain`
    is reported on the controller itself, not here."""

    controller: str
    sets: Mapping[str, frozenset[str]]
    domain: frozenset[str]

    def check(self, value: str, row: Mapping[str, str], ctx: Ctx) -> Problem | None:
        ctl = row.get(self.controller, "")
        if ctl not in self.domain:
            return None
        allowed = self.sets.get(ctl)
        if allowed is None:
            return None if value == "" else ("bad_code", f"must be blank when {self.controller} is {ctl}")
        return None if value in allowed else ("bad_code", f"{value!r} not in {sorted(allowed)} for {ctl}")


@dataclass(frozen=True)
class Number(Rule):
    """An amount, score or count: matches `pattern` (digits; implied decimals in fixed width)
    and, read as a number, lies in [lo, hi]. `kind` is the problem kind."""

    pattern: str = r"\d+"
    lo: float | None = None
    hi: float | None = None
    kind: str = "bad_amount"

    def check(self, value: str, row: Mapping[str, str], ctx: Ctx) -> Problem | None:
        if not re.fullmatch(self.pattern, value):
            return (self.kind, f"{value!r} is not a number of the form {self.pattern}")
        number = float(value)
        if (self.lo is not None and number < self.lo) or (self.hi is not None and number > self.hi):
            return (self.kind, f"{value} outside [{self.lo}, {self.hi}]")
        return None


@dataclass(frozen=True)
class Period(Rule):
    """Wage year or quarter: must be the file's own quarter (wage files are whole quarters)."""

    part: Literal["year", "quarter"]

    def check(self, value: str, row: Mapping[str, str], ctx: Ctx) -> Problem | None:
        expected = ctx.year if self.part == "year" else ctx.quarter
        if expected is None or value != str(expected).zfill(4 if self.part == "year" else 1):
            return ("bad_date", f"{self.part} {value!r} is not the file's quarter {ctx.folder}")
        return None


def _codes(*values: str) -> frozenset[str]:
    return frozenset(values)


IDENTITY = Identity()
TEXT = Text()
KEY = Key()
YN = _codes("Y", "N")
YES_NO = _codes("Yes", "No")
YES_NO_DNSI = _codes("Yes", "No", "Did Not Self-Identify")
T1_CREDENTIAL = _codes("1", "2", "3", "4", "5", "6", "7")
T1_SKILL_GAIN = _codes("1", "2", "3", "4", "5")
T1_POST_EXIT = _codes("1", "2", "3")
T1_EXIT_REASON = _codes("00", "01", "02", "03", "05", "06")


# --------------------------------------------------------------------------------------
# Layouts: one declarative table per file type
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedField:
    name: str
    start: int  # 1-based
    length: int
    rule: Rule


@dataclass(frozen=True)
class Column:
    name: str
    rule: Rule


@dataclass(frozen=True)
class FileType:
    name: str
    system: str
    pattern: re.Pattern[str]  # exact file name; group "stamp" = the folder name
    encoding: str  # Python codec, strict
    bom: bool  # UTF-8 byte-order mark required (True) or forbidden (False)
    crlf: bool
    record_length: int | None = None  # fixed width
    fixed: tuple[FixedField, ...] = ()
    delimiter: str | None = None  # delimited
    quoting: bool = False  # RFC 4180 quoting (CSV)
    columns: tuple[Column, ...] = ()

    @property
    def is_fixed(self) -> bool:
        return self.record_length is not None


UI_CLAIMS = (
    FixedField("record type", 1, 1, Const("D")),
    FixedField("claim id", 2, 12, KEY),
    FixedField("ssn", 14, 9, IDENTITY),
    FixedField("last name", 23, 20, IDENTITY),
    FixedField("first name", 43, 15, IDENTITY),
    FixedField("middle initial", 58, 1, IDENTITY),
    FixedField("name suffix", 59, 3, IDENTITY),
    FixedField("birth date", 62, 8, IDENTITY),
    FixedField("sex", 70, 1, IDENTITY),
    FixedField("street", 71, 30, IDENTITY),
    FixedField("city", 101, 20, IDENTITY),
    FixedField("state", 121, 2, IDENTITY),
    FixedField("zip5", 123, 5, IDENTITY),
    FixedField("zip4", 128, 4, IDENTITY),
    FixedField("phone", 132, 10, IDENTITY),
    FixedField("claim type", 142, 1, Code(_codes("N", "A", "T"))),
    FixedField("claim filed date", 143, 8, When(YMD)),
    FixedField("benefit year begin", 151, 8, When(YMD)),
    FixedField("weekly benefit amount", 159, 7, Number(r"\d{7}")),
    FixedField("separating employer FEIN", 166, 9, TEXT),
    FixedField("separating employer NAICS", 175, 6, TEXT),
    FixedField("separation reason", 181, 2, Code(_codes("LW", "VQ", "DM", "OT"))),
    FixedField("profiling score", 183, 3, Number(r"\d{3}", 0, 100)),
    FixedField("RESEA selected", 186, 1, Code(YN)),
    FixedField("last payment date", 187, 8, When(YMD, zero_ok=True)),
    FixedField("exhausted", 195, 1, Code(YN)),
    FixedField("status", 196, 1, Code(_codes("A", "D"))),
    FixedField("last updated", 197, 14, When(YMDHMS)),
)

UI_WAGES = (
    FixedField("record type", 1, 1, Const("W")),
    FixedField("ssn", 2, 9, IDENTITY),
    FixedField("last name", 11, 20, IDENTITY),
    FixedField("first name", 31, 12, IDENTITY),
    FixedField("middle initial", 43, 1, IDENTITY),
    FixedField("employer UI account", 44, 10, KEY),
    FixedField("employer FEIN", 54, 9, TEXT),
    FixedField("employer NAICS", 63, 6, TEXT),
    FixedField("year", 69, 4, Period("year")),
    FixedField("quarter", 73, 1, Period("quarter")),
    FixedField("wages", 74, 11, Number(r"\d{11}")),
)

WP_REGISTRATIONS = (
    Column("Individual ID", KEY),
    Column("SSN", IDENTITY),
    Column("First Name", IDENTITY),
    Column("Middle Name", IDENTITY),
    Column("Last Name", IDENTITY),
    Column("Suffix", IDENTITY),
    Column("Date of Birth", IDENTITY),
    Column("Gender", IDENTITY),
    Column("Hispanic", Code(YES_NO_DNSI)),
    Column(
        "Race",
        CodeList(
            _codes(
                "American Indian or Alaska Native",
                "Asian",
                "Black or African American",
                "Native Hawaiian or Other Pacific Islander",
                "White",
            )
        ),
    ),
    Column("Veteran", Code(YES_NO)),
    Column("Disability", Code(YES_NO_DNSI)),
    Column("Address", IDENTITY),
    Column("City", IDENTITY),
    Column("State", IDENTITY),
    Column("ZIP", IDENTITY),
    Column("Phone", IDENTITY),
    Column("Email", IDENTITY),
    Column(
        "Education Level",
        Code(
            _codes(
                "Less than High School",
                "High School Diploma",
                "High School Equivalency",
                "Some College",
                "Associate Degree",
                "Bachelor Degree",
                "Advanced Degree",
            )
        ),
    ),
    Column(
        "Employment Status",
        Code(
            _codes(
                "Employed",
                "Employed, Received Notice of Termination",
                "Not in Labor Force",
                "Unemployed",
            )
        ),
    ),
    Column("UI Claimant", Code(YES_NO)),
    Column("Registration Date", When(US_DATE)),
    Column("Record Status", Code(_codes("Active", "Deleted"))),
    Column("Last Updated", When(US_STAMP)),
)

WP_SERVICES = (
    Column("Service ID", KEY),
    Column("Individual ID", KEY),
    Column(
        "Service Code",
        Code(
            _codes("001", "002", "101", "102", "103", "104", "105", "106", "110", "120", "121", "122", "190")
        ),
    ),
    Column("Service Date", When(US_DATE)),
    Column("Staff Assisted", Code(YN)),
    Column("Office", TEXT),
    Column("Record Status", Code(_codes("Active", "Deleted"))),
    Column("Last Updated", When(US_STAMP)),
)

T1_PARTICIPATION = (
    Column("participation_id", KEY),
    Column("participant_id", KEY),
    Column("program", Code(_codes("ADULT", "DW", "YOUTH"))),
    Column("ssn", IDENTITY),
    Column("first_name", IDENTITY),
    Column("middle_name", IDENTITY),
    Column("last_name", IDENTITY),
    Column("birth_date", IDENTITY),
    Column("sex", IDENTITY),
    Column("disability", Code(_codes("1", "0", "9"))),
    Column("veteran", Code(_codes("1", "0"))),
    Column("street", IDENTITY),
    Column("city", IDENTITY),
    Column("state", IDENTITY),
    Column("zip", IDENTITY),
    Column("phone", IDENTITY),
    Column("email", IDENTITY),
    Column("employment_status_at_entry", Code(_codes("0", "1", "2", "3"))),
    Column("low_income", Code(_codes("1", "0"))),
    Column("highest_education", Code(_codes("0", "1", "2", "3", "4", "5", "6"))),
    Column(
        "youth_in_school",
        CodeBy("program", {"YOUTH": _codes("1", "0")}, _codes("ADULT", "DW", "YOUTH")),
    ),
    Column("entry_date", When(ISO_DATE)),
    Column("exit_date", When(ISO_DATE, optional=True)),
    Column("exit_reason", Code(T1_EXIT_REASON, optional=True)),
    Column("training_type", Code(_codes("00", "01", "02", "03", "04", "05", "06", "07"))),
    Column("training_start_date", When(ISO_DATE, optional=True)),
    Column("training_end_date", When(ISO_DATE, optional=True)),
    Column("record_status", Code(_codes("A", "D"))),
    Column("updated_at", When(ISO_STAMP)),
)

T1_OUTCOME_TYPES = _codes("CREDENTIAL", "SKILL_GAIN", "POST_EXIT_EDUCATION")
T1_OUTCOMES = (
    Column("outcome_id", KEY),
    Column("participation_id", KEY),
    Column("outcome_type", Code(T1_OUTCOME_TYPES)),
    Column(
        "outcome_code",
        CodeBy(
            "outcome_type",
            {"CREDENTIAL": T1_CREDENTIAL, "SKILL_GAIN": T1_SKILL_GAIN, "POST_EXIT_EDUCATION": T1_POST_EXIT},
            T1_OUTCOME_TYPES,
        ),
    ),
    Column("outcome_date", When(ISO_DATE)),
    Column("record_status", Code(_codes("A", "D"))),
    Column("updated_at", When(ISO_STAMP)),
)

VR_CASES = (
    Column("CASE_ID", KEY),
    Column("CLIENT_ID", KEY),
    Column("SSN", IDENTITY),
    Column("CLIENT_NAME", IDENTITY),
    Column("DOB", IDENTITY),
    Column("GENDER", IDENTITY),
    Column("ADDR", IDENTITY),
    Column("CITY", IDENTITY),
    Column("ST", IDENTITY),
    Column("ZIP", IDENTITY),
    Column("PHONE", IDENTITY),
    Column("APPLICATION_DT", When(YMD)),
    Column("ELIGIBILITY_DT", When(YMD, optional=True)),
    Column("OOS_CATEGORY", Code(_codes("0", "1", "2", "3"))),
    Column("WAITLIST_START_DT", When(YMD, optional=True)),
    Column("WAITLIST_END_DT", When(YMD, optional=True)),
    Column("IPE_DT", When(YMD, optional=True)),
    Column("SERVICE_START_DT", When(YMD, optional=True, blank_if=("CLOSURE_TYPE", _codes("7")))),
    Column("CLOSURE_DT", When(YMD, optional=True)),
    Column("CLOSURE_TYPE", Code(_codes("1", "2", "3", "4", "5", "6", "7"), optional=True)),
    Column("CLOSURE_REASON", Code(T1_EXIT_REASON | {"04"}, optional=True)),
    Column("PRIMARY_IMPAIRMENT", Number(r"\d{2}", kind="bad_code")),
    Column("EDUCATION_TRAINING", Code(YN)),
    Column("STATUS", Code(_codes("A", "D"))),
    Column("UPDATE_TS", When(YMDHMS)),
)

VR_OUTCOME_TYPES = _codes("CRED", "MSG")
VR_OUTCOMES = (
    Column("OUTCOME_ID", KEY),
    Column("CASE_ID", KEY),
    Column("TYPE", Code(VR_OUTCOME_TYPES)),
    Column("CODE", CodeBy("TYPE", {"CRED": T1_CREDENTIAL | {"8"}, "MSG": T1_SKILL_GAIN}, VR_OUTCOME_TYPES)),
    Column("OUTCOME_DT", When(YMD)),
    Column("STATUS", Code(_codes("A", "D"))),
    Column("UPDATE_TS", When(YMDHMS)),
)

AE_STUDENTS = (
    Column("StudentID", KEY),
    Column("SSN", IDENTITY),
    Column("LastName", IDENTITY),
    Column("FirstName", IDENTITY),
    Column("MiddleInitial", IDENTITY),
    Column("BirthDate", IDENTITY),
    Column("Gender", IDENTITY),
    Column("Address", IDENTITY),
    Column("City", IDENTITY),
    Column("State", IDENTITY),
    Column("Zip", IDENTITY),
    Column("Phone", IDENTITY),
    Column("Email", IDENTITY),
    Column("ProgramType", Code(_codes("ABE", "ASE", "ESL", "IET"))),
    Column("HighestGradeAtEntry", Code(frozenset(str(grade) for grade in range(13)))),
    Column("DiplomaAtEntry", Code(YN)),
    Column("Section225", Code(YN)),
    Column("Status", Code(_codes("Active", "Deleted"))),
    Column("LastModified", When(AE_STAMP)),
)

AE_ATTENDANCE = (
    Column("StudentID", KEY),
    Column("ClassID", KEY),
    Column("ClassDate", When(AE_DATE, key=True)),
    Column("Hours", Number(r"\d+(?:\.\d+)?", 0, 24)),
)

AE_ASSESSMENTS = (
    Column("AssessmentID", KEY),
    Column("StudentID", KEY),
    Column("TestDate", When(AE_DATE)),
    Column(
        "Instrument", Code(_codes("CASAS Reading", "CASAS Math", "TABE Reading", "TABE Math", "BEST Plus"))
    ),
    Column("ScaleScore", Number(r"\d+")),
    Column("EFL", Code(_codes("1", "2", "3", "4", "5", "6"))),
)

AE_OUTCOME_TYPES = _codes("HSE", "DIPLOMA", "POSTSECONDARY_ENROLLMENT", "CREDENTIAL")
AE_OUTCOMES = (
    Column("OutcomeID", KEY),
    Column("StudentID", KEY),
    Column("OutcomeType", Code(AE_OUTCOME_TYPES)),
    Column("OutcomeDate", When(AE_DATE)),
    Column("CredentialCode", CodeBy("OutcomeType", {"CREDENTIAL": T1_CREDENTIAL}, AE_OUTCOME_TYPES)),
    Column("Status", Code(_codes("Active", "Deleted"))),
    Column("LastModified", When(AE_STAMP)),
)

_DAY = r"(?P<stamp>\d{8})"


def _name(prefix: str, suffix: str, stamp: str = _DAY) -> re.Pattern[str]:
    return re.compile(re.escape(prefix) + stamp + re.escape(suffix))


def _csv(name: str, system: str, prefix: str, columns: tuple[Column, ...]) -> FileType:
    return FileType(
        name,
        system,
        _name(prefix, ".csv"),
        "utf-8",
        False,
        False,
        delimiter=",",
        quoting=True,
        columns=columns,
    )


def _vr(name: str, prefix: str, columns: tuple[Column, ...]) -> FileType:
    return FileType(name, "vr", _name(prefix, ".TXT"), "cp1252", False, True, delimiter="|", columns=columns)


def _ae(name: str, prefix: str, columns: tuple[Column, ...]) -> FileType:
    return FileType(
        name, "adult_ed", _name(prefix, ".tsv"), "utf-8", True, False, delimiter="\t", columns=columns
    )


FILE_TYPES: Final[tuple[FileType, ...]] = (
    FileType("ui_claims", "ui", _name("UICLM.", ".DAT"), "ascii", False, False, 210, UI_CLAIMS),
    FileType(
        "ui_wages",
        "ui_wages",
        _name("UIWAGE.", ".DAT", r"(?P<stamp>\d{4}Q[1-4])"),
        "ascii",
        False,
        False,
        84,
        UI_WAGES,
    ),
    _csv("wp_registrations", "wp", "wp_registrations_", WP_REGISTRATIONS),
    _csv("wp_services", "wp", "wp_services_", WP_SERVICES),
    _csv("t1_participation", "title1", "t1_participation_", T1_PARTICIPATION),
    _csv("t1_outcomes", "title1", "t1_outcomes_", T1_OUTCOMES),
    _vr("vr_cases", "VR_CASES_", VR_CASES),
    _vr("vr_outcomes", "VR_OUTCOMES_", VR_OUTCOMES),
    _ae("ae_students", "ae_students_", AE_STUDENTS),
    _ae("ae_attendance", "ae_attendance_", AE_ATTENDANCE),
    _ae("ae_assessments", "ae_assessments_", AE_ASSESSMENTS),
    _ae("ae_outcomes", "ae_outcomes_", AE_OUTCOMES),
)
FIXED_TYPES: Final = tuple(t.name for t in FILE_TYPES if t.is_fixed)
DELIMITED_TYPES: Final = tuple(t.name for t in FILE_TYPES if not t.is_fixed)
SYSTEMS: Final = ("ui", "ui_wages", "wp", "title1", "vr", "adult_ed")
NIGHTLY_SYSTEMS: Final = ("ui", "wp", "title1", "vr", "adult_ed")
CTL_KEYS: Final = ("records", "sha256", "extract_type", "extract_date")


def _check_layouts() -> None:
    for ft in FILE_TYPES:
        if ft.is_fixed:
            pos = 1
            for f in ft.fixed:
                assert f.start == pos, (ft.name, f.name)
                pos += f.length
            assert pos - 1 == ft.record_length, ft.name


_check_layouts()

# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CSV_LINE = re.compile(r'(?:[^",]*|"(?:[^"]|"")*")(?:,(?:[^",]*|"(?:[^"]|"")*"))*')


class _Out:
    def __init__(self, result: LandingResult) -> None:
        self.result = result

    def add(self, path: str, line: int, fld: str, message: str, kind: str = "file") -> None:
        self.result.violations.append(Violation(path, line, fld, message, kind))


def _physical_lines(body: bytes, crlf: bool, rel: str, out: _Out) -> list[bytes]:
    """Split into physical lines without terminators; report line-ending problems (file level)."""
    if not body:
        return []
    parts = body.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    else:
        out.add(rel, len(parts), "<line ending>", "last line has no line terminator")
    lines: list[bytes] = []
    for number, raw in enumerate(parts, start=1):
        if crlf:
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            elif number < len(parts) or body.endswith(b"\n"):
                out.add(rel, number, "<line ending>", "line ends with LF only, expected CRLF")
        if b"\r" in raw:
            expected = "CRLF" if crlf else "LF"
            out.add(rel, number, "<line ending>", f"stray CR in line (line ends must be {expected})")
            raw = raw.replace(b"\r", b"")
        lines.append(raw)
    return lines


def _trailing_blanks(lines: Sequence[bytes]) -> int:
    n = 0
    while n < len(lines) and lines[len(lines) - 1 - n] == b"":
        n += 1
    return n


def _fit(value: str) -> Problem | None:
    if _CONTROL.search(value):
        return ("bad_value", f"control character in {value!r}")
    return None


def _validate(
    values: Mapping[str, str], rules: Iterable[tuple[str, Rule]], ctx: Ctx, rel: str, line: int, out: _Out
) -> bool:
    ok = True
    for name, rule in rules:
        value = values[name]
        problem = _fit(value) or rule.check(value, values, ctx)
        if problem is not None:
            out.add(rel, line, name, problem[1], problem[0])
            ok = False
    return ok


def _decode(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _split(text: str, ft: FileType) -> list[str] | None:
    """Fields of one line, or None for a stray/unbalanced quote (RFC 4180, CSV only)."""
    assert ft.delimiter is not None
    if not ft.quoting:
        return text.split(ft.delimiter)
    if not _CSV_LINE.fullmatch(text):
        return None
    return next(csv.reader([text], delimiter=ft.delimiter, strict=True))


def _check_delimited(
    ft: FileType, data: bytes, res: FileResult, ctx: Ctx, keep_rows: bool, out: _Out
) -> None:
    rel = res.path
    body = data
    if data.startswith(UTF8_BOM):
        body = data[len(UTF8_BOM) :]
        if not ft.bom:
            out.add(rel, 1, "<encoding>", "file starts with a UTF-8 byte-order mark; none expected")
    elif ft.bom:
        out.add(rel, 1, "<encoding>", "UTF-8 byte-order mark missing")
    lines = _physical_lines(body, ft.crlf, rel, out)
    res.trailing_blank_lines = _trailing_blanks(lines)
    if not lines:
        out.add(rel, 1, "<header>", "empty file: no header row")
        return
    names = [c.name for c in ft.columns]
    header_text = _decode(lines[0], ft.encoding)
    if header_text is None:
        out.add(rel, 1, "<encoding>", f"header row is not valid {ft.encoding}")
    else:
        header = _split(header_text, ft)
        if header != names:
            out.add(rel, 1, "<header>", f"header row {header!r} != contract {names!r}")
    data_lines = lines[1 : len(lines) - res.trailing_blank_lines] if len(lines) > 1 else []
    res.records = len(data_lines)
    rules = [(c.name, c.rule) for c in ft.columns]
    for number, raw in enumerate(data_lines, start=2):
        if raw == b"":
            out.add(rel, number, "<record>", "blank line inside the data", "field_count")
            continue
        text = _decode(raw, ft.encoding)
        if text is None:
            out.add(rel, number, "<record>", f"undecodable bytes (not {ft.encoding})", "encoding")
            continue
        fields = _split(text, ft)
        if fields is None:
            out.add(rel, number, "<record>", "unbalanced or stray quote (RFC 4180)", "unbalanced_quote")
            continue
        if len(fields) != len(names):
            out.add(rel, number, "<record>", f"{len(fields)} fields, expected {len(names)}", "field_count")
            continue
        values = dict(zip(names, fields, strict=True))
        if _validate(values, rules, ctx, rel, number, out) and keep_rows:
            res.rows.append(Row(number, values))


def _check_ctl(ctl: Path, res: FileResult, folder_day: date | None, out: _Out) -> None:
    rel = res.ctl_path or ""
    raw = ctl.read_bytes()
    text = _decode(raw, "ascii")
    if text is None:
        out.add(rel, 0, "<encoding>", "control file is not ASCII")
        return
    if not text.endswith("\n"):
        out.add(rel, len(text.split("\n")), "<line ending>", "last line has no LF")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if "\r" in line:
            out.add(rel, number, "<line ending>", "CR in control file (LF expected)")
    lines = [line.replace("\r", "") for line in lines]
    for extra in range(len(CTL_KEYS) + 1, len(lines) + 1):
        out.add(rel, extra, "<ctl>", f"unexpected line {lines[extra - 1]!r}; exactly {len(CTL_KEYS)} lines")
    for number, key in enumerate(CTL_KEYS, start=1):
        if number > len(lines):
            out.add(rel, number, key, f"missing line {key}=")
            continue
        got_key, sep, value = lines[number - 1].partition("=")
        if got_key != key or not sep:
            out.add(rel, number, key, f"line {lines[number - 1]!r}, expected {key}=<value>")
            continue
        if key == "records":
            if not re.fullmatch(r"\d+", value):
                out.add(rel, number, key, f"records={value!r} is not a count")
            else:
                res.declared_records = int(value)
                if res.declared_records != res.records:
                    out.add(rel, number, key, f"records={value} but the file has {res.records} data rows")
        elif key == "sha256":
            res.declared_sha256 = value
            if not re.fullmatch(r"[0-9a-f]{64}", value):
                out.add(rel, number, key, f"sha256={value!r} is not a lower-case hex SHA-256 digest")
            elif value != res.sha256:
                out.add(rel, number, key, f"sha256 {value} != digest of the data file {res.sha256}")
        elif key == "extract_type":
            if value not in ("DELTA", "FULL"):
                out.add(rel, number, key, f"extract_type={value!r}, expected DELTA or FULL")
            else:
                res.extract_type = value
        elif folder_day is None or value != folder_day.isoformat():
            out.add(rel, number, key, f"extract_date={value!r} != folder date {res.folder}")


def _fixed_header_trailer(
    ft: FileType, lines: list[bytes], res: FileResult, out: _Out
) -> tuple[str | None, str | None]:
    rel = res.path
    length = ft.record_length or 0
    texts: list[str | None] = []
    for number, label in ((1, "<header>"), (len(lines), "<trailer>")):
        raw = lines[number - 1]
        text = _decode(raw, "ascii")
        if text is None:
            out.add(rel, number, label, "not ASCII")
        elif len(raw) != length:
            out.add(rel, number, label, f"{label[1:-1]} record is {len(raw)} characters, expected {length}")
            text = None
        texts.append(text)
    return texts[0], texts[1]


def _check_fixed(ft: FileType, data: bytes, res: FileResult, ctx: Ctx, keep_rows: bool, out: _Out) -> None:
    rel = res.path
    length = ft.record_length or 0
    lines = _physical_lines(data, False, rel, out)
    res.trailing_blank_lines = _trailing_blanks(lines)
    lines = lines[: len(lines) - res.trailing_blank_lines]
    if len(lines) < 2:
        out.add(rel, 1, "<header>", "file needs a header and a trailer record")
        return
    header, trailer = _fixed_header_trailer(ft, lines, res, out)
    wages = ft.name == "ui_wages"
    if header is not None:
        if wages:
            expected = f"H{ctx.year:04d}{ctx.quarter}UIWAGE" if ctx.year and ctx.quarter else None
            if expected is None or header[:12] != expected or header[12:].strip(" "):
                out.add(rel, 1, "<header>", f"header {header.rstrip()!r}, expected {expected!r} + spaces")
        else:
            stamp = ctx.folder
            ok = header[:1] == "H" and header[1:9] == stamp and header[9:14] == "UICLM"
            if not ok or header[14:15] not in ("D", "F") or header[15:].strip(" "):
                out.add(
                    rel, 1, "<header>", f"header {header.rstrip()!r}, expected H{stamp}UICLM + D|F + spaces"
                )
            else:
                res.extract_type = "FULL" if header[14] == "F" else "DELTA"
    details = lines[1:-1]
    res.records = len(details)
    trailer_line = len(lines)
    if trailer is not None:
        tail = 25 if wages else 10
        pattern = r"T\d{9}\d{15}" if wages else r"T\d{9}"
        if not re.fullmatch(pattern, trailer[:tail]) or trailer[tail:].strip(" "):
            what = "T + count(9) + total(15)" if wages else "T + count(9)"
            out.add(rel, trailer_line, "<trailer>", f"trailer {trailer.rstrip()!r}, expected {what} + spaces")
        else:
            res.declared_records = int(trailer[1:10])
            if res.declared_records != res.records:
                out.add(
                    rel,
                    trailer_line,
                    "<trailer>",
                    f"trailer count {res.declared_records} != {res.records} records",
                )
            if wages:
                res.declared_total_cents = int(trailer[10:25])
    rules = [(f.name, f.rule) for f in ft.fixed]
    total = 0
    for number, raw in enumerate(details, start=2):
        if len(raw) != length:
            out.add(
                rel,
                number,
                "<record>",
                f"record is {len(raw)} characters, expected {length}",
                "record_length",
            )
            res.unreadable_amounts += int(wages)
            continue
        text = _decode(raw, "ascii")
        if text is None:
            out.add(rel, number, "<record>", "undecodable bytes (not ASCII)", "encoding")
            res.unreadable_amounts += int(wages)
            continue
        values = {f.name: text[f.start - 1 : f.start - 1 + f.length] for f in ft.fixed}
        ok = _validate(values, rules, ctx, rel, number, out)
        if wages:
            if re.fullmatch(r"\d{11}", values["wages"]):
                total += int(values["wages"])
            else:
                res.unreadable_amounts += 1
        if ok and keep_rows:
            res.rows.append(Row(number, values))
    if wages:
        res.total_cents = total
        if res.total_ok is False:
            out.add(
                rel,
                trailer_line,
                "<trailer>",
                f"trailer total {res.declared_total_cents} cents != sum of wages {total} cents",
            )


def _folder_day(folder: str) -> date | None:
    if not re.fullmatch(r"\d{8}", folder):
        return None
    try:
        return date(int(folder[:4]), int(folder[4:6]), int(folder[6:]))
    except ValueError:
        return None


def _check_folder(system: str, folder: Path, root: Path, keep_rows: bool, out: _Out) -> None:
    rel_folder = folder.relative_to(root).as_posix()
    name = folder.name
    types = [t for t in FILE_TYPES if t.system == system]
    if system == "ui_wages":
        day = None
        if not re.fullmatch(r"\d{4}Q[1-4]", name):
            out.add(rel_folder, 0, "<file>", "wage folder must be named YYYYQn")
            return
        ctx = Ctx(name, int(name[:4]), int(name[5]))
    else:
        day = _folder_day(name)
        if day is None:
            out.add(rel_folder, 0, "<file>", "folder must be named YYYYMMDD (a valid date)")
            return
        ctx = Ctx(name)
    entries = sorted(folder.iterdir())
    names = {e.name for e in entries}
    for entry in entries:
        rel = entry.relative_to(root).as_posix()
        if not entry.is_file():
            out.add(rel, 0, "<file>", "unexpected directory")
            continue
        if entry.name.endswith(".ctl"):
            data_name = entry.name[: -len(".ctl")]
            data_type = next((t for t in types if t.pattern.fullmatch(data_name)), None)
            if data_type is None or data_type.is_fixed or data_name not in names:
                out.add(rel, 0, "<file>", "control file without a delimited data file beside it")
            continue
        ft = next((t for t in types if t.pattern.fullmatch(entry.name)), None)
        if ft is None:
            out.add(rel, 0, "<file>", f"not a file of the {system} contract")
            continue
        match = ft.pattern.fullmatch(entry.name)
        assert match is not None
        if match.group("stamp") != name:
            out.add(rel, 0, "<file>", f"file date {match.group('stamp')} != folder {name}")
        data = entry.read_bytes()
        res = FileResult(rel, system, ft.name, name, len(data), hashlib.sha256(data).hexdigest())
        out.result.files.append(res)
        if ft.is_fixed:
            _check_fixed(ft, data, res, ctx, keep_rows, out)
            continue
        _check_delimited(ft, data, res, ctx, keep_rows, out)
        ctl = entry.with_name(entry.name + ".ctl")
        res.ctl_path = ctl.relative_to(root).as_posix()
        if ctl.is_file():
            _check_ctl(ctl, res, day, out)
        else:
            out.add(rel, 0, "<file>", f"control file {ctl.name} missing")


def check_landing(root: Path, *, keep_rows: bool = False) -> LandingResult:
    """Read every file under `root` (a landing-zone root) against the contract."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"landing zone not found: {root}")
    result = LandingResult(root)
    out = _Out(result)
    for system_dir in sorted(root.iterdir()):
        rel = system_dir.relative_to(root).as_posix()
        if not system_dir.is_dir() or system_dir.name not in SYSTEMS:
            out.add(rel, 0, "<file>", f"not a system folder ({', '.join(SYSTEMS)})")
            continue
        for folder in sorted(system_dir.iterdir()):
            if not folder.is_dir():
                out.add(folder.relative_to(root).as_posix(), 0, "<file>", "files belong in a dated folder")
                continue
            _check_folder(system_dir.name, folder, root, keep_rows, out)
    result.violations.sort()
    return result
