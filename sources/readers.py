"""The two generic readers: one for fixed-width files, one for delimited files. Both are driven
entirely by a `FileLayout`; neither knows any system.

They split a verified file into records *line by line* (the contract puts one record on a
line, so a stray quote never swallows the rows after it), set aside rows that cannot be read
(undecodable bytes, wrong field count, unbalanced quote, wrong record length or type) with the
physical line number and a reason, and return every other row as strings, one column per
layout field. Typing and value checks come next (`sources.convert`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sources.layout import FileLayout

BOM = b"\xef\xbb\xbf"


class SchemaDriftError(ValueError):
    """The file's columns are not the layout's: the file is stopped, nothing of it is read."""


@dataclass(frozen=True)
class Reject:
    """A delivered row set aside, with what a person needs to find and fix it."""

    line: int  # 1-based physical line in the file (the header is line 1)
    kind: (
        str  # encoding, field_count, unbalanced_quote, record_length, record_type, missing_key, bad_date, ...
    )
    reason: str
    raw: str  # the line as delivered (undecodable bytes shown as U+FFFD)
    field: str | None = None
    file: str = ""  # path relative to the landing root


@dataclass
class ParsedFile:
    """The readable rows of one file as strings (`rows`, with `_line`) and the rows set aside."""

    layout: FileLayout
    path: Path
    rows: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    relpath: str = ""

    @property
    def rows_in_file(self) -> int:
        return len(self.rows) + len(self.rejects)


def _lines(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    return parts


def _show(raw: bytes, encoding: str) -> str:
    return raw.rstrip(b"\r").decode(encoding, errors="replace")


def _decode(raw: bytes, encoding: str) -> tuple[str | None, str]:
    try:
        return raw.decode(encoding), ""
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        return None, (
            f"undecodable byte 0x{byte:02X} at character {exc.start + 1}: the file is declared {encoding}"
        )


def _decoded_lines(data: bytes, lines: list[bytes], encoding: str) -> list[str] | None:
    """Every line decoded at once (one C call), or None when some line has a byte the encoding
    lacks (then each line is decoded on its own, to set aside just the bad ones)."""
    try:
        texts = data.decode(encoding).split("\n")
    except UnicodeDecodeError:
        return None
    return texts[: len(lines)] if len(texts) >= len(lines) else None


def _split_quoted(texts: list[str], sep: str) -> list[list[str]] | None:
    """All lines through one csv reader; None when one fails or a record spans lines (then the
    lines are read one at a time, so that only the bad ones are set aside)."""
    try:
        rows = list(csv.reader(texts, delimiter=sep, strict=True))
    except csv.Error:
        return None
    return rows if len(rows) == len(texts) else None


def read_delimited(layout: FileLayout, path: Path, relpath: str | None = None) -> ParsedFile:
    name = relpath or path.name
    data = path.read_bytes()
    if data.startswith(BOM):
        data = data[len(BOM) :]
    enc = layout.encoding
    sep = layout.delimiter or ","
    quoted = layout.quoting == "rfc4180"
    sources = [f.source or f.name for f in layout.fields if f.type != "const"]
    names = [f.name for f in layout.fields if f.type != "const"]
    index: list[int] | None = None
    rejects: list[Reject] = []
    lines = _lines(data)
    decoded = _decoded_lines(data, lines, enc)
    texts: list[str] = []  # the data lines that decoded and whose quotes balance
    numbers: list[int] = []
    for number, raw in enumerate(lines, start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue  # blank lines are not records (a trailing empty line is common)
        if decoded is not None:
            text: str | None
            text, problem = decoded[number - 1].rstrip("\r"), ""
        else:
            text, problem = _decode(raw, enc)
        if index is None:
            if text is None:
                raise SchemaDriftError(f"{name}: the header row cannot be read: {problem}")
            index = _header_index(layout, name, number, text, sources, sep, quoted)
            continue
        if text is None:
            rejects.append(Reject(number, "encoding", problem, _show(raw, enc)))
        elif quoted and text.count('"') % 2:
            rejects.append(
                Reject(
                    number, "unbalanced_quote", "a quote opens a field and never closes on this line", text
                )
            )
        else:
            texts.append(text)
            numbers.append(number)
    if index is None:
        raise SchemaDriftError(f"{name}: no header row")
    split = _split_quoted(texts, sep) if quoted else [t.split(sep) for t in texts]
    rows: list[list[str]] = []
    line_no: list[int] = []
    width = len(index)
    in_order = index == list(range(width))
    for i, (number, text) in enumerate(zip(numbers, texts, strict=True)):
        if split is not None:
            fields = split[i]
        elif '"' in text:
            try:
                fields = next(csv.reader([text], delimiter=sep, strict=True))
            except csv.Error as exc:
                rejects.append(Reject(number, "unbalanced_quote", f"malformed quoting: {exc}", text))
                continue
        else:
            fields = text.split(sep)
        if len(fields) != width:
            rejects.append(
                Reject(number, "field_count", f"{len(fields)} fields where the layout has {width}", text)
            )
            continue
        rows.append(fields if in_order else [fields[j] for j in index])
        line_no.append(number)
    rejects.sort(key=lambda r: r.line)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    frame = pd.DataFrame({n: _objects(c) for n, c in zip(names, columns, strict=True)})
    frame.insert(0, "_line", np.asarray(line_no, dtype=np.int64))
    return ParsedFile(layout, path, frame, rejects)


def _objects(values: tuple[str, ...]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values  # five times faster than pd.Series(values, dtype=object)
    return out


def _header_index(
    layout: FileLayout, name: str, number: int, text: str, sources: list[str], sep: str, quoted: bool
) -> list[int]:
    """Where each layout field sits in the header; schema drift stops the file."""
    header = next(csv.reader([text], delimiter=sep)) if quoted else text.split(sep)
    header = [h.strip() for h in header]
    missing = [s for s in sources if s not in header]
    unexpected = [h for h in header if h not in sources]
    if missing or unexpected or len(header) != len(sources):
        detail = "; ".join(
            p
            for p in (
                f"unexpected column(s) {', '.join(repr(u) for u in unexpected)}" if unexpected else "",
                f"missing column(s) {', '.join(repr(m) for m in missing)}" if missing else "",
                "a column repeats" if len(set(header)) != len(header) else "",
            )
            if p
        )
        raise SchemaDriftError(
            f"{name}: schema drift in the header row (line {number}): {detail}. The {layout.file_type} "
            f"layout ({layout.system}.yaml) expects: {', '.join(sources)}. Fix the extract or the layout."
        )
    return [header.index(s) for s in sources]


def read_fixed_width(layout: FileLayout, path: Path, relpath: str | None = None) -> ParsedFile:
    """Vectorised: well-formed records are sliced as a numpy byte matrix, the rest set aside."""
    name = relpath or path.name
    data = path.read_bytes()
    width = int(layout.record_length or 0)
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    starts = np.r_[0, ends + 1]
    stops = np.r_[ends, len(arr)]
    if len(stops) and starts[-1] == len(arr):  # the file ends with a line break
        starts, stops = starts[:-1], stops[:-1]
    cr = (stops > starts) & (arr[np.maximum(stops - 1, 0)] == 13)
    stops = stops - cr
    lengths = stops - starts
    numbers = np.arange(1, len(starts) + 1)
    nonblank = lengths > 0
    for i in np.flatnonzero(nonblank & (lengths < width)):  # short lines: blank if only white space
        nonblank[i] = bool(data[starts[i] : stops[i]].strip())
    idx = np.flatnonzero(nonblank)
    header_tag = layout.header_record.tag if layout.header_record else None
    trailer_tag = layout.trailer_record.tag if layout.trailer_record else None
    if header_tag is not None:
        if (
            len(idx) == 0
            or data[starts[idx[0]] : starts[idx[0]] + 1].decode("ascii", "replace") != header_tag
        ):
            raise SchemaDriftError(f"{name}: the first record is not a header record ({header_tag!r})")
        idx = idx[1:]
    if trailer_tag is not None:
        if (
            len(idx) == 0
            or data[starts[idx[-1]] : starts[idx[-1]] + 1].decode("ascii", "replace") != trailer_tag
        ):
            raise SchemaDriftError(f"{name}: the last record is not a trailer record ({trailer_tag!r})")
        idx = idx[:-1]
    rejects: list[Reject] = []
    good = lengths[idx] == width
    for i in idx[~good]:
        raw = data[starts[i] : stops[i]]
        rejects.append(
            Reject(
                int(numbers[i]),
                "record_length",
                f"the record is {len(raw)} characters long where the layout has {width}",
                _show(raw, layout.encoding),
            )
        )
    idx = idx[good]
    block = arr[starts[idx][:, None] + np.arange(width)] if len(idx) else np.zeros((0, width), np.uint8)
    ok = np.ones(len(idx), dtype=bool)
    if layout.encoding == "ascii":
        high = (block >= 128).any(axis=1)
        for j in np.flatnonzero(high):
            raw = data[starts[idx[j]] : stops[idx[j]]]
            pos = int(np.flatnonzero(block[j] >= 128)[0])
            rejects.append(
                Reject(
                    int(numbers[idx[j]]),
                    "encoding",
                    f"undecodable byte 0x{block[j, pos]:02X} at character {pos + 1}: "
                    "the file is declared ascii",
                    _show(raw, "ascii"),
                )
            )
        ok &= ~high
        if high.any():  # those rows are set aside; keep the byte matrix decodable for the rest
            block = np.where(block >= 128, np.uint8(63), block)
    columns: dict[str, pd.Series] = {}
    for f in layout.fields:
        start, length = int(f.start or 1) - 1, int(f.length or 0)
        raw_col = np.ascontiguousarray(block[:, start : start + length]).view(f"S{length}").ravel()
        if f.type == "const":
            bad = raw_col != (f.value or "").encode("ascii")
            for j in np.flatnonzero(bad & ok):
                rejects.append(
                    Reject(
                        int(numbers[idx[j]]),
                        "record_type",
                        f"{f.name} is {raw_col[j].decode('ascii', 'replace')!r}, "
                        f"the layout expects {f.value!r}",
                        _show(data[starts[idx[j]] : stops[idx[j]]], layout.encoding),
                        f.name,
                    )
                )
            ok &= ~bad
            continue
        text = np.char.strip(
            raw_col.astype(f"U{length}")
            if layout.encoding == "ascii"
            else np.char.decode(raw_col, layout.encoding, errors="replace")
        )
        columns[f.name] = pd.Series(text, dtype=object)
    frame = pd.DataFrame(columns)
    frame.insert(0, "_line", numbers[idx].astype(np.int64))
    frame = frame[ok].reset_index(drop=True)
    rejects.sort(key=lambda r: r.line)
    return ParsedFile(layout, path, frame, rejects)


def read_file(layout: FileLayout, path: Path, relpath: str | None = None) -> ParsedFile:
    """Read one file; rows and rejects carry its path relative to the landing root."""
    reader = read_fixed_width if layout.format == "fixed_width" else read_delimited
    parsed = reader(layout, path, relpath)
    rel = relpath or path.name
    parsed.relpath = rel
    parsed.rows.insert(0, "_file", rel)
    parsed.rejects = [Reject(r.line, r.kind, r.reason, r.raw, r.field, rel) for r in parsed.rejects]
    return parsed
