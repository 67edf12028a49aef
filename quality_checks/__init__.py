"""Data-quality rules for the staged sources.

No Dagster here. `suites.build_suite` derives one Great Expectations 1.x suite per staged file
type from its declarative layout (`sources/layouts/`): schema, keys, required fields, code sets,
min/max, plausible dates, a small table of cross-field rules and the row-count bounds of
`volume.volume_bounds`. `runner.validate` applies it to a staged pandas frame in an in-memory GX
context and returns a `ValidationReport`: each expectation with the failing rows' keys (record
key, file, line — never an identity value), for the ingest to set rows aside and for the asset
checks (`assets/quality.py`) to report.

Importing Great Expectations takes seconds, so this package imports it only when a suite or
the runner is first used (`volume_bounds` needs no GX): loading the Dagster definitions, or a
step process, does not pay for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from quality_checks.volume import volume_bounds

if TYPE_CHECKING:
    from quality_checks.runner import ExpectationResult, ValidationReport, validate, validate_parts
    from quality_checks.suites import (
        CROSS_FIELD_RULES,
        METADATA_COLUMNS,
        FieldOrder,
        build_suite,
        staged_columns,
    )

_LAZY = {
    "ExpectationResult": "quality_checks.runner",
    "ValidationReport": "quality_checks.runner",
    "validate": "quality_checks.runner",
    "validate_parts": "quality_checks.runner",
    "CROSS_FIELD_RULES": "quality_checks.suites",
    "METADATA_COLUMNS": "quality_checks.suites",
    "FieldOrder": "quality_checks.suites",
    "build_suite": "quality_checks.suites",
    "staged_columns": "quality_checks.suites",
}

__all__ = [
    "CROSS_FIELD_RULES",
    "METADATA_COLUMNS",
    "ExpectationResult",
    "FieldOrder",
    "ValidationReport",
    "build_suite",
    "staged_columns",
    "validate",
    "validate_parts",
    "volume_bounds",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'quality_checks' has no attribute {name!r}")
