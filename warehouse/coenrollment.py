"""Co-enrollment across the six core programs and UI: five de-identified, suppressed count tables.

The domain file ("Co-enrollment"): a common customer is co-enrolled in two programs when their
periods of participation overlap. The unit is the individual: the customer, or for a period (claim,
case) without one the source record on its own (`source_system:source_record_id`). Program year
PY N runs July 1 N - June 30 N+1; a period is in PY N when it overlaps it; open periods (and
wait-list spans) run to the as-of date, and nothing after it counts. Two periods make a co-enrollment
in PY N when they overlap and the overlap falls inside PY N, so the PY N numbers say what happened
in PY N, and (A, B) co-enrolled always means (B, A) co-enrolled too.

Tables (rebuilt whole in one transaction; the SQL is in `warehouse/sql/coenrollment/`):

- `coenrollment`: program combination x period. `programs` is each individual's set of programs
  in the PY, `+`-joined in the one program order of `CoenrollmentSettings.programs` (ADULT, DW,
  YOUTH, ADULT_ED, WP, VR: `warehouse.periods.PROGRAMS`); exactly one combination per individual
  per PY, and the row `programs = 'ALL'` is their sum, the PY's unduplicated participants.
- `coenrollment_overlap`: period x program x other program: `participants` of the program in the
  PY, `coenrolled` (of them, co-enrolled in the other program during the PY), `share`.
- `ui_claimants_wp`: period of the claim filing date: UI claimants, registered with WP, served by
  WP within a window of their (first in the PY) claim, days to the first WP service, RESEA.
- `vr_waitlist_wp`: period: VR order-of-selection wait-list customers, those served by WP while
  on the list (inside the span and the PY), `share`.
- `adult_ed_title1`: period x Title I program (and ANY): Adult Ed learners, those co-enrolled.

Disclosure (`warehouse.suppression`; true numbers stay, `suppressed` says print ``**``): the
combinations with their ALL row are an additive group (`suppress_counts`). Each program's
participants in `coenrollment_overlap` (and Adult Ed learners in `adult_ed_title1`) are the sum of
the combinations that contain the program, so they are further published equations: complementary
suppression runs over those too, and a program total that must be withheld hides its rows in the
other tables. Shares and their counts follow `rate_suppressed` with the numerator protected (a row's
co-enrolled count, or participants minus it, below the threshold is a small cell), and (A, B) and
(B, A) are withheld together since they publish the same count; medians and means of days follow
`median_suppressed`. Suppression sees one run's tables only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from warehouse.periods import PROGRAMS, PeriodPolicy
from warehouse.sql import has_table, registered, run_named, sql, transaction
from warehouse.suppression import (
    DEFAULT_THRESHOLD,
    Group,
    median_suppressed,
    protect,
    rate_suppressed,
    suppress_counts,
)

ALL_COMBINATIONS: Final = "ALL"
"""`programs` of the row holding a PY's unduplicated participants (a total marker of suppression)."""
ANY_TITLE1: Final = "ANY"
ADULT_ED: Final = "ADULT_ED"
TITLE1_PROGRAMS: Final = ("ADULT", "DW", "YOUTH")

TABLES: Final = (
    "coenrollment",
    "coenrollment_overlap",
    "ui_claimants_wp",
    "vr_waitlist_wp",
    "adult_ed_title1",
)
_TEMPS: Final = (
    "coen_xref",
    "coen_wp_services",
    "coen_periods",
    "coen_years",
    "coen_in_year",
    "coen_pairs",
    "coen_out_combinations",
    "coen_out_overlap",
    "coen_out_adult_ed",
    "coen_out_ui",
    "coen_out_vr",
)


@dataclass(frozen=True)
class CoenrollmentSettings:
    """State policy choices for the co-enrollment tables."""

    suppression_threshold: int = DEFAULT_THRESHOLD
    wp_service_window_days: int = 365
    """A UI claimant is served by WP when a qualifying service falls on the claim date or at most this
    many days after it."""
    programs: tuple[str, ...] = PROGRAMS
    """The programs and the one order in which a combination lists them (and rows are sorted)."""
    title1_programs: tuple[str, ...] = TITLE1_PROGRAMS
    wp_qualifying_codes: tuple[str, ...] = PeriodPolicy().wp_qualifying_codes
    """The WP services that make a participant: keep equal to the policy the periods were built with."""


def _run(con: duckdb.DuckDBPyConnection, name: str, values: dict[str, Any]) -> None:
    """Run `coenrollment/<name>`, binding the `$x` values it names."""
    run_named(con, f"coenrollment/{name}", values)


def build_coenrollment(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, settings: CoenrollmentSettings | None = None
) -> dict[str, int]:
    """(Re)build the five co-enrollment tables as of `as_of`; return counts for the run's metadata.

    Reads `participation`, `stg_ui_claims`, `stg_wp_services`, `stg_wp_registrations`,
    `stg_vr_cases` and, when linkage has run, `customer_xref` (without it no claim or wait-list case
    can be tied to a WP service). One transaction: readers see the old tables or the new ones.
    """
    s = settings or CoenrollmentSettings()
    _check_programs(con, s.programs)
    values: dict[str, Any] = {
        "as_of": as_of,
        "codes": list(s.wp_qualifying_codes) or [""],
        "programs": list(s.programs),
        "title1": list(s.title1_programs) or [""],
        "all_label": ALL_COMBINATIONS,
        "any_label": ANY_TITLE1,
        "adult_ed": ADULT_ED,
        "window": s.wp_service_window_days,
    }
    with transaction(con):
        _run(con, "macros.sql", {})
        _run(con, "xref.sql" if has_table(con, "customer_xref") else "xref_empty.sql", {})
        for name in (
            "wp_services.sql",
            "periods.sql",
            "years.sql",
            "in_year.sql",
            "pairs.sql",
            "combinations.sql",
            "overlap.sql",
            "adult_ed_title1.sql",
            "ui_claimants_wp.sql",
            "vr_waitlist_wp.sql",
        ):
            _run(con, name, values)
        frames = _tables(con, s)
        stats = _stats(con, frames)
        _run(con, "ddl.sql", {})
        for table in TABLES:
            with registered(con, "coen_frame", frames[table]):
                con.execute(sql("coenrollment/insert.sql", table=table))
        for temp in _TEMPS:
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    return stats


def _check_programs(con: duckdb.DuckDBPyConnection, programs: Sequence[str]) -> None:
    """A program outside the settings' order would make combinations without a fixed spelling."""
    found = {str(p) for (p,) in con.execute("SELECT DISTINCT program FROM participation").fetchall()}
    if unknown := sorted(found - set(programs)):
        raise ValueError(f"participation has programs not in the co-enrollment order: {unknown}")


def _frame(con: duckdb.DuckDBPyConnection, temp: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {temp} ORDER BY ALL").df()


def _tables(con: duckdb.DuckDBPyConnection, s: CoenrollmentSettings) -> dict[str, pd.DataFrame]:
    """The five published frames with their suppression flags."""
    t = s.suppression_threshold
    combos, hidden = _combinations(_frame(con, "coen_out_combinations"), s.programs, t)
    overlap = _overlap(_frame(con, "coen_out_overlap"), s.programs, hidden, t)
    adult_ed = _adult_ed(_frame(con, "coen_out_adult_ed"), overlap, s.title1_programs, hidden, t)
    return {
        "coenrollment": combos,
        "coenrollment_overlap": overlap,
        "ui_claimants_wp": _ui(_frame(con, "coen_out_ui"), t),
        "vr_waitlist_wp": _vr(_frame(con, "coen_out_vr"), t),
        "adult_ed_title1": adult_ed,
    }


def _period(df: pd.DataFrame) -> pd.DataFrame:
    """`period` (PY2024) beside `program_year`, both first."""
    out = df.assign(period="PY" + df["program_year"].astype("int64").astype(str))
    out["program_year"] = out["program_year"].astype("int32")
    rest = [c for c in out.columns if c not in ("period", "program_year")]
    return out.loc[:, ["period", "program_year", *rest]].reset_index(drop=True)


def _share(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den, NaN (NULL in the table) where there is no denominator."""
    return (num / den.where(den > 0)).astype(float)


def _combinations(
    df: pd.DataFrame, programs: Sequence[str], threshold: int
) -> tuple[pd.DataFrame, set[tuple[int, str]]]:
    """The `coenrollment` frame, and the (PY, program) whose participant total must be withheld.

    `suppress_counts` protects the combinations against their ALL row; then, per PY, the program
    totals join as further equations (total of A = sum of the combinations containing A, published
    in the other tables) and the suppression engine's complementary sweeps and exact audit run over
    all of them, starting from what `suppress_counts` withheld.
    """
    position = {p: i for i, p in enumerate(programs)}

    def order(name: str) -> tuple[int, tuple[int, ...]]:
        if name == ALL_COMBINATIONS:
            return (len(programs) + 1, ())
        parts = tuple(position[p] for p in name.split("+"))
        return (len(parts), parts)

    df = df.assign(_key=df["programs"].map(order))
    df = df.sort_values(["program_year", "_key"], kind="mergesort").drop(columns="_key")
    df = df.reset_index(drop=True).astype({"customers": "int64"})
    flags = suppress_counts(
        df, dims=["programs"], value_col="customers", by=["program_year"], threshold=threshold
    ).suppressed.to_numpy(dtype=bool)

    hidden: set[tuple[int, str]] = set()
    years = df["program_year"].to_numpy(dtype=np.int64)
    all_names: list[str] = df["programs"].tolist()
    all_counts = df["customers"].to_numpy(dtype=np.int64)
    for year in sorted(set(years.tolist())):
        idx = np.flatnonzero(years == year)
        names = [all_names[i] for i in idx]
        counts = all_counts[idx]
        combos = [i for i, n in enumerate(names) if n != ALL_COMBINATIONS]
        totals = [(p, [i for i in combos if p in names[i].split("+")]) for p in programs]
        totals = [(p, members) for p, members in totals if members]
        n = len(idx)
        total_counts = np.array([counts[m].sum() for _, m in totals], dtype=np.int64)
        values = np.concatenate([counts, total_counts])
        start = np.concatenate([flags[idx], _small(total_counts, threshold)])
        groups = [
            Group(total=i, members=tuple(combos)) for i, nm in enumerate(names) if nm == ALL_COMBINATIONS
        ]
        groups += [Group(total=n + k, members=tuple(m)) for k, (_, m) in enumerate(totals)]
        out = protect(values, start, groups, [], np.arange(len(values), dtype=np.int64))
        flags[idx] = out[:n]
        hidden |= {(year, p) for k, (p, _) in enumerate(totals) if out[n + k]}
    df["suppressed"] = flags
    return _period(df).loc[:, ["programs", "period", "program_year", "customers", "suppressed"]], hidden


def _small(n: npt.ArrayLike, threshold: int) -> npt.NDArray[np.bool_]:
    """A count resting on fewer than `threshold` individuals (zero is not): the suppression rule."""
    return rate_suppressed(n, n, threshold=threshold)


def _overlap(
    df: pd.DataFrame, programs: Sequence[str], hidden: set[tuple[int, str]], threshold: int
) -> pd.DataFrame:
    """`coenrollment_overlap`; a row (participants P_A, co-enrolled c) is withheld when

    - P_A is (small, or withheld to protect the combinations: `hidden`), or c is small, or
      P_A - c is (the participants not co-enrolled, given away by the two), or
    - its mirror (B, A) publishes the same c beside a published P_B with P_B - c small.
    """
    position = {p: i for i, p in enumerate(programs)}
    df = df.assign(_p=df["program"].map(position), _o=df["other_program"].map(position))
    df = df.sort_values(["program_year", "_p", "_o"]).drop(columns=["_p", "_o"]).reset_index(drop=True)
    df = df.astype({"participants": "int64", "coenrolled": "int64"})
    df["share"] = _share(df["coenrolled"], df["participants"])
    years = df["program_year"].astype("int64").tolist()
    total = dict(zip(zip(years, df["program"], strict=True), df["participants"], strict=True))
    withheld = {k: bool(_small([n], threshold)[0]) or k in hidden for k, n in total.items()}
    own = [(y, p) for y, p in zip(years, df["program"], strict=True)]
    other = [(y, p) for y, p in zip(years, df["other_program"], strict=True)]
    co = df["coenrolled"].to_numpy(dtype=np.int64)
    p_own = df["participants"].to_numpy(dtype=np.int64)
    p_other = np.array([total[k] for k in other], dtype=np.int64)
    w_own = np.array([withheld[k] for k in own], dtype=bool)
    w_other = np.array([withheld[k] for k in other], dtype=bool)
    df["suppressed"] = (
        w_own
        | _small(co, threshold)
        | _small(p_own - co, threshold)
        | (_small(p_other - co, threshold) & ~w_other)
    )
    return _period(df)


def _adult_ed(
    df: pd.DataFrame,
    overlap: pd.DataFrame,
    title1: Sequence[str],
    hidden: set[tuple[int, str]],
    threshold: int,
) -> pd.DataFrame:
    """`adult_ed_title1`: a program row publishes the count of the `coenrollment_overlap` row
    (ADULT_ED, program) and carries its flag; ANY is withheld like an overlap row's own terms and
    whenever a program row is (a union with a withheld count could isolate the withheld learners)."""
    position = {p: i for i, p in enumerate((*title1, ANY_TITLE1))}
    df = df.assign(_t=df["title1_program"].map(position))
    df = df.sort_values(["program_year", "_t"]).drop(columns="_t").reset_index(drop=True)
    df = df.astype({"adult_ed_learners": "int64", "coenrolled": "int64"})
    df["share"] = _share(df["coenrolled"], df["adult_ed_learners"])
    same = overlap.loc[overlap["program"] == ADULT_ED]
    flag_of = dict(
        zip(
            zip(same["program_year"].astype("int64"), same["other_program"], strict=True),
            same["suppressed"],
            strict=True,
        )
    )
    years = df["program_year"].astype("int64").tolist()
    is_any = (df["title1_program"] == ANY_TITLE1).to_numpy(dtype=bool)
    learners = df["adult_ed_learners"].to_numpy(dtype=np.int64)
    co = df["coenrolled"].to_numpy(dtype=np.int64)
    own = (
        _small(learners, threshold)
        | np.array([(y, ADULT_ED) in hidden for y in years], dtype=bool)
        | _small(co, threshold)
        | _small(learners - co, threshold)
    )
    program_flag = np.array(
        [bool(flag_of.get((y, t), True)) for y, t in zip(years, df["title1_program"], strict=True)],
        dtype=bool,
    )
    flags = np.where(is_any, own, program_flag)
    withheld_program = pd.Series(flags & ~is_any).groupby(pd.Series(years)).transform("any")
    flags = flags | (is_any & withheld_program.to_numpy(dtype=bool))
    df["suppressed"] = flags
    return _period(df)


def _ui(df: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """`ui_claimants_wp`: each count is a share of the claimants (numerator protected); the days are
    a median and mean over the served claimants."""
    df = df.astype(
        {
            "claimants": "int64",
            "registered_with_wp": "int64",
            "served_by_wp": "int64",
            "resea_selected": "int64",
        }
    )
    claimants = df["claimants"]
    df["suppressed"] = _small(claimants, threshold)
    for col in ("registered_with_wp", "served_by_wp", "resea_selected"):
        df[f"{col}_suppressed"] = rate_suppressed(
            df[col], claimants, threshold=threshold, protect_numerator=True
        )
    df["days_to_first_wp_service_suppressed"] = median_suppressed(df["served_by_wp"], threshold=threshold)
    return _period(df)


def _vr(df: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """`vr_waitlist_wp`: the share served, its counts withheld together."""
    df = df.astype({"waitlist_customers": "int64", "served_by_wp": "int64"})
    df["share"] = _share(df["served_by_wp"], df["waitlist_customers"])
    df["suppressed"] = rate_suppressed(
        df["served_by_wp"], df["waitlist_customers"], threshold=threshold, protect_numerator=True
    )
    return _period(df)


def _stats(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Rows and withheld rows per table, and how many individuals stand on an unlinked record."""
    stats: dict[str, int] = {}
    for table, frame in frames.items():
        stats[f"{table}_rows"] = len(frame)
        stats[f"{table}_suppressed"] = int(frame["suppressed"].sum())
    combos = frames["coenrollment"]
    multi = combos["programs"].str.contains("+", regex=False)
    stats["coenrollment_customer_years_in_several_programs"] = int(combos.loc[multi, "customers"].sum())
    stats["coenrollment_unlinked_individuals"] = int(
        con.execute("SELECT count(DISTINCT unit) FROM coen_periods WHERE contains(unit, ':')").fetchall()[0][
            0
        ]
    )
    return stats
