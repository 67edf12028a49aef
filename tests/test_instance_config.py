"""Both instance files load through Dagster's own config machinery."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, QueuedRunCoordinator, materialize
from dagster._config import process_config, resolve_to_config_type
from dagster._core.instance.config import PoolGranularity, dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import pg_url_from_config
from landing_helpers import copy_samples

from assets.landing import landing_inventory
from pipelines.resources import WAREHOUSE_TAG, WAREHOUSE_WRITER_POOL, PipelinePaths
from pipelines.settings import REPO_ROOT

LOCAL_YAML = REPO_ROOT / "dagster.yaml"
POSTGRES_YAML = REPO_ROOT / "deploy" / "dagster.postgres.yaml"
PG_ENV = {
    "DAGSTER_PG_HOST": "db.example.internal",
    "DAGSTER_PG_PORT": "6543",
    "DAGSTER_PG_USER": "dagster_app",
    "DAGSTER_PG_PASSWORD": "s3cret",
    "DAGSTER_PG_DB": "dagster",
}


@pytest.fixture
def local_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(LOCAL_YAML, home / "dagster.yaml")
    monkeypatch.setenv("WW_DAGSTER_STORAGE", str(tmp_path / "storage"))
    return home


def _assert_queue_and_pools(instance: DagsterInstance) -> None:
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    concurrency = instance.get_concurrency_config()
    queue = concurrency.run_queue_config
    assert queue is not None
    assert queue.max_concurrent_runs == 2
    assert queue.tag_concurrency_limits == [
        {"key": WAREHOUSE_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    ]
    assert concurrency.pool_config.default_pool_limit == 1
    assert concurrency.pool_config.pool_granularity == PoolGranularity.OP


def test_local_instance_from_dir(local_home: Path, tmp_path: Path) -> None:
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(local_home))) as instance:
        assert instance.is_persistent
        assert instance.telemetry_enabled is False
        _assert_queue_and_pools(instance)
        assert instance.event_log_storage.supports_global_concurrency_limits
    # The databases are under WW_DAGSTER_STORAGE, not DAGSTER_HOME.
    assert (tmp_path / "storage" / "history" / "runs.db").exists()
    assert not (local_home / "history").exists()


def test_local_instance_enforces_the_warehouse_writer_pool(
    local_home: Path, samples_dir: Path, tmp_path: Path
) -> None:
    landing = copy_samples(samples_dir, tmp_path / "landing")
    paths = PipelinePaths(landing_dir=str(landing), warehouse_dir=str(tmp_path / "wh"))
    with DagsterInstance.from_config(str(local_home)) as instance:
        result = materialize([landing_inventory], resources={"paths": paths}, instance=instance)
        assert result.success
        # The step claimed a slot of its pool: the pool now exists with the default limit of 1.
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_WRITER_POOL)
        assert info.slot_count == 1
        assert info.active_slot_count == 0  # released at the end of the step


def test_local_instance_needs_its_storage_variable(local_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WW_DAGSTER_STORAGE")
    with pytest.raises(Exception, match="WW_DAGSTER_STORAGE"):
        DagsterInstance.from_ref(InstanceRef.from_dir(str(local_home)))


def _postgres_storage_config() -> dict:
    """The storage section of the production file, validated and with its env sources resolved,
    exactly as Dagster does before it builds the storage (which would connect)."""
    config, custom_class = dagster_instance_config(
        str(POSTGRES_YAML.parent), config_filename=POSTGRES_YAML.name
    )
    assert custom_class is None
    assert config["telemetry"] == {"enabled": False}
    result = process_config(
        resolve_to_config_type(DagsterPostgresStorage.config_type()), config["storage"]["postgres"]
    )
    if not result.success:
        raise AssertionError("; ".join(error.message for error in result.errors or []))
    return result.value


def test_postgres_instance_validates_without_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    url = pg_url_from_config(_postgres_storage_config())
    assert url == "postgresql://dagster_app:s3cret@db.example.internal:6543/dagster"

    ref = InstanceRef.from_dir(
        str(tmp_path), config_dir=str(POSTGRES_YAML.parent), config_filename=POSTGRES_YAML.name
    )
    assert ref.storage_data is not None
    assert (ref.storage_data.module_name, ref.storage_data.class_name) == (
        "dagster_postgres",
        "DagsterPostgresStorage",
    )
    assert ref.run_coordinator_data.class_name == "QueuedRunCoordinator"
    assert ref.settings["concurrency"] == yaml.safe_load(LOCAL_YAML.read_text())["concurrency"]


def test_postgres_instance_reports_a_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    with pytest.raises(AssertionError, match="DAGSTER_PG_PASSWORD"):
        _postgres_storage_config()


def test_both_instances_share_queue_pool_and_telemetry_settings() -> None:
    local = yaml.safe_load(LOCAL_YAML.read_text())
    production = yaml.safe_load(POSTGRES_YAML.read_text())
    for section in ("telemetry", "run_coordinator", "concurrency"):
        assert local[section] == production[section], section
