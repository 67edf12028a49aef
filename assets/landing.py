"""The landing stage: verify every drop of the landing zone and record the inventory.

The verification itself lives in `sources.landing`, driven by the declarative layouts in
`sources/layouts/`; these wrappers run it against the resource's paths, publish the inventory
as Parquet and report it in Dagster.
"""

from collections import Counter

import pyarrow.parquet as pq
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from pipelines.resources import NETWORK_RETRY, WAREHOUSE_WRITER_POOL, PipelinePaths
from sources.landing import Drop, Status, discover_drops, inventory_table
from warehouse.files import write_parquet_atomic
from warehouse.ingest import verification_memo

MAX_ROWS_IN_METADATA = 50
MAX_REASONS_IN_DESCRIPTION = 10


def _md_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def rejected_markdown(rows: list[dict[str, object]]) -> str:
    """A markdown table of rejected files (`system`, `drop`, `file`, `reason` keys)."""
    if not rows:
        return "No rejected files."
    lines = ["| system | drop | file | reason |", "|---|---|---|---|"]
    for row in rows[:MAX_ROWS_IN_METADATA]:
        cells = (_md_cell(row.get(k)) for k in ("system", "drop", "file", "reason"))
        lines.append("| " + " | ".join(cells) + " |")
    if len(rows) > MAX_ROWS_IN_METADATA:
        lines.append(f"\n… and {len(rows) - MAX_ROWS_IN_METADATA} more (see the inventory file).")
    return "\n".join(lines)


@asset(
    retry_policy=NETWORK_RETRY,
    group_name="landing",
    pool=WAREHOUSE_WRITER_POOL,
    kinds={"parquet"},
    description=(
        "Every drop found in the landing zone, verified for completeness as its system's layout "
        "(sources/layouts) declares it (control files, headers, trailers, digests): one row per "
        "delivered file with status VERIFIED or REJECTED and the reason; a directory no layout "
        "describes is REJECTED. Written to <warehouse>/inventory/landing_inventory.parquet."
    ),
)
def landing_inventory(context: AssetExecutionContext, paths: PipelinePaths) -> MaterializeResult:
    drops: list[Drop] = discover_drops(paths.landing, memo=verification_memo(paths.warehouse))
    table = inventory_table(drops)
    out = write_parquet_atomic(table, paths.inventory_path)

    rows = table.to_pylist()
    rejected_rows = [r for r in rows if r["status"] == Status.REJECTED]
    for row in rejected_rows:
        context.log.warning(f"REJECTED {row['reason']}")
    drops_per_system = dict(sorted(Counter(d.system for d in drops).items()))
    verified_drops = sum(1 for d in drops if d.status is Status.VERIFIED)
    context.log.info(
        f"landing inventory: {len(drops)} drops ({verified_drops} verified, "
        f"{len(drops) - verified_drops} rejected) from {paths.landing} -> {out}"
    )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(out)),
            "landing": MetadataValue.path(str(paths.landing)),
            "drops": len(drops),
            "drops_per_system": MetadataValue.json(drops_per_system),
            "verified_drops": verified_drops,
            "rejected_drops": len(drops) - verified_drops,
            "files": len(rows),
            "verified_files": len(rows) - len(rejected_rows),
            "rejected_files": len(rejected_rows),
            "rejected": MetadataValue.md(rejected_markdown(rejected_rows)),
        }
    )


@asset_check(
    asset=landing_inventory,
    blocking=True,
    description="Fails when any drop of the landing zone is REJECTED; names the files and reasons.",
)
def landing_drops_verified(paths: PipelinePaths) -> AssetCheckResult:
    table = pq.read_table(paths.inventory_path)
    rows = table.to_pylist()
    rejected = [r for r in rows if r["status"] == Status.REJECTED]
    rejected_drops = sorted({f"{r['system']}/{r['drop']}" if r["drop"] else r["system"] for r in rejected})
    at_fault = [r["reason"] for r in rejected if "held back with its drop" not in (r["reason"] or "")]
    description = "All drops verified."
    if rejected:
        description = (
            f"{len(rejected_drops)} drop(s) rejected ({', '.join(rejected_drops)}): "
            + "; ".join(at_fault[:MAX_REASONS_IN_DESCRIPTION])
            + (
                f"; … {len(at_fault) - MAX_REASONS_IN_DESCRIPTION} more"
                if len(at_fault) > MAX_REASONS_IN_DESCRIPTION
                else ""
            )
        )
    return AssetCheckResult(
        passed=not rejected,
        severity=AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "rejected_drops": MetadataValue.json(rejected_drops),
            "rejected_files": len(rejected),
            "rejected": MetadataValue.md(rejected_markdown(rejected)),
        },
    )
