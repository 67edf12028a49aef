"""The canonical person records (restricted zone) that linkage consumes."""

from collections.abc import Sequence

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue, asset

from assets.ingest import INGEST_GROUP, ingest_asset_key
from pipelines.resources import WAREHOUSE_WRITER_POOL, PipelinePaths
from sources.layout import SystemLayout
from warehouse.ingest import connect
from warehouse.persons import build_person_records

PERSON_RECORDS = AssetKey(["staging", "person_records"])


def build_person_records_asset(layouts: Sequence[SystemLayout]) -> AssetsDefinition:
    person_systems = [s for s in layouts if any(f.person for f in s.files)]

    @asset(
        key=PERSON_RECORDS,
        deps=[ingest_asset_key(s.system) for s in person_systems],
        pool=WAREHOUSE_WRITER_POOL,
        group_name=INGEST_GROUP,
        kinds={"duckdb"},
        description="One standardized person record per person-bearing source record, across all systems.",
    )
    def _person_records(context: AssetExecutionContext, paths: PipelinePaths) -> MaterializeResult:
        con = connect(paths.warehouse)
        try:
            counts = build_person_records(con, layouts, as_of=paths.as_of())
            ssn = con.execute(
                "SELECT ssn_status, count(*) FROM person_records GROUP BY 1 ORDER BY 1"
            ).fetchall()
            dob = con.execute(
                "SELECT birth_date_status, count(*) FROM person_records GROUP BY 1 ORDER BY 1"
            ).fetchall()
        finally:
            con.close()
        context.log.info(f"person records: {counts}")
        return MaterializeResult(
            metadata={
                "records": sum(counts.values()),
                "records_by_system": MetadataValue.json(counts),
                "ssn_status": MetadataValue.md(
                    "| status | records |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in ssn)
                ),
                "birth_date_status": MetadataValue.md(
                    "| status | records |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in dob)
                ),
            }
        )

    return _person_records
