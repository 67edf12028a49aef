"""Declarative source layouts: one YAML file per system in `sources/layouts/`.

A layout says everything the pipeline needs to know of a system's files — name pattern,
fixed width or delimited, delimiter and quoting, encoding, BOM, line ends, header/trailer
records, control files, field positions or header names, date and timestamp formats, implied
decimals, code maps to canonical codes, key, last-updated and status columns, and which fields
are identity fields (kept as delivered, never a reason to set a row aside). Adding a system is
adding a file here; no code changes.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

LAYOUT_DIR = Path(__file__).resolve().parent / "layouts"

FieldType = Literal[
    "key",
    "text",
    "name",
    "ssn",
    "date",
    "timestamp",
    "code",
    "codes",
    "flag",
    "amount",
    "integer",
    "decimal",
    "zip",
    "phone",
    "email",
    "const",
]
FIELD_TYPES: frozenset[str] = frozenset(FieldType.__args__)  # type: ignore[attr-defined]
IDENTITY_TYPES = frozenset({"name", "ssn", "zip", "phone", "email"})
ROLES = frozenset({"extract_date", "extract_type", "period", "record_count", "control_total"})


class LayoutError(ValueError):
    """A layout file is inconsistent; the message names the file and the field."""


@dataclass(frozen=True)
class Field:
    name: str  # canonical column name in staging
    type: str
    source: str | None = None  # header name (delimited files)
    start: int | None = None  # 1-based position (fixed width)
    length: int | None = None
    format: str | None = None  # strptime format of a date or timestamp
    codes: dict[str, str] | None = None  # delivered value -> canonical code
    separator: str | None = None  # `codes`: a list of codes in one field
    implied_decimals: int = 0
    min: float | None = None
    max: float | None = None
    null_values: tuple[str, ...] = ()  # delivered values that mean "not known" (00000000)
    required: bool = False  # an event field that must be present
    identity: bool = False  # an identity field: a bad value is flagged, never a reason to set the row aside
    value: str | None = None  # `const`
    role: str | None = None  # header/trailer: extract_date, extract_type, period, record_count, control_total
    description: str = ""

    @property
    def label(self) -> str:
        """How the field is named in the delivered file (for messages a person can act on)."""
        if self.source:
            return self.source
        return f"{self.name} (positions {self.start}-{(self.start or 0) + (self.length or 0) - 1})"


@dataclass(frozen=True)
class Record:
    """A fixed-width header or trailer record."""

    tag: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class FileLayout:
    file_type: str
    system: str
    pattern: str  # file name; {period} stands for the drop's YYYYMMDD or YYYYQn
    format: Literal["fixed_width", "delimited"]
    encoding: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    delimiter: str | None = None
    quoting: Literal["rfc4180", "none"] = "none"
    bom: bool = False
    line_ending: str = "\n"
    header_row: bool = False
    control_file: bool = False
    record_length: int | None = None
    header_record: Record | None = None
    trailer_record: Record | None = None
    control_total: str | None = None  # trailer field that totals this detail field
    last_updated: str | None = None
    status: str | None = None
    deleted_values: tuple[str, ...] = ()
    person: bool = False  # person-bearing: feeds the canonical person records
    # The system's own id of the person when one person can have several records (Title I
    # participant_id across periods, VR CLIENT_ID across cases): linkage treats records sharing it
    # as one person. Defaults to the key.
    person_key: str | None = None
    replace_by: str | None = None  # a whole period is replaced by a newer delivery (wages: quarter)
    description: str = ""

    @property
    def prefix(self) -> str:
        return self.pattern.split("{period}")[0]

    @property
    def suffix(self) -> str:
        return self.pattern.split("{period}")[1]

    def file_name(self, period: str) -> str:
        return self.pattern.replace("{period}", period)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.file_type} has no field {name!r}")

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.type != "const")


@dataclass(frozen=True)
class SystemLayout:
    system: str
    period: Literal["daily", "quarterly"]
    files: tuple[FileLayout, ...]
    description: str = ""
    path: Path = field(default=Path())


def _field(raw: dict[str, Any], where: str) -> Field:
    unknown = set(raw) - set(Field.__dataclass_fields__)
    if unknown:
        raise LayoutError(f"{where}: unknown attribute(s) {sorted(unknown)}")
    if raw.get("type") not in FIELD_TYPES:
        raise LayoutError(f"{where}: type {raw.get('type')!r} is not one of {sorted(FIELD_TYPES)}")
    vals = dict(raw)
    if "codes" in vals and vals["codes"] is not None:
        vals["codes"] = {str(k): str(v) for k, v in vals["codes"].items()}
    vals["null_values"] = tuple(str(v) for v in vals.get("null_values", ()))
    vals.setdefault("identity", vals["type"] in IDENTITY_TYPES)
    f = Field(**vals)
    if f.type in ("date", "timestamp") and not f.format:
        raise LayoutError(f"{where}: a {f.type} needs a format")
    if f.type in ("code", "codes") and not f.codes:
        raise LayoutError(f"{where}: a code field needs its codes")
    if f.role is not None and f.role not in ROLES:
        raise LayoutError(f"{where}: role {f.role!r} is not one of {sorted(ROLES)}")
    if f.identity and f.required:
        raise LayoutError(f"{where}: an identity field cannot be required (a bad one never sets a row aside)")
    return f


def _record(raw: dict[str, Any] | None, where: str) -> Record | None:
    if raw is None:
        return None
    return Record(
        str(raw["tag"]), tuple(_field(f, f"{where}.{f.get('name')}") for f in raw.get("fields", []))
    )


def _file(name: str, raw: dict[str, Any], system: str, where: str) -> FileLayout:
    fields = tuple(_field(f, f"{where}.{f.get('name')}") for f in raw.pop("fields"))
    raw = dict(raw)
    raw["key"] = tuple(raw.get("key", ()))
    raw["deleted_values"] = tuple(str(v) for v in raw.get("deleted_values", ()))
    raw["header_record"] = _record(raw.get("header_record"), f"{where}.header_record")
    raw["trailer_record"] = _record(raw.get("trailer_record"), f"{where}.trailer_record")
    unknown = set(raw) - set(FileLayout.__dataclass_fields__)
    if unknown:
        raise LayoutError(f"{where}: unknown attribute(s) {sorted(unknown)}")
    lay = FileLayout(file_type=name, system=system, fields=fields, **raw)
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise LayoutError(f"{where}: field names repeat")
    for col in (*lay.key, lay.last_updated, lay.status, lay.person_key):
        if col is not None and col not in names:
            raise LayoutError(
                f"{where}: {col!r} is named as key/last_updated/status/person_key but is not a field"
            )
    if lay.person_key is not None and not lay.person:
        raise LayoutError(f"{where}: person_key belongs to a person-bearing file (person: true)")
    try:
        codecs.lookup(lay.encoding)
    except LookupError as exc:
        raise LayoutError(f"{where}: unknown encoding {lay.encoding!r}") from exc
    if lay.format != "fixed_width" and (lay.header_record or lay.trailer_record):
        raise LayoutError(f"{where}: header/trailer records belong to fixed-width files")
    if "{period}" not in lay.pattern:
        raise LayoutError(f"{where}: pattern {lay.pattern!r} lacks {{period}}")
    if lay.format == "fixed_width":
        if not lay.record_length:
            raise LayoutError(f"{where}: a fixed-width file needs record_length")
        end = 0
        for f in fields:
            if f.start is None or f.length is None:
                raise LayoutError(f"{where}.{f.name}: a fixed-width field needs start and length")
            if f.start != end + 1:
                raise LayoutError(
                    f"{where}.{f.name}: starts at {f.start}, expected {end + 1} (gap or overlap)"
                )
            end = f.start + f.length - 1
        if end != lay.record_length:
            raise LayoutError(f"{where}: fields end at {end}, record_length is {lay.record_length}")
        for rec in (lay.header_record, lay.trailer_record):
            for hf in rec.fields if rec else ():
                if hf.start is None or hf.length is None or hf.start + hf.length - 1 > lay.record_length:
                    raise LayoutError(f"{where}: header/trailer field {hf.name} lies outside the record")
        if lay.control_total and lay.control_total not in names:
            raise LayoutError(f"{where}: control_total names {lay.control_total!r}, which is not a field")
    else:
        if not lay.delimiter:
            raise LayoutError(f"{where}: a delimited file needs a delimiter")
        if any(f.source is None for f in fields):
            raise LayoutError(f"{where}: every delimited field needs its header name (source)")
    return lay


def load_system(path: Path) -> SystemLayout:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or "system" not in raw or "files" not in raw:
        raise LayoutError(f"{path.name}: a layout needs `system` and `files`")
    system = str(raw["system"])
    if not re.fullmatch(r"[a-z][a-z0-9_]*", system):
        raise LayoutError(f"{path.name}: system {system!r} must be lower-case letters, digits, _")
    period = raw.get("period", "daily")
    if period not in ("daily", "quarterly"):
        raise LayoutError(f"{path.name}: period {period!r} is not daily or quarterly")
    files = tuple(
        _file(name, dict(spec), system, f"{path.name}:{name}") for name, spec in raw["files"].items()
    )
    return SystemLayout(system, period, files, str(raw.get("description", "")), path)


@cache
def load_layouts(directory: Path = LAYOUT_DIR) -> tuple[SystemLayout, ...]:
    """Every system layout in the directory, sorted by system name."""
    systems = tuple(sorted((load_system(p) for p in directory.glob("*.yaml")), key=lambda s: s.system))
    names = [s.system for s in systems]
    if len(set(names)) != len(names):
        raise LayoutError(f"a system is described twice: {sorted(n for n in names if names.count(n) > 1)}")
    seen: dict[str, str] = {}
    for s in systems:
        for f in s.files:
            if f.file_type in seen:
                raise LayoutError(f"file type {f.file_type} is in both {seen[f.file_type]} and {s.path.name}")
            seen[f.file_type] = s.path.name
    return systems


def file_layouts(directory: Path = LAYOUT_DIR) -> dict[str, FileLayout]:
    return {f.file_type: f for s in load_layouts(directory) for f in s.files}
