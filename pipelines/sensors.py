"""Sensors: notice a newly complete drop in the landing zone and request a run for it."""

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from pipelines.resources import DROP_TAG, WAREHOUSE_TAG, PipelinePaths
from sources.landing import LandingZoneError, complete_drops


def build_landing_arrival_sensor(job_name: str, minimum_interval_seconds: int) -> SensorDefinition:
    """A sensor requesting the job `job_name` once per complete drop.

    A drop is complete when each file whose layout has a control file has its `.ctl` beside it
    and each file whose layout has a trailer record ends in it (see
    `sources.landing.complete_drops`; only systems with a layout are watched). The run key is
    `<system>/<period>/<content digest>`: Dagster never launches two runs with the same key for
    a sensor, so a drop fires once, and an amended re-delivery (new content) fires again.
    """

    @sensor(
        name="landing_arrival_sensor",
        job_name=job_name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.STOPPED,
        description=(
            "Requests a nightly_job run for every newly complete drop in the landing zone "
            "(run key: system/period/digest, so a drop never fires twice)."
        ),
    )
    def landing_arrival_sensor(
        context: SensorEvaluationContext, paths: PipelinePaths
    ) -> SensorResult | SkipReason:
        try:
            arrivals = complete_drops(paths.landing)
        except LandingZoneError as exc:
            return SkipReason(str(exc))
        if not arrivals:
            return SkipReason(f"no complete drop in {paths.landing}")
        context.log.info(f"{len(arrivals)} complete drop(s) in {paths.landing}")
        return SensorResult(
            run_requests=[
                RunRequest(
                    run_key=arrival.run_key,
                    tags={DROP_TAG: arrival.key, WAREHOUSE_TAG: paths.warehouse_dir},
                )
                for arrival in arrivals
            ]
        )

    return landing_arrival_sensor
