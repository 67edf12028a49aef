"""The ingest assets under Dagster for real: materialize() on tmp landing zones and warehouses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, materialize

from assets.ingest import build_ingest_asset, drop_name
from assets.persons import build_person_records_asset
from pipelines.resources import PipelinePaths
from sources.layout import load_layouts
from tests.drops import write_drop, write_file
from warehouse.ingest import connect

LAYOUTS = {s.system: s for s in load_layouts()}
START = dt.date(2024, 1, 1)


def _paths(tmp_path: Path) -> PipelinePaths:
    return PipelinePaths(landing_dir=str(tmp_path / "landing"), warehouse_dir=str(tmp_path / "wh"))


def _check(result, name: str):  # type: ignore[no-untyped-def]
    evals = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    return next(e for e in evals if e.check_name == name)


def test_partition_keys_name_the_drops() -> None:
    assert drop_name("daily", "2024-03-01") == "20240301"
    assert drop_name("quarterly", "2024-04-01") == "2024Q2"


def test_ingest_asset_loads_pending_drops_up_to_its_partition(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_drop(landing, "wp", "20240301", {"wp_services": [{"Service ID": "S1"}]}, full=True)
    write_drop(landing, "wp", "20240302", {"wp_services": [{"Service ID": "S2"}, "S3,broken"]})
    write_drop(landing, "wp", "20240305", {"wp_services": [{"Service ID": "S4"}]})
    wp = build_ingest_asset(LAYOUTS["wp"], START)
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [wp], partition_key="2024-03-02", resources={"paths": _paths(tmp_path)}, instance=instance
        )
    assert result.success
    mat = result.asset_materializations_for_node("staging__wp")[0]
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert (
        meta["loaded_up_to"] == "20240302" and meta["drops_processed"] == 2
    )  # the missed 03-01 is caught up
    assert (meta["rows_loaded"], meta["rows_quarantined"], meta["files_loaded"]) == (2, 1, 4)
    assert "field_count" in meta["quarantined_by_kind"]
    assert _check(result, "drops_accepted").passed
    con = connect(tmp_path / "wh")
    assert con.execute("SELECT count(*) FROM load_audit WHERE file_name LIKE '%20240305%'").fetchone() == (0,)


def test_a_rejected_drop_fails_the_blocking_check_naming_file_and_reason(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_file(landing, "vr_cases", "20240301", [{}], ctl_records=7)
    write_file(landing, "vr_outcomes", "20240301", [])
    vr = build_ingest_asset(LAYOUTS["vr"], START)
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [vr],
            partition_key="2024-03-01",
            resources={"paths": _paths(tmp_path)},
            instance=instance,
            raise_on_error=False,
        )
    check = _check(result, "drops_accepted")
    assert not check.passed and check.blocking
    assert "vr/20240301/VR_CASES_20240301.TXT" in (check.description or "")
    assert "records" in str(check.metadata["rejected_files"].value)


def test_a_partition_range_loads_in_one_run_then_person_records(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for day in ("20240301", "20240302", "20240303"):
        write_drop(
            landing,
            "ui",
            day,
            {"ui_claims": [{"claim_id": f"C{day}", "last_updated": f"{day}080000"}]},
            full=day == "20240301",
        )
    write_file(landing, "ui_wages", "2024Q1", [{}])
    layouts = [LAYOUTS["ui"], LAYOUTS["ui_wages"]]
    ui = build_ingest_asset(LAYOUTS["ui"], START)
    people = build_person_records_asset(layouts)
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [ui, people],
            resources={"paths": _paths(tmp_path)},
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2024-03-01",
                "dagster/asset_partition_range_end": "2024-03-03",
            },
            selection=[ui.key, people.key],
        )
    assert result.success
    assert len(result.asset_materializations_for_node("staging__ui")) == 3
    rec = result.asset_materializations_for_node("staging__person_records")[0]
    assert rec.metadata["records"].value == 3
    assert AssetKey(["staging", "person_records"]) == people.key
    # no PII in the metadata: the person-records summary holds counts only
    assert "C20240301" not in str(rec.metadata) and "LOPEZ" not in str(rec.metadata)


def _ingest_with_checks(tmp_path: Path, system: str, partition: str):  # type: ignore[no-untyped-def]
    from assets.ingest import build_quality_checks

    asset = build_ingest_asset(LAYOUTS[system], START)
    with DagsterInstance.ephemeral() as instance:
        return materialize(
            [asset, *build_quality_checks([LAYOUTS[system]])],
            partition_key=partition,
            resources={"paths": _paths(tmp_path)},
            instance=instance,
            raise_on_error=False,
        )


def test_quality_checks_validate_what_the_run_loaded(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_drop(
        landing,
        "wp",
        "20240301",
        {
            "wp_registrations": [{}],
            "wp_services": [{"Service ID": "S1"}, {"Service ID": "S2", "Service Code": "102"}],
        },
        full=True,
    )
    ok = _ingest_with_checks(tmp_path, "wp", "2024-03-01")
    assert ok.success
    services = _check(ok, "wp_services_quality")
    assert services.passed and services.metadata["rows"].value == 2
    # a VR case closed before its application: the loader takes it (every field readable), the check does not
    write_drop(
        landing,
        "vr",
        "20240302",
        {
            "vr_cases": [
                {
                    "CASE_ID": "VR9",
                    "APPLICATION_DT": "20240220",
                    "CLOSURE_DT": "20240110",
                    "CLOSURE_TYPE": "1",
                    "CLOSURE_REASON": "00",
                }
            ]
        },
    )
    bad = _ingest_with_checks(tmp_path, "vr", "2024-03-02")
    failed = _check(bad, "vr_cases_quality")
    assert not failed.passed and failed.blocking
    assert "VR9" in str(failed.metadata["failing_keys"].value)
    assert "closure_date" in str(failed.metadata["report"].value)
    assert "LOPEZ" not in str(failed.metadata) and "123456780" not in str(failed.metadata)


def test_quality_check_of_a_catch_up_reads_a_part_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two missed nights loaded by one run, validated one file per part: counts and keys add up."""
    import assets.ingest

    monkeypatch.setattr(assets.ingest, "QUALITY_PART_ROWS", 1)
    landing = tmp_path / "landing"
    case = {"CASE_ID": "VR1", "APPLICATION_DT": "20240220"}
    write_drop(landing, "vr", "20240302", {"vr_cases": [case, {**case, "CASE_ID": "VR2"}]})
    bad = {**case, "CASE_ID": "VR9", "CLOSURE_DT": "20240110", "CLOSURE_TYPE": "1", "CLOSURE_REASON": "00"}
    write_drop(landing, "vr", "20240303", {"vr_cases": [bad, {**case, "CASE_ID": "VR3"}]})
    result = _ingest_with_checks(tmp_path, "vr", "2024-03-03")
    failed = _check(result, "vr_cases_quality")
    assert failed.metadata["rows"].value == 4 and failed.metadata["failing_rows"].value == 1
    assert not failed.passed and "VR9" in str(failed.metadata["failing_keys"].value)
    assert failed.metadata["volume_bounds"].value == "not checked"
