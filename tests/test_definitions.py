"""The composition root loads, and its job, schedule, sensor and settings behave."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, Definitions, SensorResult, SkipReason, build_sensor_context
from landing_helpers import copy_samples

from pipelines.definitions import (
    LANDING_SENSOR,
    NIGHTLY_JOB,
    NIGHTLY_SCHEDULE,
    QUARTERLY_JOB,
    build_defs,
    defs,
)
from pipelines.resources import WAREHOUSE_TAG, WAREHOUSE_WRITER_POOL, PipelinePaths
from pipelines.settings import REPO_ROOT, Settings, SettingsError
from warehouse.ingest import ingest

INVENTORY = AssetKey("landing_inventory")


def graph_keys() -> set[AssetKey]:
    return set(defs.resolve_asset_graph().get_all_asset_keys())


def test_defs_load_and_resolve() -> None:
    Definitions.validate_loadable(defs)
    job = defs.resolve_job_def(NIGHTLY_JOB)
    assert job.name == NIGHTLY_JOB
    assert INVENTORY in job.asset_layer.asset_graph.get_all_asset_keys()
    assert job.tags[WAREHOUSE_TAG]

    schedule = defs.resolve_schedule_def(NIGHTLY_SCHEDULE)
    assert schedule.job_name == NIGHTLY_JOB
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "America/Chicago"

    sensor = defs.resolve_sensor_def(LANDING_SENSOR)
    assert {j.name for j in sensor.jobs} == {NIGHTLY_JOB, QUARTERLY_JOB}
    assert defs.resolve_job_def(QUARTERLY_JOB).partitions_def is not None
    staging = {k for k in graph_keys() if k.path[0] == "staging"}
    assert {k.path[1] for k in staging} >= {
        "ui",
        "ui_wages",
        "wp",
        "title1",
        "vr",
        "adult_ed",
        "person_records",
    }

    graph = defs.resolve_asset_graph()
    assert INVENTORY in graph.get_all_asset_keys()
    assert AssetCheckKey(INVENTORY, "landing_drops_verified") in graph.asset_check_keys
    assert defs.resolve_assets_def(INVENTORY).op.pool == WAREHOUSE_WRITER_POOL


def test_import_with_no_environment() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WW_", "DAGSTER_"))}
    code = (
        "import pipelines.definitions as d; print(d.defs.resolve_job_def('nightly_job').tags['ww/warehouse'])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(REPO_ROOT / "var" / "warehouse")


def test_settings_from_env(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "WW_LANDING": str(tmp_path / "in"),
            "WW_WAREHOUSE": str(tmp_path / "out"),
            "WW_RUN_DATE": "2024-03-02",
            "WW_NIGHTLY_CRON": "30 1 * * 1-5",
            "WW_TIMEZONE": "America/New_York",
            "DAGSTER_HOME": str(tmp_path / "home"),
        }
    )
    assert settings.landing == tmp_path / "in" and settings.warehouse == tmp_path / "out"
    assert settings.run_date == date(2024, 3, 2)
    assert settings.dagster_storage_dir == tmp_path / "home"  # defaults to DAGSTER_HOME

    custom = build_defs(settings)
    schedule = custom.resolve_schedule_def(NIGHTLY_SCHEDULE)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 1 * * 1-5", "America/New_York")
    assert custom.resolve_job_def(NIGHTLY_JOB).tags[WAREHOUSE_TAG] == str(tmp_path / "out")

    defaults = Settings.from_env({})
    assert defaults.landing == REPO_ROOT / "var" / "landing"
    assert defaults.dagster_home == REPO_ROOT / "var" / "dagster_home"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DAGSTER_HOME", "relative/home", "absolute"),
        ("WW_DAGSTER_STORAGE", "relative", "absolute"),
        ("WW_RUN_DATE", "03/02/2024", "YYYY-MM-DD"),
        ("WW_NIGHTLY_CRON", "every night", "cron"),
        ("WW_TIMEZONE", "Mars/Olympus", "time zone"),
        ("WW_SENSOR_INTERVAL_SECONDS", "soon", "integer"),
    ],
)
def test_settings_reject_bad_values(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value})


def _evaluate_sensor(landing: Path, warehouse: Path, cursor: str | None = None) -> SensorResult | SkipReason:
    sensor = defs.resolve_sensor_def(LANDING_SENSOR)
    paths = PipelinePaths(landing_dir=str(landing), warehouse_dir=str(warehouse))
    with build_sensor_context(resources={"paths": paths}, cursor=cursor) as context:
        return sensor(context)


def test_sensor_requests_one_ranged_run_per_job_for_what_the_warehouse_lacks(
    samples_dir: Path, tmp_path: Path
) -> None:
    landing = copy_samples(samples_dir, tmp_path / "landing")
    (landing / "vr" / "20240301" / "VR_OUTCOMES_20240301.TXT.ctl").unlink()  # vr still arriving
    result = _evaluate_sensor(landing, tmp_path / "wh")
    assert isinstance(result, SensorResult)
    requests = {r.job_name: r for r in result.run_requests or []}
    assert set(requests) == {NIGHTLY_JOB, QUARTERLY_JOB}
    nightly, quarterly = requests[NIGHTLY_JOB], requests[QUARTERLY_JOB]
    assert (
        nightly.tags["dagster/asset_partition_range_start"],
        nightly.tags["dagster/asset_partition_range_end"],
    ) == ("2024-03-01", "2024-03-01")
    assert quarterly.tags["dagster/asset_partition_range_start"] == "2024-01-01"
    assert nightly.tags[WAREHOUSE_TAG] == str(tmp_path / "wh")
    # the same look again: the cursor says nothing changed
    assert isinstance(_evaluate_sensor(landing, tmp_path / "wh", cursor=result.cursor), SkipReason)
    # once the warehouse holds the complete drops, a fresh sensor (no cursor, new instance) asks for nothing
    ingest(landing, tmp_path / "wh")
    assert not (_evaluate_sensor(landing, tmp_path / "wh").run_requests or [])  # type: ignore[union-attr]
    # the missing control file arrives: the vr drop is requested, and only it is pending
    (landing / "vr" / "20240301" / "VR_OUTCOMES_20240301.TXT.ctl").write_text(
        (samples_dir / "vr" / "20240301" / "VR_OUTCOMES_20240301.TXT.ctl").read_text()
    )
    later = _evaluate_sensor(landing, tmp_path / "wh", cursor=result.cursor)
    assert isinstance(later, SensorResult)
    assert [r.job_name for r in later.run_requests or []] == [NIGHTLY_JOB]


def test_sensor_skips_when_nothing_arrived(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    empty = _evaluate_sensor(tmp_path / "empty", tmp_path / "wh")
    assert isinstance(empty, SensorResult) and not empty.run_requests and empty.skip_reason is not None
    missing = _evaluate_sensor(tmp_path / "missing", tmp_path / "wh")
    assert isinstance(missing, SkipReason) and "not found" in (missing.skip_message or "")
