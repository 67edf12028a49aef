"""The nightly linkage step over the restricted warehouse: person_records in, customers out.

Two paths that give the same clusters on the same data:

- **FULL** (first run, every ``full_relink_every_days``, or when the settings changed): train the
  model on every record, score every blocked pair, keep those at or above the review floor.
- **INCREMENTAL** (other nights): score only the pairs touching new or changed records (with the
  stored model, whose term frequencies are frozen), drop held pairs touching changed or removed
  records, and re-cluster everything held. A pair's score depends only on its two records and the
  model, so the held pairs equal what a full scoring with the same model would give.

Clustering is cheap and always global, so must-links (one system's person id, a reviewer's
"same") and cannot-links (a reviewer's "not same") are honoured on every path. Everything a run
writes commits in one transaction; the model artifact is written (atomically) before it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from linkage import customers as cu
from linkage.diagnostics import PairExplanation, explain_pair
from linkage.model import (
    INPUT_COLUMNS,
    RUNTIME_SETTINGS,
    LinkageSettings,
    TrainedModel,
    cluster,
    predict,
    prepare,
    train,
    unique_ids,
)
from warehouse.files import write_text_atomic
from warehouse.sql import has_table, ident, registered, sql

log = logging.getLogger(__name__)

MODELS_DIR = "models"
REVIEW_DIR = "review"
DECISIONS_DIR = "decisions"
QUEUE_EXPORT = "review_queue.csv"
RECORD_COLUMNS: tuple[str, ...] = (*INPUT_COLUMNS, "person_key", "last_delivered")
DECISION_COLUMNS = (
    "source_system_l",
    "source_record_id_l",
    "source_system_r",
    "source_record_id_r",
    "decision",
    "reviewer",
)


@dataclass(frozen=True)
class LinkageConfig:
    """The linkage policy a state sets (thresholds live in the model settings)."""

    model: LinkageSettings = field(default_factory=LinkageSettings)
    review_floor: float = 0.5
    full_relink_every_days: int = 7

    def __post_init__(self) -> None:
        if not 0 < self.review_floor <= self.model.cluster_threshold:
            raise ValueError(
                f"review floor {self.review_floor} must be above 0 and at most the cluster threshold "
                f"{self.model.cluster_threshold}"
            )
        if self.full_relink_every_days < 1:
            raise ValueError("full_relink_every_days must be at least 1")


@dataclass
class LinkageOutcome:
    run_id: str
    run_date: dt.date
    mode: str
    model: TrainedModel
    model_id: str
    counts: dict[str, int]
    pairs: pd.DataFrame  # every held pair (>= review floor), as clustered
    clusters: pd.DataFrame  # source_system, source_record_id, cluster_id (= customer_id)
    seconds: dict[str, float]
    review_export: Path | None = None


class DecisionFileError(ValueError):
    """A reviewer's decisions file that cannot be applied: names the file, line and field."""


# --------------------------------------------------------------------------- helpers


def identity_hash(records: pd.DataFrame) -> pd.Series:
    """A digest of the fields the model and the constraints read: equal digests, equal scores."""
    cols = [c for c in (*INPUT_COLUMNS, "person_key") if c in records.columns]
    text = records[cols].copy()
    if "last_name_parts" in text:
        text["last_name_parts"] = text["last_name_parts"].map(
            lambda v: "|".join(map(str, v)) if isinstance(v, list | tuple | np.ndarray) else ""
        )
    return pd.util.hash_pandas_object(text.astype(str), index=False).astype("uint64")


def _model_settings(s: LinkageSettings) -> dict[str, object]:
    d = s.to_dict()
    for k in RUNTIME_SETTINGS:
        d.pop(k, None)
    return d


def _latest_model(con: duckdb.DuckDBPyConnection, warehouse: Path) -> TrainedModel | None:
    rows = con.execute(
        "SELECT path FROM linkage_models ORDER BY trained_at DESC, model_id LIMIT 1"
    ).fetchall()
    if not rows:
        return None
    return TrainedModel.from_json((warehouse / rows[0][0]).read_text(encoding="utf-8"))


def save_model(
    con: duckdb.DuckDBPyConnection, warehouse: Path, model: TrainedModel, run_date: dt.date, records: int
) -> str:
    """Write the model artifact (0600: its term frequencies carry names) and register it."""
    text = model.to_json()
    mid = model.model_id()
    rel = f"{MODELS_DIR}/linkage-model-{mid}.json"
    (warehouse / MODELS_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
    write_text_atomic(warehouse / rel, text, mode=0o600)
    con.execute(
        "INSERT OR REPLACE INTO linkage_models VALUES (?, ?, ?, ?, ?, ?)",
        [mid, dt.datetime.now(), run_date, records, rel, hashlib.sha256(text.encode()).hexdigest()],
    )
    return mid


def _last_run(con: duckdb.DuckDBPyConnection) -> tuple[str | None, dt.date | None]:
    # fetchall, not fetchone: DuckDB 2 keeps a half-read result open, which blocks register().
    row = con.execute("SELECT model_id FROM linkage_runs ORDER BY finished_at DESC LIMIT 1").fetchall()
    full = con.execute("SELECT max(run_date) FROM linkage_runs WHERE mode = 'FULL'").fetchall()
    return (row[0][0] if row else None), full[0][0]


# --------------------------------------------------------------------------- review decisions


def record_decisions(
    con: duckdb.DuckDBPyConnection, decisions: pd.DataFrame, source_file: str | None = None
) -> int:
    """Store reviewer decisions (columns DECISION_COLUMNS, optional note, decided_at, source_line)."""
    if decisions.empty:
        return 0
    d = decisions.copy()
    d["decision"] = d["decision"].astype(str).str.strip().str.upper()
    bad = d[~d["decision"].isin(cu.DECISIONS)]
    if len(bad):
        raise DecisionFileError(f"decision must be one of {cu.DECISIONS}, got {bad['decision'].iloc[0]!r}")
    for col in ("note", "source_line"):
        if col not in d:
            d[col] = None
    if "decided_at" not in d:
        d["decided_at"] = dt.datetime.now()
    d["decided_at"] = pd.to_datetime(d["decided_at"])
    d["source_file"] = source_file
    cur = con.cursor()  # its own statement state: a caller's half-read result must not block register()
    try:
        with registered(cur, "decisions_batch", d):
            cur.execute(sql("linkage/insert_decisions.sql"))
    finally:
        cur.close()
    return len(d)


def load_decision_files(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    """Load each new reviewer decisions file (CSV, the export's columns with ``decision`` filled
    in as SAME or NOT_SAME; blank decisions are skipped). A file is loaded once per content."""
    if not folder.is_dir():
        return 0
    loaded = 0
    for path in sorted(folder.glob("*.csv")):
        if path.is_symlink() or not path.is_file():
            raise DecisionFileError(f"{path}: not a regular file")
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        seen = con.execute(
            "SELECT count(*) FROM review_decision_files WHERE file_name = ? AND sha256 = ?", [path.name, sha]
        ).fetchall()
        if seen[0][0]:
            continue
        rows = list(csv.DictReader(data.decode("utf-8-sig").splitlines()))
        header = set(rows[0]) if rows else set()
        if rows and (missing := [c for c in DECISION_COLUMNS if c not in header]):
            raise DecisionFileError(f"{path.name}: line 1: missing column(s) {missing}")
        kept = []
        for line, row in enumerate(rows, start=2):
            decision = (row.get("decision") or "").strip().upper()
            if not decision:
                continue
            if decision not in cu.DECISIONS:
                raise DecisionFileError(
                    f"{path.name}: line {line}: field decision: {decision!r} is not one of {list(cu.DECISIONS)}"
                )
            if not (row.get("reviewer") or "").strip():
                raise DecisionFileError(
                    f"{path.name}: line {line}: field reviewer: a decision needs a reviewer"
                )
            kept.append(
                {
                    **{c: row[c].strip() for c in DECISION_COLUMNS},
                    "note": row.get("note"),
                    "source_line": line,
                }
            )
        record_decisions(con, pd.DataFrame(kept), source_file=path.name)
        con.execute(
            "INSERT INTO review_decision_files VALUES (?, ?, ?, ?)",
            [path.name, sha, len(kept), dt.datetime.now()],
        )
        loaded += len(kept)
        log.info("review decisions: %s loaded %d decision(s)", path.name, len(kept))
    return loaded


def _decisions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT * FROM review_decisions ORDER BY decided_at, decision_id").df()


# --------------------------------------------------------------------------- the run


def link(
    con: duckdb.DuckDBPyConnection,
    warehouse: Path,
    run_date: dt.date,
    run_id: str,
    config: LinkageConfig | None = None,
    *,
    full: bool | None = None,
    model: TrainedModel | None = None,
) -> LinkageOutcome:
    """Link tonight's person_records into customers and write the linkage tables.

    ``full``: force (True) or forbid (False) a full relink; None lets the policy decide.
    ``model``: use this model instead of the stored one (no training); for tests and replays.
    """
    config = config or LinkageConfig()
    started = dt.datetime.now()
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    con.execute(sql("linkage/ddl.sql"))
    load_decision_files(con, warehouse / REVIEW_DIR / DECISIONS_DIR)

    # only what the model, the constraints and the identity vote read: memory at state scale
    records = con.execute(sql("linkage/records.sql", columns=list(RECORD_COLUMNS))).df()
    records["unique_id"] = unique_ids(records)
    records["identity_hash"] = identity_hash(records)
    prepared = prepare(records)  # once, for training and scoring

    last_model_id, last_full = _last_run(con)
    stored = model or _latest_model(con, warehouse)
    policy_full = (
        stored is None
        or not has_table(con, "linkage_pairs")
        or last_model_id is None
        or last_model_id != stored.model_id()
        or last_full is None
        or (run_date - last_full).days >= config.full_relink_every_days
        or (model is None and _model_settings(stored.settings) != _model_settings(config.model))
    )
    is_full = policy_full if full is None else full
    if not is_full and policy_full and (stored is None or not has_table(con, "linkage_pairs")):
        raise ValueError("an incremental linkage needs a previous run (model and scored pairs)")

    if model is not None:
        current = replace(
            model, settings=replace(model.settings, **{k: getattr(config.model, k) for k in RUNTIME_SETTINGS})
        )
    elif is_full or stored is None:
        if records.empty:
            raise ValueError("no person records to train the linkage model on")
        current = train(prepared, config.model)
        seconds["train"] = round(time.perf_counter() - clock, 2)
    else:
        current = stored
    model_id = current.model_id()
    model_known = con.execute("SELECT count(*) FROM linkage_models WHERE model_id = ?", [model_id]).fetchall()
    if not model_known[0][0]:
        save_model(con, warehouse, current, run_date, len(records))

    prev = con.execute("SELECT unique_id, identity_hash FROM linkage_records").df()
    # merge, not map: a lookup with misses goes through float64 and loses 64-bit digests
    seen = records[["unique_id", "identity_hash"]].merge(
        prev, on=["unique_id", "identity_hash"], how="left", indicator=True
    )
    dirty_mask = pd.Series((seen["_merge"] == "left_only").to_numpy(), index=records.index)
    removed = sorted(set(prev["unique_id"]) - set(records["unique_id"]))

    t = time.perf_counter()
    if is_full:
        new_pairs = predict(current, prepared, config.review_floor)
        dirty_count = len(records)
    else:
        dirty_ids = records.loc[dirty_mask, "unique_id"]
        new_pairs = predict(current, prepared, config.review_floor, dirty=dirty_ids)
        dirty_count = int(dirty_mask.sum())
    seconds["predict"] = round(time.perf_counter() - t, 2)

    t = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    try:
        if is_full or not has_table(con, "linkage_pairs"):
            with registered(con, "pairs_batch", new_pairs):
                con.execute("CREATE OR REPLACE TABLE linkage_pairs AS SELECT * FROM pairs_batch")
        else:
            touched = pd.DataFrame(
                {"unique_id": pd.Series([*records.loc[dirty_mask, "unique_id"], *removed], dtype=str)}
            )
            with registered(con, "linkage_touched", touched):
                con.execute(sql("linkage/delete_pairs_touching.sql"))
            if len(new_pairs):
                _insert(con, "linkage_pairs", new_pairs)
        held = con.execute(sql("linkage/held_pairs.sql")).df()
        decisions = _decisions(con)
        same, apart = cu.decision_links(decisions)
        must = pd.concat([same, cu.person_key_links(records)], ignore_index=True)
        clusters = cluster(held, records, config.model.cluster_threshold, must_link=must, cannot_link=apart)
        previous = con.execute("SELECT source_system, source_record_id, customer_id FROM customer_xref").df()
        row = con.execute("SELECT coalesce(max(customer_id), 0) FROM customer_id_history").fetchall()
        next_id = int(row[0][0]) + 1
        ids = cu.assign_ids(clusters, previous, next_id)
        decided = pd.concat([same, apart], ignore_index=True)
        queue = cu.review_queue(
            held,
            ids.xref,
            review_floor=config.review_floor,
            threshold=config.model.cluster_threshold,
            decided=decided,
        )
        identity = cu.best_identity(records, ids.xref)

        con.execute("DELETE FROM customer_xref")
        _insert(con, "customer_xref", ids.xref)
        events = ids.events.assign(run_date=run_date, run_id=run_id)
        _insert(con, "customer_id_history", events)
        with registered(con, "review_queue_new", queue):
            con.execute(sql("linkage/review_queue_keep.sql"))
            con.execute(sql("linkage/review_queue_refresh.sql"), [run_date])
            con.execute("DROP TABLE review_queue_prev")
        con.execute("DELETE FROM customer_identity")
        _insert(con, "customer_identity", identity)
        con.execute("DELETE FROM linkage_records")
        _insert(
            con,
            "linkage_records",
            records[["unique_id", "source_system", "source_record_id", "identity_hash"]],
        )
        ev = ids.events["event"].value_counts()
        links = int((held["match_probability"] >= config.model.cluster_threshold).sum())
        counts = {
            "records": len(records),
            "dirty": dirty_count,
            "removed": len(removed),
            "pairs_scored": len(new_pairs),
            "pairs_held": len(held),
            "links": links,
            "customers": int(ids.xref["customer_id"].nunique()),
            "created": int(ev.get("CREATED", 0)),
            "merged": int(ev.get("MERGED_INTO", 0)),
            "split": int(ev.get("SPLIT_FROM", 0)),
            "retired": int(ev.get("RETIRED", 0)),
            "review_queue": len(queue),
            "decisions": len(decisions),
        }
        con.execute(
            "INSERT INTO linkage_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                run_date,
                "FULL" if is_full else "INCREMENTAL",
                model_id,
                *(counts[k] for k in ("records", "dirty", "removed", "pairs_scored", "pairs_held", "links")),
                *(counts[k] for k in ("customers", "created", "merged", "split", "retired", "review_queue")),
                started,
                dt.datetime.now(),
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    seconds["cluster_and_write"] = round(time.perf_counter() - t, 2)
    seconds["total"] = round(time.perf_counter() - clock, 2)
    export = export_review_queue(con, warehouse)
    clusters = ids.xref.rename(columns={"customer_id": "cluster_id"})
    return LinkageOutcome(
        run_id,
        run_date,
        "FULL" if is_full else "INCREMENTAL",
        current,
        model_id,
        counts,
        held,
        clusters,
        seconds,
        export,
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    with registered(con, "linkage_batch", df):
        con.execute(f"INSERT INTO {ident(table)} BY NAME SELECT * FROM linkage_batch")


def export_review_queue(con: duckdb.DuckDBPyConnection, warehouse: Path) -> Path:
    """The queue as CSV for reviewers, records side by side (restricted zone, 0600). Fill in
    ``decision`` (SAME / NOT_SAME) and ``reviewer`` and drop the file into review/decisions/."""
    folder = warehouse / REVIEW_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # exports hold identity values
    (folder / DECISIONS_DIR).mkdir(exist_ok=True, mode=0o700)
    df = con.execute(sql("linkage/review_export.sql")).df()
    path = folder / QUEUE_EXPORT
    write_text_atomic(path, df.to_csv(index=False, lineterminator="\n"), mode=0o600)
    return path


def explain(con: duckdb.DuckDBPyConnection, warehouse: Path, uid_a: str, uid_b: str) -> PairExplanation:
    """The waterfall of match weights for two person records (``system:record_id``) under the
    current model: which comparison levels they hit and what each contributed."""
    model = _latest_model(con, warehouse)
    if model is None:
        raise ValueError("no linkage model yet: run the pipeline first")
    rows = []
    for uid in (uid_a, uid_b):
        system, _, record = uid.partition(":")
        df = con.execute(
            "SELECT * FROM person_records WHERE source_system = ? AND source_record_id = ?", [system, record]
        ).df()
        if df.empty:
            raise KeyError(f"no person record {uid!r} (expected source_system:source_record_id)")
        rows.append(df)
    return explain_pair(model, rows[0], rows[1])
