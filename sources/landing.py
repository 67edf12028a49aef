"""The landing zone: find the drops the program systems delivered and verify them.

The contract (`shared/extracts/README.md`) lays the landing zone out as::

    <landing>/<system>/<YYYYMMDD>/<file>          daily systems (ui, wp, title1, vr, adult_ed)
    <landing>/<system>/<YYYY>Q<n>/<file>          quarterly systems (ui_wages)

Which systems exist, how their drop directories are named and which files a drop holds all
come from the declarative layouts (`sources/layouts/*.yaml`, read by `sources.layout`): a sixth
system is a new layout file, not a code change. Every public function that needs the file
types takes `layouts` (default: `load_layouts()`), so a test can bring its own.

A *drop* is one such directory. Nothing of a drop may be loaded unless the whole drop is
complete and intact, so every file is verified before anything reads its rows, with the proofs
its layout declares:

* `control_file: true`: the control file `<name>.ctl` beside it, with `records`, `sha256`,
  `extract_type` and `extract_date`; the digest and the record count must match (delimited
  files: one record a non-blank line, the header row excluded), and the extract date must be
  the drop's;
* `header_record` / `trailer_record` (fixed width): the first non-blank record must carry the
  header's tag, the last the trailer's (else the file was cut off), and their fields are
  checked by what the layout says they are: a `const` field must hold its `value`; the `role`
  `extract_date` must be the drop's date, `extract_type` one of its codes (D/F → DELTA/FULL),
  `period` the drop's period, `record_count` the number of detail records, and
  `control_total` the sum of the detail field the layout names (`FileLayout.control_total`),
  each side with its own implied decimals.

Detail records are not parsed here: a record of the wrong length (`record_length`), an
undecodable byte or a bad value is a malformed row, set aside at ingest with its line; it
does not make the file incomplete. (Wrong-length records are counted in the summary and named
when a control total does not match, since they are the usual culprit.)

Names are checked exactly against the layouts' patterns; anything else in a drop (a stray or
half-transferred file, a control file without its data file, a symlink leading out of the
landing root) rejects the drop with a reason naming the file, and a directory no layout
describes is rejected as a whole. A drop whose every file verified is VERIFIED; otherwise every
file of it is REJECTED: the file at fault with what mismatched, its siblings as held back.

Every path read must be a regular file or directory inside the landing root once symlinks are
resolved (a symlink within the zone is followed; one leading out, a broken one or a loop is
rejected), and every name a plain one: no `.`/`..`, NUL, path separator, hidden (dot) name or
control character; drop directories match `<YYYYMMDD>` / `<YYYY>Q<n>` whole, in ASCII digits.
Reasons quote a bad name with `repr`, so no name can forge lines in a log or the inventory.

Verifying reads every byte (digests, trailers, control totals). A nightly run would re-read
the whole landing history each time, so callers may pass a `VerificationMemo`: the verdict of a
file whose size, modification and change times and inode (and those of its control file) and
layout are unchanged is taken from the memo; any change to any of them verifies it again.

No Dagster here: `assets.landing` wraps this module, the sensor uses `complete_drops`.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import operator
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath

import pyarrow as pa

from sources.layout import Field, FileLayout, LayoutError, Record, SystemLayout, load_layouts

__all__ = [
    "CONTROL_SUFFIX",
    "INVENTORY_SCHEMA",
    "ControlFile",
    "ControlFileError",
    "DeliveredFile",
    "Drop",
    "DropArrival",
    "ExtractType",
    "FixedWidthSummary",
    "LandingZoneError",
    "Status",
    "VerificationMemo",
    "complete_drops",
    "count_delimited_records",
    "discover_drops",
    "inventory_table",
    "parse_control_file",
    "read_fixed_width_summary",
    "scan_delimited",
    "spec_for",
    "systems",
    "verify_drop",
]


class Status(StrEnum):
    VERIFIED = "VERIFIED"
    REJECTED = "REJECTED"


class ExtractType(StrEnum):
    DELTA = "DELTA"
    FULL = "FULL"
    QUARTER = "QUARTER"
    """Quarterly files replaced as a whole period (wages): a newer delivery of the quarter replaces it."""


class LandingZoneError(Exception):
    """The landing zone itself cannot be read (missing root, not a directory)."""


class ControlFileError(ValueError):
    """A control file is unreadable or lacks a required key."""


CONTROL_SUFFIX = ".ctl"

# ASCII digits only, matched whole (fullmatch: `$` alone would accept a trailing newline).
_DAILY_PERIOD = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_QUARTER_PERIOD = re.compile(r"([0-9]{4})Q([1-4])")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_BOM = codecs.BOM_UTF8
_CHUNK = 1 << 20
_MAX_LINES_NAMED = 20
"""How many line numbers of wrong-length or unreadable detail records a summary keeps."""


# --------------------------------------------------------------------------------------------
# The layouts, as verification needs them


@dataclass(frozen=True)
class _Catalog:
    """The systems of one set of layouts, checked for what verification relies on."""

    systems: tuple[SystemLayout, ...]
    by_name: Mapping[str, SystemLayout]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.system for s in self.systems)

    def describe(self) -> str:
        return ", ".join(self.names) if self.systems else "none"

    def order(self, system: str) -> int:
        return self.names.index(system) if system in self.by_name else len(self.systems)


def _layout_problem(system: SystemLayout) -> str | None:
    """What a layout lacks for verification (the loader does not check these)."""
    where = system.path.name or system.system
    if system.period not in ("daily", "quarterly"):
        return f"{where}: period {system.period!r} is not daily or quarterly"
    for lay in system.files:
        at = f"{where}:{lay.file_type}"
        try:
            codecs.lookup(lay.encoding)
        except LookupError:
            return f"{at}: unknown encoding {lay.encoding!r}"
        for which, record in (("header_record", lay.header_record), ("trailer_record", lay.trailer_record)):
            if record is None:
                continue
            if lay.format != "fixed_width":
                return f"{at}: a {which} is only read in fixed-width files"
            for f in record.fields:
                if f.start is None or f.length is None or f.start < 1 or f.length < 1:
                    return f"{at}.{which}.{f.name}: needs start and length"
                if f.type == "const" and f.value is None:
                    return f"{at}.{which}.{f.name}: a const field needs its value"
                if f.role == "extract_date" and not f.format:
                    return f"{at}.{which}.{f.name}: an extract_date needs a format"
                if f.role == "extract_type" and not f.codes:
                    return f"{at}.{which}.{f.name}: an extract_type needs its codes (D: DELTA, F: FULL)"
        totals = [f for r in (lay.header_record, lay.trailer_record) if r for f in r.fields]
        totals = [f for f in totals if f.role == "control_total"]
        if bool(totals) != bool(lay.control_total) or len(totals) > 1:
            return f"{at}: control_total and one header/trailer field with role control_total go together"
        if lay.control_total:
            detail = next((f for f in lay.fields if f.name == lay.control_total), None)
            if detail is None or detail.start is None or detail.length is None:
                return f"{at}: control_total {lay.control_total!r} is not a positioned detail field"
    return None


def _catalog(layouts: Sequence[SystemLayout] | None) -> _Catalog:
    systems = load_layouts() if layouts is None else tuple(layouts)
    by_name: dict[str, SystemLayout] = {}
    for system in systems:
        if system.system in by_name:
            raise LayoutError(
                f"system {system.system} is described twice "
                f"({by_name[system.system].path.name} and {system.path.name})"
            )
        problem = _layout_problem(system)
        if problem is not None:
            raise LayoutError(problem)
        by_name[system.system] = system
    return _Catalog(tuple(systems), by_name)


def systems(layouts: Sequence[SystemLayout] | None = None) -> tuple[str, ...]:
    """The systems the layouts describe (the directories a landing zone may hold)."""
    return _catalog(layouts).names


def _files_of(system: SystemLayout, period: str) -> dict[str, FileLayout]:
    """Data file name → layout, for the drop `<system>/<period>`."""
    return {lay.file_name(period): lay for lay in system.files}


def spec_for(
    system: str, period: str, name: str, layouts: Sequence[SystemLayout] | None = None
) -> FileLayout | None:
    """The file layout a data file name stands for in `<system>/<period>/`, if any (exact match)."""
    layout = _catalog(layouts).by_name.get(system)
    return _files_of(layout, period).get(name) if layout is not None else None


def _period_problem(system: SystemLayout, period: str) -> str | None:
    """Why `period` is not a valid drop directory name for `system` (None if it is)."""
    where = f"drop directory {system.system}/{period}"
    if system.period == "quarterly":
        return None if _QUARTER_PERIOD.fullmatch(period) else f"{where} is not named <YYYY>Q<1-4>"
    match = _DAILY_PERIOD.fullmatch(period)
    if not match:
        return f"{where} is not named <YYYYMMDD>"
    try:
        date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return f"{where} is not a calendar date"
    return None


def _period_date(system: SystemLayout, period: str) -> date | None:
    """The extract date of a daily drop (None for a quarterly one)."""
    match = _DAILY_PERIOD.fullmatch(period)
    if system.period != "daily" or not match:
        return None
    return date(int(match[1]), int(match[2]), int(match[3]))


def _period_value(period: str, width: int) -> str | None:
    """The drop period as a `period` field of `width` characters writes it: the drop name
    itself (`20240301`, `2024Q1`) or without the `Q` (`20241`). None if neither fits."""
    for candidate in (period, period.replace("Q", "")):
        if len(candidate) == width:
            return candidate
    return None


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
# Reading data files (streaming, in large chunks; shared with ingest)


def _batches(path: Path, hasher: hashlib._Hash) -> Iterator[tuple[int, list[bytes]]]:
    """The file's lines in batches, without their line ends (LF or CRLF): `(number of the
    batch's first line, lines)`, hashing every byte on the way."""
    carry = b""
    number = 1
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            hasher.update(chunk)
            buf = carry + chunk
            lines = buf.split(b"\n")
            carry = lines.pop()
            if b"\r" in buf:
                lines = list(map(_strip_cr, lines))
            yield number, lines
            number += len(lines)
    if carry:
        yield number, [carry.rstrip(b"\r")]


_strip_cr = operator.methodcaller("rstrip", b"\r")


def scan_delimited(path: Path, *, header_row: bool = True) -> tuple[int, str]:
    """`(records, sha256)` of a delimited file in one pass.

    A record is one non-blank line after the header row (the first non-blank line, when the
    layout has one); blank lines, such as a trailing empty line, are not records. Records are
    counted as lines, not parsed: a quote that never closes is a malformed row (set aside at
    ingest with its line number), not a file cut off, so it must not swallow the rows after it.
    The systems' exports do not put line breaks inside quoted fields; a file that did would fail
    the count and say so.
    """
    hasher = hashlib.sha256()
    lines = 0
    carry = b""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            hasher.update(chunk)
            buf = carry + chunk
            parts = buf.split(b"\n")
            carry = parts.pop()
            if b"\r\r" in buf:  # rare: a line of several CRs is blank too
                blank = sum(1 for p in parts if not p.rstrip(b"\r"))
            else:
                blank = parts.count(b"") + parts.count(b"\r")
            lines += len(parts) - blank
    if carry.rstrip(b"\r"):
        lines += 1
    return max(lines - 1, 0) if header_row else lines, hasher.hexdigest()


def count_delimited_records(path: Path, *, header_row: bool = True) -> int:
    """Data records of a delimited file, counted as `scan_delimited` does."""
    return scan_delimited(path, header_row=header_row)[0]


@dataclass(frozen=True)
class FixedWidthSummary:
    """Header, trailer and detail totals of a fixed-width file, read in one pass.

    `control_total` is the sum of the detail field the layout totals, as an integer in units of
    that field's implied decimals (None when the layout totals nothing). Line numbers are 1-based;
    at most the first 20 of each kind are kept, the counts are exact.
    """

    header: str | None
    header_line: int | None
    trailer: str | None
    trailer_line: int | None
    detail_records: int
    control_total: int | None
    unreadable_total_lines: tuple[int, ...]
    unreadable_total_count: int
    wrong_length_lines: tuple[int, ...]
    wrong_length_count: int
    sha256: str


def _decoded(line: bytes, encoding: str) -> str:
    return line.decode(encoding, errors="replace")


class _DetailTally:
    """Counts detail records, their lengths and the control total, a batch at a time: a batch
    that is all ASCII, all of the right length and all digits in the totalled field is summed
    with C-level calls; anything else falls back to one record at a time."""

    def __init__(self, layout: FileLayout) -> None:
        self.encoding = layout.encoding
        self.length = layout.record_length
        self.total_at: slice | None = None
        self.total_width = 0
        if layout.control_total:
            detail = layout.field(layout.control_total)
            if detail.start is None or detail.length is None:
                raise LayoutError(f"{layout.file_type}: control_total {detail.name} has no position")
            self.total_at = slice(detail.start - 1, detail.start - 1 + detail.length)
            self.total_width = detail.length
        self.records = 0
        self.total = 0
        self.unreadable: list[int] = []
        self.unreadable_count = 0
        self.wrong_length: list[int] = []
        self.wrong_length_count = 0

    def one(self, number: int, line: bytes) -> None:
        self.records += 1
        text: bytes | str = line if line.isascii() else line.decode(self.encoding, errors="replace")
        if self.length is not None and len(text) != self.length:
            self.wrong_length_count += 1
            if len(self.wrong_length) < _MAX_LINES_NAMED:
                self.wrong_length.append(number)
        if self.total_at is not None:
            value = text[self.total_at]
            if len(value) == self.total_width and value.isascii() and value.isdigit():
                self.total += int(value)
            else:
                self.unreadable_count += 1
                if len(self.unreadable) < _MAX_LINES_NAMED:
                    self.unreadable.append(number)

    def many(self, lines: list[bytes], numbers: Sequence[int]) -> None:
        if not lines:
            return
        fast = all(map(bytes.isascii, lines))
        if fast and self.length is not None:
            fast = list(map(len, lines)).count(self.length) == len(lines)
        values: list[bytes] = []
        if fast and self.total_at is not None:
            values = list(map(operator.itemgetter(self.total_at), lines))
            joined = b"".join(values)
            fast = len(joined) == self.total_width * len(values) and joined.isdigit()
        if not fast:
            for number, line in zip(numbers, lines, strict=True):
                self.one(number, line)
            return
        self.records += len(lines)
        if self.total_at is not None:
            self.total += sum(map(int, values))


def read_fixed_width_summary(path: Path, layout: FileLayout) -> FixedWidthSummary:
    """Stream a fixed-width file as its layout describes it.

    With a `header_record`, the first non-blank record is the header; with a `trailer_record`,
    the last non-blank record is the trailer (whether it carries the trailer's tag is for the
    caller to judge); the records between are details. Lengths and positions count characters of
    the layout's encoding; a line of blanks is no record.
    """
    hasher = hashlib.sha256()
    want_header = layout.header_record is not None
    want_trailer = layout.trailer_record is not None
    tally = _DetailTally(layout)
    header: tuple[int, bytes] | None = None
    pending: tuple[int, bytes] | None = None  # the last record so far: the trailer, if it stays last
    for start, batch in _batches(path, hasher):
        if start == 1 and layout.bom and batch and batch[0].startswith(_BOM):
            batch[0] = batch[0][len(_BOM) :]
        numbers: Sequence[int]
        if all(map(bytes.strip, batch)):
            lines, numbers = batch, range(start, start + len(batch))
        else:
            kept = [i for i, line in enumerate(batch) if line.strip()]
            lines, numbers = [batch[i] for i in kept], [start + i for i in kept]
        if not lines:
            continue
        if want_header and header is None:
            header = (numbers[0], lines[0])
            lines, numbers = lines[1:], numbers[1:]
            if not lines:
                continue
        if want_trailer:
            if pending is not None:
                tally.one(*pending)
            pending = (numbers[-1], lines[-1])
            lines, numbers = lines[:-1], numbers[:-1]
        tally.many(lines, numbers)

    return FixedWidthSummary(
        header=_decoded(header[1], layout.encoding) if header is not None else None,
        header_line=header[0] if header is not None else None,
        trailer=_decoded(pending[1], layout.encoding) if pending is not None else None,
        trailer_line=pending[0] if pending is not None else None,
        detail_records=tally.records,
        control_total=tally.total if tally.total_at is not None else None,
        unreadable_total_lines=tuple(tally.unreadable),
        unreadable_total_count=tally.unreadable_count,
        wrong_length_lines=tuple(tally.wrong_length),
        wrong_length_count=tally.wrong_length_count,
        sha256=hasher.hexdigest(),
    )


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _amount(value: int, decimals: int) -> str:
    if decimals <= 0:
        return str(value)
    whole, frac = divmod(value, 10**decimals)
    return f"{whole}.{frac:0{decimals}d}"


def _short(digest: str) -> str:
    return digest[:16] + "…"


def _lines_note(count: int, lines: Sequence[int], what: str) -> str:
    """`3 records <what> (lines 4, 9, 12)`: at most five line numbers."""
    named = ", ".join(str(n) for n in lines[:5]) + (", …" if count > 5 else "")
    return f"{count} record{'s' if count != 1 else ''} {what} ({'line' if count == 1 else 'lines'} {named})"


# --------------------------------------------------------------------------------------------
# Verifying one file


@dataclass
class _Findings:
    """What the checks of one file found: problems, and what the file says of itself."""

    problems: list[str] = field(default_factory=list)
    extract_type: ExtractType | None = None
    extract_date: date | None = None


def _field_text(line: str, f: Field) -> str:
    start = (f.start or 1) - 1
    return line[start : start + (f.length or 0)]


def _check_record(
    which: str,
    line: str,
    record: Record,
    layout: FileLayout,
    period: str,
    drop_date: date | None,
    summary: FixedWidthSummary,
    found: _Findings,
) -> None:
    """Check a header or trailer record field by field, by each field's `const` value or `role`."""
    for f in record.fields:
        text = _field_text(line, f)
        width = f.length or 0
        if f.type == "const":
            expected = (f.value or "").ljust(width)
            if text != expected:
                found.problems.append(f"{which} {f.label} is {text!r}, expected {expected!r}")
            continue
        if f.role == "extract_date":
            try:
                value = datetime.strptime(text, f.format or "").date()
            except ValueError:
                found.problems.append(f"{which} {f.label} {text!r} is not a date ({f.format})")
                continue
            found.extract_date = value
            if drop_date is not None and value != drop_date:
                found.problems.append(
                    f"{which} extract date {value.isoformat()} is not the drop's date {drop_date.isoformat()}"
                )
        elif f.role == "extract_type":
            codes = f.codes or {}
            canonical = codes.get(text) if text in codes else codes.get(text.strip())
            try:
                found.extract_type = ExtractType(canonical) if canonical is not None else None
            except ValueError:
                found.extract_type = None
            if found.extract_type is None:
                allowed = " or ".join(repr(c) for c in codes)
                found.problems.append(f"{which} {f.label} {text!r} is not {allowed}")
        elif f.role == "period":
            expected_period = _period_value(period, width)
            if expected_period is None:
                found.problems.append(
                    f"{which} {f.label}: the layout's {width}-character period cannot hold the drop's "
                    f"period {period!r}"
                )
            elif text != expected_period:
                found.problems.append(
                    f"{which} {f.label} {text!r} is not the drop's period {expected_period!r}"
                )
        elif f.role == "record_count":
            if not (len(text) == width and text.isascii() and text.isdigit()):
                found.problems.append(f"{which} record count {text!r} is not {width} digits")
            elif int(text) != summary.detail_records:
                found.problems.append(
                    f"{which} says {int(text)} detail records, the file has {summary.detail_records}"
                )
        elif f.role == "control_total" and layout.control_total and summary.control_total is not None:
            if not (len(text) == width and text.isascii() and text.isdigit()):
                found.problems.append(f"{which} control total {text!r} is not {width} digits")
                continue
            detail_decimals = layout.field(layout.control_total).implied_decimals
            scale = max(f.implied_decimals, detail_decimals)
            declared = int(text) * 10 ** (scale - f.implied_decimals)
            summed = summary.control_total * 10 ** (scale - detail_decimals)
            if declared != summed:
                notes = []
                if summary.unreadable_total_count:
                    notes.append(
                        _lines_note(
                            summary.unreadable_total_count,
                            summary.unreadable_total_lines,
                            f"with an unreadable {layout.control_total}",
                        )
                    )
                if summary.wrong_length_count:
                    notes.append(
                        _lines_note(
                            summary.wrong_length_count,
                            summary.wrong_length_lines,
                            f"not {layout.record_length} characters long",
                        )
                    )
                note = f" ({'; '.join(notes)})" if notes else ""
                found.problems.append(
                    f"{which} control total {_amount(declared, scale)} does not match the sum of "
                    f"{layout.control_total} {_amount(summed, scale)}{note}"
                )


def _check_fixed(
    layout: FileLayout, period: str, drop_date: date | None, summary: FixedWidthSummary, found: _Findings
) -> None:
    header, trailer = layout.header_record, layout.trailer_record
    if header is not None:
        if summary.header is None:
            found.problems.append("the file is empty (no header record)")
            return
        if not summary.header.startswith(header.tag):
            found.problems.append(
                f"the file does not begin with a header record (tag {header.tag!r}): {summary.header[:20]!r}"
            )
        else:
            _check_record("header", summary.header, header, layout, period, drop_date, summary, found)
    if trailer is not None:
        if summary.trailer is None or not summary.trailer.startswith(trailer.tag):
            found.problems.append("no trailer record at the end (the file was cut off)")
        else:
            _check_record("trailer", summary.trailer, trailer, layout, period, drop_date, summary, found)


def _check_control(
    data_name: str,
    control: Path | None,
    records: int,
    digest: str,
    drop_date: date | None,
    found: _Findings,
) -> None:
    if control is None:
        found.problems.append(f"no control file {data_name}{CONTROL_SUFFIX} beside it (incomplete delivery)")
        return
    try:
        ctl = parse_control_file(control)
    except ControlFileError as exc:
        found.problems.append(str(exc))
        return
    if ctl.sha256 != digest:
        found.problems.append(
            f"sha256 mismatch: control file says {_short(ctl.sha256)}, the file is {_short(digest)} "
            "(changed or cut off in transit)"
        )
    if ctl.records != records:
        found.problems.append(
            f"records mismatch: control file says records={ctl.records}, "
            f"the file has {records} data rows (header excluded)"
        )
    if drop_date is not None and ctl.extract_date != drop_date:
        found.problems.append(
            f"control file extract_date={ctl.extract_date.isoformat()} is not the drop's date "
            f"{drop_date.isoformat()}"
        )
    if found.extract_type is not None and found.extract_type != ctl.extract_type:
        found.problems.append(
            f"control file extract_type={ctl.extract_type} disagrees with the header's {found.extract_type}"
        )
    found.extract_type = found.extract_type or ctl.extract_type
    found.extract_date = found.extract_date or ctl.extract_date


MEMO_VERSION = 1


def _signature(path: Path | None) -> list[int] | None:
    """What changes when a file does: size, modification and change times, inode."""
    if path is None:
        return None
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _layout_digest(system: SystemLayout, layout: FileLayout) -> str:
    text = f"{MEMO_VERSION}|{system.system}|{system.period}|{layout!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class VerificationMemo:
    """Verdicts of files verified before, kept in a JSON file (0600) between runs.

    An entry is used only while the file, its control file and its layout are exactly as they
    were; a file changed in place, re-delivered or replaced (even with the same modification
    time: the change time and inode move) is verified again. Holds no row data: digests,
    counts, dates and the reasons of rejections.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, object]] = {}
        self.seen: set[str] = set()
        self.changed = False
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text())
            except (OSError, ValueError):
                loaded = {}  # an unreadable memo costs one full verification, nothing else
            if isinstance(loaded, dict) and loaded.get("version") == MEMO_VERSION:
                self.entries = dict(loaded.get("files") or {})

    def verify(
        self, system: SystemLayout, period: str, path: Path, layout: FileLayout, control: Path | None
    ) -> DeliveredFile:
        key = str(path)
        self.seen.add(key)
        sig = {
            "file": _signature(path),
            "control": _signature(control),
            "layout": _layout_digest(system, layout),
        }
        entry = self.entries.get(key)
        if entry is not None and entry.get("sig") == sig:
            v = dict(entry["verdict"])  # type: ignore[call-overload]
            return DeliveredFile(
                system=system.system,
                drop=period,
                name=path.name,
                path=path,
                status=Status(v["status"]),
                reason=v["reason"],
                file_type=v["file_type"],
                extract_type=ExtractType(v["extract_type"]) if v["extract_type"] else None,
                extract_date=date.fromisoformat(v["extract_date"]) if v["extract_date"] else None,
                records=v["records"],
                sha256=v["sha256"],
            )
        found = _verify_file(system, period, path, layout, control)
        self.entries[key] = {
            "sig": sig,
            "verdict": {
                "status": found.status.value,
                "reason": found.reason,
                "file_type": found.file_type,
                "extract_type": found.extract_type.value if found.extract_type else None,
                "extract_date": found.extract_date.isoformat() if found.extract_date else None,
                "records": found.records,
                "sha256": found.sha256,
            },
        }
        self.changed = True
        return found

    def save(self) -> None:
        """Write the memo atomically (owner-only), if anything was verified anew; files no longer
        in the landing zone are forgotten."""
        gone = set(self.entries) - self.seen
        for key in gone:
            del self.entries[key]
        if self.path is None or not (self.changed or gone):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".verified-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as out:
                json.dump({"version": MEMO_VERSION, "files": self.entries}, out)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.changed = False


def _verify_file(
    system: SystemLayout, period: str, path: Path, layout: FileLayout, control: Path | None
) -> DeliveredFile:
    drop_date = _period_date(system, period)
    found = _Findings()
    if layout.format == "fixed_width":
        summary = read_fixed_width_summary(path, layout)
        records, digest = summary.detail_records, summary.sha256
        _check_fixed(layout, period, drop_date, summary, found)
    else:
        records, digest = scan_delimited(path, header_row=layout.header_row)
    if layout.control_file:
        _check_control(path.name, control, records, digest, drop_date, found)
    if not layout.control_file and layout.trailer_record is None:
        found.problems.append(
            f"the layout of {layout.file_type} declares no control file and no trailer record: "
            "the file's completeness cannot be proven"
        )
    extract_type = found.extract_type
    if extract_type is None and layout.replace_by and system.period == "quarterly":
        extract_type = ExtractType.QUARTER
    problems = found.problems
    return DeliveredFile(
        system=system.system,
        drop=period,
        name=path.name,
        path=path,
        status=Status.REJECTED if problems else Status.VERIFIED,
        reason=f"{system.system}/{period}/{path.name}: " + "; ".join(problems) if problems else None,
        file_type=layout.file_type,
        extract_type=extract_type,
        extract_date=drop_date or found.extract_date,
        records=records,
        sha256=digest,
    )


# --------------------------------------------------------------------------------------------
# Paths: containment and symlinks


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _name_problem(name: str) -> str | None:
    """Why a name found in the landing zone is not one a sender may use (None if it may).

    Only plain names: no `.`/`..`, no NUL or path separator, no hidden (dot) names, no control
    characters (a newline in a name would forge lines in the logs and the inventory)."""
    if name in ("", ".", ".."):
        return f"{name!r} is not a file name"
    if "\0" in name or "/" in name or "\\" in name:
        return f"name {name!r} holds a NUL or a path separator"
    if name.startswith("."):
        return f"hidden name {name!r} (senders deliver plain names; a dot name is often a partial transfer)"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return f"name {name!r} holds control characters"
    return None


def _shown(entry: Path) -> str:
    """A name as it may go into a reason: as is when printable, else quoted (escaped) by repr."""
    return entry.name if entry.name.isprintable() else repr(entry.name)


def _escape_problem(entry: Path, root: Path) -> str | None:
    """Why `entry` may not be read as part of the landing zone (None if it may): a bad name, or a
    path that resolves (through symlinks, at any depth) outside the landing root or nowhere."""
    problem = _name_problem(entry.name)
    if problem is not None:
        return problem
    try:
        target = entry.resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        return "symlink loop or unreadable path"
    if not _inside(target, root):
        what = "symlink points" if entry.is_symlink() else "path resolves"
        return f"{what} outside the landing zone (to {target})"
    if entry.is_symlink() and not target.exists():
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
    culprits = ", ".join(_shown(f.path) if f.name else f.relpath for f in rejected)
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


def _verify_drop_dir(
    root: Path, system: SystemLayout, drop_dir: Path, memo: VerificationMemo | None = None
) -> Drop:
    sys_name = system.system
    name = drop_dir.name
    problem = _escape_problem(drop_dir, root)
    if problem is None and not drop_dir.is_dir():
        problem = "not a directory (files belong in a drop directory)"
    if problem is None:
        problem = _period_problem(system, name)
    if problem is not None:
        reason = (
            problem if problem.startswith("drop directory") else f"{sys_name}/{_shown(drop_dir)}: {problem}"
        )
        return Drop(sys_name, name, drop_dir, Status.REJECTED, (), reason)

    entries = sorted(drop_dir.iterdir(), key=lambda p: p.name)
    by_name = {p.name: p for p in entries}
    specs = _files_of(system, name)
    files: list[DeliveredFile] = []
    for entry in entries:
        where = f"{sys_name}/{name}/{_shown(entry)}"
        problem = _escape_problem(entry, root)
        if problem is None and not entry.is_file():
            problem = "not a regular file"
        if problem is not None:
            files.append(_reject(sys_name, name, entry, f"{where}: {problem}", entry.name))
            continue
        spec = specs.get(entry.name)
        if spec is not None:
            control = by_name.get(entry.name + CONTROL_SUFFIX) if spec.control_file else None
            if control is not None and (_escape_problem(control, root) is not None or not control.is_file()):
                control = None  # reported on its own below
            verify = memo.verify if memo is not None else _verify_file
            files.append(verify(system, name, entry, spec, control))
            continue
        if entry.name.endswith(CONTROL_SUFFIX):
            data_name = entry.name[: -len(CONTROL_SUFFIX)]
            data_spec = specs.get(data_name)
            if data_spec is not None and data_spec.control_file:
                if data_name not in by_name:
                    files.append(
                        _reject(
                            sys_name,
                            name,
                            entry,
                            f"{where}: control file without its data file {data_name} "
                            "(missing or still in transit)",
                            entry.name,
                        )
                    )
                continue
        expected = sorted(
            [*specs, *(n + CONTROL_SUFFIX for n, s in specs.items() if s.control_file)],
        )
        files.append(
            _reject(
                sys_name,
                name,
                entry,
                f"{where}: unexpected file name (by its layout, a {sys_name} drop holds only: "
                f"{', '.join(expected)})",
                entry.name,
            )
        )
    return _drop_verdict(sys_name, name, drop_dir, files)


def _require_root(landing_root: Path) -> Path:
    root = Path(landing_root).expanduser()
    if not root.exists():
        raise LandingZoneError(f"landing zone not found: {root}")
    if not root.is_dir():
        raise LandingZoneError(f"landing zone is not a directory: {root}")
    return root.resolve()


def discover_drops(
    landing_root: Path | str,
    layouts: Sequence[SystemLayout] | None = None,
    memo: VerificationMemo | None = None,
) -> list[Drop]:
    """Every drop in the landing zone, verified, ordered by system (layout order) then period.

    With a `memo`, files unchanged since they were verified are not read again; the memo is
    saved before returning.

    Entries that are not drops (a directory no layout describes, a file outside a drop
    directory, a symlink leading out of the landing root) come back as REJECTED drops naming the
    entry. Raises LandingZoneError if the root itself is missing, LayoutError if the layouts
    lack what verification needs.
    """
    catalog = _catalog(layouts)
    root = _require_root(Path(landing_root))
    drops: list[Drop] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        problem = _escape_problem(entry, root)
        system = catalog.by_name.get(entry.name)
        if problem is None and system is None:
            kind = "directory" if entry.is_dir() else "file"
            problem = (
                f"unexpected {kind} in the landing zone root: no layout describes a system "
                f"{entry.name!r} (systems with a layout: {catalog.describe()})"
            )
        if problem is None and not entry.is_dir():
            problem = "not a directory"
        if problem is not None or system is None:
            drops.append(Drop(entry.name, "", entry, Status.REJECTED, (), f"{_shown(entry)}: {problem}"))
            continue
        for drop_dir in sorted(entry.iterdir(), key=lambda p: p.name):
            drops.append(_verify_drop_dir(root, system, drop_dir, memo))
    drops.sort(key=lambda d: (catalog.order(d.system), d.system, d.name))
    if memo is not None:
        memo.save()
        memo.seen.clear()
    return drops


def verify_drop(
    landing_root: Path | str,
    relative: str | os.PathLike[str],
    layouts: Sequence[SystemLayout] | None = None,
) -> Drop:
    """Verify the one drop `<system>/<period>` named relative to the landing root.

    A path that is absolute, climbs with `..`, holds a NUL, a hidden or control-character name,
    or resolves (through symlinks) outside the landing root is refused as REJECTED, naming the
    path; so is a system no layout describes.
    """
    catalog = _catalog(layouts)
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
    bad_part = next((p for p in parts if _name_problem(p) is not None), None)
    if bad_part is not None:
        return Drop(
            system,
            name,
            root / rel,
            Status.REJECTED,
            (),
            f"{str(rel)!r}: {_name_problem(bad_part)}; refused",
        )
    layout = catalog.by_name.get(system)
    if len(parts) != 2 or layout is None:
        return Drop(
            system,
            name,
            root / rel,
            Status.REJECTED,
            (),
            f"{rel}: not a drop path <system>/<period> of a system with a layout "
            f"(systems with a layout: {catalog.describe()})",
        )
    system_dir = root / system
    problem = _escape_problem(system_dir, root)
    if problem is not None:
        return Drop(system, name, system_dir / name, Status.REJECTED, (), f"{system}: {problem}")
    drop_dir = system_dir / parts[1]
    if not drop_dir.exists() and not drop_dir.is_symlink():
        return Drop(system, name, drop_dir, Status.REJECTED, (), f"{rel}: no such drop in {root}")
    return _verify_drop_dir(root, layout, drop_dir)


# --------------------------------------------------------------------------------------------
# Arrival (cheap completeness, for the sensor)


@dataclass(frozen=True)
class DropArrival:
    """A drop whose files are all present: each file with its control file (if its layout has
    one), each file with a trailer record ending in it. Not yet verified (digests and counts are
    the pipeline's job); `fingerprint` identifies its content so that it is noticed once."""

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
    """Digest of a file without a control file, hashed once per (path, size, mtime) in a
    long-lived sensor process: a re-delivered file changes size or modification time."""
    return _sha256(Path(path))


def _ends_with_record(path: Path, tag: bytes, record_length: int | None) -> bool:
    tail_bytes = max(4096, 2 * ((record_length or 0) + 2))
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(size - tail_bytes, 0))
        tail = f.read()
    lines = [line for line in tail.split(b"\n") if line.strip()]
    return bool(lines) and lines[-1].startswith(tag)


def _arrival(root: Path, system: SystemLayout, drop_dir: Path) -> DropArrival | None:
    name = drop_dir.name
    if _escape_problem(drop_dir, root) is not None or not drop_dir.is_dir():
        return None
    if _period_problem(system, name) is not None:
        return None
    specs = _files_of(system, name)
    entries = {p.name: p for p in drop_dir.iterdir()}
    pairs: list[tuple[str, str]] = []
    for entry_name, entry in entries.items():
        if _escape_problem(entry, root) is not None or not entry.is_file():
            return None
        spec = specs.get(entry_name)
        if spec is None:
            data_name = entry_name.removesuffix(CONTROL_SUFFIX)
            data_spec = specs.get(data_name) if entry_name.endswith(CONTROL_SUFFIX) else None
            if data_spec is None or not data_spec.control_file or data_name not in entries:
                return None  # unknown, partial or orphan file: still arriving (or needs a person)
            continue
        trailer = spec.trailer_record
        if trailer is not None:
            tag = trailer.tag.encode(spec.encoding, errors="replace")
            if not _ends_with_record(entry, tag, spec.record_length):
                return None
        if spec.control_file:
            control = entries.get(entry_name + CONTROL_SUFFIX)
            if control is None:
                return None
            try:
                pairs.append((entry_name, parse_control_file(control).sha256))
            except ControlFileError:
                # Complete but broken: let the pipeline reject it with the reason.
                pairs.append((entry_name, hashlib.sha256(control.read_bytes()).hexdigest()))
        else:
            st = entry.stat()
            pairs.append((entry_name, _cached_sha256(str(entry), st.st_size, st.st_mtime_ns)))
    if not pairs:
        return None
    return DropArrival(system.system, name, _drop_digest(pairs), tuple(sorted(n for n, _ in pairs)))


def complete_drops(
    landing_root: Path | str, layouts: Sequence[SystemLayout] | None = None
) -> list[DropArrival]:
    """Drops whose files have all arrived (cheap: stats, control files, trailers)."""
    catalog = _catalog(layouts)
    root = _require_root(Path(landing_root))
    arrivals: list[DropArrival] = []
    for system in catalog.systems:
        system_dir = root / system.system
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
