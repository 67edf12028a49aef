"""The warehouse proper: periods, wages, characteristics, indicators, co-enrollment, the PIRL
extract (restricted zone), then the analytics zone published whole. Every rule is in `warehouse/`;
these assets open the restricted zone, call one function, and report what it made."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import duckdb
import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets.ingest import ingest_asset_key
from assets.linkage import CUSTOMERS
from pipelines.resources import (
    NETWORK_RETRY,
    WAREHOUSE_WRITER_POOL,
    PipelinePaths,
    PostgresTarget,
    ReportingPolicy,
    run_as_of,
)
from warehouse.coenrollment import TABLES as COENROLLMENT_TABLES
from warehouse.coenrollment import CoenrollmentSettings, build_coenrollment
from warehouse.demographics import build_demographics
from warehouse.indicators import build_indicator_tables
from warehouse.ingest import connect
from warehouse.outcomes import build_wages
from warehouse.performance_report import write_reports
from warehouse.periods import build_periods
from warehouse.pirl import build_pirl, write_pirl_csv
from warehouse.postgres_target import publish_postgres
from warehouse.privacy import audited_writes
from warehouse.publish import publish_analytics

WAREHOUSE_GROUP = "warehouse"
PARTICIPATION = AssetKey(["warehouse", "participation"])
WAGES = AssetKey(["warehouse", "wages"])
DEMOGRAPHICS = AssetKey(["warehouse", "demographics"])
INDICATORS = AssetKey(["warehouse", "indicators"])
COENROLLMENT = AssetKey(["warehouse", "coenrollment"])
PIRL = AssetKey(["warehouse", "pirl"])
ANALYTICS = AssetKey(["analytics", "published"])
REPORTS = AssetKey(["reports", "performance"])
POSTGRES = AssetKey(["analytics", "postgres"])
PIRL_CSV = "pirl/pirl.csv"
WAGE_SYSTEM = "ui_wages"


@contextmanager
def restricted(paths: PipelinePaths) -> Iterator[duckdb.DuckDBPyConnection]:
    """The restricted zone for one step, closed however the step ends."""
    con = connect(paths.warehouse)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def writing(
    context: AssetExecutionContext, paths: PipelinePaths, tables: list[str]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The restricted zone for a step that rewrites `tables`, recorded in `write_audit` when it completes."""
    with (
        restricted(paths) as con,
        audited_writes(con, context.run.run_id, context.asset_key.to_user_string(), tables),
    ):
        yield con


def _as_of(context: AssetExecutionContext, paths: PipelinePaths) -> date:
    return run_as_of(dict(context.run.tags), paths)


def _md_table(df: pd.DataFrame) -> str:
    """A small frame as markdown (no tabulate dependency)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = [
        "| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


@asset(
    key=PARTICIPATION,
    deps=[CUSTOMERS],
    pool=WAREHOUSE_WRITER_POOL,
    group_name=WAREHOUSE_GROUP,
    kinds={"duckdb"},
    description="Periods of participation of the six core programs (participation) and reportable "
    "individuals, rebuilt as of the run date with the state's exit policy.",
)
def participation(
    context: AssetExecutionContext, paths: PipelinePaths, reporting: ReportingPolicy
) -> MaterializeResult:
    with writing(context, paths, ["participation", "reportable_individuals"]) as con:
        stats = build_periods(con, _as_of(context, paths), reporting.periods())
    context.log.info(
        f"{stats['periods']:,} periods ({stats['periods_open']:,} open), {stats['reportable']:,} reportable "
        f"individuals; {stats['periods_without_customer']:,} periods without a customer"
    )
    return MaterializeResult(metadata={k: int(v) for k, v in stats.items()})


@asset(
    key=WAGES,
    deps=[CUSTOMERS, ingest_asset_key(WAGE_SYSTEM)],
    pool=WAREHOUSE_WRITER_POOL,
    group_name=WAREHOUSE_GROUP,
    kinds={"duckdb"},
    description="UI wages per customer and quarter (and per employer), matched on each customer's best SSN "
    "inside the restricted zone; the wage quarters available.",
)
def wages(context: AssetExecutionContext, paths: PipelinePaths) -> MaterializeResult:
    with restricted(paths) as con:
        with audited_writes(
            con,
            context.run.run_id,
            context.asset_key.to_user_string(),
            ["wages_by_customer_quarter", "wages_by_customer_employer_quarter", "wage_quarters"],
        ):
            stats = build_wages(con)
        quarters = [f"{y}Q{q}" for y, q in con.execute("SELECT year, quarter FROM wage_quarters").fetchall()]
    context.log.info(
        f"{stats['customers_with_wages']:,} customers with wages; latest wage quarter "
        f"{quarters[-1] if quarters else 'none'}"
    )
    return MaterializeResult(
        metadata={
            **{k: int(v) for k, v in stats.items()},
            "wage_quarters": len(quarters),
            "latest_wage_quarter": quarters[-1] if quarters else "none",
        }
    )


@asset(
    key=DEMOGRAPHICS,
    deps=[PARTICIPATION],
    pool=WAREHOUSE_WRITER_POOL,
    group_name=WAREHOUSE_GROUP,
    kinds={"duckdb"},
    description="The customer dimension (customer_demographics) and each period's characteristics at entry "
    "(period_characteristics) for the breakdowns.",
)
def demographics(context: AssetExecutionContext, paths: PipelinePaths) -> MaterializeResult:
    with writing(context, paths, ["customer_demographics", "period_characteristics"]) as con:
        stats = build_demographics(con, _as_of(context, paths))
    context.log.info(f"characteristics: {stats}")
    return MaterializeResult(metadata={k: int(v) for k, v in stats.items()})


@asset(
    key=INDICATORS,
    deps=[PARTICIPATION, WAGES, DEMOGRAPHICS],
    pool=WAREHOUSE_WRITER_POOL,
    group_name=WAREHOUSE_GROUP,
    kinds={"duckdb"},
    description="The six WIOA indicators by program and program year (indicators), rolling quarters "
    "(indicators_quarterly) and breakdowns (indicator_breakdowns).",
)
def indicators(
    context: AssetExecutionContext, paths: PipelinePaths, reporting: ReportingPolicy
) -> MaterializeResult:
    with writing(context, paths, ["indicators", "indicators_quarterly", "indicator_breakdowns"]) as con:
        tables = build_indicator_tables(con, _as_of(context, paths), reporting.indicators())
    annual = tables.annual
    latest = annual[annual["program_year"] == annual["program_year"].max()] if len(annual) else annual
    shown = latest.assign(
        value=[
            "**" if s else ("" if pd.isna(v) else (f"{v:,.0f}" if i.startswith("MEDIAN") else f"{v:.1%}"))
            for v, s, i in zip(latest["value"], latest["suppressed"], latest["indicator"], strict=True)
        ]
    ).pivot_table(index="program", columns="indicator", values="value", aggfunc="first")
    context.log.info(
        f"{len(annual):,} annual cells ({int(annual['suppressed'].sum()):,} suppressed), "
        f"{len(tables.quarterly):,} quarterly, {len(tables.breakdowns):,} breakdown cells"
    )
    return MaterializeResult(
        metadata={
            "annual_cells": len(annual),
            "quarterly_cells": len(tables.quarterly),
            "breakdown_cells": len(tables.breakdowns),
            "suppressed_cells": int(annual["suppressed"].sum()),
            "pending_periods": int(annual["pending"].sum()),
            "latest_program_year": MetadataValue.md(
                _md_table(shown.reset_index()) if len(shown) else "no indicators yet"
            ),
        }
    )


@asset(
    key=COENROLLMENT,
    deps=[PARTICIPATION],
    pool=WAREHOUSE_WRITER_POOL,
    group_name=WAREHOUSE_GROUP,
    kinds={"duckdb"},
    description="Co-enrollment: customers by program combination (coenrollment), shares co-enrolled "
    "(coenrollment_overlap), UI claimants and WP, VR wait list and WP, Adult Ed and Title I.",
)
def coenrollment(
    context: AssetExecutionContext, paths: PipelinePaths, reporting: ReportingPolicy
) -> MaterializeResult:
    with restricted(paths) as con:
        settings = CoenrollmentSettings(suppression_threshold=reporting.suppression_threshold)
        with audited_writes(
            con, context.run.run_id, context.asset_key.to_user_string(), list(COENROLLMENT_TABLES)
        ):
            stats = build_coenrollment(con, _as_of(context, paths), settings)
        latest = con.execute(
            "SELECT programs, customers, suppressed FROM coenrollment WHERE program_year = "
            "(SELECT max(program_year) FROM coenrollment) ORDER BY customers DESC"
        ).df()
    latest["customers"] = latest["customers"].where(~latest["suppressed"], "**")
    context.log.info(
        f"co-enrollment: {stats['coenrollment_customer_years_in_several_programs']:,} customer-years in "
        "several programs"
    )
    return MaterializeResult(
        metadata={
            **{k: int(v) for k, v in stats.items()},
            "latest_year_combinations": MetadataValue.md(_md_table(latest.drop(columns=["suppressed"]))),
        }
    )


@asset(
    key=PIRL,
    deps=[PARTICIPATION, WAGES],
    pool=WAREHOUSE_WRITER_POOL,
    group_name=WAREHOUSE_GROUP,
    kinds={"duckdb", "csv"},
    description="The PIRL-shaped extract, one row per period of participation (restricted: it carries "
    "dates of birth), and its CSV (0600) under <warehouse>/pirl/.",
)
def pirl(context: AssetExecutionContext, paths: PipelinePaths) -> MaterializeResult:
    with restricted(paths) as con:
        with audited_writes(con, context.run.run_id, context.asset_key.to_user_string(), ["pirl"]):
            stats = build_pirl(con, _as_of(context, paths))
        out = paths.warehouse / PIRL_CSV
        out.parent.mkdir(mode=0o700, exist_ok=True)
        write_pirl_csv(con, out)
    context.log.info(f"PIRL extract: {stats['pirl_rows']:,} periods written to {out}")
    return MaterializeResult(
        metadata={**{k: int(v) for k, v in stats.items()}, "csv": MetadataValue.path(str(out))}
    )


@asset(
    key=ANALYTICS,
    deps=[INDICATORS, DEMOGRAPHICS, WAGES, PARTICIPATION, COENROLLMENT],
    pool=WAREHOUSE_WRITER_POOL,
    group_name=WAREHOUSE_GROUP,
    kinds={"duckdb", "parquet"},
    description="The de-identified analytics zone: analytics.duckdb, parquet/<table>/ and the data dictionary, "
    "built beside the published one and swapped in whole.",
)
def analytics(context: AssetExecutionContext, paths: PipelinePaths) -> MaterializeResult:
    with restricted(paths) as con:
        res = publish_analytics(con, paths.warehouse, context.run.run_id, as_of=_as_of(context, paths))
    context.log.info(f"published {len(res.rows)} tables to {res.analytics_path} and {res.parquet_path}")
    return MaterializeResult(
        metadata={
            "tables": MetadataValue.json(res.rows),
            "analytics_db": MetadataValue.path(str(res.analytics_path)),
            "parquet": MetadataValue.path(str(res.parquet_path)),
            "data_dictionary": MetadataValue.path(str(res.dictionary_path)),
        }
    )


@asset(
    key=REPORTS,
    deps=[ANALYTICS],
    group_name=WAREHOUSE_GROUP,
    kinds={"excel", "html"},
    description="The performance report for people (Excel workbook and self-contained HTML with charts), "
    "from the analytics zone only; small cells shown as **.",
)
def reports(
    context: AssetExecutionContext, paths: PipelinePaths, reporting: ReportingPolicy
) -> MaterializeResult:
    files = write_reports(paths.warehouse, _as_of(context, paths), reporting.suppression_threshold)
    context.log.info(f"reports written: {files.xlsx} and {files.html}")
    return MaterializeResult(
        metadata={"xlsx": MetadataValue.path(str(files.xlsx)), "html": MetadataValue.path(str(files.html))}
    )


@asset(
    key=POSTGRES,
    retry_policy=NETWORK_RETRY,
    deps=[ANALYTICS],
    group_name=WAREHOUSE_GROUP,
    kinds={"postgres"},
    description="The analytics zone also published to PostgreSQL (only when WW_POSTGRES_URL is set): "
    "a schema swapped in whole, readable by the read-only analyst role and by nothing else of ours.",
)
def postgres(
    context: AssetExecutionContext, paths: PipelinePaths, postgres_target: PostgresTarget
) -> MaterializeResult:
    rows = publish_postgres(
        paths.warehouse,
        postgres_target.url,
        schema=postgres_target.schema_name,
        analyst_role=postgres_target.analyst_role,
    )
    context.log.info(f"published {len(rows)} tables to PostgreSQL schema {postgres_target.schema_name}")
    return MaterializeResult(
        metadata={"schema": postgres_target.schema_name, "tables": MetadataValue.json(rows)}
    )
