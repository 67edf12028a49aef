"""Ground truth, written beside the landing zone (never inside it).

Periods follow the domain rules applied to what the systems delivered by the cut-off night,
with true identities: WP and Adult Ed periods from qualifying services/classes (a gap of more
than 90 days ends a period; the last one is exited only when more than 90 days have passed by
the cut-off), Title I from the case records, VR from cases whose IPE services began.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.population import day_dates
from synthetic.programs import WP_QUALIFYING

EXIT_GAP_DAYS = 90


def latest(v: pd.DataFrame, delivered: np.ndarray) -> pd.DataFrame:
    """The latest delivered version of each key (by last-updated stamp)."""
    d = v.iloc[np.unique(delivered)] if len(delivered) else v.iloc[0:0]
    d = d.sort_values(["_key", "ts"], kind="mergesort")
    return d.drop_duplicates("_key", keep="last")


def _activity_periods(
    events: pd.DataFrame, cutoff: int, program: str, min_hours: float | None
) -> pd.DataFrame:
    """Split each person's qualifying days into periods at gaps of more than 90 days."""
    if events.empty:
        return pd.DataFrame(columns=["person_id", "program", "entry_day", "exit_day", "hours"])
    e = events.sort_values(["person_id", "day"], kind="mergesort")
    pid = e["person_id"].to_numpy()
    d = e["day"].to_numpy(dtype=np.int64)
    new = np.r_[True, (pid[1:] != pid[:-1]) | (d[1:] - d[:-1] > EXIT_GAP_DAYS)]
    e = e.assign(period=np.cumsum(new))
    g = e.groupby("period").agg(
        person_id=("person_id", "first"),
        entry_day=("day", "min"),
        last_day=("day", "max"),
        hours=("hours", "sum"),
    )
    if min_hours is not None:
        g = g[g["hours"] >= min_hours]
    g["exit_day"] = np.where(cutoff - g["last_day"] > EXIT_GAP_DAYS, g["last_day"], -1)
    g["program"] = program
    return g[["person_id", "program", "entry_day", "exit_day", "hours"]].reset_index(drop=True)


def periods(cur: dict[str, pd.DataFrame], cutoff: int) -> pd.DataFrame:
    """True periods of participation per program, as of the cut-off night."""
    out = []
    svc = cur["wp_services"]
    svc = svc[(svc["status"] == "Active") & svc["code"].isin(WP_QUALIFYING) & (svc["service_day"] < cutoff)]
    out.append(_activity_periods(svc.assign(day=svc["service_day"], hours=1.0), cutoff, "WP", None))

    att = cur["ae_attendance"].merge(
        cur["ae_students"][["student_id", "person_id", "status"]], on="student_id"
    )
    att = att[(att["status"] == "Active") & (att["day"] < cutoff)]
    out.append(_activity_periods(att, cutoff, "ADULT_ED", 12.0))

    t1 = cur["t1_participation"]
    t1 = t1[t1["status"] == "A"]
    out.append(
        pd.DataFrame(
            {
                "person_id": t1["person_id"],
                "program": t1["program"],
                "entry_day": t1["entry"],
                "exit_day": t1["exit"].fillna(-1).astype(np.int64),
                "hours": np.nan,
                "exit_reason": t1["exit_reason"].where(t1["exit"].notna()),
                "source_record_id": t1["participation_id"],
            }
        )
    )
    vr = cur["vr_cases"]
    vr = vr[(vr["status"] == "A") & vr["service_start"].notna()]
    out.append(
        pd.DataFrame(
            {
                "person_id": vr["person_id"],
                "program": "VR",
                "entry_day": vr["service_start"].astype(np.int64),
                "exit_day": vr["closure"].fillna(-1).astype(np.int64),
                "hours": np.nan,
                "exit_reason": vr["closure_reason"],
                "closure_type": vr["closure_type"],
                "source_record_id": vr["case_id"],
            }
        )
    )
    p = pd.concat(out, ignore_index=True)
    p["entry_date"] = day_dates(p["entry_day"])
    p["exit_date"] = day_dates(p["exit_day"].where(p["exit_day"] >= 0))
    return (
        p.drop(columns=["entry_day", "exit_day"])
        .sort_values(["person_id", "program", "entry_date"], kind="mergesort")
        .reset_index(drop=True)
    )


def days_to_dates(df: pd.DataFrame, cols: tuple[str, ...]) -> pd.DataFrame:
    df = df.copy()
    for c in cols:
        if c in df:
            df[c] = day_dates(df[c])
    if "ts" in df:
        df["ts"] = df["ts"].to_numpy(dtype=np.int64).astype("datetime64[s]")
    return df
