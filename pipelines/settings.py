"""Runtime settings: the one module that reads the process environment.

Everything else receives a `Settings` (or the resource built from it). Paths are resolved to
absolute paths here, relative to the current directory; the defaults live under `var/` in the
repository so that `python -c "import pipelines.definitions"` works with nothing set.

| variable | meaning | default |
|---|---|---|
| `WW_LANDING` | landing-zone root (`<landing>/<system>/<YYYYMMDD>/…`) | `var/landing` |
| `WW_WAREHOUSE` | warehouse directory (DuckDB files, Parquet, inventory) | `var/warehouse` |
| `WW_SHARED_DIR` | the shared contract directory (`extracts/README.md`) | `../shared` beside the repo |
| `WW_RUN_DATE` | run as of this date (`YYYY-MM-DD`) instead of today | unset (today) |
| `WW_TIMEZONE` | time zone of the schedule and of "today" | `America/Chicago` |
| `WW_NIGHTLY_CRON` | cron of the nightly schedule | `0 2 * * *` |
| `WW_SENSOR_INTERVAL_SECONDS` | how often the landing sensor looks | `60` |
| `WW_PARTITIONS_START` | first delivery date the ingest partitions cover | `2020-01-01` |
| `WW_LINKAGE_THRESHOLD` | match probability at which two records are one customer | `0.99` |
| `WW_LINKAGE_REVIEW_FLOOR` | lower edge of the grey zone sent to clerical review | `0.5` |
| `WW_LINKAGE_FULL_RELINK_DAYS` | retrain and rescore everything at least this often | `7` |
| `WW_LINKAGE_MEMORY_LIMIT` | DuckDB memory cap of the linkage step (spills beyond it) | `4GB` |
| `WW_COMMON_EXIT` | DOL programs share one exit date (common exit policy): `true`/`false` | `true` |
| `WW_EXIT_AFTER_DAYS` | days without a qualifying service or class after which a period exits | `90` |
| `WW_AE_HOURS_THRESHOLD` | Adult Ed contact hours that make a participant | `12` |
| `WW_SUPPRESSION_THRESHOLD` | published cells resting on fewer individuals are shown as `**` | `10` |
| `WW_HMAC_KEY` | key of the published tokens (`customers.ssn_token`, period and employer keys): hex or base64, at least 32 bytes; share it only with agencies that join on `ssn_token` | unset |
| `WW_HMAC_KEY_FILE` | the same key in a file (mode 0600 or stricter, owned by the pipeline's user) | unset: a random key generated once into `<warehouse>/keys/hmac.key` (demo only; production sets one of the two) |
| `WW_RESTRICTED_KEY` | encrypts `restricted.duckdb` at rest (DuckDB AES-GCM; needs DuckDB's httpfs extension installed); at least 32 characters | unset (not encrypted) |
| `WW_RESTRICTED_KEY_FILE` | the same key in a file (mode 0600 or stricter, owned by the pipeline's user) | unset |
| `WW_POSTGRES_URL` | also publish the analytics zone to PostgreSQL (`postgresql://user:pw@host/db`; schema `analytics`, read-only role `analyst`) | unset (no PostgreSQL target) |
| `DAGSTER_HOME` | Dagster instance directory (holds `dagster.yaml`) | `var/dagster_home` |
| `WW_DAGSTER_STORAGE` | run/event/schedule SQLite storage of the local instance | `$DAGSTER_HOME` |

Keys are secrets: `Settings` keeps them out of its `repr`, and only file paths (never key text)
may be shown. A key file is checked (mode, owner) when `pipelines.resources` loads it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The repository checkout (this package is installed editable)."""

INSTANCE_TEMPLATE = REPO_ROOT / "dagster.yaml"
"""The local instance configuration copied into a fresh DAGSTER_HOME."""

_CRON_FIELD = re.compile(r"^[\d*/,\-]+$")


class SettingsError(ValueError):
    """An environment variable holds a value the pipeline cannot use."""


def _path(value: str | os.PathLike[str]) -> Path:
    return Path(value).expanduser().resolve()


@dataclass(frozen=True)
class Settings:
    """Where the pipeline reads and writes, and when it runs."""

    landing: Path = field(default_factory=lambda: REPO_ROOT / "var" / "landing")
    warehouse: Path = field(default_factory=lambda: REPO_ROOT / "var" / "warehouse")
    shared_dir: Path = field(default_factory=lambda: REPO_ROOT.parent / "shared")
    run_date: date | None = None
    timezone: str = "America/Chicago"
    nightly_cron: str = "0 2 * * *"
    sensor_interval_seconds: int = 60
    dagster_home: Path = field(default_factory=lambda: REPO_ROOT / "var" / "dagster_home")
    dagster_storage: Path | None = None
    partitions_start: date = date(2020, 1, 1)
    """First delivery date (and quarter) the ingest partitions cover."""
    linkage_threshold: float = 0.99
    linkage_review_floor: float = 0.5
    linkage_full_relink_days: int = 7
    linkage_memory_limit: str = "4GB"
    common_exit: bool = True
    exit_after_days: int = 90
    adult_ed_hours_threshold: float = 12.0
    suppression_threshold: int = 10
    hmac_key: str | None = field(default=None, repr=False)
    """WW_HMAC_KEY as given (secret: never shown)."""
    hmac_key_file: Path | None = None
    restricted_key: str | None = field(default=None, repr=False)
    """WW_RESTRICTED_KEY as given (secret: never shown)."""
    restricted_key_file: Path | None = None
    postgres_url: str | None = field(default=None, repr=False)
    """WW_POSTGRES_URL (it may hold a password: never shown). Dagster resolves it again at run time
    from the environment (`EnvVar`), so the URL is not stored with the runs either."""

    def __post_init__(self) -> None:
        fields = self.nightly_cron.split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
            raise SettingsError(
                f"WW_NIGHTLY_CRON must be a 5-field cron expression, got {self.nightly_cron!r}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"WW_TIMEZONE is not a known time zone: {self.timezone!r}") from exc
        if not 0 < self.linkage_review_floor <= self.linkage_threshold < 1:
            raise SettingsError(
                "WW_LINKAGE_REVIEW_FLOOR and WW_LINKAGE_THRESHOLD must satisfy 0 < floor <= threshold < 1, "
                f"got {self.linkage_review_floor} and {self.linkage_threshold}"
            )
        if self.linkage_full_relink_days < 1:
            raise SettingsError(
                f"WW_LINKAGE_FULL_RELINK_DAYS must be at least 1, got {self.linkage_full_relink_days}"
            )
        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", self.linkage_memory_limit):
            raise SettingsError(
                f"WW_LINKAGE_MEMORY_LIMIT must look like 4GB, got {self.linkage_memory_limit!r}"
            )
        if self.exit_after_days < 1:
            raise SettingsError(f"WW_EXIT_AFTER_DAYS must be at least 1, got {self.exit_after_days}")
        if self.adult_ed_hours_threshold <= 0:
            raise SettingsError(
                f"WW_AE_HOURS_THRESHOLD must be positive, got {self.adult_ed_hours_threshold}"
            )
        if self.suppression_threshold < 1:
            raise SettingsError(
                f"WW_SUPPRESSION_THRESHOLD must be at least 1, got {self.suppression_threshold}"
            )
        if self.sensor_interval_seconds < 5:
            raise SettingsError(
                f"WW_SENSOR_INTERVAL_SECONDS must be at least 5, got {self.sensor_interval_seconds}"
            )
        if self.hmac_key is not None and self.hmac_key_file is not None:
            raise SettingsError("set WW_HMAC_KEY or WW_HMAC_KEY_FILE, not both")
        if self.restricted_key is not None and self.restricted_key_file is not None:
            raise SettingsError("set WW_RESTRICTED_KEY or WW_RESTRICTED_KEY_FILE, not both")
        for name in (
            "landing",
            "warehouse",
            "dagster_home",
            "shared_dir",
            "dagster_storage",
            "hmac_key_file",
            "restricted_key_file",
        ):
            value = getattr(self, name)
            if value is not None and not value.is_absolute():
                object.__setattr__(self, name, _path(value))

    @property
    def dagster_storage_dir(self) -> Path:
        """The SQLite storage directory of the local instance (defaults to DAGSTER_HOME)."""
        return self.dagster_storage if self.dagster_storage is not None else self.dagster_home

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from the environment (or from `environ`, for tests)."""
        env = os.environ if environ is None else environ
        kwargs: dict[str, object] = {}

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        if (v := text("WW_LANDING")) is not None:
            kwargs["landing"] = _path(v)
        if (v := text("WW_WAREHOUSE")) is not None:
            kwargs["warehouse"] = _path(v)
        if (v := text("WW_SHARED_DIR")) is not None:
            kwargs["shared_dir"] = _path(v)
        if (v := text("WW_RUN_DATE")) is not None:
            try:
                kwargs["run_date"] = date.fromisoformat(v)
            except ValueError as exc:
                raise SettingsError(f"WW_RUN_DATE must be YYYY-MM-DD, got {v!r}") from exc
        if (v := text("WW_TIMEZONE")) is not None:
            kwargs["timezone"] = v
        if (v := text("WW_NIGHTLY_CRON")) is not None:
            kwargs["nightly_cron"] = v
        if (v := text("WW_SENSOR_INTERVAL_SECONDS")) is not None:
            try:
                kwargs["sensor_interval_seconds"] = int(v)
            except ValueError as exc:
                raise SettingsError(f"WW_SENSOR_INTERVAL_SECONDS must be an integer, got {v!r}") from exc
        if (v := text("WW_PARTITIONS_START")) is not None:
            try:
                kwargs["partitions_start"] = date.fromisoformat(v)
            except ValueError as exc:
                raise SettingsError(f"WW_PARTITIONS_START must be YYYY-MM-DD, got {v!r}") from exc
        for var, key, conv in (
            ("WW_LINKAGE_THRESHOLD", "linkage_threshold", float),
            ("WW_LINKAGE_REVIEW_FLOOR", "linkage_review_floor", float),
            ("WW_LINKAGE_FULL_RELINK_DAYS", "linkage_full_relink_days", int),
            ("WW_EXIT_AFTER_DAYS", "exit_after_days", int),
            ("WW_AE_HOURS_THRESHOLD", "adult_ed_hours_threshold", float),
            ("WW_SUPPRESSION_THRESHOLD", "suppression_threshold", int),
        ):
            if (v := text(var)) is not None:
                try:
                    kwargs[key] = conv(v)
                except ValueError as exc:
                    raise SettingsError(f"{var} must be a {conv.__name__}, got {v!r}") from exc
        if (v := text("WW_COMMON_EXIT")) is not None:
            if v.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise SettingsError(f"WW_COMMON_EXIT must be true or false, got {v!r}")
            kwargs["common_exit"] = v.lower() in ("true", "1", "yes")
        if (v := text("WW_LINKAGE_MEMORY_LIMIT")) is not None:
            kwargs["linkage_memory_limit"] = v
        if (v := text("DAGSTER_HOME")) is not None:
            if not Path(v).is_absolute():
                raise SettingsError(f"DAGSTER_HOME must be an absolute path, got {v!r}")
            kwargs["dagster_home"] = _path(v)
        for var, key in (
            ("WW_HMAC_KEY", "hmac_key"),
            ("WW_RESTRICTED_KEY", "restricted_key"),
            ("WW_POSTGRES_URL", "postgres_url"),
        ):
            if (v := text(var)) is not None:
                kwargs[key] = v
        for var, key in (
            ("WW_HMAC_KEY_FILE", "hmac_key_file"),
            ("WW_RESTRICTED_KEY_FILE", "restricted_key_file"),
        ):
            if (v := text(var)) is not None:
                kwargs[key] = _path(v)
        if (v := text("WW_DAGSTER_STORAGE")) is not None:
            if not Path(v).is_absolute():
                raise SettingsError(f"WW_DAGSTER_STORAGE must be an absolute path, got {v!r}")
            kwargs["dagster_storage"] = _path(v)
        return cls(**kwargs)  # type: ignore[arg-type]

    def with_paths(
        self,
        *,
        landing: str | os.PathLike[str] | None = None,
        warehouse: str | os.PathLike[str] | None = None,
        run_date: date | None = None,
    ) -> Settings:
        """A copy with command-line overrides applied."""
        return replace(
            self,
            landing=_path(landing) if landing is not None else self.landing,
            warehouse=_path(warehouse) if warehouse is not None else self.warehouse,
            run_date=run_date if run_date is not None else self.run_date,
        )

    def prepare_dagster_instance(self) -> Path:
        """Make DAGSTER_HOME usable by Dagster and return it.

        Creates DAGSTER_HOME and the storage directory, copies the repository's
        `dagster.yaml` there when the instance has none, and exports DAGSTER_HOME and
        WW_DAGSTER_STORAGE (absolute) into this process's environment, where Dagster reads them.
        """
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        self.dagster_storage_dir.mkdir(parents=True, exist_ok=True)
        instance_yaml = self.dagster_home / "dagster.yaml"
        if not instance_yaml.exists():
            shutil.copyfile(INSTANCE_TEMPLATE, instance_yaml)
        os.environ["DAGSTER_HOME"] = str(self.dagster_home)
        os.environ["WW_DAGSTER_STORAGE"] = str(self.dagster_storage_dir)
        return self.dagster_home
