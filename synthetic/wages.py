"""Quarterly UI wage records: the program customers' work histories plus the rest of the state's
covered workforce (background workers), simulated quarter by quarter so that memory stays
bounded — one quarter's rows exist at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthetic import vocab
from synthetic.config import GeneratorConfig
from synthetic.population import EPOCH, day, unique_ssns
from synthetic.programs import Tables

NAICS: tuple[str, ...] = (
    "236118", "238220", "311612", "311615", "331110", "332710", "336390", "423830", "445110", "452319",
    "484121", "493110", "522110", "524114", "541511", "561320", "561720", "611110", "621111", "622110",
    "623110", "624120", "722511", "722513", "812112", "921190", "111150", "112210",
)  # fmt: skip


@dataclass(frozen=True)
class Quarter:
    year: int
    q: int

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def first_day(self) -> int:
        return day(dt.date(self.year, 3 * self.q - 2, 1))

    @property
    def last_day(self) -> int:
        nxt = Quarter(self.year + (self.q == 4), 1 if self.q == 4 else self.q + 1)
        return nxt.first_day - 1

    def delivered_on(self, lag_days: int) -> dt.date:
        return EPOCH + dt.timedelta(days=self.last_day + lag_days)

    @staticmethod
    def of(d: dt.date) -> Quarter:
        return Quarter(d.year, (d.month - 1) // 3 + 1)

    def next(self) -> Quarter:
        return Quarter(self.year + (self.q == 4), 1 if self.q == 4 else self.q + 1)


def quarters(cfg: GeneratorConfig) -> list[Quarter]:
    """From a year before the history starts (pre-program wages) to the end date's quarter."""
    q = Quarter.of(cfg.history_start - dt.timedelta(days=365))
    last = Quarter.of(cfg.end_date)
    out = []
    while (q.year, q.q) <= (last.year, last.q):
        out.append(q)
        q = q.next()
    return out


@dataclass(frozen=True)
class Employers:
    account: np.ndarray  # 10-digit UI account numbers
    fein: np.ndarray
    naics: np.ndarray
    size: np.ndarray  # sampling weight

    @staticmethod
    def build(rng: np.random.Generator, n: int) -> Employers:
        fein = np.char.zfill(_unique_ints(rng, 10_000_000, 999_999_999, n).astype(str), 9)
        account = np.char.zfill(_unique_ints(rng, 10**8, 10**10 - 1, n).astype(str), 10)
        naics = np.asarray(NAICS)[rng.integers(0, len(NAICS), n)]
        size = rng.pareto(1.2, n) + 1
        return Employers(account.astype(object), fein.astype(object), naics.astype(object), size / size.sum())

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(len(self.fein), size=n, p=self.size)


def _unique_ints(rng: np.random.Generator, lo: int, hi: int, n: int) -> np.ndarray:
    """n distinct integers in [lo, hi), in draw order."""
    vals = np.zeros(0, dtype=np.int64)
    while len(vals) < n:
        more = rng.integers(lo, hi, size=2 * n)
        vals = np.concatenate([vals, more])
        _, first = np.unique(vals, return_index=True)
        vals = vals[np.sort(first)]
    return vals[:n]


def _overlap(starts: np.ndarray, ends: np.ndarray, q: Quarter) -> np.ndarray:
    return np.asarray(np.clip(np.minimum(ends, q.last_day) - np.maximum(starts, q.first_day) + 1, 0, None))


class WageModel:
    """Employment as a two-state Markov chain per worker, bent by UI spells and program exits."""

    def __init__(
        self,
        cfg: GeneratorConfig,
        people: pd.DataFrame,
        tables: Tables,
        employers: Employers,
        rng: np.random.Generator,
    ) -> None:
        self.cfg, self.rng, self.emp = cfg, rng, employers
        n = len(people)
        self.n_people = n
        self.people_ssn = people["ssn"].to_numpy()
        self.people_last = people["last"].to_numpy()
        self.people_first = people["first"].to_numpy()
        self.people_middle = people["middle"].to_numpy()
        self.marriage_day = people["marriage_day"].to_numpy()
        self.married_last = people["married_last"].to_numpy()
        self.employer = people["employer"].to_numpy().copy()
        self.base = rng.lognormal(np.log(9000), 0.55, n)
        self.attach = rng.beta(5, 2, n)
        self.state = rng.random(n) < self.attach
        un = [(p, a, b) for p, spells in tables.unemployed.items() for a, b in spells]
        self.un = np.asarray(un, dtype=np.int64).reshape(-1, 3)
        sv = [
            (p, a, b if b is not None else 10**7, t)
            for p, spells in tables.served.items()
            for a, b, t in spells
        ]
        self.sv = np.asarray(sv, dtype=np.int64).reshape(-1, 4)
        # background workers: in no program, present in the wage files only
        nb = round(n * cfg.background_workers_per_person)
        taken = set(self.people_ssn.tolist())
        bg_ssn = np.asarray(
            [s for s in unique_ssns(rng, int(nb * 1.05) + 10) if s not in taken][:nb], dtype=object
        )
        self.nb = len(bg_ssn)
        self.bg_ssn = bg_ssn
        sex = np.where(rng.random(self.nb) < 0.5, "F", "M")
        fn = vocab.first_names()
        first = np.empty(self.nb, dtype=object)
        for s in ("F", "M"):
            first[sex == s] = fn[s].sample(rng, int((sex == s).sum()))
        self.bg_first = first
        self.bg_last = vocab.last_names()["us"].sample(rng, self.nb)
        self.bg_middle = np.asarray(list("ABCDEFGHJKLMNPRSTW"), dtype=object)[rng.integers(0, 18, self.nb)]
        self.bg_employer = employers.sample(rng, self.nb)
        self.bg_base = rng.lognormal(np.log(11000), 0.6, self.nb)
        self.bg_state = rng.random(self.nb) < 0.85

    def _people_quarter(self, q: Quarter, qi: int) -> pd.DataFrame:
        rng, n = self.rng, self.n_people
        unemployed_days = np.zeros(n)
        if len(self.un):
            np.add.at(unemployed_days, self.un[:, 0], _overlap(self.un[:, 1], self.un[:, 2], q))
        in_program = np.zeros(n, dtype=bool)
        recent_exit = np.zeros(n, dtype=bool)
        trained_exit = np.zeros(n, dtype=bool)
        if len(self.sv):
            pid, a, b, t = self.sv.T
            in_program[pid[_overlap(a, b, q) > 0]] = True
            since = q.first_day - b
            rec = (since > 0) & (since < 400)
            recent_exit[pid[rec]] = True
            trained_exit[pid[rec & (t == 1)]] = True
        p_stay = np.where(in_program, 0.80, 0.93)
        p_find = np.select([trained_exit, recent_exit, in_program], [0.70, 0.55, 0.25], 0.30)
        draw = rng.random(n)
        lost = unemployed_days > 45
        self.state = np.where(self.state, draw < p_stay, draw < p_find * self.attach * 1.4) & ~lost
        change = (rng.random(n) < 0.05) | lost | (recent_exit & (rng.random(n) < 0.3))
        self.employer = np.where(change, self.emp.sample(rng, n), self.employer)
        employed = self.state | ((unemployed_days > 0) & (unemployed_days <= 45))
        share = 1.0 - np.clip(unemployed_days / 91.0, 0, 0.9)
        growth = 1.0 + 0.008 * qi
        wages = self.base * growth * share * rng.uniform(0.85, 1.15, n)
        idx = np.flatnonzero(employed)
        rows = pd.DataFrame({"person_id": idx, "employer": self.employer[idx], "wages": wages[idx]})
        second = idx[rng.random(len(idx)) < 0.10]
        extra = pd.DataFrame(
            {
                "person_id": second,
                "employer": self.emp.sample(rng, len(second)),
                "wages": rng.uniform(300, 4000, len(second)),
            }
        )
        rows = pd.concat([rows, extra], ignore_index=True)
        pid = rows["person_id"].to_numpy()
        married = (self.marriage_day[pid] >= 0) & (self.marriage_day[pid] <= q.last_day)
        rows["ssn"] = self.people_ssn[pid]
        rows["last"] = np.where(married, self.married_last[pid], self.people_last[pid])
        rows["first"] = self.people_first[pid]
        rows["middle"] = self.people_middle[pid]
        return rows

    def _background_quarter(self) -> pd.DataFrame:
        rng, nb = self.rng, self.nb
        draw = rng.random(nb)
        self.bg_state = np.where(self.bg_state, draw < 0.95, draw < 0.45)
        change = rng.random(nb) < 0.04
        self.bg_employer = np.where(change, self.emp.sample(rng, nb), self.bg_employer)
        idx = np.flatnonzero(self.bg_state)
        return pd.DataFrame(
            {
                "person_id": -1,
                "employer": self.bg_employer[idx],
                "wages": self.bg_base[idx] * rng.uniform(0.85, 1.15, len(idx)),
                "ssn": self.bg_ssn[idx],
                "last": self.bg_last[idx],
                "first": self.bg_first[idx],
                "middle": self.bg_middle[idx],
            }
        )

    def quarters(self, qs: list[Quarter]) -> Iterator[tuple[Quarter, pd.DataFrame]]:
        """Yield one quarter's wage rows at a time (customers first, then background workers, shuffled)."""
        rng = self.rng
        for qi, q in enumerate(qs):
            rows = pd.concat([self._people_quarter(q, qi), self._background_quarter()], ignore_index=True)
            rows = rows.iloc[rng.permutation(len(rows))].reset_index(drop=True)
            rows["wage_cents"] = np.round(rows["wages"].to_numpy() * 100).astype(np.int64)
            emp = rows["employer"].to_numpy()
            rows["account"] = self.emp.account[emp]
            rows["fein"] = self.emp.fein[emp]
            rows["naics"] = self.emp.naics[emp]
            # employers mis-key a few SSNs: those wages will not match their worker
            bad = np.flatnonzero(rng.random(len(rows)) < self.cfg.noise.wage_ssn_error)
            ssn = rows["ssn"].to_numpy().copy()
            for i in bad:
                s = ssn[i]
                k = int(rng.integers(0, 9))
                ssn[i] = s[:k] + str((int(s[k]) + 1 + int(rng.integers(0, 8))) % 10) + s[k + 1 :]
            rows["reported_ssn"] = ssn
            rows["year"], rows["quarter"] = q.year, q.q
            yield q, rows.drop(columns=["wages"])

    def amend(self, rows: pd.DataFrame) -> pd.DataFrame:
        """An amended re-delivery: some wage corrections and a few late-reported rows."""
        rng = self.rng
        out = rows.copy()
        fix = rng.random(len(out)) < 0.01
        out.loc[fix, "wage_cents"] = np.round(
            out.loc[fix, "wage_cents"] * rng.uniform(0.5, 1.5, int(fix.sum()))
        )
        late = out.iloc[rng.choice(len(out), size=max(1, len(out) // 200), replace=False)].copy()
        late["employer"] = self.emp.sample(rng, len(late))
        late["account"] = self.emp.account[late["employer"].to_numpy()]
        late["fein"] = self.emp.fein[late["employer"].to_numpy()]
        late["naics"] = self.emp.naics[late["employer"].to_numpy()]
        late["wage_cents"] = rng.integers(20_000, 300_000, len(late))
        return pd.concat([out, late], ignore_index=True)
