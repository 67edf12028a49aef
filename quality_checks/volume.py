"""Bounds for tonight's row count of a file type, from the counts of previous nights.

Nightly DELTA volumes of a workforce system vary a lot (a synthetic demo state has many nights
with 0-5 rows, and a night that follows a missed drop carries two nights' rows), so the bounds
are deliberately wide: they exist to catch a broken extract — an empty file after weeks of
hundreds of rows, or a file 50 times the usual size (a FULL sent as a DELTA, a runaway job) —
not ordinary variation. They are robust to outliers in the history: quantiles and the median,
never the mean or the maximum, so one bad night in the history does not widen them.

The caller passes the counts of DELTA nights only (a FULL refresh is the whole table), oldest
first; only the most recent `window` of them are used, so the bounds follow a system's growth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: The upper bound is at least this many times the 95th percentile of the history.
UPPER_P95_FACTOR = 5.0
#: … and at least the median plus this many robust standard deviations.
UPPER_SPREAD_FACTOR = 10.0
#: … and never below this many rows (a system whose nights are 0 or 1 rows still has busy nights).
UPPER_FLOOR = 20
#: The lower bound is the 5th percentile of the history divided by this …
LOWER_P5_DIVISOR = 20.0
#: … but at least 1 (an empty file fires) once the 5th percentile reaches this many rows.
LOWER_NONEMPTY_P5 = 10.0
#: Nights used: the most recent ones.
DEFAULT_WINDOW = 90


def volume_bounds(
    history: Sequence[int], *, min_nights: int = 7, window: int = DEFAULT_WINDOW
) -> tuple[int, int] | None:
    """Inclusive (min, max) row count for tonight, or None when the history is too short.

    `history`: row counts of previous DELTA nights of one file type, oldest first.
    Upper bound: max(5 * p95, median + 10 * robust sd, 20), where the robust sd is the larger
    of 1.4826 * MAD and √median (counts are at least as noisy as Poisson). Lower bound:
    ⌊p5 / 20⌋, and at least 1 once p5 reaches 10 rows: an empty file after weeks of tens or
    hundreds of rows fires, a quiet night does not; when 5% of the nights are (almost) empty
    the lower bound is 0.
    """
    if min_nights < 1:
        raise ValueError("min_nights must be at least 1")
    counts = np.asarray(list(history)[-window:] if window > 0 else list(history), dtype=float)
    if len(counts) < min_nights:
        return None
    if (counts < 0).any() or not np.isfinite(counts).all():
        raise ValueError("row counts must be finite and non-negative")
    p5, median, p95 = (float(v) for v in np.percentile(counts, [5, 50, 95]))
    mad = float(np.median(np.abs(counts - median)))
    spread = max(1.4826 * mad, math.sqrt(median), 1.0)
    upper = math.ceil(max(UPPER_P95_FACTOR * p95, median + UPPER_SPREAD_FACTOR * spread, UPPER_FLOOR))
    lower = max(math.floor(p5 / LOWER_P5_DIVISOR), 1 if p5 >= LOWER_NONEMPTY_P5 else 0)
    return lower, upper
