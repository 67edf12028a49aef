"""The composition root: the one `Definitions` of this code location.

`dagster dev -m pipelines.definitions` (or `make dev`) loads `defs`; `python -m pipelines run`
builds its own with `build_defs(settings)` for the paths given on the command line.

Jobs: `nightly_job` (daily partitions: the nightly systems' ingest plus everything downstream
that is not partitioned) and `quarterly_job` (wage quarters). A run for a partition, or a
range of them in one run, loads every pending drop up to its end.
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from assets.ingest import build_ingest_assets, build_quality_checks, partitions_for
from assets.landing import landing_drops_verified, landing_inventory
from assets.linkage import customers
from assets.persons import build_person_records_asset
from assets.warehouse import (
    analytics,
    coenrollment,
    demographics,
    indicators,
    participation,
    pirl,
    postgres,
    reports,
    wages,
)
from pipelines.planning import NIGHTLY_JOB, QUARTERLY_JOB
from pipelines.resources import WAREHOUSE_TAG, LinkagePolicy, PipelinePaths, PostgresTarget, ReportingPolicy
from pipelines.sensors import build_landing_arrival_sensor
from pipelines.settings import Settings
from sources.layout import load_layouts

NIGHTLY_SCHEDULE = "nightly_schedule"
WAREHOUSE_ASSETS = [participation, wages, demographics, indicators, coenrollment, pirl, analytics, reports]
LANDING_SENSOR = "landing_arrival_sensor"


def build_defs(settings: Settings) -> Definitions:
    """All assets, checks, jobs, the nightly schedule and the landing sensor for `settings`."""
    layouts = load_layouts()
    daily = partitions_for("daily", settings.partitions_start)
    quarterly = partitions_for("quarterly", settings.partitions_start)
    ingest_assets = build_ingest_assets(layouts, settings.partitions_start)
    daily_systems = [s for s in layouts if s.period == "daily"]
    quarterly_systems = [s for s in layouts if s.period == "quarterly"]
    person_records = build_person_records_asset(layouts)
    # the PostgreSQL target only exists where a state configured one
    warehouse_assets = [*WAREHOUSE_ASSETS, postgres] if settings.postgres_url else list(WAREHOUSE_ASSETS)
    extra_resources = {"postgres_target": PostgresTarget.from_env()} if settings.postgres_url else {}
    tags = {WAREHOUSE_TAG: str(settings.warehouse)}
    nightly_job = define_asset_job(
        NIGHTLY_JOB,
        selection=AssetSelection.assets(*(["staging", s.system] for s in daily_systems))
        | AssetSelection.assets(person_records, landing_inventory, customers, *warehouse_assets),
        partitions_def=daily,
        tags=tags,
        description="The nightly run: verify the landing zone, load every pending nightly drop up to the "
        "partition's date, rebuild what depends on them.",
    )
    quarterly_job = define_asset_job(
        QUARTERLY_JOB,
        selection=AssetSelection.assets(*(["staging", s.system] for s in quarterly_systems)),
        partitions_def=quarterly,
        tags=tags,
        description="Load pending quarterly wage files up to the partition's quarter (an amended quarter "
        "replaces the one held).",
    )
    nightly_schedule = build_nightly_schedule(nightly_job, settings)
    return Definitions(
        assets=[landing_inventory, *ingest_assets, person_records, customers, *warehouse_assets],
        asset_checks=[landing_drops_verified, *build_quality_checks(layouts)],
        jobs=[nightly_job, quarterly_job],
        schedules=[nightly_schedule],
        sensors=[
            build_landing_arrival_sensor(
                [nightly_job, quarterly_job], settings.partitions_start, settings.sensor_interval_seconds
            )
        ],
        resources={
            "paths": PipelinePaths.from_settings(settings),
            "linkage": LinkagePolicy.from_settings(settings),
            "reporting": ReportingPolicy.from_settings(settings),
            **extra_resources,
        },
    )


def build_nightly_schedule(job: object, settings: Settings) -> ScheduleDefinition:
    """The nightly run for tonight's partition: it loads every pending drop up to tonight."""

    @schedule(
        name=NIGHTLY_SCHEDULE,
        job=job,  # type: ignore[arg-type]
        cron_schedule=settings.nightly_cron,
        execution_timezone=settings.timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"nightly_job at {settings.nightly_cron} ({settings.timezone}) for that night's partition, "
        "catching up any missed night; start it in the UI.",
    )
    def nightly_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        night = context.scheduled_execution_time.date().isoformat()
        return RunRequest(partition_key=night, tags={WAREHOUSE_TAG: str(settings.warehouse)})

    return nightly_schedule


defs = build_defs(Settings.from_env())
