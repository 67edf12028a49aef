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

from linkage.model import ID_SEP, PAIR_COLUMNS, ssn_near, unique_ids

EVENTS = ("CREATED", "MERGED_INTO", "SPLIT_FROM", "RETIRED")
DECISIONS = ("SAME", "NOT_SAME")


def person_key_links(records: pd.DataFrame) -> pd.DataFrame:
    """Must-links between records one system already knows to be one person (its person id):
    each record is tied to the first record of its (system, person key) group."""
    empty = pd.DataFrame({"unique_id_l": pd.Series(dtype=str), "unique_id_r": pd.Series(dtype=str)})
    if "person_key" not in records.columns or records.empty:
        return empty
    own = records[records["person_key"].astype(str) != records["source_record_id"].astype(str)]
    if own.empty:
        return empty
    df = pd.DataFrame(
        {"uid": unique_ids(own), "grp": own["source_system"].astype(str) + ID_SEP + own["person_key"]}
    )
    first = df.groupby("grp", sort=False)["uid"].transform("min")
    keep = df["uid"] != first
    out = pd.DataFrame({"unique_id_l": first[keep].to_numpy(), "unique_id_r": df.loc[keep, "uid"].to_numpy()})
    return out.sort_values(["unique_id_l", "unique_id_r"], ignore_index=True)


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


def _group_min(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Per row, the smallest string of its group (pandas' string min per group is slow: rank first)."""
    ordered = np.sort(values.to_numpy().astype(str))
    rank = np.searchsorted(ordered, values.to_numpy().astype(str))
    low = pd.Series(rank, index=values.index).groupby(groups.to_numpy(), sort=False).transform("min")
    return pd.Series(ordered[low.to_numpy()], index=values.index)


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
    cur["cluster_key"] = _group_min(cur["uid"], cur["cluster"])
    prev = pd.DataFrame(
        {"uid": unique_ids(previous), "old": previous["customer_id"].astype("int64")}
        if len(previous)
        else {"uid": pd.Series(dtype=str), "old": pd.Series(dtype="int64")}
    )
    m = cur.merge(prev, on="uid", how="inner")
    counts = (
        m.groupby(["old", "cluster_key"], as_index=False, sort=False)
        .size()
        .sort_values(["old", "size", "cluster_key"], ascending=[True, False, True], kind="stable")
    )
    # each old id's keeper: the piece holding most of its records; a piece claimed by several
    # old ids keeps the oldest (smallest), the others are merged into it
    keeper = counts.drop_duplicates("old", keep="first")[["old", "cluster_key"]]
    survivor = keeper.groupby("cluster_key", sort=False)["old"].min().rename("survivor")
    keeper = keeper.join(survivor, on="cluster_key")
    merged = keeper[keeper["old"] != keeper["survivor"]]
    # every other cluster gets a new id, in the order of its smallest record id
    keys = pd.Series(cur["cluster_key"].unique())
    fresh = np.sort(keys[~keys.isin(survivor.index)].to_numpy())
    new_ids = pd.Series(np.arange(next_id, next_id + len(fresh), dtype="int64"), index=fresh)
    ids = pd.concat([survivor.astype("int64"), new_ids])
    # a new cluster holding records of an old id that kept another piece was split from it
    split = counts[counts["cluster_key"].isin(new_ids.index)]
    created = new_ids[~new_ids.index.isin(split["cluster_key"])]
    retired = np.setdiff1d(prev["old"].unique(), counts["old"].unique())
    events = pd.concat(
        [
            pd.DataFrame(
                {
                    "customer_id": merged["old"],
                    "event": "MERGED_INTO",
                    "other_customer_id": merged["survivor"],
                }
            ),
            pd.DataFrame(
                {
                    "customer_id": split["cluster_key"].map(new_ids),
                    "event": "SPLIT_FROM",
                    "other_customer_id": split["old"],
                }
            ),
            pd.DataFrame({"customer_id": created.to_numpy(), "event": "CREATED", "other_customer_id": None}),
            pd.DataFrame({"customer_id": retired, "event": "RETIRED", "other_customer_id": None}),
        ],
        ignore_index=True,
    )
    xref = pd.DataFrame(
        {
            "source_system": clusters["source_system"].astype(str).to_numpy(),
            "source_record_id": clusters["source_record_id"].astype(str).to_numpy(),
            "customer_id": cur["cluster_key"].map(ids).astype("int64").to_numpy(),
        }
    ).sort_values(["source_system", "source_record_id"], kind="stable", ignore_index=True)
    ev = events.astype({"customer_id": "int64", "other_customer_id": "Int64"})
    ev = ev.sort_values(["customer_id", "event", "other_customer_id"], kind="stable", ignore_index=True)
    return IdAssignment(xref, ev, next_id + len(fresh))


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
    cols = ["unique_id_l", "unique_id_r", *PAIR_COLUMNS]
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
    # the systems of each customer as a bit mask (a sum of distinct bits), then one string per mask
    names = sorted(df["source_system"].astype(str).unique())
    bits = df[["customer_id", "source_system"]].drop_duplicates()
    mask = (
        (2 ** bits["source_system"].map({n: k for k, n in enumerate(names)}))
        .groupby(bits["customer_id"])
        .sum()
    )
    label = {m: "+".join(n for k, n in enumerate(names) if m >> k & 1) for m in mask.unique()}
    out["systems"] = out["customer_id"].map(mask.map(label))
    for col in IDENTITY_FIELDS:
        if col in df.columns:
            out = out.merge(_vote(df, col), on="customer_id", how="left")
        else:
            out[col] = None
    distinct = df.dropna(subset=["ssn"])[["customer_id", "ssn"]].drop_duplicates()
    n_ssn = distinct.groupby("customer_id").size()
    out["ssn_count"] = out["customer_id"].map(n_ssn).fillna(0).astype("int64")
    several = distinct[distinct["customer_id"].isin(n_ssn[n_ssn > 1].index)]
    conflicted = several.groupby("customer_id")["ssn"].agg(lambda v: _conflicted(sorted(v)))
    out["ssn_conflict"] = out["customer_id"].isin(conflicted[conflicted].index)
    return out


def _conflicted(ssns: Sequence[str]) -> bool:
    return any(not ssn_near(a, b) for i, a in enumerate(ssns) for b in ssns[i + 1 :])
