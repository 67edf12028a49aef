"""Wage outcomes per customer and quarter, from the UI wage records.

Wages find their customer through `customer_identity.ssn` (the customer's best SSN), so a learner
whose own record has no SSN still gets wages when linkage tied them to a record that has one. The
SSN join happens inside the restricted zone and the output tables carry only the customer id.
A quarter whose wage file has not arrived is *pending*, not zero: `wage_quarters_available` says
which quarters have arrived, and the indicators treat the others as not yet available.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from warehouse.sql import has_table, registered, run_named, transaction

WAGE_FILE_TYPE = "ui_wages"


def _run(con: duckdb.DuckDBPyConnection, name: str, values: dict[str, Any] | None = None) -> list[Any]:
    """Run `outcomes/<name>`, binding the `$x` values it names."""
    return run_named(con, f"outcomes/{name}", values)


def build_wages(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """(Re)build `wages_by_customer_employer_quarter` and `wages_by_customer_quarter`; return counts.

    Reads `stg_ui_wages` and `customer_identity`; also writes `wage_quarters`, the quarters whose
    wage file has arrived (`wage_quarters_available`), for analysts. Wages are kept as signed sums (an adjustment can
    be negative); employment is decided downstream as total > 0. One transaction.
    """
    delivered = pd.DataFrame(wage_quarters_available(con), columns=["year", "quarter"], dtype="int32")
    with transaction(con):
        _run(con, "employer_quarter.sql")
        _run(con, "customer_quarter.sql")
        with registered(con, "wage_quarters_frame", delivered):
            con.execute(
                "CREATE OR REPLACE TABLE wage_quarters AS SELECT * FROM wage_quarters_frame ORDER BY ALL"
            )
        stats = {
            "wage_rows_by_employer": int(
                con.execute("SELECT count(*) FROM wages_by_customer_employer_quarter").fetchall()[0][0]
            ),
            "wage_rows_by_customer": int(
                con.execute("SELECT count(*) FROM wages_by_customer_quarter").fetchall()[0][0]
            ),
            "customers_with_wages": int(
                con.execute("SELECT count(DISTINCT customer_id) FROM wages_by_customer_quarter").fetchall()[
                    0
                ][0]
            ),
        }
    return stats


def wage_quarters_available(con: duckdb.DuckDBPyConnection) -> list[tuple[int, int]]:
    """(year, quarter) of every wage quarter whose file has arrived, in order.

    The load audit is the authority (a LOADED wage drop); without one (a hand-built warehouse), the
    quarters present in `stg_ui_wages`.
    """
    rows: list[Any] = []
    if has_table(con, "load_audit"):
        rows = _run(con, "quarters_audit.sql", {"file_type": WAGE_FILE_TYPE})
    if not rows and has_table(con, "stg_ui_wages"):
        rows = _run(con, "quarters_staged.sql")
    return [(int(y), int(q)) for y, q in rows]
