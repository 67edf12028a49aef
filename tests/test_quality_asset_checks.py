"""The blocking quality asset checks from `assets.quality`, materialized for real on tmp dirs."""

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckSeverity,
    AssetExecutionContext,
    ConfigurableResource,
    DagsterInstance,
    ExecuteInProcessResult,
    MaterializeResult,
    asset,
    materialize,
)

from assets.quality import quality_check_for
from quality_checks.fabricate import staged_frame
from sources.layout import file_layouts

AS_OF = date(2025, 6, 30)
FILE_TYPE = "wp_registrations"


class StagingDir(ConfigurableResource):
    path: str

    def file(self, file_type: str) -> Path:
        return Path(self.path) / f"{file_type}.parquet"


def _definitions(frame: pd.DataFrame, volume: tuple[int, int] | None = None) -> list:
    """A tiny staged asset that writes the frame, its quality check, and an asset downstream."""

    @asset(name=f"staged_{FILE_TYPE}")
    def staged(context: AssetExecutionContext, staging: StagingDir) -> MaterializeResult:
        path = staging.file(FILE_TYPE)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path)
        return MaterializeResult(metadata={"rows": len(frame)})

    @asset(deps=[staged])
    def downstream() -> None:
        return None

    def load(context: AssetCheckExecutionContext) -> tuple[pd.DataFrame, date, tuple[int, int] | None]:
        return pd.read_parquet(context.resources.staging.file(FILE_TYPE)), AS_OF, volume

    check = quality_check_for(staged.key, FILE_TYPE, load, required_resource_keys={"staging"})
    return [staged, check, downstream]


def _run(tmp_path: Path, frame: pd.DataFrame, **kwargs: object) -> ExecuteInProcessResult:
    with DagsterInstance.ephemeral() as instance:
        return materialize(
            _definitions(frame, **kwargs),  # type: ignore[arg-type]
            resources={"staging": StagingDir(path=str(tmp_path / "staging"))},
            instance=instance,
            raise_on_error=False,
        )


@pytest.fixture
def valid() -> pd.DataFrame:
    return staged_frame(file_layouts()[FILE_TYPE], 40, as_of=AS_OF)


def test_check_is_blocking_and_named_after_the_file_type(valid: pd.DataFrame) -> None:
    check = _definitions(valid)[1]
    (spec,) = check.check_specs
    assert spec.name == "wp_registrations_quality" and spec.blocking
    assert spec.asset_key.path == ["staged_wp_registrations"]


def test_valid_rows_pass(tmp_path: Path, valid: pd.DataFrame) -> None:
    result = _run(tmp_path, valid, volume=(10, 100))
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "wp_registrations_quality" and evaluation.passed
    meta = evaluation.metadata
    assert (
        meta["rows"].value == 40
        and meta["failed_expectations"].value == 0
        and meta["failing_rows"].value == 0
    )
    assert meta["expectations"].value == 19
    assert meta["volume_bounds"].value == {"min": 10, "max": 100}
    assert meta["failing_keys"].value == {}
    assert "0 failed" in meta["report"].value
    assert len(result.asset_materializations_for_node("downstream")) == 1


def _faulty(valid: pd.DataFrame) -> pd.DataFrame:
    df = valid.copy()
    df.loc[2, "birth_date"] = pd.Timestamp("2031-02-03")  # in the future
    df.loc[3, "sex"] = "Q"
    df.loc[5, "race"] = "ASIAN;MARTIAN"
    df.loc[6, ["individual_id", "last_updated"]] = df.loc[7, ["individual_id", "last_updated"]].to_numpy()
    return df


def test_failing_rows_fail_the_blocking_check(tmp_path: Path, valid: pd.DataFrame) -> None:
    df = _faulty(valid)
    result = _run(tmp_path, df, volume=(10, 100))
    assert not result.success
    assert len(result.asset_materializations_for_node(f"staged_{FILE_TYPE}")) == 1
    assert result.asset_materializations_for_node("downstream") == []  # blocked
    failed_steps = [e.step_key for e in result.all_events if e.is_step_failure]
    assert failed_steps == ["staged_wp_registrations_wp_registrations_quality"]

    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR
    assert evaluation.blocking
    meta = evaluation.metadata
    assert meta["rows"].value == 40 and meta["failed_expectations"].value == 4
    assert meta["failing_rows"].value == 5
    keys = meta["failing_keys"].value

    def key(pos: int) -> dict[str, object]:
        return {
            "individual_id": df.loc[pos, "individual_id"],
            "_file": df.loc[pos, "_file"],
            "_line": pos + 2,
        }

    assert keys == {
        "birth_date between 1900-01-01 and 2025-06-30": [key(2)],
        "sex in its code set": [key(3)],
        "every part of race in its code set": [key(5)],
        "individual_id unique within a file per last_updated": [key(6), key(7)],
    }
    assert meta["failed"].value["sex in its code set"] == {"column": "sex", "unexpected_count": 1}
    report = meta["report"].value
    assert (
        "**FAILED** | sex in its code set | sex | 1 | individual_id=" + df.loc[3, "individual_id"] in report
    )
    assert "4 of 19 expectations failed" in (evaluation.description or "")

    # no identity value anywhere in what the check recorded
    recorded = json.dumps({k: str(v.value) for k, v in meta.items()}) + (evaluation.description or "")
    identity = [f.name for f in file_layouts()[FILE_TYPE].fields if f.identity]
    for col in identity:
        for value in df.loc[2:7, col].dropna():
            shown = value.date().isoformat() if isinstance(value, pd.Timestamp) else str(value)
            if len(shown) > 2:
                assert shown not in recorded, (col, shown)
    assert "MARTIAN" not in recorded and "2031" not in recorded


def test_volume_out_of_bounds_fails_the_check(tmp_path: Path, valid: pd.DataFrame) -> None:
    result = _run(tmp_path, valid, volume=(500, 5000))
    assert not result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["failed"].value == {
        "row count between 500 and 5000": {"column": None, "unexpected_count": None, "observed": "40 rows"}
    }
    assert evaluation.metadata["failing_keys"].value == {}


def test_unknown_file_type_is_a_definition_error() -> None:
    def load(_: AssetCheckExecutionContext) -> tuple[pd.DataFrame, date, None]:
        return pd.DataFrame(), AS_OF, None

    with pytest.raises(ValueError, match="no layout describes a file type 'tanf_cases'"):
        quality_check_for("staged_tanf_cases", "tanf_cases", load)
