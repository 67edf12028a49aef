"""Program flow of the synthetic state: who claims UI, registers with WP, is referred to Title I,
applies to VR, studies in Adult Ed — and every record version those systems hold.

Days are integers (days since 1970-01-01); timestamps are seconds since then. Each table is a
list of *versions* (a record as it stood after one change, with its last-updated stamp); the
writers cut them into FULL and DELTA drops. Identity fields are not set here (see noise.py):
rows carry `person_id` and `ident_day`, the day whose name and address the record shows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthetic.config import GeneratorConfig
from synthetic.population import day

Row = dict[str, Any]
WP_QUALIFYING = ("101", "102", "103", "104", "105", "106", "110", "120", "121", "122")
SECONDS_PER_DAY = 86_400


@dataclass
class Tables:
    """Record versions per file type, plus facts the wage simulation needs."""

    ui_claims: list[Row] = field(default_factory=list)
    wp_registrations: list[Row] = field(default_factory=list)
    wp_services: list[Row] = field(default_factory=list)
    t1_participation: list[Row] = field(default_factory=list)
    t1_outcomes: list[Row] = field(default_factory=list)
    vr_cases: list[Row] = field(default_factory=list)
    vr_outcomes: list[Row] = field(default_factory=list)
    ae_students: list[Row] = field(default_factory=list)
    ae_attendance: list[Row] = field(default_factory=list)
    ae_assessments: list[Row] = field(default_factory=list)
    ae_outcomes: list[Row] = field(default_factory=list)
    # person_id -> list of (first day, last day) without work (UI benefit spells)
    unemployed: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    # person_id -> list of (entry day, exit day or None, trained) program periods, for the wage model
    served: dict[int, list[tuple[int, int | None, bool]]] = field(default_factory=dict)

    def frames(self) -> dict[str, pd.DataFrame]:
        names = (
            "ui_claims",
            "wp_registrations",
            "wp_services",
            "t1_participation",
            "t1_outcomes",
            "vr_cases",
            "vr_outcomes",
            "ae_students",
            "ae_attendance",
            "ae_assessments",
            "ae_outcomes",
        )
        return {n: pd.DataFrame(getattr(self, n)) for n in names}


class Simulator:
    def __init__(self, cfg: GeneratorConfig, people: pd.DataFrame, seed: int) -> None:
        self.cfg = cfg
        self.people = people
        self.p: dict[str, np.ndarray] = {str(c): people[c].to_numpy() for c in people.columns}
        self.r = random.Random(seed)
        self.t = Tables()
        self.start = day(cfg.history_start)
        self.end = day(cfg.end_date)
        self.seq: dict[str, int] = {}
        self.t1_pid: dict[int, str] = {}
        self.vr_cid: dict[int, str] = {}
        self.wp_ids: dict[int, list[str]] = {}

    # ------------------------------------------------------------------ helpers
    def next_id(self, kind: str) -> int:
        self.seq[kind] = self.seq.get(kind, 0) + 1
        return self.seq[kind]

    def ts(self, d: int, lo_h: int = 7, hi_h: int = 22) -> int:
        return d * SECONDS_PER_DAY + self.r.randint(lo_h * 3600, hi_h * 3600 - 1)

    def age(self, pid: int, d: int) -> float:
        return float(d - int(self.p["dob"][pid])) / 365.25

    # ------------------------------------------------------------------ UI
    def ui(self, pid: int) -> list[tuple[int, int, str, bool]]:
        """Claims of one claimant; returns (filed, last paid, separation reason, RESEA) per claim."""
        r, f = self.r, self.cfg.flow
        out = []
        filed = r.randint(self.start, self.end)
        while filed <= self.end:
            claim_id = f"C{self.next_id('claim'):011d}"
            ctype = r.choices("NAT", weights=(85, 10, 5))[0]
            byb = filed - (filed + 4) % 7  # the Sunday of the filing week (1970-01-04 was a Sunday)
            weeks = min(26, max(1, int(r.expovariate(1 / 12))))
            last_paid = filed + 7 * weeks + r.randint(0, 6)
            reason = r.choices(("LW", "VQ", "DM", "OT"), weights=(62, 14, 14, 10))[0]
            score = r.randint(0, 100)
            resea = score >= 55 and r.random() < 0.7
            row: Row = {
                "claim_id": claim_id,
                "person_id": pid,
                "ident_day": filed,
                "claim_type": ctype,
                "filed": filed,
                "byb": byb,
                "wba_cents": r.randrange(12_000, 64_000, 100),
                "employer": int(self.p["employer"][pid]),
                "separation_reason": reason,
                "profiling_score": score,
                "resea": "Y" if resea else "N",
                "last_paid": None,
                "exhausted": "N",
                "status": "A",
                "ts": self.ts(filed),
            }
            self.t.ui_claims.append(row)
            paid = dict(
                row, last_paid=last_paid, exhausted="Y" if weeks == 26 else "N", ts=self.ts(last_paid)
            )
            self.t.ui_claims.append(paid)
            if r.random() < f.ui_claim_voided:
                self.t.ui_claims.append(
                    dict(paid, status="D", ts=paid["ts"] + r.randint(1, 20) * SECONDS_PER_DAY)
                )
            else:
                self.t.unemployed.setdefault(pid, []).append((filed, last_paid))
                out.append((filed, last_paid, reason, resea))
            if r.random() >= f.ui_extra_claim:
                break
            filed = last_paid + r.randint(90, 420)
        return out

    # ------------------------------------------------------------------ WP
    def wp_register(self, pid: int, reg: int, claimant: bool) -> str:
        r = self.r
        ind = f"IA{self.next_id('wp'):010d}"
        self.wp_ids.setdefault(pid, []).append(ind)
        emp = (
            "Unemployed"
            if claimant
            else r.choices(
                ("Employed", "Employed, Received Notice of Termination", "Not in Labor Force", "Unemployed"),
                weights=(30, 8, 17, 45),
            )[0]
        )
        row: Row = {
            "individual_id": ind,
            "person_id": pid,
            "ident_day": reg,
            "registered": reg,
            "employment_status": emp,
            "ui_claimant": "Yes" if claimant else "No",
            "status": "Active",
            "ts": self.ts(reg),
        }
        self.t.wp_registrations.append(row)
        move = int(self.p["move_day"][pid])
        if reg < move <= self.end and r.random() < 0.6:  # the customer reports the new address
            upd = move + r.randint(0, 60)
            self.t.wp_registrations.append(dict(row, ident_day=upd, ts=self.ts(upd)))
        return ind

    def wp_service(self, ind: str, pid: int, d: int, code: str) -> None:
        if d > self.end:
            return
        staff = "N" if code in ("001", "002") else "Y"
        office = self.p["office_2" if 0 <= int(self.p["move_day"][pid]) <= d else "office"][pid]
        row: Row = {
            "service_id": f"S{self.next_id('svc'):09d}",
            "individual_id": ind,
            "person_id": pid,
            "code": code,
            "service_day": d,
            "staff": staff,
            "office": office,
            "status": "Active",
            "ts": self.ts(d),
        }
        self.t.wp_services.append(row)
        if code in WP_QUALIFYING and self.r.random() < 0.004:
            # keyed twice by mistake, then voided: must never count
            dup = dict(row, service_id=f"S{self.next_id('svc'):09d}", ts=row["ts"] + 600)
            self.t.wp_services.append(dup)
            self.t.wp_services.append(
                dict(dup, status="Deleted", ts=dup["ts"] + self.r.randint(1, 5) * 86_400)
            )

    def wp_period(self, ind: str, pid: int, first: int, first_code: str, referrals: bool) -> int:
        """One period of staff-assisted services; returns the last qualifying service day."""
        r = self.r
        d = first
        self.wp_service(ind, pid, d, first_code)
        last = d
        for _ in range(min(12, int(r.expovariate(1 / 2.5)))):
            d += r.randint(1, 70)
            if d > self.end:
                break
            code = r.choices(("102", "103", "104", "105", "106"), weights=(35, 20, 20, 10, 15))[0]
            self.wp_service(ind, pid, d, code)
            last = d
        if referrals and last + 1 <= self.end and r.random() < self.cfg.flow.t1_from_wp_referral:
            last += r.randint(1, 20)
            self.wp_service(ind, pid, last, "120")
            self.title1(pid, last + r.randint(3, 30), referred=True)
        if r.random() < 0.2:  # self-service inside the 90 days after the last staff service
            self.wp_service(ind, pid, last + r.randint(5, 80), "001")
        if r.random() < self.cfg.flow.wp_followup:  # follow-up never extends participation
            self.wp_service(ind, pid, last + r.randint(20, 85), "190")
        return last

    def wp(self, pid: int, reg: int, claimant: bool, resea: bool) -> None:
        r, f = self.r, self.cfg.flow
        if reg > self.end:
            return
        ind = self.wp_register(pid, reg, claimant)
        if r.random() < f.wp_self_service_only:
            for _ in range(r.randint(1, 3)):
                self.wp_service(ind, pid, reg + r.randint(0, 200), r.choice(("001", "002")))
            return
        last = self.wp_period(ind, pid, reg + r.randint(0, 10), "110" if resea else "101", True)
        if r.random() < f.wp_second_period:
            again = last + r.randint(120, 500)
            if again <= self.end:
                if r.random() < f.wp_duplicate_registration * 10:  # re-registered under a second id
                    ind = self.wp_register(pid, again, claimant)
                self.wp_period(ind, pid, again, "101", True)

    # ------------------------------------------------------------------ Title I
    def title1(self, pid: int, entry: int, referred: bool, youth: bool = False) -> None:
        r = self.r
        if entry > self.end:
            return
        age = self.age(pid, entry)
        claims = self.t.unemployed.get(pid, [])
        dislocated = any(f <= entry <= f + 730 for f, _ in claims)
        if youth or (age < 22 and r.random() < 0.5):
            program = "YOUTH"
        elif dislocated and r.random() < 0.75:
            program = "DW"
        else:
            program = "ADULT"
        part = self.t1_pid.setdefault(pid, f"T1-{len(self.t1_pid) + 1:06d}")
        last = entry + r.randint(60, 540)
        exit_reason = r.choices(
            ("00", "01", "02", "03", "05", "06"),
            weights=(94, 1.5, 2, 0.5, 0.5, 1.5 if program == "YOUTH" else 0),
        )[0]
        trained = r.random() < 0.55
        ttype = (
            r.choices(("06", "01", "07", "02", "04", "05", "03"), weights=(50, 15, 8, 8, 7, 7, 5))[0]
            if trained
            else "00"
        )
        t_start = entry + r.randint(0, 30) if trained else None
        t_end = min(t_start + r.randint(60, 360), last) if t_start is not None else None
        emp_entry = {
            "DW": r.choice(("0", "0", "0", "2")),
            "ADULT": r.choice(("0", "0", "1", "3")),
            "YOUTH": r.choice(("3", "3", "0", "1")),
        }[program]
        dis = str(self.p["disability"][pid])
        row: Row = {
            "participation_id": f"P{self.next_id('t1'):08d}",
            "participant_id": part,
            "person_id": pid,
            "ident_day": entry,
            "program": program,
            "disability": {"Y": "1", "N": "0", "U": "9"}[dis],
            "veteran": "1" if self.p["veteran"][pid] else "0",
            "employment_status": emp_entry,
            "low_income": "1" if self.p["low_income"][pid] else "0",
            "education": str(min(6, int(self.p["education"][pid]))),
            "youth_in_school": (
                ("1" if age < 19 and r.random() < 0.6 else "0") if program == "YOUTH" else ""
            ),
            "entry": entry,
            "exit": None,
            "exit_reason": "00",
            "training_type": ttype,
            "training_start": t_start,
            "training_end": None,
            "status": "A",
            "ts": self.ts(entry),
        }
        self.t.t1_participation.append(row)
        if t_end is not None and t_end + 1 < last:  # training completed while the case is open
            self.t.t1_participation.append(dict(row, training_end=t_end, ts=self.ts(t_end + 1)))
        recorded = last + 90 + r.randint(1, 10)  # the 90-day rule, applied by the case system
        final = dict(row, exit=last, exit_reason=exit_reason, training_end=t_end, ts=self.ts(recorded))
        self.t.t1_participation.append(final)
        self.t.served.setdefault(pid, []).append((entry, last, trained))
        self.t1_outcomes(row["participation_id"], program, entry, last, ttype, t_start, t_end)
        if r.random() < self.cfg.flow.ae_referred_from_t1 and program != "DW":
            self.adult_ed(pid, entry + r.randint(0, 60))

    def t1_outcome(self, part_id: str, otype: str, code: str, d: int) -> None:
        if d > self.end:
            return
        row: Row = {
            "outcome_id": f"O{self.next_id('t1o'):08d}",
            "participation_id": part_id,
            "type": otype,
            "code": code,
            "day": d,
            "status": "A",
            "ts": self.ts(d),
        }
        self.t.t1_outcomes.append(row)
        if self.r.random() < 0.005:
            self.t.t1_outcomes.append(dict(row, status="D", ts=row["ts"] + self.r.randint(1, 30) * 86_400))

    def t1_outcomes(
        self,
        part_id: str,
        program: str,
        entry: int,
        last: int,
        ttype: str,
        t_start: int | None,
        t_end: int | None,
    ) -> None:
        r = self.r
        if t_start is not None and t_end is not None:
            if ttype not in ("01", "05") and r.random() < 0.55:
                code = r.choices(("5", "6", "4", "7", "2"), weights=(40, 25, 15, 15, 5))[0]
                self.t1_outcome(part_id, "CREDENTIAL", code, min(t_end + r.randint(-10, 200), last + 300))
            if r.random() < 0.6:
                self.t1_outcome(part_id, "SKILL_GAIN", r.choice("345"), r.randint(t_start, t_end))
        if program == "YOUTH":
            if r.random() < 0.25:
                self.t1_outcome(part_id, "CREDENTIAL", "1", r.randint(entry, last + 200))
            if r.random() < 0.3:
                self.t1_outcome(part_id, "POST_EXIT_EDUCATION", r.choice("123"), last + r.randint(20, 400))
            if r.random() < 0.3:
                self.t1_outcome(part_id, "SKILL_GAIN", r.choice("12"), r.randint(entry, last))

    # ------------------------------------------------------------------ VR
    def vr(self, pid: int) -> None:
        r = self.r
        app = r.randint(self.start, self.end)
        client = self.vr_cid.setdefault(pid, f"K{len(self.vr_cid) + 1:07d}")
        case: Row = {
            "case_id": f"VR{self.next_id('vr'):08d}",
            "client_id": client,
            "person_id": pid,
            "ident_day": app,
            "application": app,
            "eligibility": None,
            "oos": "0",
            "wait_start": None,
            "wait_end": None,
            "ipe": None,
            "service_start": None,
            "closure": None,
            "closure_type": None,
            "closure_reason": None,
            "impairment": f"{r.choice((1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 18, 19)):02d}",
            "edu_training": "Y" if r.random() < 0.35 else "N",
            "status": "A",
            "ts": self.ts(app),
        }
        versions = [case]

        def step(d: int, **changes: Any) -> bool:
            if d > self.end:
                return False
            stamp = max(versions[-1]["ts"] + 60, self.ts(d))  # stamps only move forward
            versions.append(dict(versions[-1], **changes, ts=stamp))
            return True

        def close(d: int, ctype: str, reason: str) -> None:
            step(d, closure=d, closure_type=ctype, closure_reason=reason)

        if r.random() < 0.12:
            close(app + r.randint(30, 120), "1", r.choice(("00", "02", "01")))
        else:
            elig = app + r.randint(10, 60)
            oos = r.choices("0123", weights=(55, 15, 18, 12))[0]
            if step(elig, eligibility=elig, oos=oos):
                go = elig
                if oos in "23":
                    step(elig, wait_start=elig)
                    if r.random() < self.cfg.flow.vr_waitlist_served_by_wp:
                        self.wp_waitlisted(pid, elig)
                    if r.random() < 0.15:
                        close(elig + r.randint(100, 400), "3", "00")
                        go = -1
                    else:
                        go = elig + r.randint(60, 420)
                        if not step(go, wait_end=go):
                            go = -1
                if go >= 0:
                    self.vr_after_eligibility(
                        pid, go, step, close, case["case_id"], case["edu_training"] == "Y"
                    )
        self.t.vr_cases.extend(versions)

    def vr_after_eligibility(self, pid: int, go: int, step: Any, close: Any, case_id: str, edu: bool) -> None:
        r = self.r
        if r.random() < 0.05:
            close(go + r.randint(60, 300), "4", "00")
            return
        ipe = go + r.randint(15, 90)
        if not step(ipe, ipe=ipe):
            return
        if r.random() < 0.04:
            close(ipe + r.randint(30, 200), "7", "00")
            return
        start = ipe + r.randint(0, 30)
        if not step(start, service_start=start):
            return
        last = start + r.randint(150, 900)
        if r.random() < 0.6:
            ctype, reason = "5", "00"
        else:
            ctype = "6"
            reason = r.choices(("00", "01", "02", "03", "04", "05"), weights=(88, 2, 5, 1, 3, 1))[0]
        if last <= self.end:
            close(last, ctype, reason)
        self.t.served.setdefault(pid, []).append((start, last, edu))
        if edu:
            if r.random() < 0.55:
                self.vr_outcome(case_id, "MSG", r.choice("12345"), r.randint(start, last))
            if r.random() < 0.35:
                self.vr_outcome(case_id, "CRED", r.choice("12345678"), last + r.randint(-60, 200))

    def vr_outcome(self, case_id: str, otype: str, code: str, d: int) -> None:
        if d > self.end:
            return
        row: Row = {
            "outcome_id": f"VO{self.next_id('vro'):07d}",
            "case_id": case_id,
            "type": otype,
            "code": code,
            "day": d,
            "status": "A",
            "ts": self.ts(d),
        }
        self.t.vr_outcomes.append(row)

    def wp_waitlisted(self, pid: int, wait_start: int) -> None:
        if pid in self.wp_ids:
            ind = self.wp_ids[pid][0]
            self.wp_period(ind, pid, wait_start + self.r.randint(5, 40), "101", False)
        else:
            reg = wait_start + self.r.randint(5, 40)
            if reg <= self.end:
                ind = self.wp_register(pid, reg, False)
                self.wp_period(ind, pid, reg, "101", False)

    # ------------------------------------------------------------------ Adult Ed
    def adult_ed(self, pid: int, first_class: int) -> None:
        r, f = self.r, self.cfg.flow
        if first_class > self.end:
            return
        edu = int(self.p["education"][pid])
        spanish = bool(self.p["spanish"][pid])
        if spanish and r.random() < 0.5:
            ptype = "ESL"
        elif r.random() < 0.1:
            ptype = "IET"
        else:
            ptype = "ASE" if edu == 0 and r.random() < 0.6 else "ABE"
        diploma = edu >= 1
        grade = 12 if diploma else r.randint(6, 11)
        sid = str(100000 + self.next_id("ae"))
        row: Row = {
            "student_id": sid,
            "person_id": pid,
            "ident_day": first_class - r.randint(0, 7),
            "program_type": ptype,
            "grade": grade,
            "diploma": "Y" if diploma else "N",
            "s225": "Y" if r.random() < 0.04 else "N",
            "status": "Active",
        }
        row["ts"] = self.ts(row["ident_day"])
        self.t.ae_students.append(row)
        move = int(self.p["move_day"][pid])
        if row["ident_day"] < move <= self.end and r.random() < 0.5:
            upd = move + r.randint(0, 30)
            self.t.ae_students.append(dict(row, ident_day=upd, ts=self.ts(upd)))
        start = first_class
        efl = r.randint(1, 3) if ptype == "ESL" else r.randint(1, 5)
        periods = 2 if r.random() < f.ae_second_period else 1
        for p in range(periods):
            short = r.random() < f.ae_under_12_hours and p == 0
            last, hours = self.ae_classes(sid, start, short)
            if last is None:
                break
            self._ae_assess(sid, start, efl, ptype)
            if hours >= 40 and r.random() < 0.7:
                gain = r.random() < 0.5
                efl = min(6, efl + (1 if gain else 0))
                self._ae_assess(sid, last - r.randint(0, 10), efl, ptype)
            if hours >= 12:
                self.t.served.setdefault(pid, []).append((start, last, True))
                if ptype == "ASE" and not diploma and r.random() < 0.3:
                    self.ae_outcome(sid, r.choice(("HSE", "DIPLOMA")), last + r.randint(-20, 60), "")
                if ptype == "IET" and r.random() < 0.35:
                    self.ae_outcome(sid, "CREDENTIAL", last + r.randint(0, 120), r.choice("567"))
                if r.random() < 0.08:
                    self.ae_outcome(sid, "POSTSECONDARY_ENROLLMENT", last + r.randint(30, 300), "")
            start = last + r.randint(120, 300)

    def ae_classes(self, sid: str, start: int, short: bool) -> tuple[int | None, float]:
        r = self.r
        classes = [f"CL{r.randint(1, 120):03d}"]
        if r.random() < 0.3:
            classes.append(f"CL{r.randint(1, 120):03d}")
        per_week = r.randint(1, 3)
        weeks = r.randint(1, 2) if short else r.randint(3, 30)
        hours_total = 0.0
        last: int | None = None
        for w in range(weeks):
            for k in range(per_week):
                d = start + 7 * w + 2 * k
                if d > self.end:
                    return last, hours_total
                hours = r.choice((1.5, 2.0, 2.5, 3.0))
                if short and hours_total + hours >= 12:
                    return last, hours_total
                self.t.ae_attendance.append(
                    {"student_id": sid, "class_id": classes[k % len(classes)], "day": d, "hours": hours}
                )
                hours_total += hours
                last = d
        return last, hours_total

    def _ae_assess(self, sid: str, d: int, efl: int, ptype: str) -> None:
        if d > self.end:
            return
        r = self.r
        instrument = (
            r.choice(("BEST Plus", "CASAS Reading"))
            if ptype == "ESL"
            else r.choice(("CASAS Reading", "CASAS Math", "TABE Reading", "TABE Math"))
        )
        score = (
            180 + 20 * efl + r.randint(0, 19)
            if instrument.startswith("CASAS")
            else (
                300 + 60 * efl + r.randint(0, 59)
                if instrument.startswith("TABE")
                else 350 + 80 * efl + r.randint(0, 79)
            )
        )
        self.t.ae_assessments.append(
            {
                "assessment_id": f"A{self.next_id('aea'):07d}",
                "student_id": sid,
                "day": d,
                "instrument": instrument,
                "score": score,
                "efl": efl,
            }
        )

    def ae_outcome(self, sid: str, otype: str, d: int, cred: str) -> None:
        if d > self.end:
            return
        self.t.ae_outcomes.append(
            {
                "outcome_id": f"AO{self.next_id('aeo'):06d}",
                "student_id": sid,
                "type": otype,
                "day": d,
                "credential": cred,
                "status": "Active",
                "ts": self.ts(d),
            }
        )

    # ------------------------------------------------------------------ the whole flow
    def run(self) -> Tables:
        r, f = self.r, self.cfg.flow
        people = self.people
        n = len(people)
        dis = people["disability"].to_numpy()
        edu = people["education"].to_numpy()
        for pid in range(n):
            claims = self.ui(pid) if r.random() < f.ui_claimant else []
            if claims:
                if r.random() < f.wp_given_claim or any(c[3] for c in claims):
                    filed, _, _, resea = claims[0]
                    self.wp(pid, filed + min(60, int(r.expovariate(1 / 8))), True, resea)
            elif r.random() < f.wp_without_claim:
                self.wp(pid, r.randint(self.start, self.end), False, False)
            if self.age(pid, self.start) < 22 and r.random() < f.t1_youth_direct * 0.3:
                self.title1(pid, r.randint(self.start, self.end), referred=False, youth=True)
            p_vr = f.vr_case_disabled if dis[pid] == "Y" else f.vr_case * 0.35
            if r.random() < p_vr:
                self.vr(pid)
            p_ae = f.ae_learner * (2.0 if edu[pid] == 0 else 1.0)
            if r.random() < p_ae:
                self.adult_ed(pid, r.randint(self.start, self.end))
        return self.t
