"""Generate a synthetic state: `<out>/landing` (the landing zone) and `<out>/truth` beside it."""

from __future__ import annotations

import csv
import json
import random
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthetic import landing as L
from synthetic import noise, truth
from synthetic.config import GeneratorConfig
from synthetic.formats import NIGHTLY_SYSTEMS, SPECS, WAGE_FIELDS, ascii_upper, event_fields, identity_fields
from synthetic.population import build_people, day
from synthetic.programs import Simulator
from synthetic.wages import Employers, Quarter, WageModel, quarters

PERSON_TABLES = {
    "ui_claims": ("ui", "claim_id"),
    "wp_registrations": ("wp", "individual_id"),
    "t1_participation": ("title1", "participation_id"),
    "vr_cases": ("vr", "case_id"),
    "ae_students": ("adult_ed", "student_id"),
}
KEY_COLUMNS = {
    "ui_claims": ("claim_id",),
    "wp_registrations": ("individual_id",),
    "wp_services": ("service_id",),
    "t1_participation": ("participation_id",),
    "t1_outcomes": ("outcome_id",),
    "vr_cases": ("case_id",),
    "vr_outcomes": ("outcome_id",),
    "ae_students": ("student_id",),
    "ae_attendance": ("student_id", "day", "class_id"),
    "ae_assessments": ("assessment_id",),
    "ae_outcomes": ("outcome_id",),
}
DAY_COLUMNS = (
    "filed",
    "byb",
    "last_paid",
    "registered",
    "service_day",
    "entry",
    "exit",
    "training_start",
    "training_end",
    "day",
    "application",
    "eligibility",
    "wait_start",
    "wait_end",
    "ipe",
    "service_start",
    "closure",
    "ident_day",
)


def _add_test_records(frames: dict[str, pd.DataFrame], cfg: GeneratorConfig, r: random.Random) -> None:
    """Staff test registrations: voided later, or silently removed at the source before a FULL."""
    n = max(2, round(cfg.people * cfg.flow.test_record))
    # created before the first FULL refresh, so a removal shows as a key absent from that FULL
    start = day(cfg.full_date) + 1
    end = min(day(cfg.end_date), day(cfg.full_date) + cfg.refresh_full_every_days) - 40
    rows = []
    for i in range(n):
        d = r.randint(start, end)
        base: dict[str, Any] = {
            "individual_id": f"IA9{i + 1:09d}",
            "person_id": -1,
            "ident_day": d,
            "registered": d,
            "employment_status": "Unemployed",
            "ui_claimant": "No",
            "status": "Active",
            "ts": d * 86_400 + 36_000,
            "_removed_day": -1,
        }
        rows.append(base)
        if i % 2 == 0:
            rows.append(dict(base, status="Deleted", ts=base["ts"] + 3 * 86_400))
        else:
            rows[-1]["_removed_day"] = d + r.randint(5, 30)
    extra = pd.DataFrame(rows)
    regs = frames["wp_registrations"]
    regs["_removed_day"] = -1
    frames["wp_registrations"] = pd.concat([regs, extra], ignore_index=True)


def _identities(
    name: str, v: pd.DataFrame, people_rows: list[dict[str, Any]], cfg: GeneratorConfig, r: random.Random
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Identity columns per version (noise drawn once per record) and the record-level truth."""
    system, key = PERSON_TABLES[name]
    cols: dict[str, list[str]] = {}
    records: dict[str, tuple[noise.Reported, float]] = {}
    truth_rows = []
    for rec_key, pid, ident_day in zip(
        v[key].to_numpy(), v["person_id"].to_numpy(), v["ident_day"].to_numpy(), strict=True
    ):
        if rec_key not in records:
            rep = (
                noise.report(r, cfg, system, people_rows[pid], int(ident_day))
                if pid >= 0
                else noise.test_record(r)
            )
            records[rec_key] = (rep, r.random())
            truth_rows.append((system, rec_key, int(pid), rep.tags, rep.ssn))
        rep, flip = records[rec_key]
        addr = (
            noise.address(r, cfg, people_rows[pid], int(ident_day))
            if pid >= 0
            else {"street": "1 Test St", "city": "Des Moines", "state": "IA", "zip5": "50309", "zip4": ""}
        )
        for k, val in identity_fields(system, rep, addr, flip).items():
            cols.setdefault(k, []).append(val)
    rec = pd.DataFrame(
        truth_rows, columns=["source_system", "source_record_id", "person_id", "noise", "reported_ssn"]
    )
    return {k: np.asarray(a, dtype=object) for k, a in cols.items()}, rec


def _prepare(name: str, v: pd.DataFrame) -> pd.DataFrame:
    v = v.copy()
    if "ts" not in v:  # attendance and assessments carry no stamp: they go out the night after
        v["ts"] = v["day"].astype(np.int64) * 86_400 + 20 * 3600
    v["ts"] = v["ts"].astype(np.int64)
    keys = KEY_COLUMNS[name]
    v["_key"] = v[keys[0]].astype(str)
    for k in keys[1:]:
        v["_key"] = v["_key"] + "|" + v[k].astype(str)
    if "_removed_day" not in v:
        v["_removed_day"] = -1
    return v.reset_index(drop=True)


def _write_wages(landing: Path, truth_dir: Path, model: WageModel, cfg: GeneratorConfig) -> dict[str, int]:
    qs = quarters(cfg)
    cutoff = cfg.cutoff
    amend_pool = [
        q for q in qs if q.delivered_on(cfg.wage_lag_days + cfg.wage_amend_lag_days) <= cfg.end_date
    ]
    amended = (
        {q.label for q in amend_pool[-(cfg.wage_amended_quarters + 2) : -2]}
        if cfg.wage_amended_quarters
        else set()
    )
    writer: pq.ParquetWriter | None = None
    counts: dict[str, int] = {}
    spec_w = [w for _, w in WAGE_FIELDS]
    for q, rows in model.quarters(qs):
        amend_day = q.delivered_on(cfg.wage_lag_days + cfg.wage_amend_lag_days)
        if q.label in amended:
            fixed = model.amend(rows)  # drawn whatever the cut, so later quarters do not shift
            rows = fixed if amend_day <= cutoff else rows
        if q.delivered_on(cfg.wage_lag_days) > cutoff:
            continue
        cols = [
            np.full(len(rows), "W", dtype=object),
            rows["reported_ssn"].to_numpy(),
            _upper(rows["last"]),
            _upper(rows["first"]),
            _upper(rows["middle"]),
            rows["account"].to_numpy(),
            rows["fein"].to_numpy(),
            rows["naics"].to_numpy(),
            np.full(len(rows), f"{q.year:04d}", dtype=object),
            np.full(len(rows), str(q.q), dtype=object),
            np.char.zfill(rows["wage_cents"].astype(str).to_numpy(dtype=str), 11).astype(object),
        ]
        body = L.fixed_width_bytes(cols, spec_w)
        total = int(rows["wage_cents"].sum())
        head = ("H" + f"{q.year:04d}{q.q}" + "UIWAGE").ljust(84) + "\n"
        tail = ("T" + f"{len(rows):09d}" + f"{total:015d}").ljust(84) + "\n"
        L.write_bytes(
            landing / "ui_wages" / q.label / f"UIWAGE.{q.label}.DAT",
            head.encode("ascii") + body + tail.encode("ascii"),
        )
        counts[q.label] = len(rows)
        mine = rows[rows["person_id"] >= 0]
        table = pa.table(
            {
                "person_id": mine["person_id"].to_numpy(dtype=np.int64),
                "true_ssn": mine["ssn"].astype(str).to_numpy(),
                "reported_ssn": mine["reported_ssn"].astype(str).to_numpy(),
                "employer_account": mine["account"].astype(str).to_numpy(),
                "employer_fein": mine["fein"].astype(str).to_numpy(),
                "year": np.full(len(mine), q.year, dtype=np.int16),
                "quarter": np.full(len(mine), q.q, dtype=np.int8),
                "wage_cents": mine["wage_cents"].to_numpy(dtype=np.int64),
                "amended": np.full(len(mine), q.label in amended and amend_day <= cutoff),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(truth_dir / "wages.parquet", table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    return counts


def _upper(names: pd.Series) -> np.ndarray:
    """Upper-case ASCII through a lookup of the distinct names (wage files are large)."""
    uniq = pd.unique(names)
    table = dict(zip(uniq, (ascii_upper(str(u)) for u in uniq), strict=True))
    return names.map(table).to_numpy(dtype=object)


def generate(cfg: GeneratorConfig, out: Path, log: Any = print) -> dict[str, Any]:
    """Write the whole synthetic state; returns the manifest (also written to truth/manifest.json)."""
    t0 = time.perf_counter()
    landing, truth_dir = out / "landing", out / "truth"
    for d in (landing, truth_dir):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    # independent streams, so that cutting at an earlier --as-of changes nothing before the cut
    streams = np.random.SeedSequence(cfg.seed).spawn(4 + len(SPECS))
    rng = np.random.default_rng(streams[0])
    r = random.Random(cfg.seed)
    writer_rng = {name: np.random.default_rng(streams[4 + i]) for i, name in enumerate(sorted(SPECS))}
    people = build_people(rng, cfg)
    employers = Employers.build(rng, max(200, cfg.people // 12))
    people["employer"] = employers.sample(rng, len(people))
    tables = Simulator(cfg, people, cfg.seed + 1).run()
    frames = tables.frames()
    _add_test_records(frames, cfg, r)
    log(f"simulated {len(people):,} people in {time.perf_counter() - t0:.1f}s")

    people_rows = cast(list[dict[str, Any]], people.to_dict("records"))
    cutoff = day(cfg.cutoff)
    faults = L.FaultLog()
    schedules = {s: L.schedule(cfg, s, rng) for s in NIGHTLY_SYSTEMS}
    current: dict[str, pd.DataFrame] = {}
    person_records = []
    files = 0
    for system, names in NIGHTLY_SYSTEMS.items():
        sch = schedules[system]
        for name in names:
            v = _prepare(name, frames[name])
            cols = event_fields(name, v, people, employers, rng)
            if name in PERSON_TABLES:
                ident, rec = _identities(name, v, people_rows, cfg, r)
                cols.update(ident)
                person_records.append(rec)
            plan = L.plan_deliveries(cfg, SPECS[name], v, sch, v["_removed_day"].to_numpy(), rng)
            files += L.write_file_type(
                landing, name, v, cols, plan, sch, cutoff, writer_rng[name], cfg, faults
            )
            delivered = plan.version[(sch.dates[plan.drop] <= cutoff) & (plan.fault == "")]
            cur = truth.latest(v, delivered)
            last_full = max([int(d) for d in sch.full if int(d) <= cutoff], default=-1)
            cur = cur.assign(removed_at_source=(cur["_removed_day"] >= 0) & (cur["_removed_day"] < last_full))
            current[name] = cur
        log(f"wrote {system} drops ({time.perf_counter() - t0:.1f}s)")

    wage_rng = np.random.default_rng(streams[1])
    model = WageModel(cfg, people, tables, employers, wage_rng)
    wage_counts = _write_wages(landing, truth_dir, model, cfg)
    log(
        f"wrote {len(wage_counts)} wage quarters, {sum(wage_counts.values()):,} rows ({time.perf_counter() - t0:.1f}s)"
    )

    # ------------------------------------------------------------------ truth
    pcols = [
        "person_id",
        "ssn",
        "first",
        "middle",
        "last",
        "suffix",
        "sex",
        "dob",
        "kind",
        "related_to",
        "hispanic",
        "race",
        "veteran",
        "disability",
        "education",
        "low_income",
        "married_last",
        "marriage_day",
        "move_day",
    ]
    truth.days_to_dates(people[pcols], ("dob", "marriage_day", "move_day")).to_parquet(
        truth_dir / "people.parquet", index=False
    )
    recs = pd.concat(person_records, ignore_index=True)
    status = pd.concat(
        [
            current[n][[k, "status", "removed_at_source"]]
            .rename(columns={k: "source_record_id"})
            .assign(source_system=s)
            for n, (s, k) in PERSON_TABLES.items()
        ],
        ignore_index=True,
    )
    recs = recs.merge(
        status, on=["source_system", "source_record_id"], how="inner"
    )  # delivered by the cut-off
    recs.to_parquet(truth_dir / "person_records.parquet", index=False)
    rec_dir = truth_dir / "records"
    rec_dir.mkdir()
    for name, cur in current.items():
        truth.days_to_dates(cur.drop(columns=["_key", "_removed_day"]), DAY_COLUMNS).to_parquet(
            rec_dir / f"{name}.parquet", index=False
        )
    per = truth.periods(current, cutoff)
    per.to_parquet(truth_dir / "periods.parquet", index=False)
    with (truth_dir / "injected_faults.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file_path", "line_number", "kind", "source_record_id"])
        w.writerows(sorted(faults.rows))
    manifest = {
        "config": json.loads(json.dumps(asdict(cfg), default=str)),
        "cutoff": str(cfg.cutoff),
        "people": len(people),
        "person_records": len(recs),
        "person_records_by_system": recs["source_system"].value_counts().sort_index().to_dict(),
        "periods_by_program": per["program"].value_counts().sort_index().to_dict(),
        "wage_rows": int(sum(wage_counts.values())),
        "wage_quarters": sorted(wage_counts),
        "nightly_files": files,
        "injected_faults": len(faults.rows),
        "exit_rule": f"a period ends at its last qualifying day once more than {truth.EXIT_GAP_DAYS} days "
        "have passed by the cut-off night",
    }
    (truth_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return {**manifest, "seconds": round(time.perf_counter() - t0, 1)}


__all__ = ["Quarter", "generate"]
