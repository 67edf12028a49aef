"""Blocking data-quality checks over staged rows: one `@asset_check` per file type.

The rules live in `quality_checks` (Great Expectations suites derived from the layouts, run by
`quality_checks.validate`); this module only wraps them. dagster-ge does not support GX 1.x,
hence the hand-written wrapper. The check's metadata carries counts, the markdown report and
the failing rows' keys (record key, file, line): never a value of the data, so no SSN, name,
birth date, address, phone or email reaches the Dagster instance.

Great Expectations is imported when a check runs, not when the definitions load (it takes
seconds, and every step process of a multiprocess run loads the definitions).
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    MetadataValue,
    asset_check,
)

from sources.layout import file_layouts

if TYPE_CHECKING:
    from quality_checks.runner import ValidationReport

#: What a check loads: the staged rows (one frame, or consecutive parts of whole files, read one
#: at a time, for runs too big for one frame), the date to judge them as of, and the row-count
#: bounds (`quality_checks.volume_bounds` of previous DELTA nights; None for a FULL refresh or too
#: little history; only with a single part).
QualityLoad = Callable[
    [AssetCheckExecutionContext],
    tuple[pd.DataFrame | Iterable[pd.DataFrame], date, tuple[int, int] | None],
]

MAX_KEYS_IN_METADATA = 50


def check_name(file_type: str) -> str:
    return f"{file_type}_quality"


def report_metadata(
    report: "ValidationReport", *, as_of: date, volume: tuple[int, int] | None
) -> dict[str, MetadataValue]:
    """The check's metadata: counts, failing keys per failing expectation, the markdown report."""
    failed = report.failed
    return {
        "file_type": MetadataValue.text(report.file_type),
        "as_of": MetadataValue.text(as_of.isoformat()),
        "rows": MetadataValue.int(report.rows),
        "expectations": MetadataValue.int(len(report.results)),
        "failed_expectations": MetadataValue.int(len(failed)),
        "failing_rows": MetadataValue.int(len(report.failing_positions())),
        "volume_bounds": (
            MetadataValue.json({"min": volume[0], "max": volume[1]})
            if volume is not None
            else MetadataValue.text("not checked")
        ),
        "failed": MetadataValue.json(
            {
                r.expectation: {
                    "column": r.column,
                    "unexpected_count": r.unexpected_count,
                    **({"observed": r.observed} if r.observed else {}),
                    **({"error": r.error} if r.error else {}),
                }
                for r in failed
            }
        ),
        "failing_keys": MetadataValue.json(report.failing_keys()),
        "report": MetadataValue.md(report.to_markdown()),
    }


def quality_check_for(
    asset_key: AssetKey | str | Sequence[str] | AssetsDefinition,
    file_type: str,
    load: QualityLoad,
    *,
    required_resource_keys: Iterable[str] = (),
    max_keys: int = MAX_KEYS_IN_METADATA,
    description: str | None = None,
    op_tags: Mapping[str, str] | None = None,
) -> AssetChecksDefinition:
    """A blocking asset check `<file_type>_quality` on `asset_key`.

    `load(context)` returns the staged rows of `file_type` (as described in
    `quality_checks.runner`), the as-of date and the volume bounds; the check validates them and
    fails with severity ERROR when any expectation fails, which stops the assets downstream of
    `asset_key`. Resources the loader needs go in `required_resource_keys` (then
    `context.resources.<key>`).
    """
    layouts = file_layouts()
    if file_type not in layouts:
        raise ValueError(f"no layout describes a file type {file_type!r} (known: {sorted(layouts)})")
    layout = layouts[file_type]

    @asset_check(
        asset=asset_key,
        name=check_name(file_type),
        blocking=True,
        required_resource_keys=set(required_resource_keys),
        op_tags=op_tags,
        description=description
        or (
            f"Great Expectations suite of the staged {file_type} rows, derived from its layout: schema, keys, "
            "required fields, code sets, ranges, plausible dates, cross-field order and nightly volume. "
            "Blocking; the metadata names the failing rows by key, file and line."
        ),
    )
    def _quality(context: AssetCheckExecutionContext) -> AssetCheckResult:
        from quality_checks.runner import validate_parts  # GX takes seconds to import: only when a check runs

        rows, as_of, volume = load(context)
        parts = [rows] if isinstance(rows, pd.DataFrame) else rows
        report = validate_parts(parts, layout, as_of=as_of, volume=volume, max_keys=max_keys)
        if report.success:
            context.log.info(report.summary())
        else:
            context.log.error(report.summary())
        return AssetCheckResult(
            passed=report.success,
            severity=AssetCheckSeverity.ERROR,
            description=report.summary(),
            metadata=report_metadata(report, as_of=as_of, volume=volume),
        )

    return _quality
