"""Great Expectations suites derived from the declarative source layouts.

One place for each rule: the layout (`sources/layouts/*.yaml`) says which columns a staged file
type has, its key, which fields are required, each code field's canonical code set and each
number's min/max. The only rules written here are the cross-field orderings (a table below),
the plausible date ranges and the row-count bounds the caller passes in.

The suite runs on **staged** rows of one file type (see `quality_checks.runner`): one column per
non-const layout field plus the metadata columns `_file`, `_line`, `_extract_date`, `_is_deleted`.

Every expectation carries `meta = {"name", "rule", "columns", "order"}`: a short human name
("service_code in its code set"), the kind of rule, the columns it is about and its position in
the suite, which the runner uses to report it.

Key uniqueness is scoped to what a delivery guarantees: within one file, a key appears once per
version (`last_updated` stamp). A DELTA file may carry two versions of one record written the
same night (the newer supersedes the older), and a frame spanning several files carries the
re-sent versions of a key once per file; neither is a duplicate. Two rows of one file with the
same key and the same stamp are: nothing says which one wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from quality_checks._gx import gx, gxe
from sources.layout import Field, FileLayout

#: The metadata columns every staged frame carries besides the layout's fields.
METADATA_COLUMNS: tuple[str, ...] = ("_file", "_line", "_extract_date", "_is_deleted")
#: Columns that identify a staged row when the layout's key is not enough (wages have none).
ROW_ID_COLUMNS: tuple[str, ...] = ("_file", "_line")

EVENT_DATE_MIN = date(1990, 1, 1)
#: Services, classes and training may be scheduled ahead: event dates up to as_of + this.
EVENT_DATE_HORIZON = timedelta(days=400)
BIRTH_DATE_MIN = date(1900, 1, 1)


class FieldOrder(NamedTuple):
    """`later >= earlier` wherever both are present."""

    later: str
    earlier: str


#: Cross-field rules per file type; rows where either date is missing are not checked.
CROSS_FIELD_RULES: Mapping[str, tuple[FieldOrder, ...]] = {
    "t1_participation": (
        FieldOrder("exit_date", "entry_date"),
        FieldOrder("training_end_date", "training_start_date"),
    ),
    "vr_cases": (
        FieldOrder("closure_date", "application_date"),
        FieldOrder("service_start_date", "application_date"),
        FieldOrder("eligibility_date", "application_date"),
        FieldOrder("ipe_date", "eligibility_date"),
        FieldOrder("waitlist_end_date", "waitlist_start_date"),
    ),
    "ui_claims": (
        FieldOrder("last_payment_date", "claim_filed_date"),
        FieldOrder("claim_filed_date", "benefit_year_begin"),
    ),
}

#: Rule kinds, as they appear in `meta["rule"]` and in the runner's report.
RULES = ("schema", "not_null", "unique", "code_set", "code_list", "range", "date_range", "order", "volume")


def staged_columns(layout: FileLayout) -> tuple[str, ...]:
    """The exact column set of a staged frame of this file type: fields, then metadata."""
    return (*layout.columns, *METADATA_COLUMNS)


def identifier_columns(layout: FileLayout) -> tuple[str, ...]:
    """The columns reported for a failing row: the record key, then file and line."""
    return tuple(dict.fromkeys((*layout.key, *ROW_ID_COLUMNS)))


def unique_columns(layout: FileLayout) -> tuple[str, ...]:
    """The compound that must be unique: key, last-updated stamp (when there is one), file."""
    cols = [*layout.key]
    if layout.last_updated and layout.last_updated not in cols:
        cols.append(layout.last_updated)
    return (*cols, "_file")


def codes_regex(codes: Mapping[str, str], separator: str) -> str:
    """A regex matching a `separator`-joined list of canonical codes (one or more)."""
    one = "(?:" + "|".join(_escape(c) for c in sorted(set(codes.values()), key=lambda c: (-len(c), c))) + ")"
    return f"^{one}(?:{_escape(separator)}{one})*$"


def _escape(text: str) -> str:
    # re.escape also escapes spaces, which is valid but unreadable in a report; escape only metacharacters.
    return "".join("\\" + ch if ch in r".^$*+?{}[]\|()" else ch for ch in text)


def _fmt_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _date_bounds(f: Field, as_of: date) -> tuple[date, date]:
    if f.identity:
        return BIRTH_DATE_MIN, as_of
    return EVENT_DATE_MIN, as_of + EVENT_DATE_HORIZON


def _check_cross_field_rules(layout: FileLayout) -> tuple[FieldOrder, ...]:
    rules = CROSS_FIELD_RULES.get(layout.file_type, ())
    names = set(layout.columns)
    for rule in rules:
        for col in rule:
            if col not in names:
                raise ValueError(
                    f"cross-field rule {rule.later} >= {rule.earlier}: {layout.file_type} has no {col}"
                )
    return rules


def expectations(
    layout: FileLayout, *, as_of: date, volume: tuple[int, int] | None = None
) -> list[gxe.Expectation]:
    """The suite's expectations, in report order (see `build_suite`)."""
    if isinstance(as_of, datetime):  # a datetime (or Timestamp) is a date too: judge by its day
        as_of = as_of.date()
    out: list[gxe.Expectation] = []

    def add(exp_cls: Any, name: str, rule: str, columns: tuple[str, ...], **kwargs: Any) -> None:
        meta = {"name": name, "rule": rule, "columns": list(columns), "order": len(out)}
        out.append(exp_cls(meta=meta, **kwargs))

    add(
        gxe.ExpectTableColumnsToMatchSet,
        "columns match the layout",
        "schema",
        (),
        column_set=list(staged_columns(layout)),
        exact_match=True,
    )
    if volume is not None:
        lo, hi = volume
        add(
            gxe.ExpectTableRowCountToBeBetween,
            f"row count between {lo} and {hi}",
            "volume",
            (),
            min_value=lo,
            max_value=hi,
        )

    for col in ROW_ID_COLUMNS:
        add(gxe.ExpectColumnValuesToNotBeNull, f"{col} not null", "not_null", (col,), column=col)
    for col in layout.key:
        add(gxe.ExpectColumnValuesToNotBeNull, f"{col} not null", "not_null", (col,), column=col)
    if layout.key:
        cols = unique_columns(layout)
        key = layout.key[0] if len(layout.key) == 1 else "(" + ", ".join(layout.key) + ")"
        version = f" per {layout.last_updated}" if layout.last_updated in cols else ""
        add(
            gxe.ExpectCompoundColumnsToBeUnique,
            f"{key} unique within a file{version}",
            "unique",
            layout.key,
            column_list=list(cols),
        )

    for f in layout.fields:
        if f.type == "const":
            continue
        col = f.name
        if col not in layout.key and (f.type == "key" or f.required):
            add(gxe.ExpectColumnValuesToNotBeNull, f"{col} not null", "not_null", (col,), column=col)
        if f.type == "code" and f.codes:
            add(
                gxe.ExpectColumnValuesToBeInSet,
                f"{col} in its code set",
                "code_set",
                (col,),
                column=col,
                value_set=sorted(set(f.codes.values())),
            )
        elif f.type == "codes" and f.codes:
            add(
                gxe.ExpectColumnValuesToMatchRegex,
                f"every part of {col} in its code set",
                "code_list",
                (col,),
                column=col,
                regex=codes_regex(f.codes, f.separator or ";"),
            )
        elif f.type in ("date", "timestamp"):
            lo_d, hi_d = _date_bounds(f, as_of)
            add(
                gxe.ExpectColumnValuesToBeBetween,
                f"{col} between {lo_d.isoformat()} and {hi_d.isoformat()}",
                "date_range",
                (col,),
                column=col,
                min_value=datetime.combine(lo_d, time.min),
                max_value=datetime.combine(hi_d, time.max),
            )
        elif f.min is not None or f.max is not None:
            if f.min is not None and f.max is not None:
                name = f"{col} between {_fmt_number(f.min)} and {_fmt_number(f.max)}"
            elif f.min is not None:
                name = f"{col} at least {_fmt_number(f.min)}"
            else:
                name = f"{col} at most {_fmt_number(f.max)}"  # type: ignore[arg-type]
            add(
                gxe.ExpectColumnValuesToBeBetween,
                name,
                "range",
                (col,),
                column=col,
                min_value=f.min,
                max_value=f.max,
            )

    for rule in _check_cross_field_rules(layout):
        add(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            f"{rule.later} on or after {rule.earlier}",
            "order",
            (rule.later, rule.earlier),
            column_A=rule.later,
            column_B=rule.earlier,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        )
    return out


def build_suite(
    layout: FileLayout, *, as_of: date, volume: tuple[int, int] | None = None
) -> gx.ExpectationSuite:
    """The expectation suite of one staged file type.

    - schema: the exact column set (layout fields except `const`, plus the metadata columns);
    - `_file`, `_line` and the key columns not null; the key (compound where the layout says so)
      unique per version and file (see the module docstring); wage files have no key;
    - every other `key`-typed field (a reference to another record) and every required field
      not null;
    - code fields within their canonical code set; `codes` lists: every part in the set;
    - numbers within the layout's min/max;
    - dates and timestamps: event dates between 1990-01-01 and `as_of` + 400 days, identity
      dates (birth dates) between 1900-01-01 and `as_of`;
    - the cross-field orderings of `CROSS_FIELD_RULES`;
    - the row count within `volume` when given (see `quality_checks.volume`).
    """
    exps = expectations(layout, as_of=as_of, volume=volume)
    return gx.ExpectationSuite(name=f"{layout.file_type}_staged", expectations=exps)
