"""Valid staged frames fabricated from a layout: for tests and benchmarks, not for production.

`staged_frame(layout, n, as_of=…)` builds `n` staged rows of any file type that pass its suite:
keys unique, codes from the canonical set, numbers within min/max, dates in range and in the
order the cross-field rules want, and the metadata columns. The identity values are recognisable
fakes (SSNs from 900-..., which is never a valid area; `NAME…`; `@example.org`) so tests can
assert that none of them leaks into a report.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from quality_checks.suites import METADATA_COLUMNS, staged_columns
from sources.layout import Field, FileLayout


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), 9)).astype(object)


def _column(f: Field, n: int, as_of: date, event_days: np.ndarray) -> Any:
    i = np.arange(n)
    if f.type == "key":
        return _ids(f.name[:2].upper(), n)
    if f.type == "ssn":
        return np.char.zfill((900_000_000 + i).astype(str), 9).astype(object)
    if f.type == "name":
        return np.char.add("NAME", i.astype(str)).astype(object)
    if f.type == "zip":
        return np.full(n, "50309", dtype=object)
    if f.type == "phone":
        return np.full(n, "5155550142", dtype=object)
    if f.type == "email":
        return np.char.add(np.char.add("person", i.astype(str)), "@example.org").astype(object)
    if f.type == "text":
        return np.full(n, "TEXT", dtype=object)
    if f.type == "code":
        values = sorted(set((f.codes or {}).values()))
        return np.asarray(values, dtype=object)[i % len(values)]
    if f.type == "codes":
        values = sorted(set((f.codes or {}).values()))
        sep = f.separator or ";"
        pairs = [values[k % len(values)] + sep + values[(k + 1) % len(values)] for k in range(len(values))]
        return np.asarray(values + pairs, dtype=object)[i % (2 * len(values))]
    if f.type == "flag":
        return pd.array(i % 2 == 0, dtype="boolean")
    if f.type in ("amount", "decimal", "integer"):
        lo = f.min if f.min is not None else 0.0
        hi = f.max if f.max is not None else lo + 1000.0
        numbers = lo + (i % 7) * (hi - lo) / 6
        if f.type == "integer":
            return pd.array(np.floor(numbers).astype("int64"), dtype="Int64")
        return numbers.astype("float64")
    if f.type == "date":
        if f.identity:
            return pd.Timestamp("1950-01-01") + pd.to_timedelta(i % 18_000, unit="D")
        return pd.Timestamp(as_of) - pd.to_timedelta(event_days, unit="D")
    if f.type == "timestamp":
        return pd.Timestamp(as_of) - pd.to_timedelta(event_days, unit="D") + pd.Timedelta(hours=12)
    raise ValueError(f"{f.name}: no fabricator for type {f.type}")


def staged_frame(layout: FileLayout, n: int, *, as_of: date, file: str | None = None) -> pd.DataFrame:
    """`n` valid staged rows of `layout`'s file type, as of `as_of` (all of one file).

    Every event date of a row is the same day (so every `later >= earlier` rule holds), spread
    over the 300 days before `as_of`; birth dates fall between 1950 and 1999.
    """
    event_days = np.arange(n) % 300
    data: dict[str, object] = {}
    for f in layout.fields:
        if f.type != "const":
            data[f.name] = _column(f, n, as_of, event_days)
    data["_file"] = np.full(n, file or layout.file_name(as_of.strftime("%Y%m%d")), dtype=object)
    data["_line"] = np.arange(2, n + 2, dtype="int64")
    data["_extract_date"] = np.full(n, np.datetime64(as_of, "ns"))
    data["_is_deleted"] = np.zeros(n, dtype=bool)
    df = pd.DataFrame(data)
    assert tuple(df.columns) == staged_columns(layout) and set(METADATA_COLUMNS) <= set(df.columns)
    return df
