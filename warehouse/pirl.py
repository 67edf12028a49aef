"""Per-period outcomes in the shape of DOL's PIRL (Participant Individual Record Layout): `pirl`.

One row per period of participation in `participation`, with the PIRL elements the warehouse can
fill (domain file, "PIRL elements worth knowing"); the SQL and each element's rule are in
`warehouse/sql/pirl/` (out.sql lists them). `pirl` lives in the RESTRICTED zone: like the real
PIRL it carries date of birth. It never carries an SSN: element 100 is the customer id (an opaque
sequence number), and for a period whose record is not linked to a customer, a stable surrogate
`U` + 16 hex digits of the SHA-256 of `source_system:source_record_id` (record keys, never an SSN).

Where our coding is narrower than PIRL's:
- 903 / 904 / 905 (and 910, 917, 918) are 0/1 only: 1 when the customer has a period in that program
  overlapping this one (both ends inclusive; an open period runs to the as-of date; the row's own
  program is always 1). PIRL codes 903-905 with more values (e.g. reportable individuals, the
  Youth/DW sub-types), which our sources do not carry. An unlinked period only flags its own program.
- 1600-1606 are 0 / 1 / 9: codes 2 (registered apprenticeship) and 3 (military) are not in our
  sources. An unlinked period has no wage match, so 0 where the quarter has arrived.
- 1703-1706 are blank, not PIRL's 999999.99, while the quarter's wage file has not arrived; a
  negative total (adjustments) is reported as 0.00.
- 1806-1810 follow the contract's skill-gain codes 1-5 in order (`SKILL_GAIN_ELEMENTS`). The
  published PIRL names 1807 "postsecondary transcript/report card" and 1808 "secondary
  transcript/report card"; our sources do not split transcripts and code 2 (secondary diploma) goes
  to 1807 here. A state whose PIRL version differs changes `SKILL_GAIN_ELEMENTS` and the names.

Other choices: 923 is the period's own exit reason (not the common-exit chain's, which the
indicators may apply); 1811 counts enrollments dated strictly after exit; 1813 also fills for an
open period whose training ended by the as-of date (still "during participation"); an Adult Ed
outcome belongs to one period only, the student's latest entered on or before its date.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from warehouse.files import write_text_atomic
from warehouse.outcomes import wage_quarters_available
from warehouse.sql import has_table, run_named, sql, transaction

SEX_CODES: dict[str, int] = {"M": 1, "F": 2}
"""customer_identity.sex (M, F; U is stored as NULL) -> PIRL 201."""
SEX_NOT_SELF_IDENTIFIED = 9
"""PIRL 201 when the sex is unknown or the person did not self-identify."""

SKILL_GAIN_ELEMENTS: dict[str, str] = {
    "1": "1806",  # educational functioning level
    "2": "1807",  # secondary diploma
    "3": "1808",  # transcript or report card
    "4": "1809",  # training milestone
    "5": "1810",  # skills progression
}
"""Skill-gain code (Title I / VR, the contract's codes) -> the PIRL element holding its latest date."""
AE_EFL_GAIN = "1"
"""The skill-gain code an Adult Ed EFL gain (post-test above the period's first test) counts as."""
AE_DIPLOMA_GAIN = "2"
"""The skill-gain code an Adult Ed HSE / diploma counts as."""
AE_DIPLOMA_CREDENTIAL = "1"
"""The credential type (1800) of an Adult Ed HSE / diploma: secondary diploma or equivalent."""

NO_EXIT_REASON = "00"
UNLINKED_PREFIX = "U"
"""Element 100 of an unlinked period starts with this; a customer id is all digits."""

PIRL_FILE_MODE = 0o600

_TEMPS = (
    "pirl_periods",
    "pirl_records",
    "pirl_events",
    "pirl_wages",
    "pirl_employers",
    "pirl_identity",
)


@dataclass(frozen=True)
class PirlSettings:
    """The run's facts a state may override."""

    delivered_wage_quarters: tuple[tuple[int, int], ...] | None = None
    """(year, quarter) whose wage file has arrived; None: `wage_quarters_available` (load audit)."""


def _run(con: duckdb.DuckDBPyConnection, name: str, values: dict[str, Any] | None = None) -> None:
    """Run `pirl/<name>`, binding the `$x` values it names."""
    run_named(con, f"pirl/{name}", values)


def build_pirl(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, settings: PirlSettings | None = None
) -> dict[str, int]:
    """(Re)build `pirl` as of `as_of`, in one transaction; return counts.

    Reads `participation`, `customer_identity` (and `person_records` for unlinked periods' birth
    date and sex, when present), the wage outcome tables, `customer_xref`, and the staged outcome,
    assessment and attendance tables. Quarter N after exit is the Nth calendar quarter after the one
    holding the exit date, counted as the indicators count it (`year * 4 + quarter - 1`).
    """
    s = settings or PirlSettings()
    quarters = (
        s.delivered_wage_quarters if s.delivered_wage_quarters is not None else wage_quarters_available(con)
    )
    gain_codes = sorted(SKILL_GAIN_ELEMENTS, key=lambda code: SKILL_GAIN_ELEMENTS[code])
    values: dict[str, Any] = {
        "as_of": as_of,
        "delivered": sorted({y * 4 + q - 1 for y, q in quarters}) or [-1],
        "gain_codes": gain_codes,
        "ae_efl_gain": AE_EFL_GAIN,
        "ae_diploma_gain": AE_DIPLOMA_GAIN,
        "ae_diploma_credential": AE_DIPLOMA_CREDENTIAL,
        "sex_values": list(SEX_CODES),
        "sex_codes": list(SEX_CODES.values()),
        "sex_unknown": SEX_NOT_SELF_IDENTIFIED,
        "no_exit_reason": NO_EXIT_REASON,
        "surrogate_prefix": UNLINKED_PREFIX,
    }
    with transaction(con):
        _run(con, "macros.sql")
        _run(con, "periods.sql", values)
        _run(con, "records.sql" if has_table(con, "customer_xref") else "records_no_xref.sql", values)
        _run(con, "events.sql", values)
        _run(con, "wages.sql")
        _run(con, "employers.sql")
        _run(con, "identity_empty.sql")
        if has_table(con, "customer_identity"):
            _run(con, "identity_customers.sql")
        if has_table(con, "person_records"):
            _run(con, "identity_records.sql")
        _run(con, "out.sql", values)
        for temp in _TEMPS:
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        cur = con.execute(sql("pirl/stats.sql"))
        names = [d[0] for d in cur.description or ()]
        stats = {k: int(v) for k, v in zip(names, cur.fetchall()[0], strict=True)}
    return stats


def write_pirl_csv(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """Write `pirl` as CSV to `path`, atomically and readable by the owner only (0600: it holds
    dates of birth). Columns: `program`, then `<element>_<short name>`; `period_id` and
    `customer_id` are left out (100 identifies the customer). Returns `path`."""
    cur = con.execute(sql("pirl/csv.sql"))
    header = [d[0] for d in cur.description or ()]
    rows = cur.fetchall()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return write_text_atomic(Path(path), buf.getvalue(), PIRL_FILE_MODE)
