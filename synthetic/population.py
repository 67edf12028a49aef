"""The true people of the synthetic state, drawn vectorised with numpy.

Look-alikes (twins, same name and birth date, household members) are separate people on
purpose: linkage must keep them apart, so precision is tested as well as recall.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from synthetic import vocab
from synthetic.config import GeneratorConfig

EPOCH = dt.date(1970, 1, 1)
JUNK_SSNS: frozenset[str] = frozenset(
    {"123456789", "111111111", "222222222", "333333333", "444444444", "555555555", "777777777",
     "888888888", "999999999", "987654321", "012345678", "078051120", "219099999"}
)  # fmt: skip


def day(d: dt.date) -> int:
    return (d - EPOCH).days


def day_numbers(values: object) -> np.ndarray:
    """Day numbers as float64 with NaN for missing (None, NaN); never through pd.to_numeric."""
    return pd.Series(values, dtype=object).astype("float64").to_numpy()


def day_dates(values: object) -> np.ndarray:
    """Day numbers to datetime64[D] (NaT where missing)."""
    vals = day_numbers(values)
    out = np.full(len(vals), np.datetime64("NaT"), dtype="datetime64[D]")
    ok = ~np.isnan(vals)
    out[ok] = vals[ok].astype(np.int64).astype("datetime64[D]")
    return out


def ssn_is_valid(ssn: str) -> bool:
    """The contract's rule: 9 digits, not area 000/666/9xx, group 00, serial 0000, nor junk."""
    if len(ssn) != 9 or not ssn.isdigit() or ssn in JUNK_SSNS:
        return False
    area, group, serial = ssn[:3], ssn[3:5], ssn[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def unique_ssns(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct valid SSNs (as 9-character strings)."""
    out: list[np.ndarray] = []
    have = 0
    seen: set[int] = set()
    while have < n:
        k = int((n - have) * 1.2) + 16
        area = rng.integers(1, 900, size=k)
        area = np.where(area == 666, 667, area)
        group = rng.integers(1, 100, size=k)
        serial = rng.integers(1, 10000, size=k)
        vals = area * 1_000_000 + group * 10_000 + serial
        fresh = [v for v in dict.fromkeys(vals.tolist()) if v not in seen]
        fresh = [v for v in fresh if f"{v:09d}" not in JUNK_SSNS][: n - have]
        seen.update(fresh)
        out.append(np.asarray(fresh, dtype=np.int64))
        have += len(fresh)
    return _zfill(np.concatenate(out).astype(str), 9).astype(object)


def _zfill(a: np.ndarray, width: int) -> np.ndarray:
    """`np.char.zfill`, which fails on an empty array (a tiny state has no twins, say)."""
    return np.char.zfill(a, width) if a.size else np.asarray(a, dtype=str)


def _addresses(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    num = np.exp(rng.uniform(np.log(1), np.log(30000), size=n)).astype(int) + 1
    word = np.asarray(vocab.STREET_WORDS, dtype=object)[rng.integers(0, len(vocab.STREET_WORDS), n)]
    suffixes = vocab.street_suffixes()
    suf = np.asarray(suffixes, dtype=object)[rng.integers(0, len(suffixes), n)]
    direction = np.asarray(["", "", "", "", "N ", "S ", "E ", "W "], dtype=object)[rng.integers(0, 8, n)]
    street = num.astype(str).astype(object) + " " + direction + word + " " + suf
    place = rng.choice(len(vocab.PLACES), size=n, p=vocab.PLACE_WEIGHTS)
    city = np.asarray([vocab.PLACES[i][0] for i in place], dtype=object)
    zips = np.asarray(
        [vocab.PLACES[i][1][rng.integers(0, len(vocab.PLACES[i][1]))] for i in place], dtype=object
    )
    zip4 = np.where(rng.random(n) < 0.6, _zfill(rng.integers(1, 10000, n).astype(str), 4), "").astype(object)
    office = np.asarray([vocab.PLACES[i][2] for i in place], dtype=object)
    return {"street": street, "city": city, "zip5": zips, "zip4": zip4, "office": office}


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    area = np.asarray(vocab.AREA_CODES, dtype=object)[rng.integers(0, len(vocab.AREA_CODES), n)]
    line = _zfill(rng.integers(0, 10000, n).astype(str), 4).astype(object)
    return np.asarray(area + "555" + line, dtype=object)


def _first_names(rng: np.random.Generator, sex: np.ndarray, spanish: np.ndarray) -> np.ndarray:
    fn = vocab.first_names()
    out = np.empty(len(sex), dtype=object)
    for s in ("F", "M"):
        for es in (False, True):
            mask = (sex == s) & (spanish == es)
            key = f"{s}_es" if es else s
            out[mask] = fn[key].sample(rng, int(mask.sum()))
    return out


def _surnames(rng: np.random.Generator, n: int, spanish: np.ndarray, cfg: GeneratorConfig) -> np.ndarray:
    ln = vocab.last_names()
    out = ln["us"].sample(rng, n)
    out[spanish] = ln["es"].sample(rng, int(spanish.sum()))
    second = np.where(spanish, ln["es"].sample(rng, n), ln["us"].sample(rng, n))
    r = rng.random(n)
    two_part = r < cfg.population.two_part_surname
    hyphen = (r >= cfg.population.two_part_surname) & (
        r < cfg.population.two_part_surname + cfg.population.hyphenated_surname
    )
    out[two_part] = out[two_part] + " " + second[two_part]
    out[hyphen] = out[hyphen] + "-" + second[hyphen]
    return out


def _base_people(rng: np.random.Generator, n: int, cfg: GeneratorConfig) -> pd.DataFrame:
    start = day(cfg.history_start)
    sex = np.where(rng.random(n) < 0.5, "F", "M").astype(object)
    spanish = rng.random(n) < cfg.population.spanish_names
    band = rng.choice(3, size=n, p=[0.22, 0.63, 0.15])
    age_years = np.select(
        [band == 0, band == 1], [rng.uniform(15, 24, n), rng.uniform(25, 55, n)], rng.uniform(55, 70, n)
    )
    dob = start - (age_years * 365.25).astype(int)
    first = _first_names(rng, sex, spanish)
    middle_sex = np.where(rng.random(n) < 0.5, sex, np.where(sex == "F", "M", "F"))
    middle = np.asarray([m[0] for m in _first_names(rng, middle_sex, spanish)], dtype=object)
    middle[rng.random(n) < 0.08] = ""
    last = _surnames(rng, n, spanish, cfg)
    suffix = np.full(n, "", dtype=object)
    has_suffix = (sex == "M") & (rng.random(n) < cfg.population.suffix_male)
    suffix[has_suffix] = rng.choice(vocab.SUFFIXES, size=int(has_suffix.sum()), p=vocab.SUFFIX_WEIGHTS)
    people = pd.DataFrame(
        {
            "sex": sex,
            "dob": dob,
            "first": first,
            "middle": middle,
            "last": last,
            "suffix": suffix,
            "spanish": spanish,
        }
    )
    for k, v in _addresses(rng, n).items():
        people[k] = v
    people["phone"] = _phones(rng, n)
    return people


def _demographics(rng: np.random.Generator, people: pd.DataFrame) -> None:
    n = len(people)
    people["hispanic"] = np.where(people["spanish"], rng.random(n) < 0.9, rng.random(n) < 0.03)
    races = [
        "American Indian or Alaska Native",
        "Asian",
        "Black or African American",
        "Native Hawaiian or Other Pacific Islander",
        "White",
    ]
    idx = rng.choice(len(races), size=n, p=[0.01, 0.03, 0.09, 0.005, 0.865])
    race = np.asarray(races, dtype=object)[idx]
    two = rng.random(n) < 0.03
    other = np.asarray(races, dtype=object)[rng.integers(0, len(races), n)]
    race[two & (other != race)] = np.asarray(
        [
            ";".join(sorted((a, b)))
            for a, b in zip(race[two & (other != race)], other[two & (other != race)], strict=True)
        ],
        dtype=object,
    )
    race[rng.random(n) < 0.05] = ""  # did not self-identify
    people["race"] = race
    people["veteran"] = (people["sex"] == "M") & (rng.random(n) < 0.10) | (rng.random(n) < 0.01)
    people["disability"] = rng.choice(np.asarray(["Y", "N", "U"], dtype=object), size=n, p=[0.12, 0.83, 0.05])
    # canonical education 0 none .. 6 beyond bachelor
    people["education"] = rng.choice(7, size=n, p=[0.12, 0.33, 0.07, 0.20, 0.10, 0.13, 0.05])
    people["low_income"] = rng.random(n) < 0.35


def build_people(rng: np.random.Generator, cfg: GeneratorConfig) -> pd.DataFrame:
    """The true population: one row per real person (person_id 0..n-1), look-alikes included."""
    pop = cfg.population
    share = pop.twins + pop.same_name_dob + pop.household_member
    n_base = max(1, round(cfg.people / (1 + share)))
    base = _base_people(rng, n_base, cfg)
    base["kind"] = "base"
    base["related_to"] = -1
    n_twin = round(n_base * pop.twins)
    n_same = round(n_base * pop.same_name_dob)
    n_house = max(0, cfg.people - n_base - n_twin - n_same)

    extras = []
    # twins: same surname, DOB, address and phone; another first name; often sequential SSNs (below)
    src = rng.choice(n_base, size=n_twin, replace=False) if n_twin else np.zeros(0, dtype=int)
    twins = base.iloc[src].copy()
    fresh = _base_people(rng, n_twin, cfg)
    twins["sex"] = fresh["sex"].to_numpy()
    twins["first"] = _first_names(rng, twins["sex"].to_numpy(), twins["spanish"].to_numpy())
    twins["middle"] = fresh["middle"].to_numpy()
    twins["suffix"] = ""
    twins["kind"], twins["related_to"] = "twin", src
    extras.append(twins)
    # an unrelated person who shares first name, surname and birth date
    src = rng.choice(n_base, size=n_same, replace=False) if n_same else np.zeros(0, dtype=int)
    same = _base_people(rng, n_same, cfg)
    for col in ("first", "last", "dob", "sex", "spanish"):
        same[col] = base[col].to_numpy()[src]
    same["kind"], same["related_to"] = "same_name_dob", src
    extras.append(same)
    # a household member: same surname, address and phone; other DOB and first name
    src = rng.choice(n_base, size=n_house, replace=True) if n_house else np.zeros(0, dtype=int)
    house = base.iloc[src].copy()
    fresh = _base_people(rng, n_house, cfg)
    house["sex"] = fresh["sex"].to_numpy()
    house["first"] = _first_names(rng, house["sex"].to_numpy(), house["spanish"].to_numpy())
    house["middle"] = fresh["middle"].to_numpy()
    house["suffix"] = ""
    offset = np.where(
        rng.random(n_house) < 0.5,
        rng.integers(-6 * 365, 6 * 365, n_house),
        rng.integers(18 * 365, 30 * 365, n_house),
    )
    house["dob"] = np.minimum(house["dob"].to_numpy() + offset, day(cfg.history_start) - 16 * 365)
    house["kind"], house["related_to"] = "household", src
    extras.append(house)

    people = pd.concat([base, *extras], ignore_index=True)
    n = len(people)
    ssn = unique_ssns(rng, n)
    # half the twins got consecutive SSNs at birth: one digit apart from their sibling's
    twin_rows = np.flatnonzero(people["kind"].to_numpy() == "twin")
    taken = set(ssn.tolist())
    for i in twin_rows[rng.random(len(twin_rows)) < 0.5]:
        cand = f"{int(ssn[int(people['related_to'].to_numpy()[i])]) + 1:09d}"
        if ssn_is_valid(cand) and cand not in taken:
            taken.discard(ssn[i])
            ssn[i] = cand
            taken.add(cand)
    people["ssn"] = ssn
    _demographics(rng, people)

    span_start, span_end = day(cfg.history_start), day(cfg.end_date)
    married = (people["sex"].to_numpy() == "F") & (rng.random(n) < pop.married_during_span)
    people["marriage_day"] = np.where(married, rng.integers(span_start, span_end, n), -1)
    people["married_last"] = np.where(married, vocab.last_names()["us"].sample(rng, n), "")
    moved = rng.random(n) < pop.move_during_span
    people["move_day"] = np.where(moved, rng.integers(span_start, span_end, n), -1)
    new_addr = _addresses(rng, n)
    for k, v in new_addr.items():
        people[f"{k}_2"] = v
    email_user = (
        people["first"].map(vocab.strip_accents).str.lower()
        + "."
        + people["last"].map(vocab.strip_accents).str.lower().str.replace(r"[^a-z]", "", regex=True)
        + rng.integers(1, 99, n).astype(str)
    )
    people["email"] = (
        email_user
        + "@"
        + np.asarray(vocab.EMAIL_DOMAINS, dtype=object)[rng.integers(0, len(vocab.EMAIL_DOMAINS), n)]
    )
    people.insert(0, "person_id", np.arange(n, dtype=np.int64))
    return people
