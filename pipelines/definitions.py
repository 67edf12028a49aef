"""The composition root: the one `Definitions` of this code location.

`dagster dev -m pipelines.definitions` (or `make dev`) loads `defs`; `python -m pipelines run`
builds its own with `build_defs(settings)` for the paths given on the command line.
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
)

from assets.landing import landing_drops_verified, landing_inventory
from pipelines.resources import WAREHOUSE_TAG, PipelinePaths
from pipelines.sensors import build_landing_arrival_sensor
from pipelines.settings import Settings

NIGHTLY_JOB = "nightly_job"
NIGHTLY_SCHEDULE = "nightly_schedule"
LANDING_SENSOR = "landing_arrival_sensor"


def build_defs(settings: Settings) -> Definitions:
    """All assets, checks, the nightly job, its schedule and the landing sensor for `settings`."""
    nightly_job = define_asset_job(
        NIGHTLY_JOB,
        selection=AssetSelection.all(),
        tags={WAREHOUSE_TAG: str(settings.warehouse)},
        description="Everything, from the landing zone to the warehouse: the nightly run.",
    )
    nightly_schedule = ScheduleDefinition(
        name=NIGHTLY_SCHEDULE,
        job=nightly_job,
        cron_schedule=settings.nightly_cron,
        execution_timezone=settings.timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"nightly_job at {settings.nightly_cron} ({settings.timezone}); start it in the UI.",
    )
    return Definitions(
        assets=[landing_inventory],
        asset_checks=[landing_drops_verified],
        jobs=[nightly_job],
        schedules=[nightly_schedule],
        sensors=[build_landing_arrival_sensor(NIGHTLY_JOB, settings.sensor_interval_seconds)],
        resources={"paths": PipelinePaths.from_settings(settings)},
    )


defs = build_defs(Settings.from_env())
