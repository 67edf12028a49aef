"""The synthetic state carries its own truth: these tests check that the truth agrees with the
landing zone (read back with the independent contract reader) and that the population and the
program flow have the shapes linkage and the indicators will be tested against."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO_ROOT
from tests.contract_reader import check_landing

PERSON_FILES = {  # file type -> (system, key column)
    "ui_claims": ("ui", "claim id"),
    "wp_registrations": ("wp", "Individual ID"),
    "t1_participation": ("title1", "participation_id"),
    "vr_cases": ("vr", "CASE_ID"),
    "ae_students": ("adult_ed", "StudentID"),
}


@pytest.fixture(scope="module")
def truth(generated_state: Path) -> dict[str, pd.DataFrame]:
    t = generated_state / "truth"
    return {
        "people": pd.read_parquet(t / "people.parquet"),
        "records": pd.read_parquet(t / "person_records.parquet"),
        "periods": pd.read_parquet(t / "periods.parquet"),
        "wages": pd.read_parquet(t / "wages.parquet"),
        **{f"r_{p.stem}": pd.read_parquet(p) for p in (t / "records").glob("*.parquet")},
    }


@pytest.fixture(scope="module")
def landing_rows(generated_state: Path) -> dict[str, list[dict[str, str]]]:
    """Every readable row of every file (the rows corrupted on purpose left out)."""
    result = check_landing(generated_state / "landing", keep_rows=True)
    bad = result.flagged_lines()
    rows: dict[str, list[dict[str, str]]] = {}
    for name, files in result.by_type().items():
        for f in files:
            rows.setdefault(name, []).extend(
                dict(r.values) for r in (f.rows or []) if (f.path, r.line) not in bad
            )
    return rows


def test_truth_is_beside_the_landing_zone_never_inside(generated_state: Path) -> None:
    landing = generated_state / "landing"
    assert sorted(p.name for p in landing.iterdir()) == ["adult_ed", "title1", "ui", "ui_wages", "vr", "wp"]
    assert not [p for p in landing.rglob("*") if p.suffix in (".parquet", ".json") or "truth" in p.name]
    assert (generated_state / "truth" / "manifest.json").is_file()


def test_every_person_record_in_the_truth_was_delivered_and_vice_versa(
    truth: dict[str, pd.DataFrame], landing_rows: dict[str, list[dict[str, str]]]
) -> None:
    recs = truth["records"]
    for file_type, (system, key) in PERSON_FILES.items():
        delivered = {r[key] for r in landing_rows[file_type] if r.get(key)}
        known = set(recs.loc[recs["source_system"] == system, "source_record_id"])
        assert delivered == known, f"{file_type}: {len(delivered ^ known)} keys disagree"
    real = recs[recs["person_id"] >= 0]
    assert real["person_id"].isin(truth["people"]["person_id"]).all()


def test_reported_ssn_in_truth_matches_what_the_file_says(
    truth: dict[str, pd.DataFrame], landing_rows: dict[str, list[dict[str, str]]]
) -> None:
    recs = truth["records"].set_index(["source_system", "source_record_id"])["reported_ssn"]
    checked = 0
    for row in landing_rows["wp_registrations"]:
        want = recs[("wp", row["Individual ID"])]
        assert row["SSN"].replace("-", "") == want
        checked += 1
    assert checked > 100


def test_identity_noise_of_every_kind_is_present(truth: dict[str, pd.DataFrame]) -> None:
    recs = truth["records"]
    tags = recs["noise"].str.split(";").explode().value_counts()
    for kind in (
        "nickname",
        "name_typo",
        "surname_variant",
        "ssn_missing",
        "ssn_transposed",
        "ssn_digit",
        "ssn_invalid",
        "dob_swapped",
        "dob_off_by_one",
        "dob_missing",
        "married_name",
    ):
        assert tags.get(kind, 0) > 0, f"no record with {kind}"
    ae = recs[recs["source_system"] == "adult_ed"]
    missing = ae["noise"].str.contains("ssn_missing").mean()
    assert 0.30 < missing < 0.50, (
        f"Adult Ed SSN missing rate {missing:.2f}, contract says many learners have none"
    )
    ui = recs[recs["source_system"] == "ui"]
    assert not ui["noise"].str.contains("ssn_missing").any(), "a UI claim always carries an SSN"


def test_look_alikes_are_different_people(truth: dict[str, pd.DataFrame]) -> None:
    people = truth["people"].set_index("person_id")
    kinds = people["kind"].value_counts()
    assert {"twin", "same_name_dob", "household"} <= set(kinds.index)
    for pid, row in people[people["kind"] != "base"].iterrows():
        sib = people.loc[row["related_to"]]
        assert row["ssn"] != sib["ssn"] and pid != row["related_to"]
        if row["kind"] == "twin":
            assert (row["last"], row["dob"]) == (sib["last"], sib["dob"])
        if row["kind"] == "same_name_dob":
            assert (row["first"], row["last"], row["dob"]) == (sib["first"], sib["last"], sib["dob"])
    assert people["ssn"].is_unique


def test_program_flow_has_the_expected_paths(truth: dict[str, pd.DataFrame]) -> None:
    per = truth["periods"]
    by_person = per.groupby("person_id")["program"].agg(set)
    claims = truth["r_ui_claims"]
    regs = truth["r_wp_registrations"]
    claimants = set(claims["person_id"])
    registered = set(regs["person_id"])
    share = len(claimants & registered) / len(claimants)
    assert 0.6 < share < 0.95, f"share of UI claimants registered with WP: {share:.2f}"
    first_claim = claims.groupby("person_id")["filed"].min()
    first_reg = regs[regs["person_id"].isin(claimants)].groupby("person_id")["registered"].min()
    lag = (first_reg - first_claim.reindex(first_reg.index)).dt.days
    assert (lag >= 0).mean() > 0.8 and lag.median() < 30, "claimants register with WP a few days after filing"
    assert by_person.map(lambda s: "WP" in s and ("ADULT" in s or "DW" in s)).sum() > 10
    assert by_person.map(lambda s: "ADULT_ED" in s and bool(s & {"ADULT", "DW", "YOUTH"})).sum() > 3
    vr = truth["r_vr_cases"]
    waitlisted = set(vr.loc[vr["wait_start"].notna(), "person_id"])
    assert len(waitlisted & registered) > 3, "some VR wait-list customers are served by WP"


def test_true_periods_follow_the_participation_rules(
    truth: dict[str, pd.DataFrame], generated_state: Path
) -> None:
    per = truth["periods"]
    assert set(per["program"]) == {"WP", "ADULT", "DW", "YOUTH", "ADULT_ED", "VR"}
    closed = per.dropna(subset=["exit_date"])
    assert (closed["exit_date"] >= closed["entry_date"]).all()
    ae = per[per["program"] == "ADULT_ED"]
    assert (ae["hours"] >= 12).all(), "an Adult Ed learner becomes a participant at 12 contact hours"
    vr = per[per["program"] == "VR"]
    assert not vr["closure_type"].isin(["1", "2", "3", "4", "7"]).any()
    # consecutive periods of one person in WP / Adult Ed are more than 90 days apart
    for prog in ("WP", "ADULT_ED"):
        p = per[per["program"] == prog].sort_values(["person_id", "entry_date"])
        gap = (p["entry_date"] - p.groupby("person_id")["exit_date"].shift()).dt.days.dropna()
        assert (gap > 90).all()
    cutoff = dt.date.fromisoformat(
        pd.read_json(generated_state / "truth" / "manifest.json", typ="series")["cutoff"]
    )
    open_ = per[per["exit_date"].isna() & per["program"].isin(["WP"])]
    assert len(open_) > 0 and (pd.Timestamp(cutoff) - open_["entry_date"]).dt.days.min() >= 0


def test_wages_before_and_after_exit_with_several_employers(truth: dict[str, pd.DataFrame]) -> None:
    wages = truth["wages"]
    per = truth["periods"]
    exited = per[per["program"].isin(["ADULT", "DW"]) & per["exit_date"].notna()]
    q = wages.assign(qidx=wages["year"].astype(int) * 4 + wages["quarter"].astype(int) - 1)
    quarters_of = q.groupby("person_id")["qidx"].agg(set)
    before = after = 0
    for _, p in exited.iterrows():
        qs = quarters_of.get(p["person_id"], set())
        entry_q = p["entry_date"].year * 4 + (p["entry_date"].month - 1) // 3
        exit_q = p["exit_date"].year * 4 + (p["exit_date"].month - 1) // 3
        before += any(x < entry_q for x in qs)
        after += any(x > exit_q for x in qs)
    assert before > 0.5 * len(exited) and after > 0.4 * len(exited)
    multi = q.groupby(["person_id", "qidx"])["employer_fein"].nunique()
    assert (multi > 1).mean() > 0.03, "some workers have several employers in a quarter"
    changed = q.groupby("person_id")["employer_fein"].nunique()
    assert (changed > 1).mean() > 0.3, "people change jobs"
    assert wages["amended"].any(), "one quarter was re-delivered amended"


def test_delivery_rules_are_exercised(generated_state: Path, truth: dict[str, pd.DataFrame]) -> None:
    result = check_landing(generated_state / "landing")
    first_drop: dict[str, str] = {}
    fulls: dict[str, int] = {}
    for f in result.files:
        system, folder = f.path.split("/")[:2]
        if system == "ui_wages":
            continue
        first_drop[system] = min(first_drop.get(system, folder), folder)
        fulls[system] = fulls.get(system, 0) + (f.extract_type == "FULL")
    assert fulls and all(n >= 1 for n in fulls.values())
    assert len(set(first_drop.values())) == 1, "every system's first drop is on the same night"
    regs = truth["r_wp_registrations"]
    assert (regs["status"] == "Deleted").any(), "a voided (Deleted) registration"
    assert regs["removed_at_source"].any(), "a test registration removed at the source before a later FULL"
    claims = truth["r_ui_claims"]
    assert (claims["status"] == "D").any() or len(claims) < 2000


def test_as_of_cut_is_a_prefix_of_a_later_cut(tmp_path: Path) -> None:
    def run(out: Path, *extra: str) -> None:
        cmd = [sys.executable, "-m", "synthetic", "--people", "400", "--seed", "3", "--out", str(out), *extra]
        subprocess.run(cmd, cwd=REPO_ROOT, check=True, capture_output=True)

    run(tmp_path / "full")
    run(tmp_path / "early", "--as-of", "2024-02-10")
    early = sorted(
        p.relative_to(tmp_path / "early") for p in (tmp_path / "early" / "landing").rglob("*") if p.is_file()
    )
    later = {
        p.relative_to(tmp_path / "full") for p in (tmp_path / "full" / "landing").rglob("*") if p.is_file()
    }
    assert early and set(early) < later
    for rel in early:
        assert (tmp_path / "early" / rel).read_bytes() == (tmp_path / "full" / rel).read_bytes(), rel
    assert max(p.parts[2] for p in early if p.parts[1] == "wp") == "20240210"


def test_cli_rejects_inconsistent_dates(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthetic",
            "--people",
            "10",
            "--out",
            str(tmp_path),
            "--as-of",
            "2020-01-01",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "dates must satisfy" in proc.stderr


def test_state_tier_is_sized_as_specified() -> None:
    from synthetic.config import TIERS

    assert TIERS["demo"].people == 5000 and TIERS["state"].people == 400_000
    assert np.isclose(TIERS["state"].noise.ssn_missing["adult_ed"], 0.40)
