"""The nightly linkage step on a real DuckDB warehouse: full and incremental runs give the same
customers, ids stay put from night to night, reviewer decisions are honoured, and reruns change
nothing."""

from __future__ import annotations

import csv
import datetime as dt
import stat
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from linkage.model import LinkageSettings, TrainedModel, train
from tests.test_linkage_model import case_records
from warehouse.linkage import DECISION_COLUMNS, DecisionFileError, LinkageConfig, link, record_decisions
from warehouse.sql import sql

SETTINGS = LinkageSettings(u_max_pairs=2e5, seed=3)
CONFIG = LinkageConfig(model=SETTINGS, review_floor=0.5, full_relink_every_days=7)
# the hand-made same-name-same-DOB pair scores ~0.3: in the grey zone with this floor
GREY = LinkageConfig(model=SETTINGS, review_floor=0.2)
NIGHT1 = dt.date(2025, 3, 3)


def _records() -> pd.DataFrame:
    df = case_records(300)
    df["file_type"] = df["source_system"]
    df["person_key"] = df["source_record_id"]
    df["last_delivered"] = NIGHT1
    return df


@pytest.fixture(scope="module")
def all_records() -> pd.DataFrame:
    return _records()


@pytest.fixture(scope="module")
def model(all_records: pd.DataFrame) -> TrainedModel:
    return train(all_records, SETTINGS)


def _warehouse(path: Path, records: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    path.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path / "restricted.duckdb"))
    _put(con, records)
    return con


def _put(con: duckdb.DuckDBPyConnection, records: pd.DataFrame) -> None:
    con.execute(sql("ingest/person_records_ddl.sql"))
    con.register("recs", records)
    con.execute("INSERT INTO person_records BY NAME SELECT * FROM recs")
    con.unregister("recs")


def _customer(con: duckdb.DuckDBPyConnection, rid: str) -> int:
    row = con.execute("SELECT customer_id FROM customer_xref WHERE source_record_id = ?", [rid]).fetchone()
    assert row is not None, rid
    return int(row[0])


def _partition(con: duckdb.DuckDBPyConnection) -> set[frozenset[str]]:
    x = con.execute(
        "SELECT source_system || ':' || source_record_id AS uid, customer_id FROM customer_xref"
    ).df()
    return {frozenset(g["uid"]) for _, g in x.groupby("customer_id")}


def _table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {name} ORDER BY ALL").df()


def test_first_run_links_the_hard_cases_and_writes_every_table(
    tmp_path: Path, all_records: pd.DataFrame
) -> None:
    con = _warehouse(tmp_path, all_records)
    out = link(con, tmp_path, NIGHT1, "run-1", CONFIG)  # trains its own model
    assert out.mode == "FULL"
    for a, b in [
        ("NICK1", "NICK2"),
        ("TSSN1", "TSSN2"),
        ("SDOB1", "SDOB2"),
        ("MARR1", "MARR2"),
        ("TWNA1", "TWNA2"),
    ]:
        assert _customer(con, a) == _customer(con, b), (a, b)
    for a, b in [("TWNA1", "TWNB1"), ("TWNC1", "TWND1"), ("SAMA1", "SAMB1")]:
        assert _customer(con, a) != _customer(con, b), (a, b)
    n_customers = con.execute("SELECT count(DISTINCT customer_id) FROM customer_xref").fetchone()
    assert n_customers == (out.counts["customers"],)
    # every customer was created tonight, once
    hist = _table(con, "customer_id_history")
    assert (hist["event"] == "CREATED").all() and len(hist) == out.counts["customers"]
    assert con.execute("SELECT count(*) FROM customer_xref").fetchone() == (len(all_records),)
    # keys are unique by construction (these tables carry no PRIMARY KEY, for bulk rewrite speed)
    for table, key in (
        ("customer_xref", "source_system, source_record_id"),
        ("linkage_records", "unique_id"),
        ("customer_identity", "customer_id"),
    ):
        assert con.execute(f"SELECT count(*) - count(DISTINCT ({key})) FROM {table}").fetchone() == (0,), (
            table
        )
    ident = con.execute(
        "SELECT * FROM customer_identity WHERE customer_id = ?", [_customer(con, "NICK2")]
    ).df()
    assert ident.loc[0, "ssn"] == "212345678" and ident.loc[0, "systems"] == "ui+wp"
    # the model artifact and the review export are restricted files
    (path,) = con.execute("SELECT path FROM linkage_models").fetchone()  # type: ignore[misc]
    for f in (tmp_path / path, out.review_export):
        assert f is not None and stat.S_IMODE(f.stat().st_mode) == 0o600, f
    for d in (tmp_path / "models", tmp_path / "review", tmp_path / "review" / "decisions"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    assert TrainedModel.from_json((tmp_path / path).read_text()).model_id() == out.model_id


def test_rerun_of_the_same_night_changes_nothing(
    tmp_path: Path, all_records: pd.DataFrame, model: TrainedModel
) -> None:
    con = _warehouse(tmp_path, all_records)
    link(con, tmp_path, NIGHT1, "run-1", CONFIG, model=model)
    before = {
        t: _table(con, t)
        for t in ("customer_xref", "customer_id_history", "customer_identity", "linkage_pairs")
    }
    again = link(con, tmp_path, NIGHT1, "run-2", CONFIG, model=model)
    assert again.mode == "INCREMENTAL" and again.counts["dirty"] == 0 and again.counts["pairs_scored"] == 0
    for t, df in before.items():
        pd.testing.assert_frame_equal(_table(con, t), df, obj=t)


def _night2(records: pd.DataFrame) -> pd.DataFrame:
    """Night 2: some records are new (a nickname case arrives), one moves house, one leaves."""
    r = records.copy()
    moved = r["source_record_id"] == "TSSN2"
    r.loc[moved, ["street", "zip5"]] = ["1 NEW RD", "50601"]
    r.loc[r["source_record_id"] == "B000100", "first_name"] = "ZEBEDEE"
    return r[r["source_record_id"] != "SAMB1"].reset_index(drop=True)


def test_incremental_equals_full_on_the_same_data(
    tmp_path: Path, all_records: pd.DataFrame, model: TrainedModel
) -> None:
    night1 = all_records[~all_records["source_record_id"].isin(["NICK2", "MARR2", "B000050", "B000051"])]
    night2 = _night2(all_records)
    inc = _warehouse(tmp_path / "inc", night1)
    first = link(inc, tmp_path / "inc", NIGHT1, "n1", CONFIG, model=model)
    assert first.mode == "FULL"
    nick1 = _customer(inc, "NICK1")
    inc.execute("DELETE FROM person_records")
    _put(inc, night2)
    second = link(inc, tmp_path / "inc", NIGHT1 + dt.timedelta(1), "n2", CONFIG, model=model)
    assert second.mode == "INCREMENTAL"
    # only tonight's new and changed records were scored
    assert second.counts["dirty"] == 6 and second.counts["removed"] == 1
    assert second.counts["pairs_scored"] < first.counts["pairs_scored"] / 5

    full = _warehouse(tmp_path / "full", night2)
    one = link(full, tmp_path / "full", NIGHT1 + dt.timedelta(1), "f1", CONFIG, model=model)
    assert one.mode == "FULL"
    assert _partition(inc) == _partition(full)
    cols = "unique_id_l, unique_id_r, match_weight, match_probability"
    a = inc.execute(f"SELECT {cols} FROM linkage_pairs ORDER BY unique_id_l, unique_id_r").df()
    b = full.execute(f"SELECT {cols} FROM linkage_pairs ORDER BY unique_id_l, unique_id_r").df()
    pd.testing.assert_frame_equal(a, b)
    # the nickname record joined last night's customer; the one who left is retired
    assert _customer(inc, "NICK2") == nick1
    hist = inc.execute(
        "SELECT event, count(*) FROM customer_id_history WHERE run_id = 'n2' GROUP BY 1"
    ).fetchall()
    assert ("RETIRED", 1) in hist


def test_policy_runs_a_full_relink_every_n_days(tmp_path: Path, all_records: pd.DataFrame) -> None:
    con = _warehouse(tmp_path, all_records)
    cfg = LinkageConfig(model=SETTINGS, full_relink_every_days=2)
    assert link(con, tmp_path, NIGHT1, "a", cfg).mode == "FULL"
    assert link(con, tmp_path, NIGHT1 + dt.timedelta(1), "b", cfg).mode == "INCREMENTAL"
    assert link(con, tmp_path, NIGHT1 + dt.timedelta(2), "c", cfg).mode == "FULL"
    assert link(con, tmp_path, NIGHT1 + dt.timedelta(2), "d", cfg, full=True).mode == "FULL"


def test_reviewer_decisions_merge_and_split_with_stable_ids(
    tmp_path: Path, all_records: pd.DataFrame, model: TrainedModel
) -> None:
    con = _warehouse(tmp_path, all_records)
    link(con, tmp_path, NIGHT1, "n1", CONFIG, model=model)
    twin_a, twin_b = _customer(con, "TWNA1"), _customer(con, "TWNB1")
    married = _customer(con, "MARR1")
    assert twin_a != twin_b
    # a reviewer says the "twins" are one person and the married-name records are two people
    record_decisions(
        con,
        pd.DataFrame(
            [
                ("ui", "TWNA1", "ui", "TWNB1", "SAME", "rev1"),
                ("ui", "MARR1", "wp", "MARR2", "NOT_SAME", "rev1"),
            ],
            columns=list(DECISION_COLUMNS),
        ),
    )
    link(con, tmp_path, NIGHT1 + dt.timedelta(1), "n2", CONFIG, model=model)
    merged = _customer(con, "TWNA1")
    assert (
        merged == _customer(con, "TWNB1") == _customer(con, "TWNA2") == min(twin_a, twin_b)
    )  # oldest survives
    assert _customer(con, "MARR1") != _customer(con, "MARR2")
    assert married in (_customer(con, "MARR1"), _customer(con, "MARR2"))  # one piece keeps the id
    ev = con.execute(
        "SELECT customer_id, event, other_customer_id FROM customer_id_history WHERE run_id = 'n2'"
    ).fetchall()
    new_piece = max(_customer(con, "MARR1"), _customer(con, "MARR2"))
    assert set(ev) == {(max(twin_a, twin_b), "MERGED_INTO", merged), (new_piece, "SPLIT_FROM", married)}
    # decided pairs never come back to the queue
    q = con.execute(
        "SELECT count(*) FROM review_queue WHERE unique_id_l IN ('ui:MARR1', 'wp:MARR2') AND unique_id_r IN ('ui:MARR1', 'wp:MARR2')"
    ).fetchone()
    assert q == (0,)


def test_decisions_file_from_the_review_export(
    tmp_path: Path, all_records: pd.DataFrame, model: TrainedModel
) -> None:
    con = _warehouse(tmp_path, all_records)
    out = link(con, tmp_path, NIGHT1, "n1", GREY, model=model)
    assert out.review_export is not None
    rows = list(csv.DictReader(out.review_export.open()))
    assert len(rows) == out.counts["review_queue"] > 0
    assert {"first_name_l", "first_name_r", "ssn_l", "decision"} <= set(rows[0])
    first = rows[0]
    a, b = (
        f"{first['source_system_l']}:{first['source_record_id_l']}",
        f"{first['source_system_r']}:{first['source_record_id_r']}",
    )
    first["decision"], first["reviewer"] = "same", "reviewer-7"
    inbox = tmp_path / "review" / "decisions"
    with (inbox / "batch1.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)  # only the first row carries a decision
    link(con, tmp_path, NIGHT1 + dt.timedelta(1), "n2", GREY, model=model)
    cust = dict(
        con.execute(
            "SELECT source_system || ':' || source_record_id, customer_id FROM customer_xref"
        ).fetchall()
    )
    assert cust[a] == cust[b]
    assert con.execute(
        "SELECT count(*), min(reviewer), min(source_line) FROM review_decisions"
    ).fetchone() == (
        1,
        "reviewer-7",
        2,
    )
    # the same file is not loaded twice
    link(con, tmp_path, NIGHT1 + dt.timedelta(2), "n3", GREY, model=model)
    assert con.execute("SELECT count(*) FROM review_decisions").fetchone() == (1,)
    # a bad decision names the file, line and field
    with (inbox / "batch2.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerow({**first, "decision": ""})
        w.writerow({**first, "decision": "MAYBE"})
    with pytest.raises(DecisionFileError, match=r"batch2\.csv: line 3: field decision: 'MAYBE'"):
        link(con, tmp_path, NIGHT1 + dt.timedelta(3), "n4", GREY, model=model)


def test_a_failed_run_leaves_the_previous_customers(
    tmp_path: Path, all_records: pd.DataFrame, model: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = _warehouse(tmp_path, all_records)
    link(con, tmp_path, NIGHT1, "n1", CONFIG, model=model)
    before = {
        t: _table(con, t)
        for t in ("customer_xref", "customer_id_history", "linkage_pairs", "linkage_records")
    }
    con.execute("DELETE FROM person_records WHERE source_record_id LIKE 'B0001%'")

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("linkage.customers.best_identity", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        link(con, tmp_path, NIGHT1 + dt.timedelta(1), "n2", CONFIG, model=model)
    for t, df in before.items():
        pd.testing.assert_frame_equal(_table(con, t), df, obj=t)
