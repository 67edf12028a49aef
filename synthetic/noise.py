"""Identity as each source record reports it: the true person seen through a clerk's keyboard.

Noise is drawn once per source record (a re-sent version of a record keeps its typos); the
address follows the version's `ident_day`, so a move shows up as an update. Each record's
noise tags go to the ground truth, so tests can pick the hard cases by name.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from synthetic import vocab
from synthetic.config import GeneratorConfig
from synthetic.population import EPOCH

KEYBOARD_NEIGHBOURS = {
    "a": "sqwz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm",
    "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji",
    "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}  # fmt: skip
OCR = {"5": "S", "0": "O", "1": "l", "8": "B", "2": "Z"}
JUNK = ("123456789", "111111111", "999999999", "000000000", "666123456", "123121234")


@dataclass(frozen=True)
class Reported:
    first: str
    middle: str
    last: str
    suffix: str
    dob: tuple[int, int, int] | None  # (year, month, day); may be impossible on purpose
    ssn: str  # 9 characters, possibly junk or with OCR letters; "" when not given
    sex: str  # F, M or U (not given)
    phone: str
    email: str
    tags: str  # what was done to this record, ';'-joined


def typo(r: random.Random, s: str) -> str:
    if len(s) < 3:
        return s
    i = r.randrange(1, len(s) - 1)
    op = r.randrange(4)
    if op == 0:
        return s[:i] + s[i + 1 :]
    if op == 1:
        return s[:i] + s[i] + s[i:]
    if op == 2:
        return s[: i - 1] + s[i] + s[i - 1] + s[i + 1 :]
    near = KEYBOARD_NEIGHBOURS.get(s[i].lower())
    if not near:
        return s[:i] + s[i + 1 :]
    c = r.choice(near)
    return s[:i] + (c.upper() if s[i].isupper() else c) + s[i + 1 :]


def _dob(
    r: random.Random, cfg: GeneratorConfig, true_day: int, tags: list[str]
) -> tuple[int, int, int] | None:
    n = cfg.noise
    d = EPOCH + dt.timedelta(days=true_day)
    y, m, dd = d.year, d.month, d.day
    x = r.random()
    if x < n.dob_missing:
        tags.append("dob_missing")
        return None
    x -= n.dob_missing
    if x < n.dob_swap:
        if dd <= 12 and dd != m:
            tags.append("dob_swapped")
            return (y, dd, m)
        return (y, m, dd)
    x -= n.dob_swap
    if x < n.dob_off:
        tags.append("dob_off_by_one")
        part = r.randrange(3)
        step = r.choice((-1, 1))
        if part == 0:
            return (y + step, m, dd)
        if part == 1:
            month = m + step if 1 <= m + step <= 12 else m - step
            return (y, month, dd)
        moved = d + dt.timedelta(days=step)
        return (moved.year, moved.month, moved.day)
    x -= n.dob_off
    if x < n.dob_impossible:
        tags.append("dob_impossible")
        return r.choice(((y % 1000, m, dd), (y, 13 + r.randrange(6), dd), (y, 2, 30), (y, m, 32)))
    return (y, m, dd)


def _ssn(r: random.Random, cfg: GeneratorConfig, system: str, ssn: str, tags: list[str]) -> str:
    n = cfg.noise
    if r.random() < n.ssn_missing[system]:
        tags.append("ssn_missing")
        return ""
    x = r.random()
    if x < n.ssn_transposed:
        i = r.randrange(8)
        if ssn[i] != ssn[i + 1]:
            tags.append("ssn_transposed")
            return ssn[:i] + ssn[i + 1] + ssn[i] + ssn[i + 2 :]
        return ssn
    x -= n.ssn_transposed
    if x < n.ssn_digit:
        i = r.randrange(9)
        tags.append("ssn_digit")
        return ssn[:i] + str((int(ssn[i]) + r.randint(1, 9)) % 10) + ssn[i + 1 :]
    x -= n.ssn_digit
    if x < n.ssn_invalid:
        tags.append("ssn_invalid")
        return r.choice(JUNK)
    x -= n.ssn_invalid
    if x < n.ssn_ocr:
        spots = [i for i, c in enumerate(ssn) if c in OCR]
        if spots:
            i = r.choice(spots)
            tags.append("ssn_ocr")
            return ssn[:i] + OCR[ssn[i]] + ssn[i + 1 :]
    return ssn


def _surname(
    r: random.Random, cfg: GeneratorConfig, person: Mapping[str, Any], created: int, tags: list[str]
) -> str:
    last = str(person["last"])
    mday = int(person["marriage_day"])
    if mday >= 0 and created >= mday:
        if r.random() < cfg.noise.maiden_name_kept:
            tags.append("maiden_name_kept")
        elif r.random() < 0.1:
            last = f"{last}-{person['married_last']}"
            tags.append("married_hyphenated")
        else:
            last = str(person["married_last"])
            tags.append("married_name")
    if (" " in last or "-" in last) and r.random() < cfg.noise.surname_variant:
        parts = last.replace("-", " ").split()
        last = r.choice((parts[0], parts[-1], " ".join(parts), "-".join(parts), "".join(parts)))
        tags.append("surname_variant")
    return last


def report(
    r: random.Random, cfg: GeneratorConfig, system: str, person: Mapping[str, Any], created: int
) -> Reported:
    """One source record's identity for a real person (person_id >= 0)."""
    n = cfg.noise
    tags: list[str] = []
    first = str(person["first"])
    if r.random() < n.nickname:
        nicks = vocab.nicknames_of(vocab.strip_accents(first))
        if nicks:
            first = r.choice(nicks)
            tags.append("nickname")
    last = _surname(r, cfg, person, created, tags)
    if r.random() < n.name_typo:
        if r.random() < 0.5:
            first = typo(r, first)
        else:
            last = typo(r, last)
        tags.append("name_typo")
    if system not in ("vr", "ui") and r.random() < 0.4:  # many clerks type without accents
        first, last = vocab.strip_accents(first), vocab.strip_accents(last)
    middle = "" if r.random() < n.middle_missing else str(person["middle"])
    suffix = str(person["suffix"]) if r.random() < 0.8 else ""
    sex = "U" if r.random() < n.sex_unknown else str(person["sex"])
    phone = "" if r.random() < n.phone_missing else str(person["phone"])
    email = "" if r.random() < n.email_missing else str(person["email"])
    return Reported(
        first,
        middle,
        last,
        suffix,
        _dob(r, cfg, int(person["dob"]), tags),
        _ssn(r, cfg, system, str(person["ssn"]), tags),
        sex,
        phone,
        email,
        ";".join(tags),
    )


def test_record(r: random.Random) -> Reported:
    """Staff test registrations, found in every real system."""
    return Reported(
        r.choice(("Test", "Testing", "Demo")),
        "",
        r.choice(("Record", "Test", "Do Not Use")),
        "",
        (1900, 1, 1),
        r.choice(("", "999999999")),
        "U",
        "",
        "",
        "test_record",
    )


def address(
    r: random.Random, cfg: GeneratorConfig, person: Mapping[str, Any], ident_day: int
) -> dict[str, str]:
    moved = 0 <= int(person["move_day"]) <= ident_day
    sfx = "_2" if moved else ""
    street = str(person[f"street{sfx}"])
    if r.random() < cfg.noise.address_typo:
        street = typo(r, street)
    return {
        "street": street,
        "city": str(person[f"city{sfx}"]),
        "state": "IA",
        "zip5": str(person[f"zip5{sfx}"]),
        "zip4": str(person[f"zip4{sfx}"]),
    }
