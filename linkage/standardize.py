"""Standardization of identity fields: one canonical form per value, so the systems can be compared.

Ingest calls these to build the person record of every source record; linkage compares those.
Identity fields are keyed by people and carry their errors (typos, OCR slips, impossible dates,
blanks). A bad identity value is never a reason to drop a row: the raw value stays as delivered
in the restricted zone, the functions here return a *status* where the field has a rule (SSN,
date of birth), and the standardized value is null, so that linkage treats it as missing instead
of matching on garbage (two people sharing the junk SSN 123456789 are not the same person).

Conventions of every function in this module:

- pure and vectorised over a pandas Series; the result keeps the input's index;
- null-safe: None, NaN, pd.NA and blank strings all come out as null (None in object columns,
  NaT in date columns); the inputs are expected to be strings as delivered (read with dtype=str);
- a per-value Python rule runs once per *distinct* value and is mapped back with the factorize
  codes (a night's 1M rows hold far fewer distinct names, dates or ZIPs than rows);
- the fixed vocabularies (suffixes, junk SSNs, USPS abbreviations, ...) are the module constants
  right below, in one place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Hashable
from datetime import date
from functools import lru_cache
from typing import Any, Final

import numpy as np
import pandas as pd
from nameparser import HumanName
from nameparser.config import Constants

from sources.convert import format_regex

# =============================================================================== vocabularies

# --- SSN --------------------------------------------------------------------------------------
SSN_VALID: Final = "VALID"
SSN_MISSING: Final = "MISSING"
SSN_MALFORMED: Final = "MALFORMED"  # not 9 digits once dashes and spaces are removed (OCR: 77S-71-2346)
SSN_INVALID_AREA: Final = "INVALID_AREA"  # 000, 666, 900-999: never issued
SSN_INVALID_GROUP: Final = "INVALID_GROUP"  # 00: never issued
SSN_INVALID_SERIAL: Final = "INVALID_SERIAL"  # 0000: never issued
SSN_JUNK: Final = "JUNK"  # structurally possible, but known to be keyed by many people
SSN_STATUSES: Final = (
    SSN_VALID,
    SSN_MISSING,
    SSN_MALFORMED,
    SSN_INVALID_AREA,
    SSN_INVALID_GROUP,
    SSN_INVALID_SERIAL,
    SSN_JUNK,
)

#: Well-known junk SSNs. Checked *before* the area/group/serial rules, so every value listed here
#: (and every all-same-digit value, 000000000 and 999999999 included) is reported as JUNK.
JUNK_SSNS: Final[frozenset[str]] = frozenset(
    {
        "123456789",  # the keyboard run; also the SSA's own advertising example
        "234567890",
        "012345678",
        "987654321",
        "098765432",
        "876543210",
        "123123123",
        "123121234",
        "111223333",
        "078051120",  # the Woolworth wallet card SSN (1938), used by thousands
        "219099999",  # the SSA pamphlet advertisement SSN (1940)
        "457555462",  # published in a 2000s identity-theft-protection advertisement
    }
    | {d * 9 for d in "0123456789"}  # 000000000, 111111111, ..., 999999999
)

# --- dates of birth ---------------------------------------------------------------------------
DOB_VALID: Final = "VALID"
DOB_MISSING: Final = "MISSING"  # blank, or only zeros (00000000 = unknown on the UI file)
DOB_UNPARSEABLE: Final = "UNPARSEABLE"  # not a calendar date in the layout's format (09/07/988, 19880230)
DOB_IMPLAUSIBLE: Final = "IMPLAUSIBLE"  # a real date, but not a participant's birth date
DOB_STATUSES: Final = (DOB_VALID, DOB_MISSING, DOB_UNPARSEABLE, DOB_IMPLAUSIBLE)
DOB_EARLIEST: Final = date(1900, 1, 1)  # earlier is IMPLAUSIBLE
DOB_MIN_AGE_YEARS: Final = 14  # younger than this at the as-of date is IMPLAUSIBLE (WIOA serves 14+)

# --- names ------------------------------------------------------------------------------------
#: Generational suffixes as written (upper case, no period) -> canonical form.
GENERATIONAL_SUFFIXES: Final[dict[str, str]] = {
    "JR": "JR",
    "JNR": "JR",
    "SR": "SR",
    "SNR": "SR",
    "II": "II",
    "III": "III",
    "IV": "IV",
    "V": "V",
}
#: Apostrophes (and their look-alikes) are removed, not spaced: O'Brien -> OBRIEN, D'Angelo -> DANGELO.
APOSTROPHES: Final = "'\u2019\u2018\u02bc\u0060\u00b4"
#: Letters that Unicode decomposition does not fold to ASCII.
LATIN_FOLDS: Final[dict[str, str]] = {
    "ß": "SS",
    "Æ": "AE",
    "æ": "AE",
    "Œ": "OE",
    "œ": "OE",
    "Ø": "O",
    "ø": "O",
    "Ł": "L",
    "ł": "L",
    "Đ": "D",
    "đ": "D",
    "Ð": "D",
    "ð": "D",
    "Þ": "TH",
    "þ": "TH",
    "\u0131": "I",  # dotless i
}
#: Whole-value placeholders clerks key for an unknown name: null for matching, like a blank.
#: ("NA" is not here: Na is a surname.)
NAME_PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    {"UNKNOWN", "UNK", "NONE", "NULL", "N A", "FNU", "LNU", "NFN", "NLN", "NMN", "NMI"}
)
#: Surname particles: not a surname part of their own (DE LA CRUZ has one part, CRUZ).
SURNAME_PARTICLES: Final[frozenset[str]] = frozenset(
    {
        "AL", "BIN", "IBN", "DA", "DAL", "DAS", "DE", "DEGLI", "DEI", "DEL", "DELA", "DELLA", "DELLE",
        "DELLO", "DEN", "DER", "DES", "DI", "DO", "DOS", "DU", "E", "EL", "LA", "LAS", "LE", "LES", "LO",
        "LOS", "MAC", "MC", "O", "SAN", "SANTA", "ST", "STE", "TEN", "TER", "VAN", "VANDER", "VON", "Y",
    }
)  # fmt: skip

# --- contact ----------------------------------------------------------------------------------
#: Local parts keyed when a participant has no email: shared by unrelated people, so null.
JUNK_EMAIL_LOCAL_PARTS: Final[frozenset[str]] = frozenset(
    {"none", "noemail", "nomail", "no", "na", "noname", "nothing", "unknown", "declined", "refused"}
)

# --- streets (USPS Publication 28, appendix C1 and C2, the common entries) -------------------
#: Street suffixes, their spelled-out forms and common misspellings -> USPS standard abbreviation.
STREET_SUFFIXES: Final[dict[str, str]] = {
    "ALLEY": "ALY", "ALLEE": "ALY", "ALLY": "ALY",
    "ANNEX": "ANX",
    "AVENUE": "AVE", "AV": "AVE", "AVEN": "AVE", "AVENU": "AVE", "AVN": "AVE", "AVNUE": "AVE",
    "BEND": "BND",
    "BLUFF": "BLF",
    "BOULEVARD": "BLVD", "BOUL": "BLVD", "BOULV": "BLVD", "BLVRD": "BLVD",
    "BRANCH": "BR",
    "BRIDGE": "BRG",
    "BROOK": "BRK",
    "BYPASS": "BYP",
    "CANYON": "CYN",
    "CAUSEWAY": "CSWY",
    "CENTER": "CTR", "CENTRE": "CTR", "CENTR": "CTR", "CNTER": "CTR", "CNTR": "CTR",
    "CIRCLE": "CIR", "CIRC": "CIR", "CIRCL": "CIR", "CRCL": "CIR", "CRCLE": "CIR",
    "CLIFF": "CLF",
    "CLUB": "CLB",
    "COMMON": "CMN",
    "CORNER": "COR",
    "COURSE": "CRSE",
    "COURT": "CT", "CRT": "CT",
    "COVE": "CV",
    "CREEK": "CRK",
    "CRESCENT": "CRES", "CRSENT": "CRES", "CRSNT": "CRES",
    "CROSSING": "XING", "CRSSNG": "XING",
    "DRIVE": "DR", "DRIV": "DR", "DRV": "DR",
    "ESTATE": "EST",
    "ESTATES": "ESTS",
    "EXPRESSWAY": "EXPY", "EXPRESS": "EXPY", "EXPW": "EXPY",
    "EXTENSION": "EXT", "EXTN": "EXT",
    "FALLS": "FLS",
    "FERRY": "FRY",
    "FIELD": "FLD",
    "FIELDS": "FLDS",
    "FOREST": "FRST",
    "FREEWAY": "FWY", "FREEWY": "FWY", "FRWAY": "FWY", "FRWY": "FWY",
    "GARDEN": "GDN", "GARDN": "GDN", "GRDEN": "GDN", "GRDN": "GDN",
    "GARDENS": "GDNS",
    "GATEWAY": "GTWY",
    "GLEN": "GLN",
    "GREEN": "GRN",
    "GROVE": "GRV",
    "HARBOR": "HBR",
    "HEIGHTS": "HTS", "HT": "HTS",
    "HIGHWAY": "HWY", "HIGHWY": "HWY", "HIWAY": "HWY", "HIWY": "HWY", "HWAY": "HWY",
    "HILL": "HL",
    "HILLS": "HLS",
    "HOLLOW": "HOLW",
    "ISLAND": "IS",
    "JUNCTION": "JCT",
    "KNOLL": "KNL",
    "LAKE": "LK",
    "LAKES": "LKS",
    "LANDING": "LNDG",
    "LANE": "LN",
    "MANOR": "MNR",
    "MEADOW": "MDW",
    "MEADOWS": "MDWS",
    "MILL": "ML",
    "MOUNT": "MT",
    "MOUNTAIN": "MTN",
    "ORCHARD": "ORCH",
    "PARKWAY": "PKWY", "PARKWY": "PKWY", "PKWAY": "PKWY", "PKY": "PKWY",
    "PLACE": "PL",
    "PLAZA": "PLZ",
    "POINT": "PT",
    "PRAIRIE": "PR",
    "RANCH": "RNCH",
    "RIDGE": "RDG",
    "RIVER": "RIV",
    "ROAD": "RD",
    "ROUTE": "RTE",
    "SHORE": "SHR",
    "SPRING": "SPG",
    "SPRINGS": "SPGS",
    "SQUARE": "SQ",
    "STATION": "STA",
    "STREET": "ST", "STR": "ST", "STRT": "ST",
    "SUMMIT": "SMT",
    "TERRACE": "TER",
    "TRACE": "TRCE",
    "TRAIL": "TRL", "TRAILS": "TRL", "TRLS": "TRL",
    "TURNPIKE": "TPKE",
    "VALLEY": "VLY",
    "VIEW": "VW",
    "VILLAGE": "VLG",
    "VISTA": "VIS",
}  # fmt: skip
#: Directions and secondary unit designators -> USPS abbreviation.
STREET_DIRECTIONS: Final[dict[str, str]] = {
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
    "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
}  # fmt: skip
STREET_UNITS: Final[dict[str, str]] = {
    "APARTMENT": "APT", "BUILDING": "BLDG", "DEPARTMENT": "DEPT", "FLOOR": "FL", "LOT": "LOT",
    "ROOM": "RM", "SUITE": "STE", "TRAILER": "TRLR", "UNIT": "UNIT",
}  # fmt: skip
STREET_ORDINALS: Final[dict[str, str]] = {
    "FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH", "FIFTH": "5TH",
    "SIXTH": "6TH", "SEVENTH": "7TH", "EIGHTH": "8TH", "NINTH": "9TH", "TENTH": "10TH",
}  # fmt: skip
#: Every street token rewrite in one table (suffixes anywhere in the line, not only at its end:
#: both sides of a comparison get the same treatment, which is what matching needs).
STREET_ABBREVIATIONS: Final[dict[str, str]] = {
    **STREET_SUFFIXES,
    **STREET_DIRECTIONS,
    **STREET_UNITS,
    **STREET_ORDINALS,
}

# =============================================================================== helpers

_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_APOSTROPHE_TABLE = str.maketrans("", "", APOSTROPHES)
_LATIN_TABLE = str.maketrans(LATIN_FOLDS)


def _map_distinct(s: pd.Series, fn: Callable[[Any], Any], null: Any = None) -> np.ndarray:
    """Apply `fn` once per distinct non-null value; return an object array aligned with `s`.

    Nulls (None, NaN, pd.NA) never reach `fn` and come out as `null`. This is what keeps the
    per-value rules fast: factorize is vectorised, and `fn` runs len(uniques) times, not len(s).
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    for i, u in enumerate(uniques):
        table[i] = fn(u)
    table[-1] = null  # code -1 (null) picks the last slot
    out: np.ndarray = table[codes]
    return out


def _map_distinct_columns(
    s: pd.Series, fn: Callable[[Any], tuple[Any, ...]], names: tuple[str, ...], null: tuple[Any, ...]
) -> pd.DataFrame:
    """`_map_distinct` for a rule returning one tuple per value: one object column per tuple slot."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    results = [fn(u) for u in uniques]
    cols: dict[Hashable, np.ndarray] = {}
    for j, name in enumerate(names):
        table = np.empty(len(results) + 1, dtype=object)
        for i, r in enumerate(results):
            table[i] = r[j]
        table[-1] = null[j]
        cols[name] = table[codes]
    return pd.DataFrame(cols, index=s.index)


def _as_series(values: np.ndarray | list[Any], index: pd.Index) -> pd.Series:
    return pd.Series(values, index=index, dtype=object)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


# =============================================================================== SSN


def _classify_ssn(value: Any) -> tuple[str | None, str]:
    """The SSN rule, for one value: (9 digits or None, status). The one place the rule lives."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None, SSN_MISSING
    digits = "".join(_text(value).split()).replace("-", "")
    if not digits:
        return None, SSN_MISSING
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        return None, SSN_MALFORMED
    if digits in JUNK_SSNS:
        return None, SSN_JUNK
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9":
        return None, SSN_INVALID_AREA
    if group == "00":
        return None, SSN_INVALID_GROUP
    if serial == "0000":
        return None, SSN_INVALID_SERIAL
    return digits, SSN_VALID


def is_valid_ssn(value: str | None) -> bool:
    """True when `value` (dashed, spaced or plain) is an SSN that may be used to link or match wages.

    Invalid: not 9 digits, area 000/666/900-999, group 00, serial 0000, or a well-known junk number
    (JUNK_SSNS). Such values are keyed by many unrelated people, so a match on them means nothing.
    """
    return _classify_ssn(value)[1] == SSN_VALID


def ssn_standardize(raw: pd.Series) -> pd.DataFrame:
    """SSNs as delivered -> `ssn` (9 digits, or null when not usable for matching) and `ssn_status`.

    Accepts `123-45-6789`, `123456789` and `123 45 6789`. `ssn_status` is one of SSN_STATUSES; it
    says why `ssn` is null, for the quality report, while the raw value stays in the restricted zone.
    """
    return _map_distinct_columns(raw, _classify_ssn, ("ssn", "ssn_status"), (None, SSN_MISSING))


# =============================================================================== names


def _fold(value: str) -> str:
    """Upper-case ASCII letters and digits, single-spaced: apostrophes dropped, accents and
    Latin ligatures folded, any other punctuation a space (one rule for names and streets)."""
    text = value.translate(_APOSTROPHE_TABLE)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.translate(_LATIN_TABLE).upper()
    return _NON_ALNUM.sub(" ", text).strip()


@lru_cache(maxsize=200_000)
def _normalize_name_one(value: str) -> str | None:
    text = _fold(value)
    if not text or text in NAME_PLACEHOLDERS:
        return None
    return text


def normalize_name(s: pd.Series) -> pd.Series:
    """Names -> the form compared by linkage: JOSÉ, José, jose -> JOSE; O'Brien -> OBRIEN.

    Upper case; accents folded to ASCII (the UI and wage files cannot carry them, the others can);
    apostrophes removed; hyphens and other punctuation become one space (SMITH-JONES -> SMITH JONES,
    so a hyphenated and a spaced two-part surname agree); whitespace collapsed; blanks and
    placeholders (NAME_PLACEHOLDERS: UNKNOWN, FNU, NMI, ...) become null.
    """
    return _as_series(_map_distinct(s, lambda v: _normalize_name_one(_text(v))), s.index)


_SUFFIX_AT_END = re.compile(
    r"^(?P<name>.*?\S)[\s,]+(?P<suffix>" + "|".join(GENERATIONAL_SUFFIXES) + r")\.?[\s,]*$",
    re.IGNORECASE,
)


def _canonical_suffix(value: Any) -> str | None:
    """`Jr.`, `jr`, ` JR ` -> JR; anything that is not a generational suffix (ESQ, MD) -> None."""
    if value is None or not isinstance(value, str):
        return None
    token = value.strip().rstrip(".").strip().upper()
    return GENERATIONAL_SUFFIXES.get(token)


@lru_cache(maxsize=200_000)
def _split_suffix_one(value: str) -> tuple[str | None, str | None]:
    text = value.strip()
    m = _SUFFIX_AT_END.match(text)
    if m is None:
        return (text or None), None
    return m.group("name").strip().rstrip(",").strip(), GENERATIONAL_SUFFIXES[m.group("suffix").upper()]


def split_suffix(last: pd.Series, suffix: pd.Series | None = None) -> pd.DataFrame:
    """Move a generational suffix from the end of a name to the suffix column: SMITH JR -> SMITH + JR.

    Clerks type the suffix into the last (or first) name field when the form has no place for
    it, and then `SMITH JR` fails to match `SMITH`. Works on raw or normalized names (`Smith, Jr.`,
    `SMITH JR`); the suffix must be a separate word (JR, SR, JNR, SNR, II, III, IV, V, with an
    optional period) and something must remain of the name. Returns `name` (the input, stripped,
    without the suffix; otherwise as given) and `name_suffix` (canonical JR, SR, II, III, IV, V or
    null). A suffix already delivered in `suffix` wins over one found in the name; a delivered
    value that is not generational (ESQ, MD) becomes null.
    """
    out = _map_distinct_columns(
        last, lambda v: _split_suffix_one(_text(v)), ("name", "name_suffix"), (None, None)
    )
    if suffix is not None:
        if not suffix.index.equals(last.index):
            raise ValueError("split_suffix: `suffix` must have the same index as `last`")
        given = _map_distinct(suffix, _canonical_suffix)
        found = out["name_suffix"].to_numpy(dtype=object)
        out["name_suffix"] = np.where(pd.isna(given), found, given)
    return out


def _name_constants() -> Constants:
    """nameparser settings for person names in case files, not letter salutations.

    - no titles: BISHOP, KING, DEAN, JUDGE, MAJOR are surnames and given names here;
    - suffixes limited to the generational ones: nothing else is a suffix we compare on;
    - prefixes (DE, LA, VAN, ...) and conjunctions (Y) kept, so that with the comma format the
      whole `DE LA CRUZ` / `GARCIA Y LOPEZ` / `MILLER-JONES` before the comma stays the last name.
    """
    c = Constants()
    c.titles.remove(*list(c.titles))
    c.first_name_titles.remove(*list(c.first_name_titles))
    c.suffix_acronyms.remove(*list(c.suffix_acronyms))
    c.suffix_not_acronyms.remove(*list(c.suffix_not_acronyms))
    c.suffix_not_acronyms.add(*(k.lower() for k in GENERATIONAL_SUFFIXES))
    return c


_NAME_CONSTANTS: Final = _name_constants()


def _blank_to_none(value: str) -> str | None:
    value = " ".join(value.split())
    return value or None


@lru_cache(maxsize=200_000)
def _parse_last_first_one(value: str) -> tuple[str | None, str | None, str | None, str | None]:
    text = " ".join(value.split())
    segments = [p.strip() for p in text.split(",")]
    head = segments[0]
    if not text or not any(segments):
        return None, None, None, None
    # Only a last name: `SMITH`, `SMITH,`, `SMITH JR,` (a VR name leads with the last name).
    if (len(segments) == 1 and " " not in head) or (len(segments) > 1 and not any(segments[1:])):
        last, sfx = _split_suffix_one(head)
        return None, None, last, sfx
    h = HumanName(text, constants=_NAME_CONSTANTS)
    first, middle, last = _blank_to_none(h.first), _blank_to_none(h.middle), _blank_to_none(h.last)
    suffix = None
    for token in re.split(r"[\s,]+", h.suffix):
        suffix = suffix or _canonical_suffix(token)
    # The contract puts the suffix after a comma; a lone V closing the given names is an initial.
    if suffix == "V" and len(segments) == 2 and not re.search(r"\sV\.?$", head, re.IGNORECASE):
        middle, suffix = " ".join(p for p in (middle, "V") if p), None
    # `SMITH V, JOHN`: nameparser leaves some suffixes closing the last name in place.
    if suffix is None and last is not None:
        last, suffix = _split_suffix_one(last)
    # `SMITH, JR`: no given name, the suffix landed in first.
    if first is not None and middle is None and _canonical_suffix(first) is not None and suffix is None:
        first, suffix = None, _canonical_suffix(first)
    return first, middle, last, suffix


def parse_last_first(s: pd.Series) -> pd.DataFrame:
    """VR's `CLIENT_NAME` (`LAST, FIRST MIDDLE[, SUFFIX]`) -> first_name, middle_name, last_name, name_suffix.

    Parsed with nameparser (configured by `_name_constants`, run once per distinct value because it
    is slow): everything before the first comma is the last name (`GARCIA LOPEZ`, `DE LA CRUZ`,
    `O'BRIEN` stay whole), the first given name is first_name and the rest middle_name, and a
    generational suffix after a further comma (or closing the last name) goes to name_suffix in
    its canonical form. A comma-less multi-word value is read as `FIRST [MIDDLE] LAST`; a single
    word as a last name. The name parts come back as delivered (whitespace collapsed, accents and
    punctuation kept): pass them through `normalize_name` like every other source's names.
    """
    names = ("first_name", "middle_name", "last_name", "name_suffix")
    return _map_distinct_columns(s, lambda v: _parse_last_first_one(_text(v)), names, (None,) * 4)


def _surname_parts_one(value: str) -> list[str] | None:
    tokens = [t for t in re.split(r"[\s-]+", value.strip()) if t]
    if not tokens:
        return None
    if len(tokens) == 1:
        return tokens
    tokens = [t for t in tokens if t not in GENERATIONAL_SUFFIXES] or tokens
    parts = [t for t in tokens if t not in SURNAME_PARTICLES and len(t) > 1]
    if len(tokens) > 1:
        parts.append("".join(tokens))
    return list(dict.fromkeys(parts)) or None


def surname_parts(last_norm: pd.Series) -> pd.Series:
    """Normalized last names -> the list of parts a "one surname part matches" comparison can use.

    A two-part or hyphenated surname is often delivered in part (GARCIA LOPEZ as GARCIA, a married
    SMITH-JONES as JONES) or squashed (GARCIALOPEZ). The parts are the words that are not particles
    (SURNAME_PARTICLES: DE, LA, VAN, Y, ...) nor single letters, in order, followed by all words
    joined: GARCIA LOPEZ -> [GARCIA, LOPEZ, GARCIALOPEZ]; DE LA CRUZ -> [CRUZ, DELACRUZ]; a one-word
    surname is its own only part: SMITH -> [SMITH]. Null stays null.

    Rows with the same surname share one list object (copying 1M lists costs more than computing
    them): treat the lists as read-only.
    """
    return _as_series(_map_distinct(last_norm, lambda v: _surname_parts_one(_text(v))), last_norm.index)


# =============================================================================== dates of birth


def _format_regex(fmt: str) -> re.Pattern[str]:
    """The one strict shape of a date format (shared with ingest); only %Y, %m and %d for birth dates."""
    if set(re.findall(r"%[A-Za-z]", fmt)) - {"%Y", "%m", "%d"}:
        raise ValueError(f"unsupported directive in date format {fmt!r}: use %Y, %m and %d")
    return format_regex(fmt)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February -> 28 February
        return day.replace(year=day.year - years, day=28)


def dob_standardize(raw: pd.Series, fmt: str, as_of: date) -> pd.DataFrame:
    """Dates of birth as delivered -> `birth_date` (datetime64, NaT unless VALID) and `birth_date_status`.

    `fmt` is the layout's strptime format (`%Y%m%d`, `%m/%d/%Y`, `%Y-%m-%d`; `%m/%d/%Y` also takes
    `3/5/2024`). Status (DOB_STATUSES): MISSING for blanks and all-zero values (`00000000` is the UI
    file's "unknown"); UNPARSEABLE when the value is not a calendar date in that format (`09/07/988`,
    `19880230`, `1988023`); IMPLAUSIBLE for a real date before DOB_EARLIEST, after `as_of`, or of
    someone younger than DOB_MIN_AGE_YEARS at `as_of` (an application date keyed as the birth date,
    a default date). Only VALID dates are kept for matching. Vectorised over the distinct values;
    pass `as_of` = the run's business date, not today, so that a rerun gives the same answer.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    text = pd.Series(np.asarray(uniques, dtype=object), dtype=object).map(_text).str.strip()
    status = np.full(len(text), DOB_VALID, dtype=object)

    missing = text.str.fullmatch(r"[0\W_]*").to_numpy(dtype=bool)
    parts = text.str.extract(_format_regex(fmt))
    shaped = parts.notna().all(axis=1).to_numpy(dtype=bool) & ~missing
    parsed = pd.to_datetime(text.where(shaped), format=fmt, errors="coerce")
    unparsed = parsed.isna().to_numpy(dtype=bool)
    status[missing] = DOB_MISSING
    status[~missing & unparsed] = DOB_UNPARSEABLE
    # A real date outside pandas' datetime64[ns] range (year 0988) is not parseable by pandas but
    # is a date: IMPLAUSIBLE, not UNPARSEABLE. Rare, so a Python check per value.
    ymd = [parts[g].to_numpy(dtype=object) if g in parts.columns else None for g in ("year", "month", "day")]
    for i in np.flatnonzero(shaped & unparsed):
        y, m, d = (int(str(col[i])) if col is not None else 1 for col in ymd)
        try:
            date(y, m, d)
        except ValueError:
            continue
        status[i] = DOB_IMPLAUSIBLE

    table_values = np.append(parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    table_status = np.append(status, DOB_MISSING)
    values = pd.Series(table_values[codes], index=raw.index, dtype="datetime64[ns]")
    status_s = pd.Series(table_status[codes], index=raw.index, dtype=object)

    earliest = pd.Timestamp(DOB_EARLIEST)
    youngest = pd.Timestamp(_years_before(as_of, DOB_MIN_AGE_YEARS))  # born on/before: 14 by as_of
    implausible = (status_s == DOB_VALID) & ((values < earliest) | (values > youngest))
    status_s = status_s.mask(implausible, DOB_IMPLAUSIBLE)
    birth_date = values.where(status_s == DOB_VALID)
    return pd.DataFrame(
        {"birth_date": birth_date.to_numpy(), "birth_date_status": status_s.to_numpy(dtype=object)},
        index=raw.index,
    )


# =============================================================================== contact


_PHONE_EXTENSION = re.compile(r"(?i)\s*(?:x|ext\.?|extension)\s*\d+\s*$")


def _phone_one(value: Any) -> str | None:
    text = _PHONE_EXTENSION.sub("", _text(value))
    digits = "".join(c for c in text if c.isascii() and c.isdigit())
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10:
        return None
    # NANP: area code and exchange never start with 0 or 1; one digit ten times is a filler.
    if digits[0] in "01" or digits[3] in "01" or len(set(digits)) == 1:
        return None
    return digits


def phone_digits(s: pd.Series) -> pd.Series:
    """Phones -> 10 digits (NANP) or null: `(515) 555-0142`, `515-555-0142`, `1 515 555 0142` agree.

    Punctuation and a leading country code 1 are stripped, a trailing extension (`x12`, `ext 12`)
    dropped. Anything else than 10 digits, an area code or exchange starting with 0 or 1, or one
    digit repeated (0000000000) is null: such a value is shared by unrelated people.
    """
    return _as_series(_map_distinct(s, _phone_one), s.index)


_ZIP_FULL = re.compile(r"(\d{5})(?:[\s-]?(\d{4}))?")
_ZIP_PREFIX = re.compile(r"(\d{5})-.*")


def _zip_one(value: Any) -> tuple[str | None, str | None]:
    text = _text(value).strip()
    m = _ZIP_FULL.fullmatch(text)
    if m is None:
        m2 = _ZIP_PREFIX.fullmatch(text)  # `50309-12`: the ZIP5 is still good
        if m2 is None or m2.group(1) == "00000":
            return None, None
        return m2.group(1), None
    zip5, zip4 = m.group(1), m.group(2)
    if zip5 == "00000":
        return None, None
    return zip5, (zip4 if zip4 and zip4 != "0000" else None)


def split_zip(s: pd.Series) -> pd.DataFrame:
    """ZIPs -> `zip5` and `zip4`: `12345`, `12345-6789`, `12345 6789` and `123456789` are read.

    Anything else is null (both columns), except `12345-` followed by a bad add-on, which keeps its
    ZIP5. 00000 and an add-on 0000 are null (fillers). A four-digit value is not zero-padded: the
    leading zero was lost upstream and guessing it could invent a match. UI delivers ZIP5 and ZIP4
    apart: pass `zip5 + zip4`.
    """
    return _map_distinct_columns(s, _zip_one, ("zip5", "zip4"), (None, None))


def _email_one(value: Any) -> str | None:
    text = _text(value).strip().lower()
    if text.count("@") != 1 or any(c.isspace() for c in text):
        return None
    local, domain = text.split("@")
    if not local or "." not in domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return None
    if local in JUNK_EMAIL_LOCAL_PARTS:
        return None
    return text


def normalize_email(s: pd.Series) -> pd.Series:
    """Emails -> lower case, stripped; null unless there is exactly one @ with a dotted domain after it.

    Also null: embedded whitespace, and placeholders keyed for "no email" (JUNK_EMAIL_LOCAL_PARTS:
    none@..., noemail@...) because unrelated people share them.
    """
    return _as_series(_map_distinct(s, _email_one), s.index)


def _sex_one(value: Any) -> str | None:
    code = _text(value).strip().upper()
    return code if code in ("M", "F") else None


def sex_for_matching(s: pd.Series) -> pd.Series:
    """Sex codes (already M/F/U from the layouts) -> M or F, else null.

    U ("did not self-identify") is not a value two records can agree on: it is missing for matching.
    """
    return _as_series(_map_distinct(s, _sex_one), s.index)


# =============================================================================== streets


_PO_BOX = re.compile(r"^(?:P\s?O|POST\s+OFFICE)\s+BOX\b")


@lru_cache(maxsize=500_000)
def _street_one(value: str) -> str | None:
    text = _fold(value)
    if not text:
        return None
    text = _PO_BOX.sub("PO BOX", text)
    return " ".join(STREET_ABBREVIATIONS.get(t, t) for t in text.split())


def normalize_street(s: pd.Series) -> pd.Series:
    """Street lines -> upper ASCII, no punctuation, USPS abbreviations: `14315 West Chestnut Drive`
    -> `14315 W CHESTNUT DR`.

    Suffixes (with common misspellings, AVENU -> AVE), directions, unit designators and spelled-out
    ordinals (FIRST -> 1ST) are rewritten wherever they stand (STREET_ABBREVIATIONS); `P.O. Box`
    -> `PO BOX`. Blanks are null.
    """
    return _as_series(_map_distinct(s, lambda v: _street_one(_text(v))), s.index)
