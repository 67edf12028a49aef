"""The landing zone: find the drops the five program systems delivered and verify them.

The contract (`shared/extracts/README.md`) lays the landing zone out as::

    <landing>/<system>/<YYYYMMDD>/<file>          nightly systems: ui, wp, title1, vr, adult_ed
    <landing>/ui_wages/<YYYY>Q<n>/UIWAGE.<YYYY>Q<n>.DAT

A *drop* is one such directory. Nothing of a drop may be loaded unless the whole drop is
complete and intact, so every file is verified before anything reads its rows:

* delimited files (CSV, pipe, tab) need their control file `<name>.ctl` with `records`,
  `sha256`, `extract_type` and `extract_date`; the digest and the data-row count (one row a
  line, header excluded, blank lines are not rows) must match, and the extract date must be
  the drop's;
* fixed-width files need their header (file tag, period) and trailer (detail-record count;
  for wages also the control total of the wage field, implied 2 decimals).

Names are checked exactly against the contract's patterns; anything else in a drop (a stray or
half-transferred file, a control file without its data file, a symlink leading out of the
landing root) rejects the drop with a reason naming the file. A drop whose every file
verified is VERIFIED; otherwise every file of it is REJECTED: the file at fault with what
mismatched, its siblings as held back.

No Dagster here: `assets.landing` wraps this module, the sensor uses `complete_drops`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Literal

import pyarrow as pa

__all__ = [
    "FILE_SPECS",
    "INVENTORY_SCHEMA",
    "SYSTEMS",
    "ControlFile",
    "ControlFileError",
    "DeliveredFile",
    "Drop",
    "DropArrival",
    "ExtractType",
    "FileSpec",
    "FixedWidthSummary",
    "LandingZoneError",
    "Status",
    "complete_drops",
    "count_delimited_records",
    "discover_drops",
    "inventory_table",
    "parse_control_file",
    "read_fixed_width_summary",
    "scan_delimited",
    "spec_for",
    "verify_drop",
]


class Status(StrEnum):
    VERIFIED = "VERIFIED"
    REJECTED = "REJECTED"


class ExtractType(StrEnum):
    DELTA = "DELTA"
    FULL = "FULL"
    QUARTER = "QUARTER"
    """Wage files: one whole quarter; a newer delivery of the quarter replaces it."""


class LandingZoneError(Exception):
    """The landing zone itself cannot be read (missing root, not a directory)."""


class ControlFileError(ValueError):
    """A control file is unreadable or lacks a required key."""


# --------------------------------------------------------------------------------------------
# The contract's file types


@dataclass(frozen=True)
class FileSpec:
    """One file type of the contract: its exact name and how its completeness is proven."""

    file_type: str
    system: str
    prefix: str
    suffix: str
    kind: Literal["fixed", "delimited"]
    quoted: bool = False
    """Delimited files whose fields may be quoted (RFC 4180 within a line: `"a, b"`, `""`)."""
    header_tag: str = ""
    """Fixed width: the file tag the header carries (`UICLM`, `UIWAGE`)."""
    control_total: bool = False
    """Fixed width: the trailer carries the total of the wage field (wages only)."""

    def file_name(self, period: str) -> str:
        return f"{self.prefix}{period}{self.suffix}"


SYSTEMS: tuple[str, ...] = ("ui", "ui_wages", "wp", "title1", "vr", "adult_ed")

FILE_SPECS: tuple[FileSpec, ...] = (
    FileSpec("ui_claims", "ui", "UICLM.", ".DAT", "fixed", header_tag="UICLM"),
    FileSpec("ui_wages", "ui_wages", "UIWAGE.", ".DAT", "fixed", header_tag="UIWAGE", control_total=True),
    FileSpec("wp_registrations", "wp", "wp_registrations_", ".csv", "delimited", quoted=True),
    FileSpec("wp_services", "wp", "wp_services_", ".csv", "delimited", quoted=True),
    FileSpec("t1_participation", "title1", "t1_participation_", ".csv", "delimited", quoted=True),
    FileSpec("t1_outcomes", "title1", "t1_outcomes_", ".csv", "delimited", quoted=True),
    FileSpec("vr_cases", "vr", "VR_CASES_", ".TXT", "delimited"),
    FileSpec("vr_outcomes", "vr", "VR_OUTCOMES_", ".TXT", "delimited"),
    FileSpec("ae_students", "adult_ed", "ae_students_", ".tsv", "delimited"),
    FileSpec("ae_attendance", "adult_ed", "ae_attendance_", ".tsv", "delimited"),
    FileSpec("ae_assessments", "adult_ed", "ae_assessments_", ".tsv", "delimited"),
    FileSpec("ae_outcomes", "adult_ed", "ae_outcomes_", ".tsv", "delimited"),
)

CONTROL_SUFFIX = ".ctl"

_NIGHTLY_PERIOD = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_QUARTER_PERIOD = re.compile(r"^(\d{4})Q([1-4])$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")

# Wage record: wages at positions 74-84 (1-based), implied 2 decimals.
_WAGE_SLICE = slice(73, 84)


def specs_of(system: str) -> tuple[FileSpec, ...]:
    return tuple(spec for spec in FILE_SPECS if spec.system == system)


def spec_for(system: str, period: str, name: str) -> FileSpec | None:
    """The file type a data file name stands for in `<system>/<period>/`, if any (exact match)."""
    for spec in specs_of(system):
        if name == spec.file_name(period):
            return spec
    return None


def _period_problem(system: str, period: str) -> str | None:
    """Why `period` is not a valid drop directory name for `system` (None if it is)."""
    if system == "ui_wages":
        if not _QUARTER_PERIOD.match(period):
            return f"drop directory {system}/{period} is not named <YYYY>Q<1-4>"
        return None
    match = _NIGHTLY_PERIOD.match(period)
    if not match:
        return f"drop directory {system}/{period} is not named <YYYYMMDD>"
    try:
        date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return f"drop directory {system}/{period} is not a calendar date"
    return None


def _period_date(system: str, period: str) -> date | None:
    """The extract date of a nightly drop (None for wage quarters)."""
    match = _NIGHTLY_PERIOD.match(period)
    if system == "ui_wages" or not match:
        return None
    return date(int(match[1]), int(match[2]), int(match[3]))


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class DeliveredFile:
    """One file of a drop, as verified. `records`/`sha256` are what the file holds."""

    system: str
    drop: str
    name: str
    path: Path
    status: Status
    reason: str | None = None
    file_type: str | None = None
    extract_type: ExtractType | None = None
    extract_date: date | None = None
    records: int | None = None
    sha256: str | None = None

    @property
    def relpath(self) -> str:
        return "/".join(part for part in (self.system, self.drop, self.name) if part)


@dataclass(frozen=True)
class Drop:
    """One delivery directory `<system>/<period>` and the verdict on it."""

    system: str
    name: str
    path: Path
    status: Status
    files: tuple[DeliveredFile, ...] = ()
    reason: str | None = None

    @property
    def key(self) -> str:
        return f"{self.system}/{self.name}" if self.name else self.system

    @property
    def verified(self) -> bool:
        return self.status is Status.VERIFIED

    @property
    def digest(self) -> str:
        """A digest of the drop's content: file names and their sha256 (stable across scans)."""
        return _drop_digest((f.name, f.sha256 or "") for f in self.files)

    @property
    def data_files(self) -> tuple[DeliveredFile, ...]:
        return tuple(f for f in self.files if f.file_type is not None)


def _drop_digest(pairs: Iterable[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for name, digest in sorted(pairs):
        h.update(f"{name}\0{digest}\n".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Control files


@dataclass(frozen=True)
class ControlFile:
    records: int
    sha256: str
    extract_type: ExtractType
    extract_date: date


def parse_control_file(path: Path) -> ControlFile:
    """Read a `key=value` control file; raise ControlFileError saying what is wrong."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ControlFileError(f"control file {path.name} is not UTF-8 text") from exc
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ControlFileError(f"control file {path.name} line {number} is not key=value: {line!r}")
        if key in values:
            raise ControlFileError(f"control file {path.name} repeats the key {key!r}")
        values[key] = value.strip()
    missing = [k for k in ("records", "sha256", "extract_type", "extract_date") if k not in values]
    if missing:
        raise ControlFileError(f"control file {path.name} lacks {', '.join(missing)}")
    records_text = values["records"]
    if not records_text.isdecimal():
        raise ControlFileError(f"control file {path.name}: records={records_text!r} is not a count")
    digest = values["sha256"]
    if not _HEX64.match(digest):
        raise ControlFileError(f"control file {path.name}: sha256={digest!r} is not a 64-digit hex digest")
    try:
        extract_type = ExtractType(values["extract_type"].upper())
    except ValueError:
        extract_type = None
    if extract_type not in (ExtractType.DELTA, ExtractType.FULL):
        raise ControlFileError(
            f"control file {path.name}: extract_type={values['extract_type']!r} is not DELTA or FULL"
        )
    try:
        extract_date = date.fromisoformat(values["extract_date"])
    except ValueError as exc:
        raise ControlFileError(
            f"control file {path.name}: extract_date={values['extract_date']!r} is not YYYY-MM-DD"
        ) from exc
    return ControlFile(int(records_text), digest.lower(), extract_type, extract_date)


# --------------------------------------------------------------------------------------------
# Reading data files (streaming; shared with ingest)


def _is_blank(line: bytes) -> bool:
    return not line.rstrip(b"\r\n")


def scan_delimited(path: Path) -> tuple[int, str]:
    """`(records, sha256)` of a delimited file in one pass.

    A record is one non-blank line after the header (the first non-blank line); blank lines,
    such as a trailing empty line, are not records. Records are counted as lines, not parsed: a
    quote that never closes is a malformed row (set aside at ingest with its line number), not a
    file cut off, so it must not swallow the rows after it. The systems' exports do not put
    line breaks inside quoted fields; a file that did would fail the count and say so.
    """
    hasher = hashlib.sha256()
    lines = 0
    with path.open("rb") as f:
        for raw in f:
            hasher.update(raw)
            if not _is_blank(raw):
                lines += 1
    return max(lines - 1, 0), hasher.hexdigest()


def count_delimited_records(path: Path) -> int:
    """Data records of a delimited file, counted as `scan_delimited` does."""
    return scan_delimited(path)[0]


@dataclass(frozen=True)
class FixedWidthSummary:
    """Header, trailer and detail totals of a fixed-width file, read in one pass."""

    header: str | None
    trailer: str | None
    trailer_line: int | None
    detail_records: int
    wage_total_cents: int
    unreadable_wage_lines: tuple[int, ...]
    sha256: str


def read_fixed_width_summary(path: Path, spec: FileSpec) -> FixedWidthSummary:
    """Stream a fixed-width file: first non-blank record is the header, last the trailer."""
    hasher = hashlib.sha256()
    header: bytes | None = None
    pending: tuple[int, bytes] | None = None
    details = 0
    total = 0
    unreadable: list[int] = []
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            hasher.update(raw)
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            if header is None:
                header = line
                continue
            if pending is not None:
                details += 1
                if spec.control_total:
                    wage = pending[1][_WAGE_SLICE]
                    if len(wage) == 11 and wage.isdigit():
                        total += int(wage)
                    else:
                        unreadable.append(pending[0])
            pending = (number, line)
    return FixedWidthSummary(
        header=header.decode("latin-1") if header is not None else None,
        trailer=pending[1].decode("latin-1") if pending is not None else None,
        trailer_line=pending[0] if pending is not None else None,
        detail_records=details,
        wage_total_cents=total,
        unreadable_wage_lines=tuple(unreadable),
        sha256=hasher.hexdigest(),
    )


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _short(digest: str) -> str:
    return digest[:16] + "…"


# --------------------------------------------------------------------------------------------
# Verifying one file


def _verify_fixed(system: str, period: str, path: Path, spec: FileSpec) -> DeliveredFile:
    summary = read_fixed_width_summary(path, spec)
    problems: list[str] = []
    extract_type: ExtractType | None = None
    header = summary.header
    if header is None:
        problems.append("the file is empty (no header record)")
    elif system == "ui_wages":
        expected = "H" + period.replace("Q", "") + spec.header_tag
        if not header.startswith(expected):
            problems.append(f"header record {header[:12]!r} is not {expected!r}")
        extract_type = ExtractType.QUARTER
    else:
        expected = "H" + period + spec.header_tag
        flag = header[14:15]
        if not header.startswith(expected) or flag not in ("D", "F"):
            problems.append(f"header record {header[:15]!r} is not {expected + 'D'!r} or {expected + 'F'!r}")
        else:
            extract_type = ExtractType.DELTA if flag == "D" else ExtractType.FULL

    trailer = summary.trailer
    if header is not None:
        if trailer is None or not trailer.startswith("T"):
            problems.append("no trailer record at the end (the file was cut off)")
        else:
            count_text = trailer[1:10]
            if not (len(count_text) == 9 and count_text.isdigit()):
                problems.append(f"trailer record count {count_text!r} is not 9 digits")
            elif int(count_text) != summary.detail_records:
                problems.append(
                    f"trailer says {int(count_text)} detail records, the file has {summary.detail_records}"
                )
            if spec.control_total:
                total_text = trailer[10:25]
                if not (len(total_text) == 15 and total_text.isdigit()):
                    problems.append(f"trailer control total {total_text!r} is not 15 digits")
                elif int(total_text) != summary.wage_total_cents:
                    note = ""
                    if summary.unreadable_wage_lines:
                        lines = ", ".join(str(n) for n in summary.unreadable_wage_lines[:5])
                        note = (
                            f" ({len(summary.unreadable_wage_lines)} unreadable wage fields, lines {lines})"
                        )
                    problems.append(
                        f"trailer control total {_money(int(total_text))} does not match the sum of "
                        f"wages {_money(summary.wage_total_cents)}{note}"
                    )

    return DeliveredFile(
        system=system,
        drop=period,
        name=path.name,
        path=path,
        status=Status.REJECTED if problems else Status.VERIFIED,
        reason=f"{system}/{period}/{path.name}: " + "; ".join(problems) if problems else None,
        file_type=spec.file_type,
        extract_type=extract_type,
        extract_date=_period_date(system, period),
        records=summary.detail_records,
        sha256=summary.sha256,
    )


def _verify_delimited(
    system: str, period: str, path: Path, spec: FileSpec, control: Path | None
) -> DeliveredFile:
    where = f"{system}/{period}/{path.name}"
    records, digest = scan_delimited(path)
    problems: list[str] = []
    ctl: ControlFile | None = None
    if control is None:
        problems.append(f"no control file {path.name}{CONTROL_SUFFIX} beside it (incomplete delivery)")
    else:
        try:
            ctl = parse_control_file(control)
        except ControlFileError as exc:
            problems.append(str(exc))

    if ctl is not None:
        if ctl.sha256 != digest:
            problems.append(
                f"sha256 mismatch: control file says {_short(ctl.sha256)}, the file is {_short(digest)} "
                "(changed or cut off in transit)"
            )
        if ctl.records != records:
            problems.append(
                f"records mismatch: control file says records={ctl.records}, "
                f"the file has {records} data rows (header excluded)"
            )
        expected_date = _period_date(system, period)
        if expected_date is not None and ctl.extract_date != expected_date:
            problems.append(
                f"control file extract_date={ctl.extract_date.isoformat()} is not the drop's date "
                f"{expected_date.isoformat()}"
            )

    return DeliveredFile(
        system=system,
        drop=period,
        name=path.name,
        path=path,
        status=Status.REJECTED if problems else Status.VERIFIED,
        reason=f"{where}: " + "; ".join(problems) if problems else None,
        file_type=spec.file_type,
        extract_type=ctl.extract_type if ctl is not None else None,
        extract_date=ctl.extract_date if ctl is not None else _period_date(system, period),
        records=records,
        sha256=digest,
    )


# --------------------------------------------------------------------------------------------
# Paths: containment and symlinks


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _escape_problem(entry: Path, root: Path) -> str | None:
    """Why `entry` may not be read as part of the landing zone (None if it may)."""
    if entry.is_symlink():
        target = entry.resolve()
        if not _inside(target, root):
            return f"symlink points outside the landing zone (to {target})"
        if not target.exists():
            return f"symlink is broken (to {target})"
    return None


# --------------------------------------------------------------------------------------------
# Verifying a drop


def _reject(system: str, name: str, path: Path, reason: str, file_name: str = "") -> DeliveredFile:
    return DeliveredFile(
        system=system, drop=name, name=file_name, path=path, status=Status.REJECTED, reason=reason
    )


def _drop_verdict(system: str, name: str, path: Path, files: Sequence[DeliveredFile]) -> Drop:
    """Aggregate file verdicts: one rejected file holds back the whole drop."""
    if not files:
        reason = f"{system}/{name}: the drop directory is empty"
        return Drop(system, name, path, Status.REJECTED, (), reason)
    rejected = [f for f in files if f.status is Status.REJECTED]
    if not rejected:
        return Drop(system, name, path, Status.VERIFIED, tuple(files))
    culprits = ", ".join(f.name or f.relpath for f in rejected)
    held = tuple(
        f
        if f.status is Status.REJECTED
        else replace(
            f,
            status=Status.REJECTED,
            reason=f"{f.relpath}: verified, but held back with its drop (rejected: {culprits})",
        )
        for f in files
    )
    reason = "; ".join(f.reason or f.relpath for f in rejected)
    return Drop(system, name, path, Status.REJECTED, held, reason)


def _verify_drop_dir(root: Path, system: str, drop_dir: Path) -> Drop:
    name = drop_dir.name
    problem = _escape_problem(drop_dir, root)
    if problem is None and not drop_dir.is_dir():
        problem = "not a directory (files belong in a drop directory)"
    if problem is None:
        problem = _period_problem(system, name)
    if problem is not None:
        reason = problem if problem.startswith("drop directory") else f"{system}/{name}: {problem}"
        return Drop(system, name, drop_dir, Status.REJECTED, (), reason)

    entries = sorted(drop_dir.iterdir(), key=lambda p: p.name)
    by_name = {p.name: p for p in entries}
    specs = {spec.file_name(name): spec for spec in specs_of(system)}
    files: list[DeliveredFile] = []
    for entry in entries:
        where = f"{system}/{name}/{entry.name}"
        problem = _escape_problem(entry, root)
        if problem is None and not entry.is_file():
            problem = "not a regular file"
        if problem is not None:
            files.append(_reject(system, name, entry, f"{where}: {problem}", entry.name))
            continue
        spec = specs.get(entry.name)
        if spec is not None:
            if spec.kind == "fixed":
                files.append(_verify_fixed(system, name, entry, spec))
            else:
                control = by_name.get(entry.name + CONTROL_SUFFIX)
                if control is not None and (
                    _escape_problem(control, root) is not None or not control.is_file()
                ):
                    control = None  # reported on its own below
                files.append(_verify_delimited(system, name, entry, spec, control))
            continue
        if entry.name.endswith(CONTROL_SUFFIX):
            data_name = entry.name[: -len(CONTROL_SUFFIX)]
            data_spec = specs.get(data_name)
            if data_spec is not None and data_spec.kind == "delimited":
                if data_name not in by_name:
                    files.append(
                        _reject(
                            system,
                            name,
                            entry,
                            f"{where}: control file without its data file {data_name} "
                            "(missing or still in transit)",
                            entry.name,
                        )
                    )
                continue
        expected = ", ".join(sorted(specs))
        files.append(
            _reject(
                system,
                name,
                entry,
                f"{where}: unexpected file name (a {system} drop holds only: {expected}, "
                "and a .ctl beside each delimited file)",
                entry.name,
            )
        )
    return _drop_verdict(system, name, drop_dir, files)


def _require_root(landing_root: Path) -> Path:
    root = Path(landing_root).expanduser()
    if not root.exists():
        raise LandingZoneError(f"landing zone not found: {root}")
    if not root.is_dir():
        raise LandingZoneError(f"landing zone is not a directory: {root}")
    return root.resolve()


def discover_drops(landing_root: Path | str) -> list[Drop]:
    """Every drop in the landing zone, verified, ordered by system then period.

    Entries that are not drops (an unknown system directory, a file outside a drop directory,
    a symlink leading out of the landing root) come back as REJECTED drops naming the entry.
    Raises LandingZoneError if the root itself is missing.
    """
    root = _require_root(Path(landing_root))
    drops: list[Drop] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        problem = _escape_problem(entry, root)
        if problem is None and entry.name not in SYSTEMS:
            kind = "directory" if entry.is_dir() else "file"
            problem = f"unexpected {kind} in the landing zone root (systems: {', '.join(SYSTEMS)})"
        if problem is None and not entry.is_dir():
            problem = "not a directory"
        if problem is not None:
            drops.append(Drop(entry.name, "", entry, Status.REJECTED, (), f"{entry.name}: {problem}"))
            continue
        for drop_dir in sorted(entry.iterdir(), key=lambda p: p.name):
            drops.append(_verify_drop_dir(root, entry.name, drop_dir))
    order = {system: i for i, system in enumerate(SYSTEMS)}
    drops.sort(key=lambda d: (order.get(d.system, len(order)), d.system, d.name))
    return drops


def verify_drop(landing_root: Path | str, relative: str | os.PathLike[str]) -> Drop:
    """Verify the one drop `<system>/<period>` named relative to the landing root.

    A path that is absolute, climbs with `..`, or resolves (through symlinks) outside the
    landing root is refused as REJECTED, naming the path.
    """
    root = _require_root(Path(landing_root))
    rel = PurePosixPath(os.fspath(relative).replace("\\", "/"))
    parts = rel.parts
    system = parts[0] if parts else ""
    name = "/".join(parts[1:])
    if rel.is_absolute() or ".." in parts:
        return Drop(
            system,
            name,
            root / rel,
            Status.REJECTED,
            (),
            f"{rel}: path leaves the landing zone ('..' or absolute path); refused",
        )
    if len(parts) != 2 or system not in SYSTEMS:
        return Drop(
            system,
            name,
            root / rel,
            Status.REJECTED,
            (),
            f"{rel}: not a drop path <system>/<period> (systems: {', '.join(SYSTEMS)})",
        )
    system_dir = root / system
    problem = _escape_problem(system_dir, root)
    if problem is not None:
        return Drop(system, name, system_dir / name, Status.REJECTED, (), f"{system}: {problem}")
    drop_dir = system_dir / parts[1]
    if not drop_dir.exists() and not drop_dir.is_symlink():
        return Drop(system, name, drop_dir, Status.REJECTED, (), f"{rel}: no such drop in {root}")
    return _verify_drop_dir(root, system, drop_dir)


# --------------------------------------------------------------------------------------------
# Arrival (cheap completeness, for the sensor)


@dataclass(frozen=True)
class DropArrival:
    """A drop whose files are all present: each delimited file with its control file, each
    fixed-width file ending in its trailer. Not yet verified (digests and counts are the
    pipeline's job); `fingerprint` identifies its content so that it is noticed once."""

    system: str
    name: str
    fingerprint: str
    files: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{self.system}/{self.name}"

    @property
    def run_key(self) -> str:
        return f"{self.system}/{self.name}/{self.fingerprint[:16]}"


@functools.lru_cache(maxsize=512)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    """Digest of a fixed-width file, hashed once per (path, size, mtime) in a long-lived sensor
    process: a re-delivered file changes size or modification time."""
    return _sha256(Path(path))


def _ends_with_trailer(path: Path, tail_bytes: int = 4096) -> bool:
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(size - tail_bytes, 0))
        tail = f.read()
    lines = [line for line in tail.split(b"\n") if line.strip()]
    return bool(lines) and lines[-1].startswith(b"T")


def _arrival(root: Path, system: str, drop_dir: Path) -> DropArrival | None:
    name = drop_dir.name
    if _escape_problem(drop_dir, root) is not None or not drop_dir.is_dir():
        return None
    if _period_problem(system, name) is not None:
        return None
    specs = {spec.file_name(name): spec for spec in specs_of(system)}
    entries = {p.name: p for p in drop_dir.iterdir()}
    pairs: list[tuple[str, str]] = []
    for entry_name, entry in entries.items():
        if _escape_problem(entry, root) is not None or not entry.is_file():
            return None
        spec = specs.get(entry_name)
        if spec is None:
            data_name = entry_name.removesuffix(CONTROL_SUFFIX)
            data_spec = specs.get(data_name) if entry_name.endswith(CONTROL_SUFFIX) else None
            if data_spec is None or data_spec.kind != "delimited" or data_name not in entries:
                return None  # unknown, partial or orphan file: still arriving (or needs a person)
            continue
        if spec.kind == "fixed":
            if not _ends_with_trailer(entry):
                return None
            st = entry.stat()
            pairs.append((entry_name, _cached_sha256(str(entry), st.st_size, st.st_mtime_ns)))
        else:
            control = entries.get(entry_name + CONTROL_SUFFIX)
            if control is None:
                return None
            try:
                pairs.append((entry_name, parse_control_file(control).sha256))
            except ControlFileError:
                # Complete but broken: let the pipeline reject it with the reason.
                pairs.append((entry_name, hashlib.sha256(control.read_bytes()).hexdigest()))
    if not pairs:
        return None
    return DropArrival(system, name, _drop_digest(pairs), tuple(sorted(n for n, _ in pairs)))


def complete_drops(landing_root: Path | str) -> list[DropArrival]:
    """Drops whose files have all arrived (cheap: stats, control files, trailers)."""
    root = _require_root(Path(landing_root))
    arrivals: list[DropArrival] = []
    for system in SYSTEMS:
        system_dir = root / system
        if _escape_problem(system_dir, root) is not None or not system_dir.is_dir():
            continue
        for drop_dir in sorted(system_dir.iterdir(), key=lambda p: p.name):
            arrival = _arrival(root, system, drop_dir)
            if arrival is not None:
                arrivals.append(arrival)
    return arrivals


# --------------------------------------------------------------------------------------------
# Inventory

INVENTORY_SCHEMA = pa.schema(
    [
        pa.field("system", pa.string(), nullable=False),
        pa.field("drop", pa.string(), nullable=False),
        pa.field("file", pa.string()),
        pa.field("extract_type", pa.string()),
        pa.field("extract_date", pa.date32()),
        pa.field("records", pa.int64()),
        pa.field("sha256", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
    ]
)


def inventory_table(drops: Sequence[Drop]) -> pa.Table:
    """One row per delivered file (a drop rejected as a whole without files: one row, file null)."""
    rows: list[dict[str, object]] = []
    for drop in drops:
        if not drop.files:
            rows.append(
                {
                    "system": drop.system,
                    "drop": drop.name,
                    "file": None,
                    "extract_type": None,
                    "extract_date": None,
                    "records": None,
                    "sha256": None,
                    "status": str(drop.status),
                    "reason": drop.reason,
                }
            )
            continue
        for f in drop.files:
            rows.append(
                {
                    "system": f.system,
                    "drop": f.drop,
                    "file": f.name or None,
                    "extract_type": str(f.extract_type) if f.extract_type is not None else None,
                    "extract_date": f.extract_date,
                    "records": f.records,
                    "sha256": f.sha256,
                    "status": str(f.status),
                    "reason": f.reason,
                }
            )
    return pa.Table.from_pylist(rows, schema=INVENTORY_SCHEMA)
