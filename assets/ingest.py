"""Ingest assets: one per source system, built from its layout (a sixth system gets its asset
from its layout file alone). Daily systems are partitioned by delivery date, wage files by
quarter; a run for a partition (or a range, in one run) loads every pending drop up to its end,
so a missed night is caught up by the next. What is pending comes from the warehouse's own
`load_audit`, never from Dagster's run history."""

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
    asset,
)

from assets.quality import quality_check_for
from pipelines.resources import NETWORK_RETRY, WAREHOUSE_WRITER_POOL, PipelinePaths
from quality_checks.volume import volume_bounds
from sources.layout import FileLayout, SystemLayout
from warehouse.ingest import (
    LoadReport,
    connect,
    delta_history,
    ingest,
    loaded_by_run,
    run_files,
    run_load_parts,
)
from warehouse.privacy import record_writes

INGEST_GROUP = "ingest"
DROPS_ACCEPTED = "drops_accepted"


def partitions_for(period: str, start: dt.date) -> PartitionsDefinition:
    if period == "quarterly":
        first = dt.date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
        return TimeWindowPartitionsDefinition(
            cron_schedule="0 0 1 1,4,7,10 *", start=first.isoformat(), fmt="%Y-%m-%d"
        )
    return DailyPartitionsDefinition(start_date=start.isoformat(), end_offset=1)  # tonight's drop is today's


def drop_name(period: str, partition_key: str) -> str:
    """The landing-zone drop a partition stands for: 2024-03-01 -> 20240301 or 2024Q1."""
    day = dt.date.fromisoformat(partition_key)
    return f"{day.year}Q{(day.month - 1) // 3 + 1}" if period == "quarterly" else day.strftime("%Y%m%d")


def ingest_asset_key(system: str) -> AssetKey:
    return AssetKey(["staging", system])


def _named(file_name: str, reason: str | None) -> str:
    """`file: reason`, unless the reason already starts with the file."""
    text = reason or "rejected"
    return text if text.startswith(file_name) else f"{file_name}: {text}"


def _metadata(report: LoadReport, up_to: str) -> dict[str, Any]:
    totals = report.totals()
    status = report.by_status()
    meta: dict[str, Any] = {
        "loaded_up_to": up_to,
        "drops_processed": report.drops,
        "files_loaded": status.get("LOADED", 0),
        "files_duplicate": status.get("DUPLICATE", 0),
        "files_rejected": status.get("REJECTED", 0),
        "rows_in_files": totals["rows_in_file"],
        "rows_loaded": totals["rows_loaded"],
        "rows_quarantined": totals["rows_quarantined"],
        "row_versions_new": totals["rows_new"],
    }
    if report.quarantine_reasons:
        table = "\n".join(f"| {k} | {v} |" for k, v in sorted(report.quarantine_reasons.items()))
        meta["quarantined_by_kind"] = MetadataValue.md("| kind | rows |\n|---|---|\n" + table)
    return meta


def build_ingest_asset(system: SystemLayout, start: dt.date) -> AssetsDefinition:
    key = ingest_asset_key(system.system)
    parts = partitions_for(system.period, start)
    file_types = ", ".join(f.file_type for f in system.files)

    @asset(
        key=key,
        partitions_def=parts,
        retry_policy=NETWORK_RETRY,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_WRITER_POOL,
        group_name=INGEST_GROUP,
        description=f"{system.description} Loads {file_types} into the restricted zone.",
        check_specs=[
            AssetCheckSpec(
                DROPS_ACCEPTED,
                asset=key,
                blocking=True,
                description="Every delivered file was loaded (no drop rejected, no schema drift).",
            )
        ],
        kinds={"duckdb"},
    )
    def _ingest(context: AssetExecutionContext, paths: PipelinePaths) -> MaterializeResult:
        up_to = drop_name(system.period, context.partition_key_range.end)
        started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        report = ingest(
            paths.landing, paths.warehouse, systems=[system.system], up_to=up_to, run_id=context.run.run_id
        )
        con = connect(paths.warehouse)
        try:
            tables = ["load_audit", "quarantine"]
            tables += [f"{kind}_{f.file_type}" for f in system.files for kind in ("hist", "cur", "stg")]
            record_writes(
                con, context.run.run_id, context.asset_key.to_user_string(), tables, started_at=started
            )
        finally:
            con.close()
        for f in report.rejected:
            context.log.warning(f"REJECTED {f.file_name}: {f.reason}")
        totals = report.totals()
        context.log.info(
            f"{system.system}: {report.drops} drops up to {up_to}: {report.by_status()}; "
            f"{totals['rows_loaded']} rows loaded, {totals['rows_quarantined']} set aside"
        )
        rejected = report.rejected
        check = AssetCheckResult(
            check_name=DROPS_ACCEPTED,
            passed=not rejected,
            severity=AssetCheckSeverity.ERROR,
            description=(
                "; ".join(_named(f.file_name, f.reason) for f in rejected[:5])
                if rejected
                else "All delivered files loaded."
            ),
            metadata={
                "rejected_files": MetadataValue.md(
                    "| file | reason |\n|---|---|\n"
                    + "\n".join(f"| {f.file_name} | {f.reason} |" for f in rejected)
                )
                if rejected
                else MetadataValue.text("none")
            },
        )
        return MaterializeResult(metadata=_metadata(report, up_to), check_results=[check])

    return _ingest


def build_ingest_assets(layouts: Sequence[SystemLayout], start: dt.date) -> list[AssetsDefinition]:
    return [build_ingest_asset(s, start) for s in layouts]


#: Rows validated at a time (whole files; a bigger single file is one part on its own).
QUALITY_PART_ROWS = 1_000_000


def _quality_input(layout: FileLayout) -> Any:
    """What a file type's quality check validates: the rows its run stored, as staged, a few whole
    files at a time (a 19-quarter wage catch-up is 21 M rows: far too many for one frame)."""

    def load(context: AssetCheckExecutionContext) -> tuple[Iterator[Any], dt.date, tuple[int, int] | None]:
        from quality_checks.suites import staged_columns

        paths: PipelinePaths = context.resources.paths
        run_id = context.run.run_id
        con = connect(paths.warehouse, read_only=True)
        try:
            files = run_files(con, layout.file_type, run_id)
            history = delta_history(con, layout.file_type, run_id)
            parts = run_load_parts(con, layout.file_type, run_id, QUALITY_PART_ROWS)
        finally:
            con.close()
        dates = [d for _, d in files if d is not None]
        as_of = paths.as_of() or (max(dates) if dates else dt.date.today())
        # a row-count baseline fits one night's DELTA, not a catch-up of many nights or a FULL
        volume = volume_bounds(history) if len(files) == 1 and files[0][0] == "DELTA" else None
        columns = list(staged_columns(layout))

        def frames() -> Iterator[Any]:
            for load_ids in parts or [[]]:
                # a short read-only hold per part: the writers of other steps are not kept waiting
                part_con = connect(paths.warehouse, read_only=True)
                try:
                    yield loaded_by_run(part_con, layout.file_type, run_id, load_ids)[columns]
                finally:
                    part_con.close()

        return frames(), as_of, volume

    return load


def build_quality_checks(layouts: Sequence[SystemLayout]) -> list[AssetChecksDefinition]:
    """A blocking Great Expectations check per file type, on its system's ingest asset."""
    return [
        quality_check_for(
            ingest_asset_key(s.system), f.file_type, _quality_input(f), required_resource_keys=["paths"]
        )
        for s in layouts
        for f in s.files
    ]
