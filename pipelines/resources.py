"""Resources: where the pipeline reads and writes, built from `Settings`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dagster import ConfigurableResource

from linkage.model import LinkageSettings
from pipelines.settings import Settings
from warehouse.indicators import IndicatorSettings
from warehouse.linkage import LinkageConfig
from warehouse.periods import PeriodPolicy

WAREHOUSE_WRITER_POOL = "warehouse_writer"
"""Concurrency pool of every asset that writes the warehouse (limit 1, see dagster.yaml)."""

WAREHOUSE_TAG = "ww/warehouse"
"""Run tag carrying the warehouse directory; the run queue allows one run per value."""

DROP_TAG = "ww/drop"
"""Run tag naming the drop (`<system>/<period>`) whose arrival requested the run."""


class PipelinePaths(ConfigurableResource):
    """The landing zone a run reads and the warehouse it writes (absolute paths)."""

    landing_dir: str
    warehouse_dir: str
    run_date: str | None = None
    """ISO date the run acts as of (None: today in the pipeline's time zone)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelinePaths:
        return cls(
            landing_dir=str(settings.landing),
            warehouse_dir=str(settings.warehouse),
            run_date=settings.run_date.isoformat() if settings.run_date else None,
        )

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def warehouse(self) -> Path:
        return Path(self.warehouse_dir)

    @property
    def inventory_path(self) -> Path:
        return self.warehouse / "inventory" / "landing_inventory.parquet"

    def as_of(self) -> date | None:
        return date.fromisoformat(self.run_date) if self.run_date else None


class LinkagePolicy(ConfigurableResource):
    """The linkage thresholds and relink cadence a state sets (from WW_LINKAGE_* settings)."""

    threshold: float = 0.99
    review_floor: float = 0.5
    full_relink_days: int = 7
    memory_limit: str = "4GB"

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkagePolicy:
        return cls(
            threshold=settings.linkage_threshold,
            review_floor=settings.linkage_review_floor,
            full_relink_days=settings.linkage_full_relink_days,
            memory_limit=settings.linkage_memory_limit,
        )

    def config(self) -> LinkageConfig:
        model = LinkageSettings(
            match_threshold=self.threshold,
            cluster_threshold=self.threshold,
            duckdb_memory_limit=self.memory_limit,
        )
        return LinkageConfig(
            model=model, review_floor=self.review_floor, full_relink_every_days=self.full_relink_days
        )


class ReportingPolicy(ConfigurableResource):
    """The performance-reporting choices a state makes (domain file "policy"): WW_* settings."""

    common_exit: bool = True
    exit_after_days: int = 90
    adult_ed_hours_threshold: float = 12.0
    suppression_threshold: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> ReportingPolicy:
        return cls(
            common_exit=settings.common_exit,
            exit_after_days=settings.exit_after_days,
            adult_ed_hours_threshold=settings.adult_ed_hours_threshold,
            suppression_threshold=settings.suppression_threshold,
        )

    def periods(self) -> PeriodPolicy:
        return PeriodPolicy(
            exit_after_days=self.exit_after_days,
            adult_ed_hours_threshold=self.adult_ed_hours_threshold,
            common_exit=self.common_exit,
        )

    def indicators(self) -> IndicatorSettings:
        return IndicatorSettings(suppression_threshold=self.suppression_threshold)


PARTITION_TAGS = ("dagster/asset_partition_range_end", "dagster/partition")


def run_as_of(run_tags: dict[str, str], paths: PipelinePaths) -> date:
    """The date a run acts as of: WW_RUN_DATE if set, else the night its partition (or the end of its
    range) names, else today. A backfill of a past night thus rebuilds that night's warehouse."""
    if (configured := paths.as_of()) is not None:
        return configured
    for tag in PARTITION_TAGS:
        value = run_tags.get(tag)
        if value:
            try:
                return date.fromisoformat(value)
            except ValueError:
                continue  # a quarterly partition (2024Q3) names no night
    return date.today()
