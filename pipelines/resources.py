"""Resources: where the pipeline reads and writes, built from `Settings`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dagster import ConfigurableResource

from linkage.model import LinkageSettings
from pipelines.settings import Settings
from warehouse.linkage import LinkageConfig

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
