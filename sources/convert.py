"""Typing and value checks of the rows a reader returned, driven by the layout.

Event fields (keys, event dates, codes, amounts) that cannot be read set the row aside with a
reason naming the line, the field and the value. Identity fields (SSN, names, birth date, sex,
address, ZIP, phone, email) never do: an unreadable one becomes null here and is flagged in a
`<field>__invalid` column, and the value as delivered is kept in `<field>__raw` (restricted
zone only).
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd

from sources.layout import Field, FileLayout
from sources.readers import ParsedFile, Reject

Mask = np.ndarray  # boolean, one per row

_DIRECTIVE = {"%Y": r"(?P<year>\d{4})", "%m": r"(?P<month>\d{1,2})", "%d": r"(?P<day>\d{1,2})",
              "%H": r"(?P<hour>\d{1,2})", "%I": r"(?P<hour12>\d{1,2})", "%M": r"(?P<minute>\d{2})",
              "%S": r"(?P<second>\d{2})", "%p": r"(?P<ampm>AM|PM)"}  # fmt: skip


@cache
def format_regex(fmt: str) -> re.Pattern[str]:
    """A strict shape for a strptime format: pandas reads `2024022` as %Y%m%d, the contract does not.

    Month, day and hour may drop a leading zero only where a separator delimits them (`3/5/2024`);
    back to back (`%Y%m%d`) they are two digits. Groups are named (year, month, day, ...).
    Unsupported directives raise ValueError.
    """
    parts = re.split(r"(%[A-Za-z])", fmt)
    out = []
    for i, part in enumerate(parts):
        if part in _DIRECTIVE:
            glued = (i + 2 < len(parts) and parts[i + 1] == "" and parts[i + 2] in _DIRECTIVE) or (
                i >= 2 and parts[i - 1] == "" and parts[i - 2] in _DIRECTIVE
            )
            out.append(_DIRECTIVE[part].replace("{1,2}", "{2}") if glued else _DIRECTIVE[part])
        elif part.startswith("%"):
            raise ValueError(f"unsupported directive {part} in date format {fmt!r}")
        elif part:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


class Values:
    """One column's delivered values as its distinct stripped strings and a code per row.

    Every check and conversion runs once per distinct value and is then spread to the rows by
    the codes: a batch of 21 M wage rows holds a few hundred distinct years, quarters and codes,
    and dates repeat a great deal, so the per-value Python work is paid once per value.
    """

    def __init__(self, column: pd.Series) -> None:
        codes, uniques = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=True)
        stripped = [str(u).strip() for u in uniques]
        self.uniques = np.asarray([*stripped, ""], dtype=object)  # the last one stands for missing
        self.codes = np.where(codes < 0, len(stripped), codes)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: int) -> str:
        return str(self.uniques[self.codes[i]])

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        """A per-distinct-value result spread to the rows."""
        return per_value[self.codes]


class Problems:
    """Per-row problems of a batch, collected field by field; the first one names the kind."""

    def __init__(self, n: int) -> None:
        self.kind = np.full(n, "", dtype=object)
        self.reason = np.full(n, "", dtype=object)
        self.field = np.full(n, "", dtype=object)

    def add(self, mask: Mask, kind: str, f: Field, message: str, values: Values | None = None) -> None:
        """Flag the masked rows; `message` may hold `{value}`, filled in for flagged rows only."""
        for i in np.flatnonzero(mask):
            text = message.replace("{value}", _quoted(values[int(i)])) if values is not None else message
            if self.kind[i]:
                self.reason[i] = f"{self.reason[i]}; {text}"
            else:
                self.kind[i], self.reason[i], self.field[i] = kind, text, f.label

    @property
    def bad(self) -> Mask:
        return np.asarray(self.kind != "", dtype=bool)


def _quoted(value: object) -> str:
    return "'" + str(value)[:40] + "'"


def _or_none(values: np.ndarray, keep: Mask) -> np.ndarray:
    out = np.full(len(values), None, dtype=object)
    out[keep] = values[keep]
    return out


def _dates(values: np.ndarray, f: Field) -> tuple[np.ndarray, Mask]:
    """Parsed dates/timestamps and a mask of values present but unreadable (per distinct value)."""
    fmt = f.format or ""
    present = (values != "") & ~np.isin(values, list(f.null_values))
    text = pd.Series(values, dtype=object)
    shaped = np.asarray(text.str.match(format_regex(fmt).pattern).to_numpy(), dtype=bool)
    parsed = pd.to_datetime(pd.Series(_or_none(values, present & shaped)), format=fmt, errors="coerce")
    bad = present & np.asarray(parsed.isna().to_numpy(), dtype=bool)
    return (parsed.dt.normalize() if f.type == "date" else parsed).to_numpy(), bad


def _numbers(values: np.ndarray, f: Field, blank: Mask) -> tuple[np.ndarray, Mask, Mask]:
    """Numbers (implied decimals applied), a mask of non-numbers and one of values out of range."""
    pattern = r"^-?\d+$" if f.type in ("amount", "integer") else r"^-?\d+(?:\.\d+)?$"
    ok = np.asarray(pd.Series(values, dtype=object).str.match(pattern).to_numpy(), dtype=bool)
    num = pd.to_numeric(pd.Series(_or_none(values, ok & ~blank)), errors="coerce").astype(float)
    if f.implied_decimals:
        num = num / (10**f.implied_decimals)
    out_of_range = np.zeros(len(values), dtype=bool)
    if f.min is not None:
        out_of_range |= np.asarray((num < f.min).to_numpy(), dtype=bool)
    if f.max is not None:
        out_of_range |= np.asarray((num > f.max).to_numpy(), dtype=bool)
    return num.to_numpy(dtype=float), ~blank & ~ok, out_of_range


def _map_codes(values: np.ndarray, codes: dict[str, str], sep: str | None) -> np.ndarray:
    """Canonical codes; None where a value (or, for a list, any part of it) is outside the set."""
    if sep is None:
        return np.asarray([codes.get(v) for v in values], dtype=object)
    out = []
    for v in values:
        got = [codes.get(p.strip()) for p in v.split(sep) if p.strip()]
        out.append(None if any(g is None for g in got) else sep.join(sorted(g for g in got if g)))
    return np.asarray(out, dtype=object)


def _convert_field(f: Field, col: Values, out: dict[str, object], probs: Problems) -> None:
    """Check and type one field: the work is done on its distinct values, then spread to the rows."""
    v = col.uniques
    blank_v = np.asarray(v == "", dtype=bool)
    blank = col.rows(blank_v)
    label = f.label
    if f.type == "key":
        probs.add(blank, "missing_key", f, f"{label} is blank: the row has no key")
        out[f.name] = col.rows(_or_none(v, ~blank_v))
        return
    if f.required:
        probs.add(blank, "missing_value", f, f"{label} is blank and required")
    if f.type in ("text", "name", "ssn", "zip", "phone", "email"):
        out[f.name] = col.rows(_or_none(v, ~blank_v))
    elif f.type in ("code", "flag", "codes"):
        mapped = _map_codes(v, f.codes or {}, f.separator or ";" if f.type == "codes" else None)
        unknown_v = ~blank_v & np.asarray(pd.isna(mapped), dtype=bool)
        unknown = col.rows(unknown_v)
        if f.identity:
            out[f"{f.name}__invalid"] = unknown
            out[f"{f.name}__raw"] = col.rows(_or_none(v, ~blank_v))
        else:
            allowed = ", ".join(sorted(f.codes or {}))
            probs.add(unknown, "bad_code", f, f"{label} {{value}} is not one of {allowed}", col)
        kept = col.rows(_or_none(mapped, ~blank_v & ~unknown_v))
        if f.type == "flag":
            flags = pd.array(kept == "true", dtype="boolean")
            flags[pd.isna(kept)] = pd.NA
            out[f.name] = flags
        else:
            out[f.name] = kept
    elif f.type in ("date", "timestamp"):
        parsed, bad_v = _dates(v, f)
        bad = col.rows(bad_v)
        if f.identity:
            out[f"{f.name}__invalid"] = bad
            out[f"{f.name}__raw"] = col.rows(_or_none(v, ~blank_v))
        else:
            probs.add(
                bad, "bad_date", f, f"{label} {{value}} is not a valid {f.type} in the format {f.format}", col
            )
        out[f.name] = col.rows(parsed)
    elif f.type in ("amount", "decimal", "integer"):
        num_v, not_number_v, out_of_range_v = _numbers(v, f, blank_v)
        not_number, out_of_range = col.rows(not_number_v), col.rows(out_of_range_v)
        num = col.rows(num_v)
        probs.add(not_number, "bad_amount", f, f"{label} {{value}} is not a number", col)
        bounds = f"{f.min if f.min is not None else '-inf'}..{f.max if f.max is not None else 'inf'}"
        probs.add(out_of_range & ~not_number, "bad_amount", f, f"{label} {{value}} is outside {bounds}", col)
        out[f.name] = pd.Series(num).round().astype("Int64").array if f.type == "integer" else num
    else:
        raise ValueError(f"{f.name}: no conversion for type {f.type}")


def convert(parsed: ParsedFile | list[ParsedFile]) -> tuple[pd.DataFrame, list[Reject]]:
    """Typed rows (canonical codes, dates, numbers) and the rows set aside for event-field problems.

    Takes one file or several files of one type at once: the work is column-wise, so a night's
    catch-up of hundreds of small drops costs about as much as one file of their size.
    """
    files = parsed if isinstance(parsed, list) else [parsed]
    if not files:
        raise ValueError("convert needs at least one file")
    layout: FileLayout = files[0].layout
    raw = files[0].rows if len(files) == 1 else pd.concat([p.rows for p in files], ignore_index=True)
    probs = Problems(len(raw))
    out: dict[str, object] = {"_file": raw["_file"].to_numpy(), "_line": raw["_line"].to_numpy()}
    for f in layout.fields:
        if f.type != "const":
            _convert_field(f, Values(raw[f.name]), out, probs)
    typed = pd.DataFrame(out)
    bad = probs.bad
    lines = raw["_line"].to_numpy()
    names = raw["_file"].to_numpy()
    rejects = [
        Reject(
            int(lines[i]),
            str(probs.kind[i]),
            str(probs.reason[i]),
            _raw_line(raw, layout, int(i)),
            str(probs.field[i]),
            str(names[i]),
        )
        for i in np.flatnonzero(bad)
    ]
    return typed[~bad].reset_index(drop=True), rejects


def _raw_line(raw: pd.DataFrame, layout: FileLayout, i: int) -> str:
    """The row as delivered, rebuilt from its fields (restricted zone only)."""
    values = [str(raw[f.name].iat[i]) for f in layout.fields if f.type != "const"]
    return (
        (layout.delimiter or "").join(values)
        if layout.delimiter
        else "".join(str(raw[f.name].iat[i]).ljust(f.length or 0) for f in layout.fields if f.type != "const")
    )
