"""The landing_inventory asset and its blocking check, materialized for real on tmp copies."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize
from landing_helpers import copy_samples

from assets.landing import landing_drops_verified, landing_inventory
from pipelines.resources import PipelinePaths
from sources.landing import INVENTORY_SCHEMA


@pytest.fixture
def landing(samples_dir: Path, tmp_path: Path) -> Path:
    return copy_samples(samples_dir, tmp_path / "landing")


def _run(landing: Path, warehouse: Path, instance: DagsterInstance):
    return materialize(
        [landing_inventory, landing_drops_verified],
        resources={"paths": PipelinePaths(landing_dir=str(landing), warehouse_dir=str(warehouse))},
        instance=instance,
        raise_on_error=False,
    )


def test_inventory_of_the_samples(landing: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    with DagsterInstance.ephemeral() as instance:
        result = _run(landing, warehouse, instance)
    assert result.success

    path = warehouse / "inventory" / "landing_inventory.parquet"
    table = pq.read_table(path)
    assert table.schema.names == INVENTORY_SCHEMA.names
    rows = table.to_pylist()
    assert len(rows) == 12
    assert {r["status"] for r in rows} == {"VERIFIED"}
    assert {(r["system"], r["drop"]) for r in rows} == {
        ("ui", "20240301"),
        ("ui_wages", "2024Q1"),
        ("wp", "20240301"),
        ("title1", "20240301"),
        ("vr", "20240301"),
        ("adult_ed", "20240301"),
    }
    services = next(r for r in rows if r["file"] == "wp_services_20240301.csv")
    assert services["records"] == 3 and services["extract_type"] == "DELTA" and len(services["sha256"]) == 64
    # the temporary files were renamed, none left behind (beside it: the verification memo)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, "verified_files.json"]

    (materialization,) = result.asset_materializations_for_node("landing_inventory")
    meta = materialization.metadata
    assert meta["drops"].value == 6
    assert meta["verified_drops"].value == 6 and meta["rejected_drops"].value == 0
    assert meta["files"].value == 12 and meta["rejected_files"].value == 0
    assert meta["drops_per_system"].value == {
        "adult_ed": 1, "title1": 1, "ui": 1, "ui_wages": 1, "vr": 1, "wp": 1,
    }  # fmt: skip
    assert meta["path"].value == str(path)

    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "landing_drops_verified" and evaluation.passed


def test_rejected_drop_fails_the_blocking_check(landing: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    services = landing / "wp" / "20240301" / "wp_services_20240301.csv"
    services.write_bytes(services.read_bytes().replace(b"Creston", b"Cresten"))

    with DagsterInstance.ephemeral() as instance:
        result = _run(landing, warehouse, instance)
        warnings = [
            entry.user_message
            for entry in instance.all_logs(result.run_id)
            if entry.level == logging.WARNING and "REJECTED" in entry.user_message
        ]
    # The run fails on the check, but the inventory is materialized: it is the record.
    assert not result.success
    assert len(result.asset_materializations_for_node("landing_inventory")) == 1
    rows = pq.read_table(warehouse / "inventory" / "landing_inventory.parquet").to_pylist()
    rejected = {r["file"]: r["reason"] for r in rows if r["status"] == "REJECTED"}
    assert set(rejected) == {"wp_services_20240301.csv", "wp_registrations_20240301.csv"}
    assert "sha256 mismatch" in rejected["wp_services_20240301.csv"]
    assert sum(r["status"] == "VERIFIED" for r in rows) == 10

    assert any("wp/20240301/wp_services_20240301.csv" in w and "sha256" in w for w in warnings)

    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["rejected_drops"].value == ["wp/20240301"]
    assert evaluation.metadata["rejected_files"].value == 2
    table_md = evaluation.metadata["rejected"].value
    assert "wp_services_20240301.csv" in table_md and "sha256 mismatch" in table_md

    failed_steps = [e.step_key for e in result.all_events if e.is_step_failure]
    assert failed_steps == ["landing_inventory_landing_drops_verified"]


def test_rerun_replaces_the_inventory(landing: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    with DagsterInstance.ephemeral() as instance:
        assert _run(landing, warehouse, instance).success
        (landing / "vr" / "20240301" / "VR_CASES_20240301.TXT.ctl").unlink()
        assert not _run(landing, warehouse, instance).success
    rows = pq.read_table(warehouse / "inventory" / "landing_inventory.parquet").to_pylist()
    assert len(rows) == 12
    cases = next(r for r in rows if r["file"] == "VR_CASES_20240301.TXT")
    assert cases["status"] == "REJECTED" and "no control file" in cases["reason"]
    assert sorted(p.name for p in (warehouse / "inventory").iterdir()) == [
        "landing_inventory.parquet",
        "verified_files.json",
    ]


def test_a_system_without_a_layout_fails_the_check(landing: Path, tmp_path: Path) -> None:
    stray = landing / "tanf" / "20240301"
    stray.mkdir(parents=True)
    (stray / "tanf_cases_20240301.csv").write_text("CaseID\nT0001\n")
    warehouse = tmp_path / "warehouse"
    with DagsterInstance.ephemeral() as instance:
        result = _run(landing, warehouse, instance)
    assert not result.success
    rows = pq.read_table(warehouse / "inventory" / "landing_inventory.parquet").to_pylist()
    (tanf,) = [r for r in rows if r["system"] == "tanf"]
    assert tanf["status"] == "REJECTED" and tanf["file"] is None
    assert "no layout describes a system 'tanf'" in tanf["reason"]
    assert sum(r["status"] == "VERIFIED" for r in rows) == 12
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.metadata["rejected_drops"].value == ["tanf"]
