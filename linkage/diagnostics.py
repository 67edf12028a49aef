"""Explainability and per-run diagnostics of the linkage model.

Public surface:

- ``run_diagnostics(model, pairs, clusters, threshold) -> LinkageDiagnostics``: what a night's
  linkage did, for the Dagster materialization and for people: the m/u parameters Splink scored
  with, the match weight distribution of the scored pairs, customers by number of records,
  links per pair of source systems and the summary numbers. ``.summary`` (Dagster metadata),
  ``.markdown`` / ``.markdown_with_images()`` (Dagster UI), ``.charts`` (PNG bytes) and
  ``.write_html(path)`` (one offline page with Splink's own charts).
- ``explain_pair(model, record_a, record_b) -> PairExplanation``: the waterfall of match weights
  for any two person records, with the twin veto, as a table, markdown and an offline HTML page.

The run diagnostics leave the restricted zone (metadata, logs), so they carry counts, level
labels and parameters only: no record values and no record ids (a ``cluster_id`` is a record id,
so it never appears either). A pair explanation shows the two records' values: it is for
restricted-zone reviewers only.

Every HTML page is self-contained: vega, vega-lite and vega-embed are inlined from the copies
Splink ships in its package, and the PNGs are data URIs, so nothing is fetched when it opens.
"""

from __future__ import annotations

import base64
import copy
import html
import json
import logging
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from io import BytesIO
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from splink import DuckDBAPI, Linker

from linkage.model import INPUT_COLUMNS, TrainedModel, linker_for, prepare, tf_columns, veto_mask

# Match weight histogram buckets: fixed edges, so two nights' tables line up row by row.
WEIGHT_BUCKET_WIDTH = 2.0
# Cluster sizes from this one up are pooled in one row.
CLUSTER_SIZE_CAP = 10

_VEGA_LIBRARIES: tuple[str, ...] = ("vega", "vega-lite", "vega-embed")


# --------------------------------------------------------------------------- run diagnostics


@dataclass
class LinkageDiagnostics:
    """One run's linkage report. Tables hold counts, level labels and parameters only."""

    threshold: float
    summary: dict[str, int | float]
    # one row per non-null comparison level, with the m and u Splink scored with
    parameters: pd.DataFrame
    # bucket_low, bucket_high, pairs, above_threshold, below_threshold, vetoed
    weight_histogram: pd.DataFrame
    # size ("1" … "10+"), clusters, records
    cluster_sizes: pd.DataFrame
    # system_a <= system_b, clusters_with_both, pairs_scored, pairs_at_or_above_threshold
    system_pairs: pd.DataFrame
    # Splink's own charts as vega-lite specs (m/u parameters, match weights)
    splink_charts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @cached_property
    def charts(self) -> dict[str, bytes]:
        """PNG bytes by name; rendered once, on first use (the asset may not need them)."""
        return {
            "match_weights": _weight_histogram_png(self.weight_histogram, self.summary),
            "cluster_sizes": _cluster_sizes_png(self.cluster_sizes),
            "system_pairs": _system_pairs_png(self.system_pairs),
        }

    @property
    def markdown(self) -> str:
        return self._markdown(images=False)

    def markdown_with_images(self) -> str:
        """The markdown with the PNGs inline as data URIs (Dagster renders markdown metadata)."""
        return self._markdown(images=True)

    def _markdown(self, *, images: bool) -> str:
        s = self.summary
        parts = [
            "## Linkage run",
            "",
            _md_table(_summary_frame(s)),
            "",
            f"### Match weights of the scored pairs (threshold {self.threshold:g} = weight "
            f"{s['threshold_match_weight']:.2f})",
            "",
        ]
        if images:
            parts += [_md_image("match weights", self.charts["match_weights"]), ""]
        parts += [
            _md_table(_histogram_display(self.weight_histogram)),
            "",
            "### Customers by number of records",
            "",
        ]
        if images:
            parts += [_md_image("cluster sizes", self.charts["cluster_sizes"]), ""]
        parts += [_md_table(self.cluster_sizes), "", "### Links per pair of source systems", ""]
        if images:
            parts += [_md_image("system pairs", self.charts["system_pairs"]), ""]
        parts += [
            _md_table(self.system_pairs),
            "",
            "### Model parameters (m, u and weight per comparison level)",
            "",
            f"Prior: probability two random records match {s['prior_match_probability']:.3g} "
            f"(weight {s['prior_match_weight']:.2f}). Levels marked `default` were never trained "
            "and are scored with Splink's default u.",
            "",
            _md_table(_parameters_display(self.parameters)),
            "",
        ]
        return "\n".join(parts)

    def html(self) -> str:
        """The report as one offline HTML page (tables, PNG charts, Splink's charts)."""
        s = self.summary
        body = [
            "<h1>Linkage run</h1>",
            _html_table(_summary_frame(s)),
            f"<h2>Match weights of the scored pairs (threshold {self.threshold:g} = weight "
            f"{s['threshold_match_weight']:.2f})</h2>",
            _html_image("match weights", self.charts["match_weights"]),
            _html_table(_histogram_display(self.weight_histogram)),
            "<h2>Customers by number of records</h2>",
            _html_image("cluster sizes", self.charts["cluster_sizes"]),
            _html_table(self.cluster_sizes),
            "<h2>Links per pair of source systems</h2>",
            _html_image("system pairs", self.charts["system_pairs"]),
            _html_table(self.system_pairs),
            "<h2>Model parameters</h2>",
            f"<p>Prior: probability two random records match {s['prior_match_probability']:.3g} "
            f"(weight {s['prior_match_weight']:.2f}). Levels marked <code>default</code> were "
            "never trained and are scored with Splink's default u.</p>",
        ]
        body += [_vega_div(name, spec) for name, spec in self.splink_charts.items()]
        body.append(_html_table(_parameters_display(self.parameters)))
        return _html_page("Linkage run diagnostics", body, with_vega=bool(self.splink_charts))

    def write_html(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(self.html(), encoding="utf-8")
        return p


def run_diagnostics(
    model: TrainedModel, pairs: pd.DataFrame, clusters: pd.DataFrame, threshold: float
) -> LinkageDiagnostics:
    """The run report from ``predict`` pairs (every blocked pair, or a thresholded subset: the
    histogram then covers only those) and ``cluster`` output. Only systems, scores, veto flags
    and cluster membership are read, so nothing identifying can reach the report."""
    sizes = clusters.groupby("cluster_id", sort=False).size()
    links = pairs["match_probability"] >= threshold
    vetoed = (
        pairs["vetoed"].astype(bool) if "vetoed" in pairs.columns else pd.Series(False, index=pairs.index)
    )
    fs = (
        pairs["fs_match_probability"]
        if "fs_match_probability" in pairs.columns
        else pairs["match_probability"]
    )
    prior = float(model.splink_model["probability_two_random_records_match"])
    n_records = len(clusters)
    in_multi = int(sizes[sizes > 1].sum())
    summary: dict[str, int | float] = {
        "records": n_records,
        "clusters": len(sizes),
        "multi_record_clusters": int((sizes > 1).sum()),
        "singleton_clusters": int((sizes == 1).sum()),
        "records_in_multi_record_clusters": in_multi,
        "share_records_in_multi_record_clusters": in_multi / n_records if n_records else 0.0,
        "mean_cluster_size": float(sizes.mean()) if len(sizes) else 0.0,
        "median_cluster_size": float(sizes.median()) if len(sizes) else 0.0,
        "max_cluster_size": int(sizes.max()) if len(sizes) else 0,
        "pairs_scored": len(pairs),
        "pairs_at_or_above_threshold": int(links.sum()),
        "pairs_vetoed": int(vetoed.sum()),
        # what the veto took away: pairs the Fellegi-Sunter score alone would have linked
        "pairs_vetoed_at_or_above_threshold": int((vetoed & (fs >= threshold)).sum()),
        "threshold": float(threshold),
        "threshold_match_weight": _weight_of(threshold),
        "prior_match_probability": prior,
        "prior_match_weight": _weight_of(prior),
    }
    parameters, specs = _parameters(model)
    summary["levels_with_default_u"] = int((~parameters["u_trained"]).sum())
    return LinkageDiagnostics(
        threshold=float(threshold),
        summary=summary,
        parameters=parameters,
        weight_histogram=_weight_histogram(pairs, links, vetoed),
        cluster_sizes=_cluster_size_distribution(sizes),
        system_pairs=_system_pairs(pairs, links, clusters),
        splink_charts=specs,
    )


def _weight_of(p: float) -> float:
    if p <= 0:
        return -math.inf
    if p >= 1:
        return math.inf
    return math.log2(p / (1 - p))


def _settings_linker(model: TrainedModel) -> Linker:
    """A Linker over zero records: the parameter charts read only the settings, so this is the
    cheapest correct way to get Splink's view of the model (no term frequencies, no data)."""
    empty = prepare(pd.DataFrame({c: [] for c in INPUT_COLUMNS}))
    sdf = DuckDBAPI().register(empty, dataset_display_name="no_records")
    return Linker(sdf, copy.deepcopy(model.splink_model), log_level=logging.WARNING)


def _parameters(model: TrainedModel) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """m and u per level as Splink scores with them (an untrained u becomes Splink's default,
    which the exported model does not show), and Splink's m/u and match weights charts."""
    linker = _settings_linker(model)
    mu_chart = linker.visualisations.m_u_parameters_chart()
    weights_chart = linker.visualisations.match_weights_chart()
    exported: dict[tuple[str, int], dict[str, Any]] = {}
    for comp in model.splink_model["comparisons"]:
        levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        for i, lvl in enumerate(levels):
            exported[(comp["output_column_name"], len(levels) - 1 - i)] = lvl
    rows = []
    for rec in mu_chart.chart_dict["data"]["values"]:
        comp, gamma = rec["comparison_name"], int(rec["comparison_vector_value"])
        lvl = exported.get((comp, gamma), {})
        rows.append(
            {
                "comparison": comp,
                "level": rec["label_for_charts"],
                "gamma": gamma,
                "m": rec["m_probability"],
                "u": rec["u_probability"],
                "bayes_factor": rec["bayes_factor"],
                "weight": rec["log2_bayes_factor"],
                "tf_adjusted": bool(rec.get("tf_adjustment_column")),
                "m_fixed": bool(lvl.get("fix_m_probability")),
                "u_trained": lvl.get("u_probability") is not None,
            }
        )
    specs = {"m_u_parameters": mu_chart.chart_dict, "match_weights": weights_chart.chart_dict}
    return pd.DataFrame(rows), specs


def _weight_histogram(pairs: pd.DataFrame, links: pd.Series, vetoed: pd.Series) -> pd.DataFrame:
    cols = ["bucket_low", "bucket_high", "pairs", "at_or_above_threshold", "below_threshold", "vetoed"]
    w = pd.to_numeric(pairs["match_weight"], errors="coerce")
    ok = w.notna() & np.isfinite(w)
    if not ok.any():
        return pd.DataFrame(columns=cols)
    low = np.floor(w[ok] / WEIGHT_BUCKET_WIDTH).astype(np.int64)
    frame = pd.DataFrame({"b": low, "link": links[ok], "veto": vetoed[ok]})
    frame["below"] = ~frame["link"] & ~frame["veto"]
    g = frame.groupby("b").agg(
        pairs=("link", "size"), at_or_above_threshold=("link", "sum"), below_threshold=("below", "sum"),
        vetoed=("veto", "sum"),
    )  # fmt: skip
    g = g.reindex(range(int(low.min()), int(low.max()) + 1), fill_value=0)
    out = pd.DataFrame(
        {
            "bucket_low": g.index.to_numpy() * WEIGHT_BUCKET_WIDTH,
            "bucket_high": (g.index.to_numpy() + 1) * WEIGHT_BUCKET_WIDTH,
            **{c: g[c].astype(np.int64).to_numpy() for c in cols[2:]},
        }
    )
    return out


def _cluster_size_distribution(sizes: pd.Series) -> pd.DataFrame:
    capped = sizes.clip(upper=CLUSTER_SIZE_CAP)
    rows = []
    for k in range(1, CLUSTER_SIZE_CAP + 1):
        hit = capped == k
        label = f"{k}+" if k == CLUSTER_SIZE_CAP else str(k)
        rows.append({"size": label, "clusters": int(hit.sum()), "records": int(sizes[hit].sum())})
    return pd.DataFrame(rows)


def _system_pairs(pairs: pd.DataFrame, links: pd.Series, clusters: pd.DataFrame) -> pd.DataFrame:
    """Per unordered pair of systems (a system with itself too): clusters holding records of
    both (two or more of that system for a same-system pair), pairs scored, pairs linked."""
    per = pd.crosstab(clusters["cluster_id"], clusters["source_system"].astype(str))
    systems = sorted(
        set(per.columns)
        | set(pairs["source_system_l"].astype(str))
        | set(pairs["source_system_r"].astype(str))
    )
    per = per.reindex(columns=systems, fill_value=0)
    a = pairs["source_system_l"].astype(str)
    b = pairs["source_system_r"].astype(str)
    key = pd.Series(
        list(zip(a.where(a <= b, b), b.where(a <= b, a), strict=True)), index=pairs.index, dtype=object
    )
    scored = key.value_counts()
    linked = key[links].value_counts()
    rows = []
    for x, y in combinations_with_replacement(systems, 2):
        both = (per[x] >= 2) if x == y else ((per[x] > 0) & (per[y] > 0))
        rows.append(
            {
                "system_a": x,
                "system_b": y,
                "clusters_with_both": int(both.sum()),
                "pairs_scored": int(scored.get((x, y), 0)),
                "pairs_at_or_above_threshold": int(linked.get((x, y), 0)),
            }
        )
    return pd.DataFrame(
        rows,
        columns=["system_a", "system_b", "clusters_with_both", "pairs_scored", "pairs_at_or_above_threshold"],
    )


# --------------------------------------------------------------------------- pair explanation


@dataclass
class PairExplanation:
    """How the model scores two records. Holds their values: restricted zone only."""

    # one row for the prior, then one per comparison in model order
    table: pd.DataFrame
    prior_match_weight: float
    match_weight: float
    # the Fellegi-Sunter probability (predict's fs_match_probability)
    match_probability: float
    vetoed: bool
    # after the twin veto (predict's match_probability)
    final_match_probability: float
    waterfall_spec: dict[str, Any]
    ids: tuple[str, str]

    def to_markdown(self) -> str:
        verdict = (
            "**Twin veto applies** (both SSNs present and different, first names different): "
            "final match probability 0."
            if self.vetoed
            else "Twin veto does not apply."
        )
        return "\n".join(
            [
                f"## Pair explanation: {self.ids[0]} vs {self.ids[1]}",
                "",
                _md_table(_explanation_display(self.table)),
                "",
                f"Final match weight **{self.match_weight:.3f}** = prior {self.prior_match_weight:.3f} "
                f"+ comparisons {self.match_weight - self.prior_match_weight:.3f}; "
                f"match probability **{self.match_probability:.6g}**.",
                "",
                verdict,
                "",
            ]
        )

    def html(self) -> str:
        verdict = (
            "<p><strong>Twin veto applies</strong> (both SSNs present and different, first names "
            "different): final match probability 0.</p>"
            if self.vetoed
            else "<p>Twin veto does not apply.</p>"
        )
        body = [
            f"<h1>Pair explanation: {html.escape(self.ids[0])} vs {html.escape(self.ids[1])}</h1>",
            f"<p>Final match weight <strong>{self.match_weight:.3f}</strong> = prior "
            f"{self.prior_match_weight:.3f} + comparisons "
            f"{self.match_weight - self.prior_match_weight:.3f}; match probability "
            f"<strong>{self.match_probability:.6g}</strong>.</p>",
            verdict,
            _vega_div("waterfall", self.waterfall_spec),
            _html_table(_explanation_display(self.table)),
        ]
        return _html_page("Pair explanation", body, with_vega=True)

    def write_html(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(self.html(), encoding="utf-8")
        return p


RecordLike = Mapping[Any, Any] | pd.DataFrame | pd.Series


def explain_pair(model: TrainedModel, record_a: RecordLike, record_b: RecordLike) -> PairExplanation:
    """The waterfall of match weights for two ``person_records`` rows, scored exactly as
    ``predict`` scores them (same Linker helper, same frozen term frequencies, same veto)."""
    a, b = _as_record(record_a), _as_record(record_b)
    for rec, side in ((a, "a"), (b, "b")):
        rec["source_system"] = rec.get("source_system") or "record"
        rec["source_record_id"] = rec.get("source_record_id") or side
    if (a["source_system"], str(a["source_record_id"])) == (b["source_system"], str(b["source_record_id"])):
        b["source_record_id"] = f"{b['source_record_id']} (b)"
    two = prepare(pd.DataFrame([a, b], columns=list(INPUT_COLUMNS)))
    left = two[two["unique_id"] == f"{a['source_system']}:{a['source_record_id']}"]
    right = two[two["unique_id"] != left["unique_id"].iloc[0]]
    # A model without frozen term frequencies would take them from these two records: a name
    # would look rare or common by chance. Null tf columns mean "no adjustment" instead.
    for col in tf_columns(model.splink_model):
        if not model.term_frequencies.get(col):
            left = left.assign(**{f"tf_{col}": None})
            right = right.assign(**{f"tf_{col}": None})
    linker = linker_for(
        model, two, retain_matching_columns=True, retain_intermediate_calculation_columns=True
    )
    tables = linker.table_management
    sdf_l = tables.register_table(left.reset_index(drop=True), "__explain_left", overwrite=True)
    sdf_r = tables.register_table(right.reset_index(drop=True), "__explain_right", overwrite=True)
    scored = linker.inference.score_pair(sdf_l, sdf_r)
    frame = scored.as_pandas_dataframe()
    chart = linker.visualisations.waterfall_chart(scored.as_record_list(), filter_nulls=True)
    spec = chart.chart_dict
    table = _waterfall_table(spec["data"]["values"])
    vetoed = bool(veto_mask(model, frame).iloc[0])
    fs = float(frame["match_probability"].iloc[0])
    return PairExplanation(
        table=table,
        prior_match_weight=float(table["weight"].iloc[0]),
        match_weight=float(frame["match_weight"].iloc[0]),
        match_probability=fs,
        vetoed=vetoed,
        final_match_probability=0.0 if vetoed else fs,
        waterfall_spec=spec,
        ids=(str(left["unique_id"].iloc[0]), str(right["unique_id"].iloc[0])),
    )


def _as_record(record: RecordLike) -> dict[str, Any]:
    if isinstance(record, pd.DataFrame):
        if len(record) != 1:
            raise ValueError(f"a record frame must have one row, not {len(record)}")
        record = record.iloc[0]
    rec = dict(record.items())
    return {c: rec.get(c) for c in INPUT_COLUMNS}


def _waterfall_table(values: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Splink's waterfall rows folded to one row per comparison: the level's own weight and its
    term-frequency adjustment side by side."""
    rows: list[dict[str, Any]] = []
    by_comparison: dict[str, dict[str, Any]] = {}
    for v in values:
        name = str(v["column_name"])
        if name == "Final score":
            continue
        if v.get("term_frequency_adjustment") and name.startswith("tf_"):
            row = by_comparison.get(name[3:])
            if row is not None:
                row["tf_weight"] = float(v["log2_bayes_factor"] or 0.0)
            continue
        row = {
            "comparison": "prior" if name == "Prior" else name,
            "level": v["label_for_charts"],
            "gamma": v["comparison_vector_value"],
            "value_l": v["value_l"],
            "value_r": v["value_r"],
            "m": v["m_probability"],
            "u": v["u_probability"],
            "level_weight": float(v["log2_bayes_factor"] or 0.0),
            "tf_weight": 0.0,
        }
        by_comparison[name] = row
        rows.append(row)
    table = pd.DataFrame(rows)
    table["weight"] = table["level_weight"] + table["tf_weight"]
    table["bayes_factor"] = np.exp2(table["weight"])
    table["cumulative_weight"] = table["weight"].cumsum()
    return table


# --------------------------------------------------------------------------- PNG charts


def _png(fig: Figure) -> bytes:
    buf = BytesIO()
    # Figure() alone renders with Agg: no pyplot, no global backend state, safe in a worker.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _weight_histogram_png(hist: pd.DataFrame, summary: Mapping[str, int | float]) -> bytes:
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.add_subplot()
    if len(hist):
        x = hist["bucket_low"].to_numpy(dtype=float)
        w = WEIGHT_BUCKET_WIDTH
        bottom = np.zeros(len(hist))
        for col, colour, label in (
            ("below_threshold", "#9aa5b1", "below threshold"),
            ("at_or_above_threshold", "#2b8a3e", "at/above threshold"),
            ("vetoed", "#c92a2a", "vetoed (twin rule)"),
        ):
            y = hist[col].to_numpy(dtype=float)
            ax.bar(x, y, width=w, bottom=bottom, align="edge", color=colour, label=label, edgecolor="white")
            bottom += y
        t = float(summary["threshold_match_weight"])
        if math.isfinite(t):
            ax.axvline(t, color="black", linestyle="--", linewidth=1, label=f"threshold (weight {t:.1f})")
        ax.legend(loc="upper left", fontsize=8)
    ax.set_xlabel("match weight (log2 Bayes factor, before the veto)")
    ax.set_ylabel("pairs")
    ax.set_title(f"Scored pairs by match weight (n={int(summary['pairs_scored'])})")
    return _png(fig)


def _cluster_sizes_png(sizes: pd.DataFrame) -> bytes:
    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.add_subplot()
    bars = ax.bar(sizes["size"], sizes["clusters"], color="#1c7ed6")
    ax.bar_label(bars, fontsize=8)
    if sizes["clusters"].max() > 50 * max(1, sizes["clusters"][sizes["clusters"] > 0].min()):
        ax.set_yscale("log")
    ax.set_xlabel("records in the customer")
    ax.set_ylabel("customers (clusters)")
    ax.set_title("Customers by number of records")
    return _png(fig)


def _system_pairs_png(pairs: pd.DataFrame) -> bytes:
    systems = sorted(set(pairs["system_a"]) | set(pairs["system_b"]))
    n = len(systems)
    grid = np.zeros((n, n), dtype=np.int64)
    pos = {s: i for i, s in enumerate(systems)}
    for x, y, k in zip(
        pairs["system_a"], pairs["system_b"], pairs["clusters_with_both"].tolist(), strict=True
    ):
        grid[pos[x], pos[y]] = grid[pos[y], pos[x]] = k
    fig = Figure(figsize=(1.2 * n + 2.5, 1.0 * n + 1.5), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(n), systems, rotation=30, ha="right")
    ax.set_yticks(range(n), systems)
    top = grid.max() if grid.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(grid[i, j]), ha="center", va="center", fontsize=9,
                    color="white" if top and grid[i, j] > top / 2 else "black")  # fmt: skip
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title("Customers with records in both systems\n(diagonal: two or more in one system)", fontsize=10)
    return _png(fig)


# --------------------------------------------------------------------------- tables


def _summary_frame(s: Mapping[str, int | float]) -> pd.DataFrame:
    return pd.DataFrame({"measure": list(s), "value": [_fmt(v) for v in s.values()]})


def _histogram_display(hist: pd.DataFrame) -> pd.DataFrame:
    """Non-empty buckets only: the weights cluster far apart, and people read the table."""
    out = hist[hist["pairs"] > 0].copy()
    if len(out):
        out.insert(
            0,
            "match weight",
            [f"[{lo:g}, {hi:g})" for lo, hi in zip(out["bucket_low"], out["bucket_high"], strict=True)],
        )
    return out.drop(columns=["bucket_low", "bucket_high"])


def _parameters_display(params: pd.DataFrame) -> pd.DataFrame:
    out = params[["comparison", "level", "gamma", "m", "u", "weight"]].copy()
    notes = []
    for r in params.itertuples(index=False):
        n = []
        if r.tf_adjusted:
            n.append("tf")
        if r.m_fixed:
            n.append("m fixed")
        if not r.u_trained:
            n.append("default")
        notes.append(", ".join(n))
    out["notes"] = notes
    return out


def _explanation_display(table: pd.DataFrame) -> pd.DataFrame:
    cols = ["comparison", "level", "value_l", "value_r", "m", "u", "level_weight", "tf_weight", "weight", "cumulative_weight"]  # fmt: skip
    return table[cols]


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        f = float(v)
        if not math.isfinite(f):
            return str(f)
        if f != 0 and (abs(f) < 1e-3 or abs(f) >= 1e6):
            return f"{f:.3g}"
        return f"{f:.4f}".rstrip("0").rstrip(".") if f != int(f) else f"{f:.0f}"
    return str(v)


def _md_table(df: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        return _fmt(v).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "|".join(" --- " for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def _md_image(alt: str, png: bytes) -> str:
    return f"![{alt}](data:image/png;base64,{_b64(png)})"


def _html_image(alt: str, png: bytes) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{_b64(png)}">'


# --------------------------------------------------------------------------- offline HTML


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
th { background: #f1f3f5; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
.vega-chart { margin: 1em 0; }
"""


def _vega_libraries() -> list[str]:
    """vega, vega-lite and vega-embed from Splink's package, the same copies its
    ``save_offline_chart`` inlines (and so the versions its chart specs are written for)."""
    try:
        from splink.internals.html_utils import load_chart_libraries

        libs = load_chart_libraries()
        return [libs[name] for name in _VEGA_LIBRARIES]
    except (ImportError, AttributeError, KeyError):
        folder = resources.files("splink") / "internals" / "files" / "external_js"
        found = {p.name.split("@")[0]: p for p in folder.iterdir() if "@" in p.name}
        return [found[name].read_text(encoding="utf-8") for name in _VEGA_LIBRARIES]


def _json_default(o: Any) -> Any:
    if isinstance(o, numbers.Integral):
        return int(o)
    if isinstance(o, numbers.Real):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no </script>, no HTML delimiters."""
    text = json.dumps(value, default=_json_default)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _vega_div(name: str, spec: Mapping[str, Any]) -> str:
    # actions off: vega-embed's "open in editor" would post the chart data to a web site
    div = f"vega-{html.escape(name)}"
    return (
        f'<div class="vega-chart" id="{div}"></div>\n<script>vegaEmbed("#{div}", '
        f"{_script_json(spec)}, {{actions: false}}).catch(function (e) {{ "
        f'document.getElementById("{div}").textContent = "chart error: " + e; }});</script>'
    )


def _html_page(title: str, body: Sequence[str], *, with_vega: bool) -> str:
    scripts = ""
    if with_vega:
        scripts = "\n".join(
            "<script>" + lib.replace("</script", "<\\/script") + "</script>" for lib in _vega_libraries()
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>\n{scripts}\n</head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
