"""Reference WIOA periods of participation and indicators, straight from the generator's truth.

Written from `shared/domain/wioa-performance.md` ("the domain file") and the extract contract
only; it imports nothing from `warehouse`, `linkage`, `sources` or `synthetic`, and reads the
generator's output files (`truth/records/*.parquet`, `truth/wages.parquet`, `truth/manifest.json`).
People are identified by the truth's `person_id` (a perfect crosswalk), so the warehouse run on the
same landing zone with perfect linkage must reproduce these numbers exactly.

Choices where the domain file is silent or ambiguous (each cites its section; the warehouse must
make the same ones, or argue in review):

- Participants, entry, exit: a WP service qualifies by its *code* (101-122; 001, 002 and 190
  never), the `Staff Assisted` flag is not consulted. Services of a voided WP registration do not
  count; records voided (`D`/`Deleted`) or removed at the source never count.
- Participants, entry, exit: "90 days with no qualifying service" means the next qualifying day is
  more than `exit_gap_days` after the last one (a service on day last+90 continues the period),
  and an open period is exited only once more than `exit_gap_days` days separate its last
  qualifying day from the as-of date (the as-of night may not yet hold that day's services).
- Participants, entry, exit: Adult Ed attendance of all of a person's student records is pooled,
  split into periods by the 90-day rule, and a period is a participant period when *its own*
  contact hours reach the threshold (hours do not carry over between periods); entry = its first
  class date even when the 12th hour comes later.
- Participants, entry, exit: Title I entry and exit dates are taken as the case system records them
  (the system applies the 90-day rule itself); an open case is served through the as-of date. A
  recorded exit holds only once more than `exit_gap_days` days separate it from the as-of date,
  and a case of the same program reopened no more than `exit_gap_days` after a recorded exit (or
  overlapping it) means that exit never happened: the two are one period, exited at the later exit.
- Participants, entry, exit: events dated after the as-of date are ignored (a VR closure after it
  leaves the case open); wage rows count only for the delivered quarters.
- Participants, entry, exit: a VR case with `SERVICE_START_DT` closed with a type 1-4 or 7 (a
  contradiction) is not a participant at all.
- Common exit: DOL periods of a person (WP: first..last qualifying service; Title I: entry..exit,
  open = still served) chain into one spell when the next starts no more than `exit_gap_days`
  after the latest end so far. The spell is exited when no member is open and more than
  `exit_gap_days` days separate its latest end from the as-of date; every member then takes that
  exit date. Periods of the *same* program inside one spell are one period of participation (none
  of them had exited). The spell's exit reason is the first non-00 reason (by participation id) of
  the Title I records whose own exit is the common exit date ("00" if they all say 00, none when
  the common exit comes from WP), and it applies to every program of the spell, subject to the
  program-specific codes 04 and 06 (Exclusions).
- Exclusions: exit reasons exclude from the exit-based indicators only (EMP_Q2, EMP_Q4,
  MEDIAN_EARNINGS_Q2, CREDENTIAL, RETENTION_SAME_EMPLOYER), not from MSG. Section 225 learners are
  excluded from those five (retention is an employment indicator) and kept in MSG.
- The six indicators: employment is UI wages only; no extract reports post-exit military service
  or registered-apprenticeship employment, so PIRL codes 2/3 never arise. The employer of the
  retention measure is the FEIN (not the UI account).
- The six indicators (pending): an exiter whose target wage quarter has not been delivered is
  pending, whatever else is known (a Youth's post-exit education does not resolve it). Credential
  attainment is pending while Q4 after exit is undelivered (the end of the one-year window; only
  exiters of the denominator population are counted as pending). The
  retention cohort is pending while Q2 is undelivered, or when employed in Q2 and Q4 is
  undelivered. MSG has no pending.
- Youth variant: a `POST_EXIT_EDUCATION` outcome counts for the calendar quarter containing its
  date only.
- Median earnings: median of the exiters' total Q2 wages in cents (an even count takes the mean of
  the two middle values), published in dollars; `numerator` is null, `denominator` is the number
  of exiters employed in Q2, `pending` equals EMP_Q2's.
- Credential attainment: a period is in the denominator when one of its source records says so:
  Title I `training_type` not 00/01/05 or a Youth in school; VR `EDUCATION_TRAINING = Y`; Adult Ed a
  student record with `ProgramType` IET (training) or ASE without a diploma at entry (ABE and ESL
  are not in it). Credentials count from the period's own source records only (no credit across
  programs); dates from entry through exit + 1 calendar year, inclusive. Codes 2-7 are
  postsecondary (8 for VR only); code 1, HSE and DIPLOMA are secondary. "Employed or in education
  within one year" = wages > 0 in a quarter 1-4 after exit, or a `POST_EXIT_EDUCATION` /
  `POSTSECONDARY_ENROLLMENT` dated from exit through exit + 1 year.
- Measurable skill gains: education spans are Title I training (`training_start_date`, or entry
  when missing, to `training_end_date`, else the record's own exit, else the as-of date), a Youth in
  school's whole record (entry..own exit), a VR case with `EDUCATION_TRAINING = Y`
  (service start..closure), every Adult Ed period (entry..exit); open ends stop at the as-of date.
  Gains are Title I `SKILL_GAIN`, VR `MSG`, Adult Ed HSE/DIPLOMA outcomes and EFL gains. A
  Title I `CREDENTIAL` code 1 is not a skill gain (the system records gains separately). An EFL
  gain: the period's pre-test is its earliest assessment dated within the period (ties by
  assessment id); each later-dated assessment with a higher EFL, whatever the instrument, is a
  gain on its test date. Adult Ed outcomes (keyed by student) belong to that student's period with
  the latest entry on or before the outcome date. A gain counts when it belongs to the period and
  is dated inside the program year (it need not fall inside the education span).
- Quarters and cohorts: rows are published for program years up to the one containing the as-of
  date (or the listed `program_years`), for every program and year whose cohort holds at least one
  period (`denominator + pending > 0`); a median row exists where its EMP_Q2 row exists. Rates
  are `numerator / denominator` (NaN when the denominator is 0).
- Retention with the same employer: exclusions apply before unduplication; a customer's latest
  non-excluded exit in the calendar-year cohort is the one that counts.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

PROGRAMS: tuple[str, ...] = ("ADULT", "DW", "YOUTH", "ADULT_ED", "WP", "VR")
ALL_PROGRAMS = "ALL"
INDICATORS: tuple[str, ...] = (
    "EMP_Q2",
    "EMP_Q4",
    "MEDIAN_EARNINGS_Q2",
    "CREDENTIAL",
    "MSG",
    "RETENTION_SAME_EMPLOYER",
)
INDICATOR_COLUMNS: tuple[str, ...] = (
    "program",
    "program_year",
    "indicator",
    "numerator",
    "denominator",
    "pending",
    "value",
)
PERIOD_COLUMNS: tuple[str, ...] = (
    "person_id",
    "program",
    "entry_date",
    "exit_date",
    "exit_reason",
    "own_exit_date",
    "hours",
    "source_ids",
)

# Rules fixed by the domain file (not state policy).
DOL_PROGRAMS = frozenset({"ADULT", "DW", "YOUTH", "WP"})  # Common exit: Adult Ed and VR never join
TITLE1_PROGRAMS = ("ADULT", "DW", "YOUTH")
WP_QUALIFYING_CODES = frozenset({"101", "102", "103", "104", "105", "106", "110", "120", "121", "122"})
EXCLUDED_FOR_ALL = frozenset({"01", "02", "03", "05"})
EXCLUDED_FOR_PROGRAM = {"YOUTH": frozenset({"06"}), "VR": frozenset({"04"})}
VR_NOT_PARTICIPANT_CLOSURES = frozenset({"1", "2", "3", "4", "7"})
NO_CREDENTIAL_TRAINING = frozenset({"", "00", "01", "05"})  # none, OJT, customized training
POSTSECONDARY_CODES = frozenset({"2", "3", "4", "5", "6", "7"})
GRADUATE_CODE = "8"
GRADUATE_PROGRAMS = frozenset({"VR"})
VOID = frozenset({"D", "DELETED"})
OPEN = pd.Timestamp("2262-01-01")  # the end of a period still open

_COLUMNS: dict[str, tuple[str, ...]] = {
    "wp_registrations": ("individual_id", "status"),
    "wp_services": ("service_id", "individual_id", "person_id", "code", "service_day", "status"),
    "t1_participation": (
        "participation_id",
        "person_id",
        "program",
        "entry",
        "exit",
        "exit_reason",
        "training_type",
        "training_start",
        "training_end",
        "youth_in_school",
        "status",
    ),
    "t1_outcomes": ("outcome_id", "participation_id", "type", "code", "day", "status"),
    "vr_cases": (
        "case_id",
        "person_id",
        "service_start",
        "closure",
        "closure_type",
        "closure_reason",
        "edu_training",
        "status",
    ),
    "vr_outcomes": ("outcome_id", "case_id", "type", "code", "day", "status"),
    "ae_students": ("student_id", "person_id", "program_type", "diploma", "s225", "status"),
    "ae_attendance": ("student_id", "class_id", "day", "hours"),
    "ae_assessments": ("assessment_id", "student_id", "day", "efl"),
    "ae_outcomes": ("outcome_id", "student_id", "type", "day", "credential", "status"),
}
_DATE_COLUMNS = frozenset(
    {"service_day", "entry", "exit", "training_start", "training_end", "day", "service_start", "closure"}
)
_CODE_WIDTH = {"exit_reason": 2, "closure_reason": 2, "training_type": 2}


@dataclass(frozen=True)
class ReferenceSettings:
    """The state's policy choices and the run's facts; every one a setting, none a constant."""

    as_of: dt.date | None = None  # the run date; None: the manifest's cut-off
    exit_gap_days: int = 90  # days without a qualifying service that make an exit
    adult_ed_min_hours: float = 12.0  # contact hours that make an Adult Ed learner a participant
    common_exit: bool = True  # DOL programs share one exit date
    delivered_wage_quarters: frozenset[str] | None = None  # e.g. {"2024Q3"}; None: the manifest's
    program_years: tuple[int, ...] | None = None  # None: every year up to the as-of date's
    # how wage rows find their person: the truth's person_id (perfect linkage and perfect wage
    # matching), or the employer-reported SSN equal to the person's true SSN (perfect linkage only),
    # or that, but only for people whose true SSN some record of theirs delivered (what a state can
    # know: a learner who never gave an SSN to any program has no wage match, however good the linkage)
    wage_match: Literal["person_id", "reported_ssn", "record_ssn"] = "person_id"


@dataclass
class _Truth:
    records: dict[str, pd.DataFrame]
    wages: pd.DataFrame
    people: pd.DataFrame
    as_of: pd.Timestamp
    delivered: frozenset[int]  # quarter indexes (year * 4 + quarter - 1)
    voided_registrations: frozenset[str]  # WP individual ids voided or removed at the source


@dataclass
class _Periods:
    periods: pd.DataFrame  # one row per period of participation, indexed by period_id
    links: pd.DataFrame  # period_id, source (wp, t1, vr, ae), record_id


# --------------------------------------------------------------------------- public API


def reference_periods(truth_dir: Path | str, settings: ReferenceSettings | None = None) -> pd.DataFrame:
    """Periods of participation by the domain rules (one row per period), common exit applied if set."""
    settings = settings or ReferenceSettings()
    truth = _load(Path(truth_dir), settings)
    p = _periods(truth, settings).periods
    return p.loc[:, list(PERIOD_COLUMNS)].reset_index(drop=True)


def reference_indicators(truth_dir: Path | str, settings: ReferenceSettings | None = None) -> pd.DataFrame:
    """The six indicators per program and program year, in the warehouse's `indicators` shape."""
    settings = settings or ReferenceSettings()
    truth = _load(Path(truth_dir), settings)
    per = _periods(truth, settings)
    ctx = _Context(truth, settings, per)
    frames = [
        ctx.employment(2),
        ctx.employment(4),
        ctx.median_earnings(),
        ctx.credential(),
        ctx.msg(),
        ctx.retention(),
    ]
    out = pd.concat([f for f in frames if not f.empty], ignore_index=True)
    if out.empty:
        return _empty_indicators()
    order_p = {p: i for i, p in enumerate((*PROGRAMS, ALL_PROGRAMS))}
    order_i = {p: i for i, p in enumerate(INDICATORS)}
    out = out.assign(_i=out["indicator"].map(order_i), _p=out["program"].map(order_p))
    out = out.sort_values(["_i", "_p", "program_year"], kind="mergesort").drop(columns=["_i", "_p"])
    return _typed(out.reset_index(drop=True))


# --------------------------------------------------------------------------- loading


def _load(truth_dir: Path, settings: ReferenceSettings) -> _Truth:
    manifest_path = truth_dir / "manifest.json"
    manifest: dict[str, Any] = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    if settings.as_of is not None:
        as_of = pd.Timestamp(settings.as_of)
    elif "cutoff" in manifest:
        as_of = pd.Timestamp(manifest["cutoff"])
    else:
        raise ValueError(f"{truth_dir}: no manifest cut-off; set ReferenceSettings.as_of")
    records = {
        name: _read_records(truth_dir / "records" / f"{name}.parquet", cols)
        for name, cols in _COLUMNS.items()
    }
    wages_path = truth_dir / "wages.parquet"
    wage_cols = ["person_id", "reported_ssn", "employer_fein", "year", "quarter", "wage_cents"]
    wages = pd.read_parquet(wages_path) if wages_path.is_file() else pd.DataFrame(columns=wage_cols)
    people_path = truth_dir / "people.parquet"
    people = (
        pd.read_parquet(people_path) if people_path.is_file() else pd.DataFrame(columns=["person_id", "ssn"])
    )
    if settings.delivered_wage_quarters is not None:
        labels = set(settings.delivered_wage_quarters)
    elif "wage_quarters" in manifest:
        labels = set(manifest["wage_quarters"])
    else:  # no manifest: the quarters present in the wage file
        labels = {
            f"{int(y)}Q{int(q)}"
            for y, q in wages[["year", "quarter"]].drop_duplicates().itertuples(index=False)
        }
    delivered = frozenset(int(s[:4]) * 4 + int(s[5]) - 1 for s in labels)
    if settings.wage_match == "record_ssn":
        delivered_ssns = pd.read_parquet(truth_dir / "person_records.parquet")
        delivered_ssns = delivered_ssns[
            ~delivered_ssns["status"].isin(["D", "Deleted"])
            & ~delivered_ssns["removed_at_source"].astype(bool)
        ].assign(reported_ssn=lambda f: f["reported_ssn"].astype(str).str.replace("-", "", regex=False))
        known = delivered_ssns.merge(
            people[["person_id", "ssn"]].astype({"ssn": str}),
            left_on=["person_id", "reported_ssn"],
            right_on=["person_id", "ssn"],
        )["person_id"]
        people = people[people["person_id"].isin(set(known))]
    regs_path = truth_dir / "records" / "wp_registrations.parquet"
    all_regs = _read_records(regs_path, _COLUMNS["wp_registrations"], keep_void=True)
    voided = frozenset(all_regs["individual_id"]) - frozenset(records["wp_registrations"]["individual_id"])
    return _Truth(records, wages, people, as_of, delivered, voided)


def _read_records(path: Path, columns: tuple[str, ...], keep_void: bool = False) -> pd.DataFrame:
    """The latest true version of each record; voided and removed-at-source rows are dropped."""
    df = pd.read_parquet(path) if path.is_file() else pd.DataFrame(columns=list(columns))
    df = df.copy()
    for c in (*columns, "status"):
        if c not in df:
            df[c] = None
    keep = np.ones(len(df), dtype=bool)
    if not keep_void:
        if "removed_at_source" in df:
            keep &= ~df["removed_at_source"].fillna(False).astype(bool).to_numpy()
        if "status" in df:
            keep &= ~_code(df["status"]).str.upper().isin(VOID).to_numpy()
    if "person_id" in columns:
        pid = pd.to_numeric(df["person_id"], errors="coerce")
        keep &= (pid >= 0).to_numpy()
    df = df.loc[keep, list(columns)].reset_index(drop=True)
    for c in columns:
        if c in _DATE_COLUMNS:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]").dt.normalize()
        elif c in ("person_id",):
            df[c] = df[c].astype(np.int64)
        elif c in ("hours", "efl"):
            df[c] = pd.to_numeric(df[c]).astype(float)
        else:
            df[c] = _code(df[c], _CODE_WIDTH.get(c, 0))
    return df


def _none_unless(s: pd.Series, keep: pd.Series) -> pd.Series:
    """Object values where `keep`, None elsewhere (codes stay strings, never NaN)."""
    out = s.astype(object).copy()
    out[~keep.to_numpy(dtype=bool)] = None
    return out


def _code(s: pd.Series, width: int = 0) -> pd.Series:
    """Codes and ids as stripped strings ("" when missing), zero-padded to `width` when given."""
    out = s.astype(object).where(s.notna(), "").astype(str).str.strip()
    if width:
        out = out.where(out == "", out.str.zfill(width))
    return out


# --------------------------------------------------------------------------- periods


def _activity_runs(ev: pd.DataFrame, gap: int) -> pd.Series:
    """Run number of each (person_id, day) event: a new run after more than `gap` days."""
    ev = ev.sort_values(["person_id", "day"], kind="mergesort")
    pid = ev["person_id"].to_numpy()
    days = ev["day"].to_numpy()
    new = np.ones(len(ev), dtype=bool)
    if len(ev) > 1:
        new[1:] = (pid[1:] != pid[:-1]) | ((days[1:] - days[:-1]) > np.timedelta64(gap, "D"))
    return pd.Series(np.cumsum(new), index=ev.index)


def _derived_periods(
    ev: pd.DataFrame, program: str, source: str, truth: _Truth, s: ReferenceSettings, min_hours: float | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Periods from dated qualifying activity (WP services, Adult Ed classes): the 90-day rule."""
    if ev.empty:
        return _empty_raw(), pd.DataFrame(columns=["run", "record_id", "source"])
    ev = ev.assign(run=_activity_runs(ev, s.exit_gap_days))
    g = ev.groupby("run").agg(
        person_id=("person_id", "first"),
        entry_date=("day", "min"),
        last=("day", "max"),
        hours=("hours", "sum"),
    )
    if min_hours is not None:
        g = g[g["hours"] >= min_hours]
    exited = (truth.as_of - g["last"]).dt.days > s.exit_gap_days
    raw = pd.DataFrame(
        {
            "run": g.index,
            "person_id": g["person_id"].to_numpy(),
            "program": program,
            "entry_date": g["entry_date"].to_numpy(),
            "own_exit_date": g["last"].where(exited).to_numpy(),
            "exit_reason": None,
            "hours": g["hours"].to_numpy() if min_hours is not None else np.nan,
        }
    )
    links = ev[ev["run"].isin(g.index)][["run", "record_id"]].drop_duplicates().assign(source=source)
    return raw, links


def _empty_raw() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run": pd.Series(dtype=np.int64),
            "person_id": pd.Series(dtype=np.int64),
            "program": pd.Series(dtype=object),
            "entry_date": pd.Series(dtype="datetime64[ns]"),
            "own_exit_date": pd.Series(dtype="datetime64[ns]"),
            "exit_reason": pd.Series(dtype=object),
            "hours": pd.Series(dtype=float),
        }
    )


def _raw_periods(truth: _Truth, s: ReferenceSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every program's periods before the common exit: (periods with `rid`, links rid -> record)."""
    r, as_of = truth.records, truth.as_of
    parts: list[tuple[pd.DataFrame, pd.DataFrame]] = []

    svc = r["wp_services"]
    svc = svc[
        svc["code"].isin(WP_QUALIFYING_CODES)
        & svc["service_day"].notna()
        & (svc["service_day"] <= as_of)
        & ~svc["individual_id"].isin(truth.voided_registrations)
    ]
    ev = pd.DataFrame(
        {
            "person_id": svc["person_id"],
            "day": svc["service_day"],
            "hours": 1.0,
            "record_id": svc["individual_id"],
        }
    )
    parts.append(_derived_periods(ev, "WP", "wp", truth, s, None))

    att = r["ae_attendance"]
    att = att[att["day"].notna() & (att["day"] <= as_of)].merge(
        r["ae_students"][["student_id", "person_id"]], on="student_id", how="inner"
    )
    ev = pd.DataFrame(
        {
            "person_id": att["person_id"],
            "day": att["day"],
            "hours": att["hours"],
            "record_id": att["student_id"],
        }
    )
    parts.append(_derived_periods(ev, "ADULT_ED", "ae", truth, s, s.adult_ed_min_hours))

    t1 = r["t1_participation"]
    t1 = t1[t1["program"].isin(TITLE1_PROGRAMS) & t1["entry"].notna() & (t1["entry"] <= as_of)]
    t1_exit = t1["exit"].where(t1["exit"] <= as_of)
    raw = pd.DataFrame(
        {
            "run": np.arange(len(t1)),
            "person_id": t1["person_id"].to_numpy(),
            "program": t1["program"].to_numpy(),
            "entry_date": t1["entry"].to_numpy(),
            "own_exit_date": t1_exit.to_numpy(),
            "exit_reason": _none_unless(t1["exit_reason"], t1_exit.notna()).to_numpy(),
            "hours": np.nan,
        }
    )
    links = pd.DataFrame({"run": raw["run"], "record_id": t1["participation_id"].to_numpy(), "source": "t1"})
    parts.append((raw, links))

    vr = r["vr_cases"]
    vr = vr[vr["service_start"].notna() & (vr["service_start"] <= as_of)]
    closed = vr["closure"].notna() & (vr["closure"] <= as_of)
    vr = vr[~(closed & vr["closure_type"].isin(VR_NOT_PARTICIPANT_CLOSURES))]
    closed = vr["closure"].notna() & (vr["closure"] <= as_of)
    raw = pd.DataFrame(
        {
            "run": np.arange(len(vr)),
            "person_id": vr["person_id"].to_numpy(),
            "program": "VR",
            "entry_date": vr["service_start"].to_numpy(),
            "own_exit_date": vr["closure"].where(closed).to_numpy(),
            "exit_reason": _none_unless(vr["closure_reason"], closed).to_numpy(),
            "hours": np.nan,
        }
    )
    links = pd.DataFrame({"run": raw["run"], "record_id": vr["case_id"].to_numpy(), "source": "vr"})
    parts.append((raw, links))

    # one id space across the programs
    raws, lks, offset = [], [], 0
    for raw, links in parts:
        raw = raw.reset_index(drop=True)
        rid = pd.Series(np.arange(offset, offset + len(raw)), index=raw["run"].to_numpy())
        raws.append(raw.assign(rid=rid.to_numpy()).drop(columns=["run"]))
        lks.append(links.assign(rid=links["run"].map(rid)).drop(columns=["run"]))
        offset += len(raw)
    all_raw = pd.concat(raws, ignore_index=True)
    all_raw["entry_date"] = all_raw["entry_date"].astype("datetime64[ns]")
    all_raw["own_exit_date"] = all_raw["own_exit_date"].astype("datetime64[ns]")
    all_links = pd.concat(lks, ignore_index=True).dropna(subset=["rid"])
    all_links["rid"] = all_links["rid"].astype(np.int64)
    return all_raw, all_links[["rid", "source", "record_id"]]


def _periods(truth: _Truth, s: ReferenceSettings) -> _Periods:
    raw, links = _raw_periods(truth, s)
    raw["exit_date"] = raw["own_exit_date"]
    raw["key"] = raw["rid"]  # rows sharing a key become one period
    raw = _chain(raw, links, truth, s)
    rec_order = links.groupby("rid")["record_id"].min()
    raw["_first_rec"] = raw["rid"].map(rec_order).fillna("")
    raw["_open"] = raw["own_exit_date"].isna()
    g = raw.sort_values(["key", "entry_date", "_first_rec"], kind="mergesort").groupby("key", sort=False)
    per = g.agg(
        person_id=("person_id", "first"),
        program=("program", "first"),
        entry_date=("entry_date", "min"),
        exit_date=("exit_date", "first"),
        exit_reason=("exit_reason", "first"),
        hours=("hours", "sum"),
        own_open=("_open", "any"),
        own_last=("own_exit_date", "max"),
    )
    per["hours"] = per["hours"].where(per["program"] == "ADULT_ED")
    per["own_exit_date"] = per["own_last"].where(~per["own_open"])
    per = per.drop(columns=["own_open", "own_last"])
    key_of = raw.set_index("rid")["key"]
    links = links.assign(key=links["rid"].map(key_of))
    src: dict[Any, tuple[str, ...]] = {k: tuple(sorted(set(v))) for k, v in links.groupby("key")["record_id"]}
    per["source_ids"] = [src.get(k, ()) for k in per.index]
    per = per.reset_index().sort_values(["person_id", "program", "entry_date", "key"], kind="mergesort")
    per = per.reset_index(drop=True)
    per.index.name = "period_id"
    new_id = pd.Series(per.index.to_numpy(), index=per["key"].to_numpy())
    links = links.assign(period_id=links["key"].map(new_id))[["period_id", "source", "record_id"]]
    per = per.drop(columns=["key"])
    per["exit_reason"] = _none_unless(
        per["exit_reason"], per["exit_date"].notna() & per["exit_reason"].notna()
    )
    return _Periods(per, links.drop_duplicates().reset_index(drop=True))


def _chain(raw: pd.DataFrame, links: pd.DataFrame, truth: _Truth, s: ReferenceSettings) -> pd.DataFrame:
    """Chain DOL periods into spells that share one exit: per person across the DOL programs with
    the common exit (Common exit), else per person and program (a Title I case reopened within 90
    days of its recorded exit had not exited: Participants, entry, exit)."""
    dol = raw[raw["program"].isin(DOL_PROGRAMS)].copy()
    if dol.empty:
        return raw
    by = ["person_id"] if s.common_exit else ["person_id", "program"]
    dol["end"] = dol["own_exit_date"].fillna(OPEN)
    dol = dol.sort_values([*by, "entry_date", "end"], kind="mergesort")
    reach = dol.groupby(by)["end"].cummax()
    prev = reach.groupby([dol[c] for c in by]).shift(1)
    new = prev.isna() | ((dol["entry_date"] - prev).dt.days > s.exit_gap_days)
    dol["spell"] = np.cumsum(new.to_numpy())
    spell_end = dol.groupby("spell")["end"].transform("max")
    exited = (spell_end < OPEN) & ((truth.as_of - spell_end).dt.days > s.exit_gap_days)
    dol["exit_date"] = spell_end.where(exited)

    # the exit reason: Title I records closed on the common exit date speak for the spell
    t1_ids = links[links["source"] == "t1"].groupby("rid")["record_id"].min()
    dol["_rec"] = dol["rid"].map(t1_ids)
    closing = dol[dol["_rec"].notna() & (dol["own_exit_date"] == dol["exit_date"])]
    closing = closing.sort_values(["spell", "_rec"], kind="mergesort")
    reasons = closing.groupby("spell")["exit_reason"].agg(
        lambda x: next((v for v in x if v not in ("", "00", None)), "00")
    )
    dol["exit_reason"] = _none_unless(dol["spell"].map(reasons), dol["exit_date"].notna())
    dol["key"] = raw["rid"].max() + 1 + dol.groupby(["spell", "program"]).ngroup()
    raw = raw.copy()
    raw.loc[dol.index, ["exit_date", "exit_reason", "key"]] = dol[["exit_date", "exit_reason", "key"]]
    raw["exit_reason"] = _none_unless(raw["exit_reason"], raw["exit_reason"].notna())
    raw["key"] = raw["key"].astype(np.int64)
    return raw


# --------------------------------------------------------------------------- indicators


def _qidx(d: pd.Series) -> pd.Series:
    """Calendar quarter as one integer: year * 4 + (quarter - 1)."""
    return pd.Series(d.dt.year * 4 + (d.dt.month - 1) // 3, index=d.index)


def _py(d: pd.Series) -> pd.Series:
    """Program year of a date: PY N runs July 1 N - June 30 N+1."""
    return pd.Series(d.dt.year - (d.dt.month < 7).astype(int), index=d.index)


class _Context:
    """Periods, their outcomes and spans, and wages by person and quarter, for one computation."""

    def __init__(self, truth: _Truth, s: ReferenceSettings, per: _Periods) -> None:
        self.truth, self.s = truth, s
        self.p = per.periods
        self.links = per.links
        self.as_of = truth.as_of
        self.as_of_py = int(self.as_of.year - (self.as_of.month < 7))
        self._wages()
        self._flags()
        self.events = self._events()
        self.spans = self._spans()
        exits = self.p[self.p["exit_date"].notna()].copy()
        reason = exits["exit_reason"].fillna("")
        excluded = reason.isin(EXCLUDED_FOR_ALL)
        for program, codes in EXCLUDED_FOR_PROGRAM.items():
            excluded |= (exits["program"] == program) & reason.isin(codes)
        excluded |= exits["section225"]
        exits = exits[~excluded]
        exits["exit_q"] = _qidx(exits["exit_date"])
        self.exits = exits  # the exit-based indicators' population, after exclusions

    # ---------------------------------------------------------------- inputs
    def _wages(self) -> None:
        w = self.truth.wages
        if self.s.wage_match in ("reported_ssn", "record_ssn"):
            ssn = self.truth.people[["person_id", "ssn"]].astype({"ssn": str})
            w = w.drop(columns=["person_id"]).merge(ssn, left_on="reported_ssn", right_on="ssn", how="inner")
        w = w.assign(q=w["year"].astype(int) * 4 + w["quarter"].astype(int) - 1)
        w = w[w["q"].isin(self.truth.delivered)]
        self.total = w.groupby(["person_id", "q"])["wage_cents"].sum().astype(np.int64)
        by_fein = w.groupby(["person_id", "q", "employer_fein"])["wage_cents"].sum()
        self.fein = by_fein[by_fein > 0].reset_index()[["person_id", "q", "employer_fein"]]

    def _wage(self, person: pd.Series, q: pd.Series) -> np.ndarray:
        idx = pd.MultiIndex.from_arrays([person.to_numpy(), q.to_numpy()])
        return self.total.reindex(idx).fillna(0).to_numpy()

    def _delivered(self, q: pd.Series) -> np.ndarray:
        return q.isin(self.truth.delivered).to_numpy()

    def _records_of(self, source: str, name: str, key: str) -> pd.DataFrame:
        lk = self.links[self.links["source"] == source][["period_id", "record_id"]]
        return lk.merge(self.truth.records[name], left_on="record_id", right_on=key, how="inner")

    def _flags(self) -> None:
        """Section 225 and the credential denominator, per period, from its source records."""
        p = self.p
        p["section225"] = False
        p["credential_cohort"] = False
        t1 = self._records_of("t1", "t1_participation", "participation_id")
        t1_cred = ~t1["training_type"].isin(NO_CREDENTIAL_TRAINING) | (
            (t1["program"] == "YOUTH") & (t1["youth_in_school"] == "1")
        )
        vr = self._records_of("vr", "vr_cases", "case_id")
        vr_cred = vr["edu_training"] == "Y"
        ae = self._records_of("ae", "ae_students", "student_id")
        ae_cred = (ae["program_type"] == "IET") | ((ae["program_type"] == "ASE") & (ae["diploma"] != "Y"))
        ids = pd.concat([t1["period_id"][t1_cred], vr["period_id"][vr_cred], ae["period_id"][ae_cred]])
        p.loc[p.index.isin(ids), "credential_cohort"] = True
        p.loc[p.index.isin(ae["period_id"][ae["s225"] == "Y"]), "section225"] = True

    def _events(self) -> pd.DataFrame:
        """Dated outcomes per period: POSTSEC, GRAD, SECONDARY (credentials), GAIN, EDU."""
        r, out = self.truth.records, []
        cred_kind = {"1": "SECONDARY", GRADUATE_CODE: "GRAD", **dict.fromkeys(POSTSECONDARY_CODES, "POSTSEC")}

        t1 = self._records_of("t1", "t1_outcomes", "participation_id")
        kind = np.select(
            [t1["type"] == "CREDENTIAL", t1["type"] == "SKILL_GAIN", t1["type"] == "POST_EXIT_EDUCATION"],
            [t1["code"].map(cred_kind).fillna(""), "GAIN", "EDU"],
            "",
        )
        out.append(pd.DataFrame({"period_id": t1["period_id"], "kind": kind, "date": t1["day"]}))

        vr = self._records_of("vr", "vr_outcomes", "case_id")
        kind = np.select(
            [vr["type"] == "CRED", vr["type"] == "MSG"], [vr["code"].map(cred_kind).fillna(""), "GAIN"], ""
        )
        out.append(pd.DataFrame({"period_id": vr["period_id"], "kind": kind, "date": vr["day"]}))

        ae = self._ae_attributed(r["ae_outcomes"])
        diploma = ae["type"].isin(("HSE", "DIPLOMA"))
        ae_kind = np.select(
            [ae["type"] == "CREDENTIAL", ae["type"] == "POSTSECONDARY_ENROLLMENT"],
            [ae["credential"].map(cred_kind).fillna(""), "EDU"],
            "",
        )
        out.append(
            pd.DataFrame(
                {"period_id": ae["period_id"][diploma], "kind": "SECONDARY", "date": ae["day"][diploma]}
            )
        )
        out.append(
            pd.DataFrame({"period_id": ae["period_id"][diploma], "kind": "GAIN", "date": ae["day"][diploma]})
        )
        out.append(pd.DataFrame({"period_id": ae["period_id"], "kind": ae_kind, "date": ae["day"]}))
        out.append(self._efl_gains())

        ev = pd.concat(out, ignore_index=True)
        ev = ev[(ev["kind"] != "") & ev["date"].notna() & (ev["date"] <= self.as_of)]
        program = ev["period_id"].map(self.p["program"])
        ev.loc[(ev["kind"] == "GRAD") & program.isin(GRADUATE_PROGRAMS), "kind"] = "POSTSEC"
        ev = ev[ev["kind"] != "GRAD"]
        return ev.astype({"period_id": np.int64}).reset_index(drop=True)

    def _ae_attributed(self, df: pd.DataFrame) -> pd.DataFrame:
        """Adult Ed rows keyed by student, each given to the student's latest period begun by its date."""
        lk = self.links[self.links["source"] == "ae"][["period_id", "record_id"]]
        m = df.merge(lk, left_on="student_id", right_on="record_id", how="inner")
        m = m.assign(entry=m["period_id"].map(self.p["entry_date"]))
        m = m[m["day"].notna() & (m["entry"] <= m["day"])]
        m = m.sort_values("entry", kind="mergesort")
        key = "outcome_id" if "outcome_id" in m else "assessment_id"
        return m.drop_duplicates(key, keep="last")

    def _efl_gains(self) -> pd.DataFrame:
        """EFL gains: a later test in the period with a higher EFL than the period's pre-test."""
        lk = self.links[self.links["source"] == "ae"][["period_id", "record_id"]]
        a = self.truth.records["ae_assessments"].merge(lk, left_on="student_id", right_on="record_id")
        end = self.p["exit_date"].fillna(self.as_of)
        a = a[
            a["day"].notna()
            & (a["day"] >= a["period_id"].map(self.p["entry_date"]))
            & (a["day"] <= a["period_id"].map(end))
        ]
        a = a.sort_values(["period_id", "day", "assessment_id"], kind="mergesort")
        pre = a.groupby("period_id").head(1).set_index("period_id")
        a = a.assign(pre_day=a["period_id"].map(pre["day"]), pre_efl=a["period_id"].map(pre["efl"]))
        g = a[(a["day"] > a["pre_day"]) & (a["efl"] > a["pre_efl"])]
        return pd.DataFrame({"period_id": g["period_id"], "kind": "GAIN", "date": g["day"]})

    def _spans(self) -> pd.DataFrame:
        """Education-or-training spans per period (MSG denominator), open ends at the as-of date."""
        out = []
        t1 = self._records_of("t1", "t1_participation", "participation_id")
        own_end = t1["exit"].where(t1["exit"] <= self.as_of)
        trained = ~t1["training_type"].isin(("", "00"))
        start = t1["training_start"].fillna(t1["entry"])
        end = t1["training_end"].fillna(own_end)
        out.append(pd.DataFrame({"period_id": t1["period_id"], "start": start, "end": end})[trained])
        school = (t1["program"] == "YOUTH") & (t1["youth_in_school"] == "1")
        out.append(pd.DataFrame({"period_id": t1["period_id"], "start": t1["entry"], "end": own_end})[school])
        vr = self._records_of("vr", "vr_cases", "case_id")
        vr_end = vr["closure"].where(vr["closure"] <= self.as_of)
        edu = vr["edu_training"] == "Y"
        out.append(
            pd.DataFrame({"period_id": vr["period_id"], "start": vr["service_start"], "end": vr_end})[edu]
        )
        ae = self.p[self.p["program"] == "ADULT_ED"]
        out.append(pd.DataFrame({"period_id": ae.index, "start": ae["entry_date"], "end": ae["exit_date"]}))
        sp = pd.concat(out, ignore_index=True)
        end = sp["end"].fillna(self.as_of)
        sp["end"] = end.where(end <= self.as_of, self.as_of)
        return sp[sp["start"].notna() & (sp["start"] <= sp["end"])].reset_index(drop=True)

    # ---------------------------------------------------------------- helpers
    def _years_ok(self, py: pd.Series) -> np.ndarray:
        if self.s.program_years is not None:
            return py.isin(self.s.program_years).to_numpy()
        return (py <= self.as_of_py).to_numpy()

    @staticmethod
    def _rows(df: pd.DataFrame, indicator: str, program_col: str = "program") -> pd.DataFrame:
        """Sum per program and year of boolean columns num / den / pend; keep non-empty cohorts."""
        if df.empty:
            return _empty_indicators()
        g = (
            df.groupby([program_col, "py"])[["num", "den", "pend"]]
            .sum()
            .reset_index()
            .rename(columns={program_col: "program", "py": "program_year"})
        )
        g = g[(g["den"] + g["pend"]) > 0]
        return pd.DataFrame(
            {
                "program": g["program"],
                "program_year": g["program_year"].astype(np.int64),
                "indicator": indicator,
                "numerator": g["num"].astype(np.int64),
                "denominator": g["den"].astype(np.int64),
                "pending": g["pend"].astype(np.int64),
                "value": np.where(g["den"] > 0, g["num"] / g["den"].where(g["den"] > 0, 1), np.nan),
            }
        )

    def _emp_cohort(self, k: int) -> pd.DataFrame:
        """Exiters of the EMP_Qk cohort with their target quarter, pending flag and Qk wages."""
        x = self.exits.copy()
        x["py"] = _py(x["exit_date"]) + 1 if k == 2 else x["exit_date"].dt.year + 1
        x = x[self._years_ok(x["py"])]
        x["tq"] = x["exit_q"] + k
        x["pend"] = ~self._delivered(x["tq"])
        x["wages"] = np.where(x["pend"], 0, self._wage(x["person_id"], x["tq"]))
        return x

    # ---------------------------------------------------------------- the indicators
    def employment(self, k: int) -> pd.DataFrame:
        """Employment rate Qk after exit; Youth: employed or in education in that quarter."""
        x = self._emp_cohort(k)
        edu = self.events[self.events["kind"] == "EDU"]
        edu_q = set(zip(edu["period_id"], _qidx(edu["date"]), strict=True))
        in_edu = (
            np.array([(pid, q) in edu_q for pid, q in zip(x.index, x["tq"], strict=True)], dtype=bool)
            & (x["program"] == "YOUTH").to_numpy()
        )
        x["den"] = ~x["pend"]
        x["num"] = x["den"] & ((x["wages"] > 0).to_numpy() | in_edu)
        return self._rows(x, f"EMP_Q{k}")

    def median_earnings(self) -> pd.DataFrame:
        """Median total Q2 wages of exiters employed in Q2 (dollars); rows follow EMP_Q2's."""
        x = self._emp_cohort(2)
        x["den"] = ~x["pend"]
        x["num"] = False
        base = self._rows(x, "MEDIAN_EARNINGS_Q2")
        if base.empty:
            return base
        emp = x[x["den"] & (x["wages"] > 0)]
        med = emp.groupby(["program", "py"])["wages"].agg(["median", "size"])
        key = pd.MultiIndex.from_arrays([base["program"], base["program_year"]])
        m = med.reindex(key)
        base["numerator"] = pd.array([pd.NA] * len(base), dtype="Int64")
        base["denominator"] = m["size"].fillna(0).astype(np.int64).to_numpy()
        base["value"] = (m["median"] / 100.0).to_numpy()
        return base

    def credential(self) -> pd.DataFrame:
        """Credential attainment during participation or within a year after exit (not WP)."""
        x = self.exits[(self.exits["program"] != "WP") & self.exits["credential_cohort"]].copy()
        x["py"] = x["exit_date"].dt.year + 1
        x = x[self._years_ok(x["py"])]
        x["pend"] = ~self._delivered(x["exit_q"] + 4)
        x["window_end"] = x["exit_date"] + pd.DateOffset(years=1)
        ev = self.events.merge(
            x[["entry_date", "exit_date", "window_end"]], left_on="period_id", right_index=True, how="inner"
        )
        in_window = (ev["date"] >= ev["entry_date"]) & (ev["date"] <= ev["window_end"])
        after_exit = (ev["date"] >= ev["exit_date"]) & (ev["date"] <= ev["window_end"])
        post = set(ev["period_id"][(ev["kind"] == "POSTSEC") & in_window])
        secondary = set(ev["period_id"][(ev["kind"] == "SECONDARY") & in_window])
        edu_after = set(ev["period_id"][(ev["kind"] == "EDU") & after_exit])
        worked = np.zeros(len(x), dtype=bool)
        for j in range(1, 5):
            worked |= self._wage(x["person_id"], x["exit_q"] + j) > 0
        ids = x.index.to_series()
        second_route = ids.isin(secondary).to_numpy() & (worked | ids.isin(edu_after).to_numpy())
        x["den"] = ~x["pend"]
        x["num"] = x["den"] & (ids.isin(post).to_numpy() | second_route)
        return self._rows(x, "CREDENTIAL")

    def msg(self) -> pd.DataFrame:
        """Measurable skill gains: once per period per program year of education or training."""
        sp = self.spans.assign(program=self.spans["period_id"].map(self.p["program"]))
        sp = sp[sp["program"] != "WP"]
        if sp.empty:
            return _empty_indicators()
        first, last = _py(sp["start"]), _py(sp["end"])
        pairs = pd.DataFrame(
            {
                "period_id": np.repeat(sp["period_id"].to_numpy(), (last - first + 1).to_numpy()),
                "py": np.concatenate(
                    [np.arange(a, b + 1) for a, b in zip(first, last, strict=True)] or [np.zeros(0, int)]
                ),
            }
        ).drop_duplicates()
        pairs = pairs[self._years_ok(pairs["py"])]
        gains = self.events[self.events["kind"] == "GAIN"]
        gained = set(zip(gains["period_id"], _py(gains["date"]), strict=True))
        pairs["program"] = pairs["period_id"].map(self.p["program"])
        pairs["den"] = True
        pairs["num"] = [(pid, py) in gained for pid, py in zip(pairs["period_id"], pairs["py"], strict=True)]
        pairs["pend"] = False
        return self._rows(pairs, "MSG")

    def retention(self) -> pd.DataFrame:
        """Same employer (FEIN) in Q2 and Q4 among Q2-employed exiters; statewide, one per customer."""
        x = self.exits.copy()
        x["py"] = x["exit_date"].dt.year + 1
        x = x[self._years_ok(x["py"])]
        x = x.sort_values(["person_id", "py", "exit_date"], kind="mergesort")
        x = x.drop_duplicates(["person_id", "py"], keep="last")
        q2, q4 = x["exit_q"] + 2, x["exit_q"] + 4
        pend2, pend4 = ~self._delivered(q2), ~self._delivered(q4)
        emp2 = self._wage(x["person_id"], q2) > 0
        f2 = pd.DataFrame({"person_id": x["person_id"], "q2": q2, "py": x["py"]})
        f = self.fein.merge(f2, left_on=["person_id", "q"], right_on=["person_id", "q2"])
        f4 = self.fein.assign(q2=self.fein["q"] - 2)
        same = f.merge(f4, on=["person_id", "q2", "employer_fein"])
        kept = set(zip(same["person_id"], same["py"], strict=True))
        x["program"] = ALL_PROGRAMS
        x["pend"] = pend2 | (emp2 & pend4)
        x["den"] = emp2 & ~pend2 & ~pend4
        x["num"] = x["den"] & np.array(
            [(p, y) in kept for p, y in zip(x["person_id"], x["py"], strict=True)], dtype=bool
        )
        return self._rows(x, "RETENTION_SAME_EMPLOYER")


def _empty_indicators() -> pd.DataFrame:
    return _typed(pd.DataFrame({c: [] for c in INDICATOR_COLUMNS}))


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    return df.loc[:, list(INDICATOR_COLUMNS)].astype(
        {
            "program": object,
            "program_year": np.int64,
            "indicator": object,
            "numerator": "Int64",
            "denominator": np.int64,
            "pending": np.int64,
            "value": float,
        }
    )
