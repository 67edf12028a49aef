"""Run a file type's suite over a staged frame and report the failures by row key.

`validate()` runs the suite of `quality_checks.suites` through an in-memory GX context (pandas
data source, dataframe asset, whole-dataframe batch definition) and turns GX's result into a
small frozen report. The report never carries a value of the data: for a failing row it names
the record key and the file and line (`_file`, `_line`) — never an SSN, name, birth date,
address, phone or email, and never the offending value itself.

How the failing rows are found: the frame is validated under a named positional index (`_row`,
on a shallow copy: the caller's frame is untouched) with the COMPLETE result format,
`unexpected_index_column_names=["_row"]` and `exclude_unexpected_values=True`. GX then returns,
per expectation, just the positions of every failing row — no values at all, and in one list
(with key columns as `unexpected_index_column_names` GX builds one dict per failing row in a
Python loop that also copies the failing value: 25 s when all of 1M rows fail, against 2.5 s
this way). The keys of the first `max_keys` failing rows are then read from the frame.

An expectation whose column is absent from the frame is not run (the schema expectation already
fails and names the column); it is reported as failed and "not evaluated".

A catch-up run can store tens of millions of rows (19 wage quarters: 21 M), too many for one
pandas frame. `validate_parts()` validates them a few whole files at a time and merges the
reports (`merge_reports`): every rule of the suite is scoped to a row or to one file (keys are
unique per file), so the merged report equals one validation of the whole, except for the
table-level volume rule, which is only meaningful for a single night's file and only allowed
with a single part.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from quality_checks._gx import ephemeral_context, gx, gxe
from quality_checks.suites import expectations, identifier_columns
from sources.layout import FileLayout

log = logging.getLogger(__name__)

KeyValue = str | int | float | bool | None
#: The name of the positional index the frame is validated under (GX reports failing rows by it).
ROW_INDEX = "_row"
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [ROW_INDEX],
    "exclude_unexpected_values": True,
    "partial_unexpected_count": 0,
}
#: Failing keys shown per expectation in the markdown report (the full, capped list is in `failing_keys`).
MARKDOWN_KEYS = 5


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation's outcome. `failing_keys`: identifiers of up to `max_keys` failing rows."""

    expectation: str  # short human name: "service_code in its code set"
    rule: str  # schema, not_null, unique, code_set, code_list, range, date_range, order, volume
    column: str | None  # the column it is about; for a pair "exit_date, entry_date"; None for table rules
    success: bool
    unexpected_count: int | None  # failing rows (None for table-level rules or when not evaluated)
    failing_keys: list[dict[str, KeyValue]] = field(default_factory=list)
    observed: str | None = None  # table rules: "missing: x; unexpected: y", "12 rows"
    error: str | None = None  # not evaluated: why (never a data value)
    failing_positions: tuple[int, ...] = ()  # every failing row, as a position (iloc) in the frame


@dataclass(frozen=True)
class ValidationReport:
    file_type: str
    rows: int
    success: bool
    results: tuple[ExpectationResult, ...]
    key_columns: tuple[str, ...]  # what a failing key names

    @property
    def failed(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.success)

    def result(self, expectation: str) -> ExpectationResult:
        for r in self.results:
            if r.expectation == expectation:
                return r
        raise KeyError(f"{self.file_type} report has no expectation {expectation!r}")

    def failing_positions(self) -> tuple[int, ...]:
        """Positions (iloc) of every row that fails a row-level expectation, sorted: for setting rows aside."""
        return tuple(sorted({p for r in self.results for p in r.failing_positions}))

    def failing_keys(self) -> dict[str, list[dict[str, KeyValue]]]:
        """Failing keys per failing expectation name (only those with row keys)."""
        return {r.expectation: r.failing_keys for r in self.failed if r.failing_keys}

    def summary(self) -> str:
        if self.success:
            return f"{self.file_type}: {self.rows} rows, all {len(self.results)} expectations passed."
        names = "; ".join(
            r.expectation + (f" ({_rows(r.unexpected_count)})" if r.unexpected_count else "")
            for r in self.failed
        )
        return f"{self.file_type}: {self.rows} rows, {len(self.failed)} of {len(self.results)} expectations failed: {names}"

    def to_markdown(self, *, keys_per_expectation: int = MARKDOWN_KEYS) -> str:
        """A markdown report for Dagster metadata: failed expectations first, then the passed ones."""
        lines = [
            f"**{self.file_type}**: {self.rows:,} rows, {len(self.results)} expectations, "
            f"{len(self.failed)} failed.",
            "",
            "| result | expectation | column | failing rows | failing keys |",
            "|---|---|---|---|---|",
        ]
        ordered = sorted(self.results, key=lambda r: r.success)  # stable: failed first, suite order kept
        for r in ordered:
            if r.error:
                detail = r.error
            elif r.failing_keys:
                shown = [_key_text(k) for k in r.failing_keys[:keys_per_expectation]]
                more = (r.unexpected_count or len(r.failing_keys)) - len(shown)
                detail = "; ".join(shown) + (f"; … {more} more" if more > 0 else "")
            else:
                detail = r.observed or ""
            count = "" if r.unexpected_count is None else f"{r.unexpected_count:,}"
            cells = ["passed" if r.success else "**FAILED**", r.expectation, r.column or "", count, detail]
            lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
        return "\n".join(lines)


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _key_text(key: Mapping[str, KeyValue]) -> str:
    return ", ".join(f"{k}={v}" for k, v in key.items())


def _plain(value: Any) -> KeyValue:
    """A JSON-friendly identifier value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _columns_of(exp: gxe.Expectation) -> tuple[str, ...]:
    meta = exp.meta or {}
    cols = list(meta.get("columns") or [])
    for attr in ("column", "column_A", "column_B"):
        value = getattr(exp, attr, None)
        if isinstance(value, str):
            cols.append(value)
    cols.extend(getattr(exp, "column_list", None) or [])
    return tuple(dict.fromkeys(cols))


def _raised(exception_info: Any) -> bool:
    if not isinstance(exception_info, Mapping):
        return False
    if "raised_exception" in exception_info:
        return bool(exception_info["raised_exception"])
    return any(_raised(v) for v in exception_info.values())


def _exception_type(exception_info: Any) -> str:
    """The exception class of a GX error, without its message (a message may quote a data value)."""
    if isinstance(exception_info, Mapping):
        if "exception_traceback" in exception_info:
            tail = str(exception_info.get("exception_traceback") or "").strip().splitlines()
            return tail[-1].split(":", 1)[0].rsplit(".", 1)[-1] if tail else "error"
        for v in exception_info.values():
            if _raised(v):
                return _exception_type(v)
    return "error"


def _observed(rule: str, result: Mapping[str, Any]) -> str | None:
    if rule == "volume":
        return f"{result.get('observed_value')} rows"
    if rule == "schema":
        mismatched = (result.get("details") or {}).get("mismatched") or {}
        parts = []
        if mismatched.get("missing"):
            parts.append("missing: " + ", ".join(sorted(map(str, mismatched["missing"]))))
        if mismatched.get("unexpected"):
            parts.append("unexpected: " + ", ".join(sorted(map(str, mismatched["unexpected"]))))
        return "; ".join(parts) or None
    return None


def _schema_columns(result: Mapping[str, Any]) -> str | None:
    mismatched = (result.get("details") or {}).get("mismatched") or {}
    cols = sorted(
        map(str, itertools.chain(mismatched.get("missing") or [], mismatched.get("unexpected") or []))
    )
    return ", ".join(cols) or None


def _positions(result: Mapping[str, Any]) -> tuple[int, ...]:
    """Failing row positions from GX's index list: `[{"_row": [3, 7]}]` (or one dict per row)."""
    out: list[int] = []
    for item in result.get("unexpected_index_list") or []:
        value = item.get(ROW_INDEX) if isinstance(item, Mapping) else item
        if isinstance(value, list | tuple | np.ndarray):
            out.extend(int(v) for v in value)
        elif value is not None:
            out.append(int(value))
    return tuple(out)


def _keys(
    df: pd.DataFrame, positions: Sequence[int], identifiers: Sequence[str], max_keys: int | None
) -> list[dict[str, KeyValue]]:
    shown = list(positions if max_keys is None else positions[:max_keys])
    if not shown:
        return []
    if not identifiers:
        return [{ROW_INDEX: p} for p in shown]
    rows = df.iloc[shown][list(identifiers)]
    return [
        {c: _plain(v) for c, v in zip(identifiers, values, strict=True)}
        for values in rows.itertuples(index=False)
    ]


#: Dates outside nanosecond range become these (they fail every date rule the suites hold).
_NS_FLOOR, _NS_CEILING = np.datetime64("1677-09-22"), np.datetime64("2262-04-10")


def _nanosecond_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Date columns in nanoseconds: GX's pandas engine compares only those vectorised; others (DuckDB
    hands out microseconds) went one value at a time through Python, 60% of a check's time. A date
    outside that range (year 2999) is clamped to its edge, which every date range still rejects."""
    for c in df.columns:
        dtype = df[c].dtype
        if pd.api.types.is_datetime64_dtype(dtype) and not pd.api.types.is_datetime64_ns_dtype(dtype):
            values = df[c].to_numpy()
            df[c] = np.clip(values, _NS_FLOOR.astype(values.dtype), _NS_CEILING.astype(values.dtype)).astype(
                "datetime64[ns]"
            )
    return df


def validate(
    df: pd.DataFrame,
    layout: FileLayout,
    *,
    as_of: date,
    volume: tuple[int, int] | None = None,
    max_keys: int | None = 50,
) -> ValidationReport:
    """Validate staged rows of one file type against its suite (see `suites.build_suite`).

    `max_keys` caps the failing keys kept per expectation (None: all of them).
    `unexpected_count` and `failing_positions` always cover every failing row.
    """
    present = set(map(str, df.columns))
    identifiers = [c for c in identifier_columns(layout) if c in present]
    exps = expectations(layout, as_of=as_of, volume=volume)
    runnable = [e for e in exps if all(c in present for c in _columns_of(e))]
    skipped = [e for e in exps if not all(c in present for c in _columns_of(e))]

    gx_results: list[tuple[int, ExpectationResult]] = []
    if runnable:
        context = ephemeral_context()
        batch_definition = (
            context.data_sources.add_pandas("staged")
            .add_dataframe_asset(layout.file_type)
            .add_batch_definition_whole_dataframe("whole")
        )
        staged = _nanosecond_dates(df.copy(deep=False))
        staged.index = pd.RangeIndex(len(df), name=ROW_INDEX)
        batch = batch_definition.get_batch(batch_parameters={"dataframe": staged})
        suite = gx.ExpectationSuite(name=f"{layout.file_type}_staged", expectations=runnable)
        outcome = batch.validate(suite, result_format=RESULT_FORMAT)
        for r in outcome.results:
            config = r.expectation_config
            if config is None:  # GX always attaches it; keep mypy and the report honest
                raise RuntimeError(f"{layout.file_type}: a GX result without its expectation")
            meta = dict(config.meta or {})
            rule = str(meta.get("rule", config.type))
            cols = list(meta.get("columns") or [])
            result = dict(r.result or {})
            error = None
            if _raised(r.exception_info):
                error = f"not evaluated: {_exception_type(r.exception_info)}"
                log.warning("%s: %s could not be evaluated (%s)", layout.file_type, meta.get("name"), error)
            success = bool(r.success) and error is None
            column = ", ".join(cols) or None
            if rule == "schema" and not success:
                column = _schema_columns(result)
            count = result.get("unexpected_count")
            positions = () if success else _positions(result)
            gx_results.append(
                (
                    int(meta.get("order", len(gx_results))),
                    ExpectationResult(
                        expectation=str(meta.get("name", config.type)),
                        rule=rule,
                        column=column,
                        success=success,
                        unexpected_count=None if count is None else int(count),
                        failing_keys=_keys(df, positions, identifiers, max_keys),
                        observed=_observed(rule, result),
                        error=error,
                        failing_positions=positions,
                    ),
                )
            )
    for e in skipped:
        meta = dict(e.meta or {})
        missing = [c for c in _columns_of(e) if c not in present]
        gx_results.append(
            (
                int(meta["order"]),
                ExpectationResult(
                    expectation=str(meta["name"]),
                    rule=str(meta["rule"]),
                    column=", ".join(meta.get("columns") or []) or None,
                    success=False,
                    unexpected_count=None,
                    error="not evaluated: column missing (" + ", ".join(missing) + ")",
                ),
            )
        )
    results = tuple(r for _, r in sorted(gx_results, key=lambda t: t[0]))
    return ValidationReport(
        file_type=layout.file_type,
        rows=len(df),
        success=all(r.success for r in results),
        results=results,
        key_columns=tuple(identifiers),
    )


def merge_reports(reports: Sequence[ValidationReport], *, max_keys: int | None = 50) -> ValidationReport:
    """One report of consecutive parts validated alone: positions run on across the parts."""
    if not reports:
        raise ValueError("merge_reports needs at least one report")
    first = reports[0]
    if len(reports) == 1:
        return first
    names = [r.expectation for r in first.results]
    for rep in reports[1:]:
        if [r.expectation for r in rep.results] != names or rep.file_type != first.file_type:
            raise ValueError(f"{first.file_type}: parts were validated against different suites")
    offsets = list(itertools.accumulate((rep.rows for rep in reports[:-1]), initial=0))
    merged: list[ExpectationResult] = []
    for i, name in enumerate(names):
        parts = [rep.results[i] for rep in reports]
        failing = [p for p in parts if not p.success]
        counts = [p.unexpected_count for p in parts if p.unexpected_count is not None]
        keys = [k for p in parts for k in p.failing_keys]
        merged.append(
            ExpectationResult(
                expectation=name,
                rule=parts[0].rule,
                column=failing[0].column if failing else parts[0].column,
                success=not failing,
                unexpected_count=sum(counts) if counts else None,
                failing_keys=keys if max_keys is None else keys[:max_keys],
                observed=next((p.observed for p in failing if p.observed), parts[0].observed),
                error=next((p.error for p in parts if p.error), None),
                failing_positions=tuple(
                    pos + off for p, off in zip(parts, offsets, strict=True) for pos in p.failing_positions
                ),
            )
        )
    return ValidationReport(
        file_type=first.file_type,
        rows=sum(rep.rows for rep in reports),
        success=all(r.success for r in merged),
        results=tuple(merged),
        key_columns=first.key_columns,
    )


def validate_parts(
    parts: Iterable[pd.DataFrame],
    layout: FileLayout,
    *,
    as_of: date,
    volume: tuple[int, int] | None = None,
    max_keys: int | None = 50,
) -> ValidationReport:
    """`validate` over consecutive parts of whole files, holding one part in memory at a time.

    Positions in the report run on across the parts, as if they were one frame. `volume` needs
    a single part (a night's row count is one file's).
    """
    reports: list[ValidationReport] = []
    for part in parts:
        if reports and volume is not None:
            raise ValueError(f"{layout.file_type}: a volume check needs the rows as one part")
        reports.append(validate(part, layout, as_of=as_of, volume=volume, max_keys=max_keys))
    if not reports:
        raise ValueError(f"{layout.file_type}: nothing to validate (give an empty frame for no rows)")
    return merge_reports(reports, max_keys=max_keys)
