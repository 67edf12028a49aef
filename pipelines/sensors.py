"""The arrival sensor: notice newly complete drops and bring the warehouse up to date."""

import datetime as dt

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from pipelines.planning import plan_runs
from pipelines.resources import WAREHOUSE_TAG, PipelinePaths
from pipelines.settings import Settings
from sources.landing import LandingZoneError, complete_drops


def _fingerprint(landing_dir: str) -> str:
    import hashlib

    arrivals = complete_drops(landing_dir)
    return hashlib.sha256("\n".join(a.run_key for a in arrivals).encode()).hexdigest()


def build_landing_arrival_sensor(
    jobs: list[UnresolvedAssetJobDefinition], partitions_start: dt.date, minimum_interval_seconds: int
) -> SensorDefinition:
    """Requests at most one run per job, over the partitions that hold pending drops.

    Each tick looks cheaply at which drops are complete (file stats, control files, trailers:
    `sources.landing.complete_drops`); only when that changes does it ask the warehouse what is
    pending (`pipelines.planning`). The run key is the digest of the pending drops, so the same
    backlog never fires twice, while a late, re-sent or amended drop fires again. Nothing is
    decided from Dagster's run history: a fresh instance plans from the warehouse alone.
    """

    @sensor(
        name="landing_arrival_sensor",
        jobs=jobs,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.STOPPED,
        description="Notices newly complete drops and requests one run per job over the pending partitions.",
    )
    def landing_arrival_sensor(
        context: SensorEvaluationContext, paths: PipelinePaths
    ) -> SensorResult | SkipReason:
        try:
            fingerprint = _fingerprint(paths.landing_dir)
        except LandingZoneError as exc:
            return SkipReason(str(exc))
        if context.cursor == fingerprint:
            return SkipReason(f"no new drop in {paths.landing} since the last look")
        settings = Settings(
            landing=paths.landing, warehouse=paths.warehouse, partitions_start=partitions_start
        )
        plan = plan_runs(settings, always_nightly=False)
        if not plan:
            return SensorResult(
                skip_reason=SkipReason("every complete drop is already in the warehouse"), cursor=fingerprint
            )
        for p in plan:
            context.log.info(f"{p.job}: {p.pending} pending drop(s), partitions {p.first} .. {p.last}")
        return SensorResult(
            run_requests=[
                RunRequest(
                    job_name=p.job,
                    run_key=f"{p.job}:{p.pending_key}",
                    tags={
                        "dagster/asset_partition_range_start": p.first,
                        "dagster/asset_partition_range_end": p.last,
                        WAREHOUSE_TAG: paths.warehouse_dir,
                    },
                )
                for p in plan
            ],
            cursor=fingerprint,
        )

    return landing_arrival_sensor
