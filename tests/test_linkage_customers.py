"""Customers from clusters: stable ids through merges and splits, must/cannot links, the review
queue and the best identity — each rule on hand-made records with the expected result written out."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from linkage import customers as cu
from linkage.model import cluster


def _clusters(groups: list[list[str]]) -> pd.DataFrame:
    rows = [
        {"source_system": uid.split(":")[0], "source_record_id": uid.split(":")[1], "cluster_id": f"k{i}"}
        for i, g in enumerate(groups)
        for uid in g
    ]
    return pd.DataFrame(rows)


def _xref(ids: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"source_system": u.split(":")[0], "source_record_id": u.split(":")[1], "customer_id": c}
            for u, c in ids.items()
        ]
    )


def _ids(a: cu.IdAssignment) -> dict[str, int]:
    return dict(zip(cu.unique_ids(a.xref), a.xref["customer_id"], strict=True))


def _events(a: cu.IdAssignment) -> set[tuple[Any, ...]]:
    return {
        (int(r.customer_id), r.event, None if pd.isna(r.other_customer_id) else int(r.other_customer_id))
        for r in a.events.itertuples()
    }


def test_first_run_creates_ids_in_a_fixed_order() -> None:
    a = cu.assign_ids(_clusters([["wp:2", "ui:9"], ["adult_ed:1"]]), _xref({}), next_id=1)
    # clusters are numbered by their smallest record id: adult_ed:1 < ui:9
    assert _ids(a) == {"adult_ed:1": 1, "ui:9": 2, "wp:2": 2}
    assert _events(a) == {(1, "CREATED", None), (2, "CREATED", None)}
    assert a.next_id == 3


def test_unchanged_clusters_keep_their_ids_and_log_nothing() -> None:
    prev = {"ui:1": 7, "wp:1": 7, "vr:1": 12}
    a = cu.assign_ids(_clusters([["ui:1", "wp:1"], ["vr:1"]]), _xref(prev), next_id=13)
    assert _ids(a) == prev
    assert a.events.empty


def test_new_record_joins_an_existing_customer() -> None:
    a = cu.assign_ids(_clusters([["ui:1", "wp:1", "adult_ed:5"]]), _xref({"ui:1": 4, "wp:1": 4}), next_id=9)
    assert set(_ids(a).values()) == {4}
    assert a.events.empty


def test_merge_keeps_the_oldest_id_even_when_it_is_the_smaller_part() -> None:
    prev = {"ui:1": 3, "wp:1": 8, "wp:2": 8, "vr:1": 8}
    a = cu.assign_ids(_clusters([["ui:1", "wp:1", "wp:2", "vr:1"]]), _xref(prev), next_id=20)
    assert set(_ids(a).values()) == {3}
    assert _events(a) == {(8, "MERGED_INTO", 3)}


def test_split_the_largest_piece_keeps_the_id() -> None:
    prev = {"ui:1": 5, "ui:2": 5, "wp:1": 5, "wp:2": 5, "vr:1": 5}
    a = cu.assign_ids(_clusters([["ui:1", "ui:2"], ["wp:1", "wp:2", "vr:1"]]), _xref(prev), next_id=30)
    ids = _ids(a)
    assert ids["wp:1"] == ids["wp:2"] == ids["vr:1"] == 5
    assert ids["ui:1"] == ids["ui:2"] == 30
    assert _events(a) == {(30, "SPLIT_FROM", 5)}


def test_split_tie_goes_to_the_piece_with_the_smaller_record_id() -> None:
    prev = {"ui:1": 5, "wp:1": 5}
    a = cu.assign_ids(_clusters([["wp:1"], ["ui:1"]]), _xref(prev), next_id=6)
    assert _ids(a) == {"ui:1": 5, "wp:1": 6}
    assert _events(a) == {(6, "SPLIT_FROM", 5)}


def test_merge_and_split_in_one_night_and_a_retired_id() -> None:
    # 1 = {a, b, c}, 2 = {d}, 3 = {e} (e leaves the sources). Tonight: {a, b} and {c, d}.
    prev = {"ui:a": 1, "ui:b": 1, "ui:c": 1, "wp:d": 2, "vr:e": 3}
    a = cu.assign_ids(_clusters([["ui:a", "ui:b"], ["ui:c", "wp:d"]]), _xref(prev), next_id=4)
    ids = _ids(a)
    assert ids["ui:a"] == ids["ui:b"] == 1  # 1's largest piece
    assert ids["ui:c"] == ids["wp:d"] == 2  # 2 keeps its only piece; c moved into it
    assert _events(a) == {(3, "RETIRED", None)}


def test_must_link_overrides_scores_and_ssns_but_not_a_cannot_link() -> None:
    records = pd.DataFrame(
        {
            "source_system": ["title1", "title1", "ui", "ui"],
            "source_record_id": ["P1", "P2", "C1", "C2"],
            "ssn": ["111111111", "999999999", "555555555", "555555555"],
        }
    )
    pairs = pd.DataFrame(
        {
            "source_system_l": ["ui"],
            "source_record_id_l": ["C1"],
            "source_system_r": ["ui"],
            "source_record_id_r": ["C2"],
            "match_probability": [0.9999],
        }
    )
    must = pd.DataFrame({"unique_id_l": ["title1:P1"], "unique_id_r": ["title1:P2"]})
    cannot = pd.DataFrame({"unique_id_l": ["ui:C1"], "unique_id_r": ["ui:C2"]})
    c = cluster(pairs, records, 0.99, must_link=must, cannot_link=cannot)
    label = dict(zip(c["source_record_id"], c["cluster_id"], strict=True))
    assert label["P1"] == label["P2"]  # same participant id, conflicting SSNs: one person
    assert label["C1"] != label["C2"]  # a reviewer said no, whatever the score
    c2 = cluster(pairs, records, 0.99, must_link=cannot, cannot_link=cannot)
    assert dict(zip(c2["source_record_id"], c2["cluster_id"], strict=True))["C2"] == "ui:C2"


def test_cannot_link_holds_across_a_chain() -> None:
    # a-b and b-c score high; a reviewer said a and c differ: c must not arrive through b.
    records = pd.DataFrame(
        {"source_system": ["wp"] * 3, "source_record_id": ["a", "b", "c"], "ssn": [None] * 3}
    )
    pairs = pd.DataFrame(
        {
            "source_system_l": ["wp", "wp"],
            "source_record_id_l": ["a", "b"],
            "source_system_r": ["wp", "wp"],
            "source_record_id_r": ["b", "c"],
            "match_probability": [0.999, 0.995],
        }
    )
    cannot = pd.DataFrame({"unique_id_l": ["wp:a"], "unique_id_r": ["wp:c"]})
    c = cluster(pairs, records, 0.99, cannot_link=cannot)
    label = dict(zip(c["source_record_id"], c["cluster_id"], strict=True))
    assert label["a"] == label["b"] != label["c"]  # the stronger link wins


def test_person_key_links() -> None:
    records = pd.DataFrame(
        {
            "source_system": ["title1", "title1", "title1", "vr"],
            "source_record_id": ["P2", "P1", "P3", "V1"],
            "person_key": ["T-1", "T-1", "T-2", "T-1"],
        }
    )
    links = cu.person_key_links(records)
    assert links.to_dict("records") == [{"unique_id_l": "title1:P1", "unique_id_r": "title1:P2"}]


def test_latest_decision_on_a_pair_wins() -> None:
    d = pd.DataFrame(
        {
            "decision_id": [1, 2, 3],
            "source_system_l": ["ui", "wp", "ui"],
            "source_record_id_l": ["1", "2", "5"],
            "source_system_r": ["wp", "ui", "vr"],
            "source_record_id_r": ["2", "1", "6"],
            "decision": ["SAME", "NOT_SAME", "SAME"],
            "decided_at": [dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1), dt.datetime(2025, 1, 1)],
        }
    )
    same, apart = cu.decision_links(d)
    assert same.to_dict("records") == [{"unique_id_l": "ui:5", "unique_id_r": "vr:6"}]
    assert apart.to_dict("records") == [{"unique_id_l": "ui:1", "unique_id_r": "wp:2"}]


def test_review_queue_holds_grey_zone_pairs_of_different_customers_not_yet_decided() -> None:
    def pair(a: str, b: str, p: float) -> dict[str, Any]:
        sa, ra = a.split(":")
        sb, rb = b.split(":")
        return {
            "unique_id_l": a,
            "unique_id_r": b,
            "source_system_l": sa,
            "source_record_id_l": ra,
            "source_system_r": sb,
            "source_record_id_r": rb,
            "match_weight": 0.0,
            "match_probability": p,
        }

    pairs = pd.DataFrame(
        [
            pair("ui:1", "wp:1", 0.7),  # grey, different customers -> queued
            pair("ui:1", "wp:2", 0.7),  # grey, but decided -> not queued
            pair("ui:2", "wp:3", 0.8),  # grey, already one customer -> not queued
            pair("ui:3", "wp:4", 0.3),  # below the floor -> not queued
            pair("ui:4", "wp:5", 0.999),  # above the threshold yet apart -> queued
        ]
    )
    xref = _xref(
        {"ui:1": 1, "wp:1": 2, "wp:2": 3, "ui:2": 4, "wp:3": 4, "ui:3": 5, "wp:4": 6, "ui:4": 7, "wp:5": 8}
    )
    decided = pd.DataFrame({"unique_id_l": ["ui:1"], "unique_id_r": ["wp:2"]})
    q = cu.review_queue(pairs, xref, review_floor=0.5, threshold=0.99, decided=decided)
    assert list(zip(q["unique_id_l"], q["unique_id_r"], strict=True)) == [("ui:4", "wp:5"), ("ui:1", "wp:1")]
    assert q["reason"].tolist()[1] == "grey zone"


def test_best_identity_votes_across_systems_and_fills_a_missing_ssn() -> None:
    day = dt.date(2025, 1, 1)
    records = pd.DataFrame(
        [
            # one customer: a learner with no SSN in Adult Ed, linked to WP and UI records
            ("adult_ed", "S1", None, "ANA", "LOPEZ", "1990-05-01", "F", day),
            ("wp", "W1", "123456789", "ANA", "LOPEZ", "1990-05-01", "F", day),
            ("ui", "C1", "123456789", "ANNA", "LOPEZ", "1990-05-01", "F", day),
            ("ui", "C2", "123456798", "ANNA", "LOPEZ", "1990-01-05", "F", day),  # keying errors
            # another: two SSNs that cannot be one keying error apart
            ("ui", "C3", "111111111", "BO", "LI", "1980-01-01", "M", day),
            ("wp", "W2", "999999999", "BO", "LI", "1980-01-01", "M", day + dt.timedelta(1)),
        ],
        columns=[
            "source_system",
            "source_record_id",
            "ssn",
            "first_name",
            "last_name",
            "birth_date",
            "sex",
            "last_delivered",
        ],
    )
    records["birth_date"] = pd.to_datetime(records["birth_date"])
    xref = _xref({"adult_ed:S1": 1, "wp:W1": 1, "ui:C1": 1, "ui:C2": 1, "ui:C3": 2, "wp:W2": 2})
    best = cu.best_identity(records, xref).set_index("customer_id")
    # SSN: 123456789 is in two systems, the transposed one in one
    assert best.loc[1, "ssn"] == "123456789"
    # first name: ANA (adult_ed, wp) beats ANNA (ui only, though in two records)
    assert best.loc[1, "first_name"] == "ANA"
    assert best.loc[1, "birth_date"] == pd.Timestamp("1990-05-01")
    assert best.loc[1, "systems"] == "adult_ed+ui+wp"
    assert (best.loc[1, "ssn_count"], bool(best.loc[1, "ssn_conflict"])) == (2, False)
    # a tie between systems and records goes to the most recently delivered
    assert best.loc[2, "ssn"] == "999999999"
    assert (best.loc[2, "ssn_count"], bool(best.loc[2, "ssn_conflict"])) == (2, True)
