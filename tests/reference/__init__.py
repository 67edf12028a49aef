"""An independent reference for the WIOA indicators, computed from the synthetic generator's truth.

Shares no code with `warehouse`, `linkage` or `sources`: the warehouse's `indicators` table must
equal what this package computes from the same truth directory and the same settings.
"""

from tests.reference.indicators import (
    INDICATOR_COLUMNS,
    PERIOD_COLUMNS,
    ReferenceSettings,
    reference_indicators,
    reference_periods,
)

__all__ = [
    "INDICATOR_COLUMNS",
    "PERIOD_COLUMNS",
    "ReferenceSettings",
    "reference_indicators",
    "reference_periods",
]
