"""Evaluation of the linkage against the synthetic ground truth.

The truth maps (source_system, source_record_id) to a true ``person_id`` (-1 marks a staff test
record, which is nobody: each is its own entity). A true pair is two records of one person.

- ``true_pairs(truth, records)``: the true pairs among the records that were linked.
- ``pairwise_metrics(links, truth_pairs)``: precision, recall, F1 of a set of predicted pairs.
- ``blocking_recall(blocked, truth_pairs)``: share of true pairs any blocking rule generates.
- ``cluster_metrics(clusters, truth)``: pairwise P/R/F1 of the pairs clusters imply, and the
  share of true people recovered exactly as one cluster.
- ``error_profile(...)``: false negatives and false positives with their noise tags and
  look-alike kinds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from linkage.model import unique_id as _uid


def _ordered(a: pd.Series, b: pd.Series) -> pd.DataFrame:
    lo = a.where(a <= b, b)
    hi = b.where(a <= b, a)
    return pd.DataFrame({"id_l": lo.to_numpy(), "id_r": hi.to_numpy()})


def truth_ids(truth: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """unique_id -> entity for the records present; staff test records (-1) are singletons."""
    t = truth.assign(unique_id=_uid(truth["source_system"], truth["source_record_id"]))
    present = set(_uid(records["source_system"], records["source_record_id"]))
    t = t[t["unique_id"].isin(present)].copy()
    t["entity"] = t["person_id"].astype(str).where(t["person_id"] >= 0, "test:" + t["unique_id"])
    return t[["unique_id", "entity", "person_id"]].reset_index(drop=True)


def true_pairs(truth: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Every pair (id_l < id_r) of records of the same true person."""
    t = truth_ids(truth, records)[["unique_id", "entity"]]
    m = t.merge(t, on="entity", suffixes=("_l", "_r"))
    m = m[m["unique_id_l"] < m["unique_id_r"]]
    return pd.DataFrame({"id_l": m["unique_id_l"].to_numpy(), "id_r": m["unique_id_r"].to_numpy()})


def pairs_of(pairs: pd.DataFrame) -> pd.DataFrame:
    """Predicted pairs (predict() output) as ordered (id_l, id_r)."""
    a = _uid(pairs["source_system_l"], pairs["source_record_id_l"])
    b = _uid(pairs["source_system_r"], pairs["source_record_id_r"])
    return _ordered(a, b).drop_duplicates()


@dataclass(frozen=True)
class Metrics:
    predicted: int
    true: int
    true_positives: int
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _metrics(pred: pd.DataFrame, truth_pairs: pd.DataFrame) -> Metrics:
    tp = len(pred.merge(truth_pairs, on=["id_l", "id_r"]))
    p = tp / len(pred) if len(pred) else 1.0
    r = tp / len(truth_pairs) if len(truth_pairs) else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return Metrics(len(pred), len(truth_pairs), tp, p, r, f1)


def pairwise_metrics(pairs: pd.DataFrame, truth_pairs: pd.DataFrame, threshold: float) -> Metrics:
    """P/R/F1 of the pairs at or above ``threshold`` against the true pairs."""
    return _metrics(pairs_of(pairs[pairs["match_probability"] >= threshold]), truth_pairs)


def blocking_recall(blocked_pairs: pd.DataFrame, truth_pairs: pd.DataFrame) -> float:
    """Share of true pairs among the blocked (scored) pairs: predict(..., threshold=None)."""
    return _metrics(pairs_of(blocked_pairs), truth_pairs).recall


def cluster_pairs(clusters: pd.DataFrame) -> pd.DataFrame:
    c = clusters.assign(unique_id=_uid(clusters["source_system"], clusters["source_record_id"]))
    m = c[["unique_id", "cluster_id"]].merge(c[["unique_id", "cluster_id"]], on="cluster_id")
    m = m[m["unique_id_x"] < m["unique_id_y"]]
    return pd.DataFrame({"id_l": m["unique_id_x"].to_numpy(), "id_r": m["unique_id_y"].to_numpy()})


def cluster_metrics(clusters: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float | int]:
    """Pairwise P/R/F1 of the pairs implied by the clusters, and exact-cluster measures."""
    t = truth_ids(truth, clusters)
    out: dict[str, float | int] = {
        f"cluster_pair_{k}": v
        for k, v in _metrics(cluster_pairs(clusters), true_pairs(truth, clusters)).as_dict().items()
    }
    c = clusters.assign(unique_id=_uid(clusters["source_system"], clusters["source_record_id"])).merge(
        t, on="unique_id"
    )
    clusters_of: dict[str, set[str]] = {}
    entities_of: dict[str, set[str]] = {}
    for entity, cid in zip(c["entity"].astype(str), c["cluster_id"].astype(str), strict=True):
        clusters_of.setdefault(entity, set()).add(cid)
        entities_of.setdefault(cid, set()).add(entity)
    exact = sum(1 for e, cl in clusters_of.items() if len(cl) == 1 and entities_of[next(iter(cl))] == {e})
    out["entities"] = len(clusters_of)
    out["clusters"] = len(entities_of)
    out["entities_exactly_recovered"] = exact
    out["share_exactly_recovered"] = exact / len(clusters_of) if clusters_of else 1.0
    out["split_entities"] = sum(1 for cl in clusters_of.values() if len(cl) > 1)
    out["merged_clusters"] = sum(1 for es in entities_of.values() if len(es) > 1)
    return out


def error_profile(
    pairs: pd.DataFrame,
    truth: pd.DataFrame,
    people: pd.DataFrame,
    records: pd.DataFrame,
    threshold: float,
) -> dict[str, pd.DataFrame]:
    """False negatives and false positives at ``threshold``, each with the noise tags of both
    records (``noise_l``, ``noise_r``) and the look-alike kinds of both people."""
    tp_all = true_pairs(truth, records)
    pred = pairs_of(pairs[pairs["match_probability"] >= threshold])
    scored = pairs.assign(**pairs_of(pairs).reset_index(drop=True).set_axis(pairs.index))
    t = truth.assign(unique_id=_uid(truth["source_system"], truth["source_record_id"]))
    t = t.merge(people[["person_id", "kind"]], on="person_id", how="left")
    info = t.set_index("unique_id")[["person_id", "noise", "kind"]]

    def annotate(df: pd.DataFrame) -> pd.DataFrame:
        df = df.join(info.add_suffix("_l"), on="id_l").join(info.add_suffix("_r"), on="id_r")
        return df.merge(
            scored[["id_l", "id_r", "match_probability", "match_weight"]], on=["id_l", "id_r"], how="left"
        )

    fn = tp_all.merge(pred, on=["id_l", "id_r"], how="left", indicator=True)
    fn = fn[fn["_merge"] == "left_only"].drop(columns="_merge")
    fp = pred.merge(tp_all, on=["id_l", "id_r"], how="left", indicator=True)
    fp = fp[fp["_merge"] == "left_only"].drop(columns="_merge")
    return {"false_negatives": annotate(fn), "false_positives": annotate(fp)}


def noise_counts(errors: pd.DataFrame) -> pd.Series:
    """How often each noise tag (of either record) or look-alike kind appears among the errors."""
    tags: list[str] = []
    for col in ("noise_l", "noise_r"):
        for v in errors[col].fillna(""):
            tags.extend(x for x in str(v).split(";") if x)
    for col in ("kind_l", "kind_r"):
        tags.extend(f"kind={k}" for k in errors[col].dropna() if k != "base")
    return pd.Series(tags, dtype=object).value_counts()
