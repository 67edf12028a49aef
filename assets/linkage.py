"""The common customer: tonight's linkage of person records (restricted zone), with its
diagnostics attached to the materialization. The work is in `warehouse.linkage`."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets.persons import PERSON_RECORDS
from linkage.diagnostics import run_diagnostics
from pipelines.resources import WAREHOUSE_WRITER_POOL, LinkagePolicy, PipelinePaths, run_as_of
from warehouse.ingest import connect
from warehouse.linkage import link
from warehouse.privacy import audited_writes

CUSTOMERS = AssetKey(["linkage", "customers"])
LINKAGE_GROUP = "linkage"
REPORT = "linkage_report.html"
LINKAGE_TABLES = ["customer_xref", "customer_identity", "customer_id_history", "linkage_runs", "review_queue"]


@asset(
    key=CUSTOMERS,
    deps=[PERSON_RECORDS],
    pool=WAREHOUSE_WRITER_POOL,
    group_name=LINKAGE_GROUP,
    kinds={"duckdb", "splink"},
    description="Person records linked into customers (Splink): customer_xref, customer_id_history, "
    "customer_identity, the clerical review queue. Incremental nightly, full relink on the policy's cadence.",
)
def customers(
    context: AssetExecutionContext, paths: PipelinePaths, linkage: LinkagePolicy
) -> MaterializeResult:
    run_date = run_as_of(dict(context.run.tags), paths)
    con = connect(paths.warehouse)
    try:
        with audited_writes(con, context.run.run_id, context.asset_key.to_user_string(), LINKAGE_TABLES):
            out = link(con, paths.warehouse, run_date, context.run.run_id, linkage.config())
    finally:
        con.close()
    c = out.counts
    context.log.info(
        f"linkage {out.mode} with model {out.model_id}: {c['records']:,} records -> {c['customers']:,} customers; "
        f"{c['dirty']:,} scored tonight, {c['links']:,} links, {c['review_queue']:,} pairs await review "
        f"({out.seconds})"
    )
    diag = run_diagnostics(out.model, out.pairs, out.clusters, linkage.threshold)
    (paths.warehouse / "linkage").mkdir(parents=True, exist_ok=True)
    report = diag.write_html(paths.warehouse / "linkage" / REPORT)
    linked_share = diag.summary.get("share_records_in_multi_record_clusters", 0.0)
    return MaterializeResult(
        metadata={
            "mode": out.mode,
            "model_id": out.model_id,
            **{k: int(v) for k, v in c.items()},
            "share_of_records_linked": MetadataValue.float(float(linked_share)),
            "seconds": MetadataValue.json(out.seconds),
            "diagnostics": MetadataValue.md(diag.markdown_with_images()),
            "report": MetadataValue.path(str(report)),
        }
    )
