"""The warehouse assets under Dagster on a generated state, from linkage to the reports.

Two nights over the same data: the analytics zone and the reports must come out identical, every
catalogued table must be published with its dictionary, and no SSN — neither a real one from the
restricted zone nor anything shaped like one — may appear in the analytics zone, the Parquet files,
the reports or the PIRL file; no identity value in the assets' metadata or logs.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from assets.linkage import customers
from assets.warehouse import (
    PIRL_CSV,
    analytics,
    coenrollment,
    demographics,
    indicators,
    participation,
    pirl,
    reports,
    wages,
)
from pipelines.resources import LinkagePolicy, PipelinePaths, ReportingPolicy
from warehouse.ingest import connect, ingest
from warehouse.performance_report import HTML_NAME, REPORT_DIR, XLSX_NAME
from warehouse.persons import build_person_records
from warehouse.publish import ANALYTICS_DB, DICTIONARY, PARQUET_LINK, load_catalog

ASSETS = [customers, participation, wages, demographics, indicators, coenrollment, pirl, analytics, reports]
SSN_SHAPED = re.compile(r"(?<![0-9A-Za-z])\d{3}-?\d{2}-?\d{4}(?![0-9A-Za-z])")
"""Nine digits (or 3-2-4 with dashes) standing alone: a hex digest that happens to hold nine digits
in a row is not SSN-shaped, a value or a cell that is nine digits is."""


@pytest.fixture(scope="module")
def nights(generated_state: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    wh = tmp_path_factory.mktemp("wh_assets")
    # a fixed token key: tokens are then the same on every test run, so the SSN scan below gives the
    # same verdict every time (a random key could, once in a while, make a token hold nine digits
    # that happen to be someone's SSN)
    (wh / "keys").mkdir(mode=0o700)
    key = wh / "keys" / "hmac.key"
    key.write_text("5eed" * 16 + "\n")
    key.chmod(0o600)
    ingest(generated_state / "landing", wh)
    con = connect(wh)
    build_person_records(con)
    con.close()
    cutoff = json.loads((generated_state / "truth" / "manifest.json").read_text())["cutoff"]
    paths = PipelinePaths(
        landing_dir=str(generated_state / "landing"), warehouse_dir=str(wh), run_date=cutoff
    )
    resources = {"paths": paths, "linkage": LinkagePolicy(), "reporting": ReportingPolicy()}
    snapshots = []
    with DagsterInstance.ephemeral() as instance:
        results = []
        for _ in range(2):
            result = materialize(ASSETS, resources=resources, instance=instance)
            assert result.success
            results.append(result)
            snapshots.append(_snapshot(wh))
        logs = "\n".join(str(e.user_message) for r in results for e in instance.all_logs(r.run_id))
        metadata = "\n".join(
            f"{k}: {v.value}"
            for r in results
            for m in r.get_asset_materialization_events()
            for k, v in m.materialization.metadata.items()
        )
    return {"wh": wh, "snapshots": snapshots, "logs": logs, "metadata": metadata}


def _snapshot(wh: Path) -> dict[str, object]:
    """Everything a reader of the analytics zone and the reports sees, as comparable values."""
    con = duckdb.connect(str(wh / ANALYTICS_DB), read_only=True)
    try:
        tables = {
            t: con.execute(f'SELECT * FROM "{t}"').fetchall()
            for (t,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()
        }
    finally:
        con.close()
    files = {
        p.relative_to(wh).as_posix(): p.read_bytes()
        for p in [*(wh / PARQUET_LINK).rglob("*.parquet"), *(wh / REPORT_DIR).iterdir(), wh / DICTIONARY]
    }
    return {"tables": tables, "files": files}


def _restricted_ssns(wh: Path) -> set[str]:
    con = duckdb.connect(str(wh / "restricted.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT DISTINCT regexp_replace(ssn, '[^0-9]', '', 'g') FROM stg_ui_wages WHERE ssn IS NOT NULL "
            "UNION SELECT DISTINCT ssn FROM customer_identity WHERE ssn IS NOT NULL "
            "UNION SELECT DISTINCT ssn FROM person_records WHERE ssn IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows if r[0] and len(r[0]) == 9}


def _texts(wh: Path) -> dict[str, str]:
    """Every published value and report text, by where it was found."""
    out: dict[str, str] = {}
    con = duckdb.connect(str(wh / ANALYTICS_DB), read_only=True)
    try:
        for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            rows = con.execute(f'SELECT * FROM "{t}"').fetchall()
            out[f"analytics.duckdb:{t}"] = "\n".join("\t".join(str(v) for v in row) for row in rows)
        for path in (wh / PARQUET_LINK).rglob("*.parquet"):
            rows = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
            out[str(path)] = "\n".join("\t".join(str(v) for v in row) for row in rows)
    finally:
        con.close()
    html = (wh / REPORT_DIR / HTML_NAME).read_text(encoding="utf-8")
    out[HTML_NAME] = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    with zipfile.ZipFile(wh / REPORT_DIR / XLSX_NAME) as z:
        for name in z.namelist():
            out[f"{XLSX_NAME}:{name}"] = z.read(name).decode("utf-8")
    out[DICTIONARY.as_posix()] = (wh / DICTIONARY).read_text(encoding="utf-8")
    out[PIRL_CSV] = (wh / PIRL_CSV).read_text(encoding="utf-8")
    return out


def test_every_catalogued_table_is_published_with_its_dictionary(nights: dict[str, object]) -> None:
    wh = Path(str(nights["wh"]))
    catalog = load_catalog()
    con = duckdb.connect(str(wh / ANALYTICS_DB), read_only=True)
    try:
        published = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        documented = con.execute("SELECT DISTINCT table_name FROM data_dictionary").fetchall()
        assert {s.name for s in catalog} | {"data_dictionary"} == published
        assert {t for (t,) in documented} == {s.name for s in catalog}
        for spec in catalog:
            cols = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                    [spec.name],
                ).fetchall()
            ]
            assert cols == list(spec.columns), spec.name
            parquet = con.execute(
                "SELECT count(*) FROM read_parquet(?, hive_partitioning = true)",
                [str(wh / PARQUET_LINK / spec.name / "**" / "*.parquet")],
            ).fetchall()[0][0]
            rows = con.execute(f'SELECT count(*) FROM "{spec.name}"').fetchall()[0][0]
            assert parquet == rows, spec.name
        for table in (
            "participation",
            "indicators",
            "coenrollment",
            "customers",
            "wages_by_customer_quarter",
        ):
            assert con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0] > 0, table
    finally:
        con.close()
    text = (wh / DICTIONARY).read_text()
    assert all(f"## {s.name}" in text for s in catalog)


def test_a_second_night_on_the_same_data_publishes_identical_tables_and_reports(
    nights: dict[str, object],
) -> None:
    first, second = (dict(s) for s in nights["snapshots"])  # type: ignore[attr-defined]
    first["tables"], second["tables"] = dict(first["tables"]), dict(second["tables"])
    # linkage_runs and write_audit are logs of runs: they grow by design
    assert len(second["tables"].pop("linkage_runs")) == len(first["tables"].pop("linkage_runs")) + 1
    assert len(second["tables"].pop("write_audit")) > len(first["tables"].pop("write_audit"))
    assert first["tables"] == second["tables"]
    assert first["files"].keys() == second["files"].keys()
    different = [
        name
        for name, data in first["files"].items()
        if second["files"][name] != data
        and name not in {f"{PARQUET_LINK}/{t}/data.parquet" for t in ("linkage_runs", "write_audit")}
    ]
    assert not different, different
    assert {f"{REPORT_DIR}/{XLSX_NAME}", f"{REPORT_DIR}/{HTML_NAME}"} <= set(first["files"])


def test_no_ssn_anywhere_outside_the_restricted_zone(nights: dict[str, object]) -> None:
    wh = Path(str(nights["wh"]))
    ssns = _restricted_ssns(wh)
    assert len(ssns) > 1000  # the scan has something to find
    texts = _texts(wh)
    assert len(texts) > 20
    for where, text in texts.items():
        shaped = SSN_SHAPED.findall(text)
        assert not shaped, f"{where}: SSN-shaped values {shaped[:5]}"
        digits = set(re.findall(r"\d{9}", text))
        assert not (digits & ssns), f"{where}: holds real SSNs"


def test_assets_metadata_and_logs_carry_no_identity_values(nights: dict[str, object]) -> None:
    wh = Path(str(nights["wh"]))
    con = duckdb.connect(str(wh / "restricted.duckdb"), read_only=True)
    try:
        names = {
            r[0]
            for r in con.execute(
                "SELECT last_name FROM person_records WHERE length(last_name) > 5 LIMIT 2000"
            ).fetchall()
        }
    finally:
        con.close()
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", f"{nights['metadata']}\n{nights['logs']}")
    assert "periods" in text and "published" in text
    assert not SSN_SHAPED.findall(text)
    words = set(re.findall(r"[A-Z][A-Za-z'-]+", text.upper()))
    assert not (words & names), sorted(words & names)[:5]


def test_analysts_can_read_the_zone_through_sqlalchemy(nights: dict[str, object]) -> None:
    import pandas as pd
    import sqlalchemy as sa

    path = Path(str(nights["wh"])) / ANALYTICS_DB
    engine = sa.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})
    try:
        names = sa.inspect(engine).get_table_names()
        assert {"indicators", "coenrollment", "participation", "data_dictionary"} <= set(names)
        with engine.connect() as conn:
            df = pd.read_sql(
                sa.text("SELECT program, count(*) AS n FROM participation GROUP BY program"), conn
            )
        assert set(df["program"]) <= {"ADULT", "DW", "YOUTH", "ADULT_ED", "WP", "VR"} and df["n"].sum() > 0
    finally:
        engine.dispose()
