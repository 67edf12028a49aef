"""From clusters of records to customers: stable ids, must/cannot links, the review queue, and
the best identity of each customer. Pure pandas; the warehouse step persists what this returns.

A customer id is an opaque integer issued in sequence, so a lower id is an older customer. From
night to night an id follows its records: when clusters merge the oldest id survives (the others
are ``MERGED_INTO`` it); when a cluster splits the piece holding most of its records keeps the id
and each other piece gets a new id ``SPLIT_FROM`` it; a customer whose records all left the
source systems is ``RETIRED``. Every id change is an event in ``customer_id_history``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.model import ID_SEP, ssn_near

EVENTS = ("CREATED", "MERGED_INTO", "SPLIT_FROM", "RETIRED")
DECISIONS = ("SAME", "NOT_SAME")


def unique_ids(
    df: pd.DataFrame, system: str = "source_system", record: str = "source_record_id"
) -> pd.Series:
    return df[system].astype(str) + ID_SEP + df[record].astype(str)


def person_key_links(records: pd.DataFrame) -> pd.DataFrame:
    """Must-links between records one system already knows to be one person (its person id):
    each record is tied to the first record of its (system, person key) group."""
    if "person_key" not in records.columns or records.empty:
        return pd.DataFrame({"unique_id_l": pd.Series(dtype=str), "unique_id_r": pd.Series(dtype=str)})
    df = pd.DataFrame(
        {
            "uid": unique_ids(records),
            "grp": records["source_system"].astype(str) + ID_SEP + records["person_key"],
        }
    )
    first = df.groupby("grp")["uid"].transform("min")
    keep = df["uid"] != first
    return pd.DataFrame(
        {"unique_id_l": first[keep].to_numpy(), "unique_id_r": df.loc[keep, "uid"].to_numpy()}
    )


def decision_links(decisions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reviewer decisions as (must-link, cannot-link) pairs; the latest decision on a pair wins."""
    cols = ["unique_id_l", "unique_id_r"]
    if decisions.empty:
        empty = pd.DataFrame({c: pd.Series(dtype=str) for c in cols})
        return empty, empty.copy()
    d = decisions.copy()
    d["unique_id_l"] = unique_ids(d, "source_system_l", "source_record_id_l")
    d["unique_id_r"] = unique_ids(d, "source_system_r", "source_record_id_r")
    lo = d[["unique_id_l", "unique_id_r"]].min(axis=1)
    hi = d[["unique_id_l", "unique_id_r"]].max(axis=1)
    d["unique_id_l"], d["unique_id_r"] = lo, hi
    d = d.sort_values(["decided_at", "decision_id"], kind="stable").drop_duplicates(cols, keep="last")
    same = d.loc[d["decision"] == "SAME", cols].reset_index(drop=True)
    apart = d.loc[d["decision"] == "NOT_SAME", cols].reset_index(drop=True)
    return same, apart


# --------------------------------------------------------------------------- stable ids


@dataclass(frozen=True)
class IdAssignment:
    xref: pd.DataFrame  # source_system, source_record_id, customer_id
    events: pd.DataFrame  # customer_id, event, other_customer_id
    next_id: int


def assign_ids(clusters: pd.DataFrame, previous: pd.DataFrame, next_id: int) -> IdAssignment:
    """Give each cluster a customer id, keeping last night's ids where the rules say so.

    ``clusters``: source_system, source_record_id, cluster_id (any label). ``previous``: last
    night's source_system, source_record_id, customer_id (empty on the first run). ``next_id``:
    the first id never issued. Deterministic: ties go to the smaller id / smaller cluster label.
    """
    cur = pd.DataFrame({"uid": unique_ids(clusters), "cluster": clusters["cluster_id"].astype(str)})
    cur["cluster_key"] = cur.groupby("cluster")["uid"].transform("min")
    prev = pd.DataFrame(
        {"uid": unique_ids(previous), "old": previous["customer_id"].astype("int64")}
        if len(previous)
        else {"uid": pd.Series(dtype=str), "old": pd.Series(dtype="int64")}
    )
    m = cur.merge(prev, on="uid", how="left")
    counts = (
        m.dropna(subset=["old"])
        .astype({"old": "int64"})
        .groupby(["old", "cluster_key"], as_index=False)
        .size()
        .sort_values(["old", "size", "cluster_key"], ascending=[True, False, True], kind="stable")
    )
    # each old id's keeper: the piece holding most of its records
    keeper = counts.drop_duplicates("old", keep="first").set_index("old")["cluster_key"]
    claims = keeper.reset_index().groupby("cluster_key")["old"].apply(sorted)

    assigned: dict[str, int] = {}
    events: list[tuple[int, str, int | None]] = []
    for key, olds in claims.items():
        survivor = olds[0]  # oldest
        assigned[str(key)] = survivor
        events += [(o, "MERGED_INTO", survivor) for o in olds[1:]]
    pieces_of = counts.groupby("cluster_key")["old"].apply(sorted)
    for key in sorted(cur["cluster_key"].unique()):
        if key in assigned:
            continue
        assigned[key] = next_id
        sources = pieces_of.get(key, [])
        if len(sources):
            events += [(next_id, "SPLIT_FROM", int(o)) for o in sources]
        else:
            events.append((next_id, "CREATED", None))
        next_id += 1
    still = set(counts["old"].tolist())
    events += [(int(o), "RETIRED", None) for o in sorted(set(prev["old"].tolist()) - still)]

    xref = pd.DataFrame(
        {
            "source_system": clusters["source_system"].astype(str).to_numpy(),
            "source_record_id": clusters["source_record_id"].astype(str).to_numpy(),
            "customer_id": cur["cluster_key"].map(assigned).astype("int64").to_numpy(),
        }
    ).sort_values(["source_system", "source_record_id"], kind="stable", ignore_index=True)
    ev = pd.DataFrame(events, columns=["customer_id", "event", "other_customer_id"])
    ev = ev.astype({"customer_id": "int64", "other_customer_id": "Int64"})
    ev = ev.sort_values(["customer_id", "event", "other_customer_id"], kind="stable", ignore_index=True)
    return IdAssignment(xref, ev, next_id)


# --------------------------------------------------------------------------- review queue


def review_queue(
    pairs: pd.DataFrame,
    xref: pd.DataFrame,
    *,
    review_floor: float,
    threshold: float,
    decided: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Pairs a person should look at: scored in the grey zone [review_floor, threshold), or above
    the threshold but kept apart by the SSN rule, and not in one customer already. Pairs a
    reviewer has decided never come back."""
    cols = [
        "unique_id_l",
        "unique_id_r",
        "source_system_l",
        "source_record_id_l",
        "source_system_r",
        "source_record_id_r",
        "match_weight",
        "match_probability",
    ]
    p = pairs.loc[pairs["match_probability"] >= review_floor, cols].copy()
    cust = pd.Series(xref["customer_id"].to_numpy(), index=unique_ids(xref).to_numpy())
    p["customer_id_l"] = p["unique_id_l"].map(cust)
    p["customer_id_r"] = p["unique_id_r"].map(cust)
    p = p[p["customer_id_l"] != p["customer_id_r"]]
    if decided is not None and len(decided):
        done = set(zip(decided["unique_id_l"], decided["unique_id_r"], strict=True))
        done |= {(b, a) for a, b in done}
        keep = np.array(
            [(a, b) not in done for a, b in zip(p["unique_id_l"], p["unique_id_r"], strict=True)], dtype=bool
        )
        p = p[keep]
    p["reason"] = (p["match_probability"] >= threshold).map(
        {True: "above threshold, kept apart by conflicting SSNs or a decision", False: "grey zone"}
    )
    out: pd.DataFrame = p.sort_values(
        ["match_probability", "unique_id_l", "unique_id_r"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
    return out


# --------------------------------------------------------------------------- best identity


def _vote(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """Per customer, the value reported by the most systems, then by the most records, then the
    most recently delivered, then the smallest (so the choice is deterministic)."""
    v = df.dropna(subset=[col])
    if v.empty:
        return pd.DataFrame({"customer_id": pd.Series(dtype="int64"), col: pd.Series(dtype=object)})
    g = v.groupby(["customer_id", col], as_index=False).agg(
        systems=("source_system", "nunique"),
        records=("source_system", "size"),
        latest=("last_delivered", "max"),
    )
    g = g.sort_values(
        ["customer_id", "systems", "records", "latest", col],
        ascending=[True, False, False, False, True],
        kind="stable",
    )
    return g.drop_duplicates("customer_id")[["customer_id", col]]


IDENTITY_FIELDS: tuple[str, ...] = ("ssn", "first_name", "middle_name", "last_name", "birth_date", "sex")


def best_identity(records: pd.DataFrame, xref: pd.DataFrame) -> pd.DataFrame:
    """One row per customer: the best-supported SSN, name, birth date and sex across its records.

    Only valid values take part (person_records already nulls an invalid SSN or birth date).
    ``ssn_count`` is how many distinct SSNs the customer's records carry and ``ssn_conflict``
    whether two of them cannot be keying errors of one another: wage matching on a conflicted
    customer's SSN deserves a look.
    """
    df = records.merge(xref, on=["source_system", "source_record_id"], how="inner", validate="one_to_one")
    if "last_delivered" not in df.columns:
        df["last_delivered"] = pd.NaT
    out = pd.DataFrame({"customer_id": sorted(df["customer_id"].unique())})
    out["records"] = out["customer_id"].map(df.groupby("customer_id").size())
    sys_lists = df.groupby("customer_id")["source_system"].agg(lambda s: "+".join(sorted(set(s))))
    out["systems"] = out["customer_id"].map(sys_lists)
    for col in IDENTITY_FIELDS:
        if col in df.columns:
            out = out.merge(_vote(df, col), on="customer_id", how="left")
        else:
            out[col] = None
    ssns = df.dropna(subset=["ssn"]).groupby("customer_id")["ssn"].agg(lambda s: sorted(set(s)))
    out["ssn_count"] = out["customer_id"].map(ssns.map(len)).fillna(0).astype("int64")
    conflicted = ssns.map(_conflicted).astype(bool)
    out["ssn_conflict"] = out["customer_id"].isin(conflicted[conflicted].index)
    return out


def _conflicted(ssns: Sequence[str]) -> bool:
    return any(not ssn_near(a, b) for i, a in enumerate(ssns) for b in ssns[i + 1 :])
