"""Which runs would bring a warehouse up to date with its landing zone (no Dagster here).

The pending drops come from the warehouse's own `load_audit`; each job gets one run over the
partition range from the first pending drop to the last delivered one. The CLI, the arrival
sensor and the nightly schedule all plan with this, so they agree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pipelines.settings import Settings
from sources.landing import discover_drops
from sources.layout import load_layouts
from warehouse.ingest import connect, ensure_schema, pending_drops, verification_memo

NIGHTLY_JOB = "nightly_job"
QUARTERLY_JOB = "quarterly_job"
JOB_FOR_PERIOD = {"quarterly": QUARTERLY_JOB, "daily": NIGHTLY_JOB}


@dataclass(frozen=True)
class PlannedRun:
    job: str
    first: str  # partition keys (YYYY-MM-DD)
    last: str
    pending: int  # pending drops in the range
    pending_key: str  # digest of the pending drops (a run key that changes when they do)


def partition_key(drop: str, period: str) -> str:
    """The partition a drop belongs to: 20240301 -> 2024-03-01, 2024Q2 -> 2024-04-01."""
    if period == "quarterly":
        year, q = drop.split("Q")
        return f"{year}-{3 * int(q) - 2:02d}-01"
    return f"{drop[:4]}-{drop[4:6]}-{drop[6:8]}"


def plan_runs(settings: Settings, *, always_nightly: bool = True) -> list[PlannedRun]:
    """Runs for every job with pending drops (quarterly first: wages feed what the nightly builds).

    With nothing pending the nightly job still runs for the latest night when `always_nightly`
    (downstream assets refresh; the loads are no-ops).
    """
    layouts = load_layouts()
    period = {s.system: s.period for s in layouts}
    memo = verification_memo(settings.warehouse)
    drops = [d for d in discover_drops(settings.landing, layouts=layouts, memo=memo) if d.system in period]
    con = connect(settings.warehouse)
    try:
        ensure_schema(con, layouts)
        pending = pending_drops(con, drops, layouts)
    finally:
        con.close()
    plan: list[PlannedRun] = []
    for kind in ("quarterly", "daily"):
        delivered = sorted(partition_key(d.name, kind) for d in drops if period[d.system] == kind)
        waiting = [d for d in pending if period[d.system] == kind]
        keys = sorted(partition_key(d.name, kind) for d in waiting)
        if not delivered or (not waiting and (kind == "quarterly" or not always_nightly)):
            continue
        first = keys[0] if keys else delivered[-1]
        start = settings.partitions_start.isoformat()
        if first < start:
            raise ValueError(
                f"a {kind} drop predates the partitions ({first} < {start}): set WW_PARTITIONS_START"
            )
        digest = hashlib.sha256(
            "\n".join(sorted(f"{d.key}:{d.digest}" for d in waiting)).encode()
        ).hexdigest()
        plan.append(
            PlannedRun(JOB_FOR_PERIOD[kind], first, delivered[-1], len({d.key for d in waiting}), digest[:16])
        )
    return plan
