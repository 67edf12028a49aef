"""The customers asset under Dagster on a generated state: accuracy against the generator's truth,
stable ids on the next night, diagnostics in the metadata, and no identity values in metadata or logs."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from assets.linkage import customers
from linkage import evaluate
from pipelines.resources import LinkagePolicy, PipelinePaths
from warehouse.ingest import connect, ingest
from warehouse.persons import build_person_records


@pytest.fixture(scope="module")
def run(generated_state: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    wh = tmp_path_factory.mktemp("wh_linkage")
    ingest(generated_state / "landing", wh)
    con = connect(wh)
    build_person_records(con)
    con.close()
    paths = PipelinePaths(
        landing_dir=str(generated_state / "landing"), warehouse_dir=str(wh), run_date="2025-07-01"
    )
    resources = {"paths": paths, "linkage": LinkagePolicy()}
    results = []
    with DagsterInstance.ephemeral() as instance:
        for _ in range(2):
            results.append(materialize([customers], resources=resources, instance=instance))
        logs = "\n".join(str(e.user_message) for r in results for e in instance.all_logs(r.run_id))
    return {"wh": wh, "results": results, "logs": logs}


def _meta(result: object) -> dict[str, object]:
    mat = result.asset_materializations_for_node("linkage__customers")[0]  # type: ignore[attr-defined]
    return {k: v.value for k, v in mat.metadata.items()}


def test_accuracy_against_the_truth(run: dict[str, object], generated_state: Path) -> None:
    con = duckdb.connect(str(Path(str(run["wh"])) / "restricted.duckdb"), read_only=True)
    xref = con.execute(
        "SELECT source_system, source_record_id, customer_id AS cluster_id FROM customer_xref"
    ).df()
    records = con.execute("SELECT source_system, source_record_id FROM person_records").df()
    truth = pd.read_parquet(generated_state / "truth" / "person_records.parquet")
    m = evaluate.cluster_metrics(xref, truth)
    assert m["cluster_pair_precision"] >= 0.998, m
    assert m["cluster_pair_f1"] >= 0.995, m
    assert len(xref) == len(records)


def test_second_night_is_incremental_and_keeps_every_id(run: dict[str, object]) -> None:
    first, second = (_meta(r) for r in run["results"])  # type: ignore[attr-defined]
    assert first["mode"] == "FULL" and second["mode"] == "INCREMENTAL"
    assert second["dirty"] == 0 and second["created"] == second["merged"] == second["split"] == 0
    assert first["customers"] == second["customers"]
    con = duckdb.connect(str(Path(str(run["wh"])) / "restricted.duckdb"), read_only=True)
    runs = con.execute("SELECT count(DISTINCT run_id) FROM customer_id_history").fetchone()
    assert runs == (1,), "the second night changed no id"


def test_metadata_carries_diagnostics_and_no_identity_values(run: dict[str, object]) -> None:
    meta = _meta(run["results"][0])  # type: ignore[index]
    assert meta["records"] > 0 and 0 < meta["share_of_records_linked"] < 1
    md = str(meta["diagnostics"])
    assert "data:image/png;base64," in md and "m" in md
    assert Path(str(meta["report"])).is_file()
    con = duckdb.connect(str(Path(str(run["wh"])) / "restricted.duckdb"), read_only=True)
    pii = con.execute(
        "SELECT ssn, last_name, source_record_id FROM person_records WHERE ssn IS NOT NULL AND length(last_name) > 5"
    ).df()
    text = "\n".join(str(v) for v in meta.values()) + "\n" + str(run["logs"])
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    assert not re.search(r"\b\d{9}\b|\b\d{3}-\d{2}-\d{4}\b", text), "SSN-like value in metadata or logs"
    leaked = [n for n in set(pii["last_name"]) if re.search(rf"\b{re.escape(n)}\b", text)]
    assert not leaked, f"surnames in metadata or logs: {leaked[:5]}"
    ids = [r for r in set(pii["source_record_id"]) if re.search(rf"\b{re.escape(r)}\b", text)]
    assert not ids, f"record ids in metadata or logs: {ids[:5]}"
    report = Path(str(meta["report"])).read_text()
    assert not any(s in report for s in pii["ssn"])


def test_run_date_is_the_pipeline_date(run: dict[str, object]) -> None:
    con = duckdb.connect(str(Path(str(run["wh"])) / "restricted.duckdb"), read_only=True)
    assert con.execute("SELECT DISTINCT run_date FROM linkage_runs").fetchall() == [(dt.date(2025, 7, 1),)]


def test_explain_command_writes_a_restricted_waterfall(
    run: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    import stat

    from pipelines.cli import main

    wh = Path(str(run["wh"]))
    con = duckdb.connect(str(wh / "restricted.duckdb"), read_only=True)
    a, b = con.execute(
        "SELECT unique_id_l, unique_id_r FROM linkage_pairs WHERE match_probability >= 0.99 ORDER BY ALL LIMIT 1"
    ).fetchall()[0]
    con.close()
    assert main(["explain", "--warehouse", str(wh), a, b]) == 0
    out = capsys.readouterr().out
    assert "waterfall chart:" in out and "ssn" in out
    html = Path(out.rsplit("waterfall chart: ", 1)[1].strip())
    assert stat.S_IMODE(html.stat().st_mode) == 0o600 and "vegaEmbed" in html.read_text()
    assert main(["explain", "--warehouse", str(wh), a, "ui:NOPE"]) == 2
    assert "no person record 'ui:NOPE'" in capsys.readouterr().err
