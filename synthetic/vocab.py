"""Vocabularies for the synthetic state: names from Faker's bundled lists, nicknames from the
`nicknames` package, and a small gazetteer of Iowa places (the samples' state).

Everything here is read from installed packages or written out below; nothing is downloaded.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from faker.providers.address.en_US import Provider as UsAddress
from faker.providers.person.en_US import Provider as UsPerson
from faker.providers.person.es_MX import Provider as MxPerson
from nicknames import NickNamer


@dataclass(frozen=True)
class WeightedNames:
    names: tuple[str, ...]
    weights: np.ndarray  # normalised probabilities, same order as names

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.asarray(self.names, dtype=object)[rng.choice(len(self.names), size=n, p=self.weights)]


def _weighted(source: object) -> WeightedNames:
    if isinstance(source, dict):
        names = tuple(str(k).strip() for k in source)
        w = np.asarray([float(v) for v in source.values()], dtype=float)
    else:
        names = tuple(str(k).strip() for k in source)  # type: ignore[attr-defined]
        w = np.ones(len(names), dtype=float)
    names = tuple(" ".join(n.split()) for n in names)
    return WeightedNames(names, w / w.sum())


@lru_cache(maxsize=1)
def first_names() -> dict[str, WeightedNames]:
    """Female/male first names; about one in seven drawn from the Spanish-language list (accents)."""
    return {
        "F": _weighted(UsPerson.first_names_female),
        "M": _weighted(UsPerson.first_names_male),
        "F_es": _weighted([n for n in MxPerson.first_names_female if " " not in n]),
        "M_es": _weighted([n for n in MxPerson.first_names_male if " " not in n]),
    }


@lru_cache(maxsize=1)
def last_names() -> dict[str, WeightedNames]:
    return {
        "us": _weighted(UsPerson.last_names),
        "es": _weighted([n for n in MxPerson.last_names if " " not in n]),
    }


@lru_cache(maxsize=1)
def street_suffixes() -> tuple[str, ...]:
    common = ("St", "Ave", "Dr", "Rd", "Ln", "Ct", "Blvd", "Pl", "Way", "Trl", "Cir", "Pkwy")
    return common + tuple(s for s in UsAddress.street_suffixes if len(s) <= 8)[:10]


STREET_WORDS: tuple[str, ...] = (
    "Main", "Oak", "Maple", "Cedar", "Elm", "Walnut", "Pine", "Park", "Washington", "Lincoln",
    "Grand", "University", "Ingersoll", "Fleur", "Prairie Wind", "Hickman", "Douglas", "Euclid",
    "Forbes", "Church", "Chestnut", "Illinois", "Locust", "Court", "Market", "Jefferson",
    "Madison", "Sunset", "Hillcrest", "Country Club", "Riverside", "Scrimshaw", "Fairland",
    "Gertrude", "Kirkwood", "Mount Vernon", "Ridgeway", "Cottage Grove", "Beaver", "Merle Hay",
)  # fmt: skip

# (city, zip codes, local workforce office) — public facts about Iowa.
PLACES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Des Moines", ("50309", "50310", "50311", "50312", "50313", "50314", "50315", "50316", "50317"),
     "Des Moines"),
    ("West Des Moines", ("50265", "50266"), "Des Moines"),
    ("Ankeny", ("50021", "50023"), "Des Moines"),
    ("Cedar Rapids", ("52402", "52403", "52404", "52405"), "Cedar Rapids"),
    ("Davenport", ("52802", "52803", "52804", "52806"), "Davenport"),
    ("Sioux City", ("51101", "51103", "51104", "51106"), "Sioux City"),
    ("Iowa City", ("52240", "52245", "52246"), "Iowa City"),
    ("Waterloo", ("50701", "50702", "50703"), "Waterloo"),
    ("Council Bluffs", ("51501", "51503"), "Council Bluffs"),
    ("Ames", ("50010", "50014"), "Ames"),
    ("Dubuque", ("52001", "52002", "52003"), "Dubuque"),
    ("Mason City", ("50401",), "Mason City"),
    ("Burlington", ("52601",), "Burlington"),
    ("Ottumwa", ("52501",), "Ottumwa"),
    ("Fort Dodge", ("50501",), "Fort Dodge"),
    ("Marshalltown", ("50158",), "Marshalltown"),
    ("Creston", ("50801",), "Creston"),
    ("Spencer", ("51301",), "Spencer"),
    ("Decorah", ("52101",), "Decorah"),
    ("Carroll", ("51401",), "Carroll"),
)  # fmt: skip
PLACE_WEIGHTS = (
    np.asarray([30, 6, 5, 12, 10, 8, 7, 6, 5, 5, 5, 3, 3, 3, 2, 2, 1, 1, 1, 1], dtype=float) / 116.0
)
AREA_CODES: tuple[str, ...] = ("515", "319", "563", "641", "712")
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net", "mail.example")
SUFFIXES: tuple[str, ...] = ("JR", "SR", "II", "III", "IV")
SUFFIX_WEIGHTS = np.asarray([0.55, 0.15, 0.12, 0.12, 0.06])

OFFICES: tuple[str, ...] = tuple(sorted({p[2] for p in PLACES}))


@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=4096)
def nicknames_of(first: str) -> tuple[str, ...]:
    """Nicknames for a given name (title case), sorted so draws are reproducible."""
    found = _nicknamer().nicknames_of(first.lower())
    return tuple(sorted(n.title() for n in found if len(n) >= 2))


def strip_accents(text: str) -> str:
    """The ASCII systems (UI, wage records) cannot carry accents: José -> Jose, Peña -> Pena."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
