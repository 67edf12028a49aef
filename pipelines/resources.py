"""Resources: where the pipeline reads and writes, built from `Settings`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dagster import Backoff, ConfigurableResource, EnvVar, Jitter, RetryPolicy

from linkage.model import LinkageSettings
from pipelines.settings import Settings
from warehouse.indicators import IndicatorSettings
from warehouse.linkage import LinkageConfig
from warehouse.periods import PeriodPolicy
from warehouse.privacy import PrivacyConfig, RestrictedKey, TokenKey, configure_process

WAREHOUSE_WRITER_POOL = "warehouse_writer"
"""Concurrency pool of every asset that writes the warehouse (limit 1, see dagster.yaml)."""

WAREHOUSE_TAG = "ww/warehouse"
"""Run tag carrying the warehouse directory; the run queue allows one run per value."""

NETWORK_RETRY = RetryPolicy(max_retries=3, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
"""For steps that read or write over a network or shared filesystem (the landing zone, PostgreSQL):
a transient outage is retried after 30 s, 60 s, 120 s. The steps are idempotent (a file is loaded
once, whatever the attempts; the PostgreSQL schema is swapped whole), so a retry cannot double
anything. A lock held on the restricted zone is waited for inside `warehouse.ingest.connect`."""

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
        """The resource for `settings`; also hands the settings' keys to this process (see
        `privacy_config`), so that `connect()` and `publish_analytics()` use them unchanged."""
        configure_process(privacy_config(settings))
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


def privacy_config(settings: Settings) -> PrivacyConfig:
    """The token and restricted-zone keys the settings name, loaded and checked (a key file must be
    0600 and the pipeline user's). Not a resource field: resource config is shown in Dagster's UI
    and stored with every run, a key must be neither. Each process that loads the definitions
    (code server, run and step workers, the CLI) builds its resources with `from_settings`, which
    configures the process with these keys: the least invasive path, no asset or `connect()`
    caller changes."""
    token: TokenKey | None = None
    if settings.hmac_key is not None:
        token = TokenKey.from_text(settings.hmac_key, "WW_HMAC_KEY")
    elif settings.hmac_key_file is not None:
        token = TokenKey.from_file(settings.hmac_key_file)
    restricted: RestrictedKey | None = None
    if settings.restricted_key is not None:
        restricted = RestrictedKey.from_text(settings.restricted_key, "WW_RESTRICTED_KEY")
    elif settings.restricted_key_file is not None:
        restricted = RestrictedKey.from_file(settings.restricted_key_file)
    return PrivacyConfig(token_key=token, restricted_key=restricted)


POSTGRES_URL_VAR = "WW_POSTGRES_URL"


class PostgresTarget(ConfigurableResource):
    """Where the analytics zone is also published (WW_POSTGRES_URL), and to which schema and role.

    The URL is configured as an `EnvVar`: Dagster shows and stores the variable's name, not the
    URL (which may carry a password)."""

    url: str
    schema_name: str = "analytics"
    analyst_role: str = "analyst"

    @classmethod
    def from_env(cls) -> PostgresTarget:
        return cls(url=EnvVar(POSTGRES_URL_VAR))
