"""Run diagnostics and pair explanations on a small trained model: the numbers are the numbers,
the pages work offline, and the run report carries no record values."""

from __future__ import annotations

import base64
import dataclasses
import re
from io import BytesIO
from itertools import combinations_with_replacement
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from linkage.diagnostics import (
    CLUSTER_SIZE_CAP,
    WEIGHT_BUCKET_WIDTH,
    LinkageDiagnostics,
    PairExplanation,
    explain_pair,
    run_diagnostics,
)
from linkage.model import TrainedModel, cluster, predict, train
from tests.test_linkage_model import SETTINGS, case_records

THRESHOLD = SETTINGS.cluster_threshold
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return case_records(300, seed=11)


@pytest.fixture(scope="module")
def model(records: pd.DataFrame) -> TrainedModel:
    return train(records, SETTINGS)


@pytest.fixture(scope="module")
def pairs(model: TrainedModel, records: pd.DataFrame) -> pd.DataFrame:
    return predict(model, records)


@pytest.fixture(scope="module")
def clusters(pairs: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    return cluster(pairs, records, THRESHOLD)


@pytest.fixture(scope="module")
def diag(model: TrainedModel, pairs: pd.DataFrame, clusters: pd.DataFrame) -> LinkageDiagnostics:
    return run_diagnostics(model, pairs, clusters, THRESHOLD)


@pytest.fixture(scope="module")
def html_text(diag: LinkageDiagnostics, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = diag.write_html(tmp_path_factory.mktemp("diag") / "run.html")
    return path.read_text(encoding="utf-8")


def _row(records: pd.DataFrame, rid: str) -> pd.DataFrame:
    return records[records["source_record_id"] == rid]


def _pair(pairs: pd.DataFrame, a: str, b: str) -> pd.Series:
    hit = pairs[
        ((pairs["source_record_id_l"] == a) & (pairs["source_record_id_r"] == b))
        | ((pairs["source_record_id_l"] == b) & (pairs["source_record_id_r"] == a))
    ]
    assert len(hit) == 1
    return hit.iloc[0]


# --------------------------------------------------------------------------- run diagnostics


def test_summary_equals_independent_counts(
    diag: LinkageDiagnostics, pairs: pd.DataFrame, clusters: pd.DataFrame, records: pd.DataFrame
) -> None:
    s = diag.summary
    sizes = clusters["cluster_id"].value_counts()
    assert s["records"] == len(records) == len(clusters)
    assert s["clusters"] == clusters["cluster_id"].nunique()
    assert s["singleton_clusters"] == (sizes == 1).sum()
    assert s["multi_record_clusters"] == (sizes > 1).sum() > 0
    assert s["share_records_in_multi_record_clusters"] == pytest.approx(sizes[sizes > 1].sum() / len(records))
    assert s["mean_cluster_size"] == pytest.approx(len(records) / clusters["cluster_id"].nunique())
    assert s["median_cluster_size"] == pytest.approx(float(np.median(sizes.to_numpy())))
    assert s["max_cluster_size"] == sizes.max()
    assert s["pairs_scored"] == len(pairs)
    assert s["pairs_at_or_above_threshold"] == (pairs["match_probability"] >= THRESHOLD).sum() > 0
    assert s["pairs_vetoed"] == pairs["vetoed"].sum() > 0
    assert s["threshold_match_weight"] == pytest.approx(np.log2(THRESHOLD / (1 - THRESHOLD)))
    assert all(type(v) in (int, float) for v in s.values()), "Dagster metadata wants plain numbers"


def test_cluster_size_distribution_matches_groupby(diag: LinkageDiagnostics, clusters: pd.DataFrame) -> None:
    sizes = clusters.groupby("cluster_id").size()
    expected = sizes.clip(upper=CLUSTER_SIZE_CAP).value_counts()
    got = diag.cluster_sizes.set_index("size")
    for k in range(1, CLUSTER_SIZE_CAP + 1):
        label = f"{k}+" if k == CLUSTER_SIZE_CAP else str(k)
        assert got.loc[label, "clusters"] == expected.get(k, 0)
        assert got.loc[label, "records"] == sizes[sizes.clip(upper=CLUSTER_SIZE_CAP) == k].sum()
    assert got["records"].sum() == len(clusters)


def test_weight_histogram_matches_numpy(diag: LinkageDiagnostics, pairs: pd.DataFrame) -> None:
    h = diag.weight_histogram
    edges = np.append(h["bucket_low"].to_numpy(), h["bucket_high"].iloc[-1])
    assert np.allclose(np.diff(edges), WEIGHT_BUCKET_WIDTH)
    counts, _ = np.histogram(pairs["match_weight"], bins=edges)
    assert h["pairs"].tolist() == counts.tolist()
    assert h["at_or_above_threshold"].sum() == (pairs["match_probability"] >= THRESHOLD).sum()
    assert h["vetoed"].sum() == pairs["vetoed"].sum()
    assert (h["at_or_above_threshold"] + h["below_threshold"] + h["vetoed"] == h["pairs"]).all()


def test_system_pairs_of_hand_made_clusters(model: TrainedModel) -> None:
    clusters = pd.DataFrame(
        [
            ("ui", "1", "c1"), ("wp", "1", "c1"), ("wp", "2", "c1"),  # ui-wp and wp twice
            ("ui", "2", "c2"), ("vr", "1", "c2"),
            ("title1", "1", "c3"),
            ("ui", "3", "c4"), ("wp", "3", "c4"),
        ],
        columns=["source_system", "source_record_id", "cluster_id"],
    )  # fmt: skip
    pairs = pd.DataFrame(
        [
            ("ui", "1", "wp", "1", 0.999, 20.0, False),
            ("wp", "1", "wp", "2", 0.995, 15.0, False),
            ("ui", "1", "wp", "2", 0.5, 0.0, False),
            ("vr", "1", "ui", "2", 0.999, 20.0, False),  # reversed order: same system pair
            ("title1", "1", "ui", "3", 0.0, -30.0, True),
            ("ui", "3", "wp", "3", 0.99, 6.7, False),
        ],
        columns=[
            "source_system_l", "source_record_id_l", "source_system_r", "source_record_id_r",
            "match_probability", "match_weight", "vetoed",
        ],
    )  # fmt: skip
    d = run_diagnostics(model, pairs, clusters, 0.99)
    sp = d.system_pairs.set_index(["system_a", "system_b"])
    assert len(sp) == 10  # four systems: 4 same-system + 6 cross-system pairs
    assert sp.loc[("ui", "wp"), "clusters_with_both"] == 2
    assert sp.loc[("ui", "wp"), "pairs_scored"] == 3
    assert sp.loc[("ui", "wp"), "pairs_at_or_above_threshold"] == 2
    assert sp.loc[("wp", "wp"), "clusters_with_both"] == 1
    assert sp.loc[("wp", "wp"), "pairs_at_or_above_threshold"] == 1
    assert sp.loc[("ui", "vr"), "clusters_with_both"] == 1
    assert sp.loc[("ui", "vr"), "pairs_at_or_above_threshold"] == 1
    assert sp.loc[("title1", "ui"), "clusters_with_both"] == 0
    assert sp.loc[("title1", "ui"), "pairs_scored"] == 1
    assert sp.loc[("title1", "ui"), "pairs_at_or_above_threshold"] == 0
    assert sp.loc[("ui", "ui"), "clusters_with_both"] == 0
    assert d.summary["pairs_vetoed"] == 1
    assert d.summary["max_cluster_size"] == 3
    assert d.summary["share_records_in_multi_record_clusters"] == pytest.approx(7 / 8)


def test_system_pairs_of_the_run_match_a_brute_force_count(
    diag: LinkageDiagnostics, clusters: pd.DataFrame
) -> None:
    members = clusters.groupby("cluster_id")["source_system"].apply(list)
    systems = sorted(clusters["source_system"].unique())
    sp = diag.system_pairs.set_index(["system_a", "system_b"])["clusters_with_both"]
    for a, b in combinations_with_replacement(systems, 2):
        want = sum((m.count(a) >= 2) if a == b else (a in m and b in m) for m in members)
        assert sp[(a, b)] == want, (a, b)


def test_parameters_are_splinks_scoring_values(diag: LinkageDiagnostics, model: TrainedModel) -> None:
    p = diag.parameters.set_index(["comparison", "level"])
    exact = p.loc[("ssn", "exact")]
    assert float(exact["weight"]) == pytest.approx(np.log2(float(exact["m"]) / float(exact["u"])))
    # every level has the m and u Splink scores with, trained or not
    assert p["m"].notna().all() and p["u"].notna().all()
    assert p.loc[("ssn", "consecutive"), "m_fixed"]
    assert p.loc[("first_name", "exact"), "tf_adjusted"]
    levels = sum(
        1
        for c in model.splink_model["comparisons"]
        for lvl in c["comparison_levels"]
        if not lvl.get("is_null_level")
    )
    assert len(p) == levels
    assert set(diag.splink_charts) == {"m_u_parameters", "match_weights"}


def test_charts_are_png(diag: LinkageDiagnostics) -> None:
    assert set(diag.charts) == {"match_weights", "cluster_sizes", "system_pairs"}
    for png in diag.charts.values():
        assert png.startswith(PNG_MAGIC) and png.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")
        assert imread(BytesIO(png), format="png").shape[0] > 100


def test_markdown_has_tables_and_embedded_images(diag: LinkageDiagnostics) -> None:
    md = diag.markdown
    assert "| measure | value |" in md and "data:image" not in md
    assert f"| pairs_scored | {diag.summary['pairs_scored']} |" in md
    embedded = re.findall(
        r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", diag.markdown_with_images()
    )
    assert sorted(base64.b64decode(x) for x in embedded) == sorted(diag.charts.values())


def test_html_is_offline(html_text: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc\s*=", html_text, re.I)
    assert not re.search(r"<(link|img|iframe)[^>]*\b(href|src)\s*=\s*[\"']?https?://", html_text, re.I)
    assert "cdn.jsdelivr" not in html_text
    assert html_text.count("vegaEmbed(") >= 2  # Splink's m/u and match weights charts
    assert "Amongst matching record comparisons" in html_text  # the m/u chart's data, inline
    assert html_text.count("data:image/png;base64,") == 3


def _pii_values(records: pd.DataFrame, clusters: pd.DataFrame) -> set[str]:
    values: set[str] = set()
    for col in ("ssn", "first_name", "last_name", "street", "phone", "email", "source_record_id"):
        values |= {str(v) for v in records[col].dropna()}
    values |= {d.strftime("%Y-%m-%d") for d in records["birth_date"].dropna()}
    values |= {d.strftime("%m/%d/%Y") for d in records["birth_date"].dropna()}
    values |= set(clusters["cluster_id"])
    return values


def _without_embedded_code(text: str) -> str:
    """The report minus the inlined JS libraries and base64 images, whose random-looking text
    could contain a short name by chance (the data and tables stay)."""
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", text)
    return re.sub(r"<script>(?!\s*vegaEmbed).*?</script>", "<script></script>", text, flags=re.S)


def _found(values: set[str], text: str) -> set[str]:
    """The values that occur in the text as whole words (a name inside a longer word is not one)."""
    words = set(re.findall(r"[\w:/-]+", text))
    return {v for v in values if v in text and (" " in v or v in words)}


def test_no_record_values_in_run_report(
    diag: LinkageDiagnostics, html_text: str, records: pd.DataFrame, clusters: pd.DataFrame
) -> None:
    texts = {
        "markdown": diag.markdown,
        "markdown_with_images": _without_embedded_code(diag.markdown_with_images()),
        "summary": repr(diag.summary),
        "html": _without_embedded_code(html_text),
    }
    values = _pii_values(records, clusters)
    assert {"212345678", "OKAFOR", "WILLIAM", "1980-04-02", "NICK1", "ui:NICK1"} <= values
    for name, text in texts.items():
        leaked = _found(values, text)
        assert not leaked, f"{name} leaks record values: {sorted(leaked)[:10]}"
    assert _found(values, texts["markdown"] + " OKAFOR 12 ASH ST") == {"OKAFOR", "12 ASH ST"}
    # SSNs are long enough to look for everywhere, libraries and images included
    for ssn in records["ssn"].dropna():
        assert ssn not in html_text


def test_empty_run(model: TrainedModel, pairs: pd.DataFrame, clusters: pd.DataFrame) -> None:
    d = run_diagnostics(model, pairs.iloc[:0], clusters, THRESHOLD)
    assert d.summary["pairs_scored"] == 0 and d.weight_histogram.empty
    assert d.charts["match_weights"].startswith(PNG_MAGIC)
    assert "| pairs_scored | 0 |" in d.markdown


# --------------------------------------------------------------------------- pair explanation


def _assert_waterfall_adds_up(e: PairExplanation) -> None:
    comparisons = e.table[e.table["comparison"] != "prior"]
    assert e.table["comparison"].iloc[0] == "prior"
    assert e.prior_match_weight + comparisons["weight"].sum() == pytest.approx(e.match_weight, abs=1e-9)
    assert e.table["cumulative_weight"].iloc[-1] == pytest.approx(e.match_weight, abs=1e-9)
    assert (comparisons["weight"] == comparisons["level_weight"] + comparisons["tf_weight"]).all()


def test_waterfall_of_a_match_adds_up_to_predict(
    model: TrainedModel, records: pd.DataFrame, pairs: pd.DataFrame, tmp_path: Path
) -> None:
    e = explain_pair(model, _row(records, "NICK1"), _row(records, "NICK2").iloc[0].to_dict())
    _assert_waterfall_adds_up(e)
    p = _pair(pairs, "NICK1", "NICK2")
    assert e.match_probability == pytest.approx(p["fs_match_probability"], rel=1e-9)
    assert e.match_weight == pytest.approx(p["match_weight"], abs=1e-9)
    assert not e.vetoed and e.final_match_probability == e.match_probability >= THRESHOLD
    t = e.table.set_index("comparison")
    assert t.loc["first_name", "level"] == "nickname"
    assert t.loc["ssn", "level"] == "exact"
    assert t.loc["last_name", "tf_weight"] != 0  # OKAFOR is rare: frozen term frequency applies
    md = e.to_markdown()
    assert "OKAFOR" in md and "nickname" in md and "does not apply" in md
    page = e.write_html(tmp_path / "pair.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I) and "vegaEmbed(" in page
    assert "actions: false" in page  # no "open in editor": it would post the values to a web site


def test_waterfall_of_twins_shows_the_veto(
    model: TrainedModel, records: pd.DataFrame, pairs: pd.DataFrame
) -> None:
    e = explain_pair(model, _row(records, "TWNC1"), _row(records, "TWND1"))
    _assert_waterfall_adds_up(e)
    p = _pair(pairs, "TWNC1", "TWND1")
    assert bool(p["vetoed"]) and e.vetoed
    assert e.match_probability == pytest.approx(p["fs_match_probability"], rel=1e-9)
    assert e.final_match_probability == 0.0 == p["match_probability"]
    assert "Twin veto applies" in e.to_markdown()


def test_any_two_records_from_dicts(model: TrainedModel) -> None:
    """Not a blocked pair, sparse dicts without ids; and a model without frozen term
    frequencies gets no adjustment rather than one taken from the two records."""
    a = {"first_name": "JOHN", "last_name": "SMITH", "birth_date": "1970-01-01", "last_name_parts": ["SMITH"]}
    b = {"first_name": "JON", "last_name": "SMITH", "birth_date": "1970-01-02", "last_name_parts": ["SMITH"]}
    e = explain_pair(model, a, b)
    _assert_waterfall_adds_up(e)
    assert e.table.set_index("comparison").loc["ssn", "level"] == "null"
    bare = explain_pair(dataclasses.replace(model, term_frequencies={}), a, b)
    _assert_waterfall_adds_up(bare)
    assert (bare.table["tf_weight"] == 0).all()
