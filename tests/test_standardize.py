"""Identity standardization: exact outputs for the values the five systems really deliver."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from linkage.standardize import (
    JUNK_SSNS,
    SSN_STATUSES,
    dob_standardize,
    is_valid_ssn,
    normalize_email,
    normalize_name,
    normalize_street,
    parse_last_first,
    phone_digits,
    sex_for_matching,
    split_suffix,
    split_zip,
    ssn_standardize,
    surname_parts,
)


def _rows(df: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples, NaN/NaT/NA as None, so a whole result is compared in one assert."""
    return [tuple(None if pd.isna(v) else v for v in row) for row in df.itertuples(index=False)]


def _values(s: pd.Series) -> list[Any]:
    return [None if (not isinstance(v, list) and pd.isna(v)) else v for v in s.tolist()]


# ===================================================================================== SSN

SSN_CASES = [
    # (raw, ssn, status)
    ("572-77-8638", "572778638", "VALID"),  # dashed (WP, adult ed)
    ("572778638", "572778638", "VALID"),  # undashed (UI, Title I, VR, adult ed)
    ("572 77 8638", "572778638", "VALID"),  # spaced
    (" 572-77-8638 ", "572778638", "VALID"),
    ("", None, "MISSING"),
    ("   ", None, "MISSING"),
    (None, None, "MISSING"),
    ("77S-71-2346", None, "MALFORMED"),  # OCR slip: 5 read as S
    ("O91-49-0566", None, "MALFORMED"),  # OCR slip: 0 read as O
    ("57277863", None, "MALFORMED"),  # 8 digits
    ("5727786381", None, "MALFORMED"),  # 10 digits
    ("572.77.8638", None, "MALFORMED"),  # only dashes and spaces are separators
    ("000-12-3456", None, "INVALID_AREA"),
    ("666-12-3456", None, "INVALID_AREA"),
    ("900-12-3456", None, "INVALID_AREA"),
    ("999-12-3456", None, "INVALID_AREA"),
    ("572-00-8638", None, "INVALID_GROUP"),
    ("572-77-0000", None, "INVALID_SERIAL"),
    ("123-45-6789", None, "JUNK"),
    ("123456789", None, "JUNK"),
    ("111111111", None, "JUNK"),
    ("555-55-5555", None, "JUNK"),
    ("999999999", None, "JUNK"),  # junk wins over the area rule
    ("000000000", None, "JUNK"),
    ("987654321", None, "JUNK"),
    ("012345678", None, "JUNK"),
    ("078-05-1120", None, "JUNK"),  # the Woolworth wallet SSN
    ("219-09-9999", None, "JUNK"),  # the SSA advertisement SSN
    ("123121234", None, "JUNK"),
]


def test_ssn_standardize_every_status() -> None:
    raw = pd.Series([c[0] for c in SSN_CASES], index=range(500, 500 + len(SSN_CASES)))
    out = ssn_standardize(raw)
    assert list(out.columns) == ["ssn", "ssn_status"]
    assert out.index.equals(raw.index)
    assert _rows(out) == [(c[1], c[2]) for c in SSN_CASES]
    assert {c[2] for c in SSN_CASES} == set(SSN_STATUSES)


@pytest.mark.parametrize(("raw", "ssn", "status"), SSN_CASES)
def test_is_valid_ssn_agrees_with_the_vectorised_rule(raw: str | None, ssn: str | None, status: str) -> None:
    assert is_valid_ssn(raw) is (status == "VALID")


def test_ssn_nan_and_pd_na_are_missing() -> None:
    out = ssn_standardize(pd.Series([np.nan, pd.NA, "572778638"], dtype=object))
    assert _rows(out) == [(None, "MISSING"), (None, "MISSING"), ("572778638", "VALID")]


def test_every_junk_ssn_is_structurally_plausible_or_junk() -> None:
    assert all(len(j) == 9 and j.isdigit() for j in JUNK_SSNS)
    assert not any(is_valid_ssn(j) for j in JUNK_SSNS)


# ===================================================================================== names


def test_normalize_name() -> None:
    raw = pd.Series(
        [
            "José",
            "Peña",
            "O'Brien",
            "D\u2019Angelo",  # typographic apostrophe
            "smith-jones",
            "García López",
            "  mary   ann ",
            "St. John",
            "Müller",
            "Strauß",
            "Ørsted",
            "",
            "   ",
            None,
            "---",
            "Unknown",
            "FNU",
            "NA",  # a surname, not a placeholder
        ],
        index=list("abcdefghijklmnopqr"),
    )
    out = normalize_name(raw)
    assert out.index.equals(raw.index)
    assert _values(out) == [
        "JOSE",
        "PENA",
        "OBRIEN",
        "DANGELO",
        "SMITH JONES",
        "GARCIA LOPEZ",
        "MARY ANN",
        "ST JOHN",
        "MULLER",
        "STRAUSS",
        "ORSTED",
        None,
        None,
        None,
        None,
        None,
        None,
        "NA",
    ]


def test_split_suffix_from_last_name() -> None:
    last = pd.Series(
        ["Smith Jr.", "SMITH JR", "Smith, Jr.", "smith jr", "WILLIAMS III", "Garcia IV", "JONES II", "BROWN"],
        index=range(10, 18),
    )
    out = split_suffix(last, None)
    assert list(out.columns) == ["name", "name_suffix"]
    assert out.index.equals(last.index)
    assert _rows(out) == [
        ("Smith", "JR"),
        ("SMITH", "JR"),
        ("Smith", "JR"),
        ("smith", "JR"),
        ("WILLIAMS", "III"),
        ("Garcia", "IV"),
        ("JONES", "II"),
        ("BROWN", None),
    ]


def test_split_suffix_leaves_names_that_only_look_like_suffixes() -> None:
    last = pd.Series(["JR", "SMITHJR", "Junior", "IVES", "V", None, ""])
    assert _rows(split_suffix(last)) == [
        ("JR", None),  # nothing would remain of the name
        ("SMITHJR", None),  # not a separate word
        ("Junior", None),  # a name, not an abbreviation
        ("IVES", None),
        ("V", None),
        (None, None),
        (None, None),
    ]


def test_split_suffix_with_delivered_suffix_column() -> None:
    last = pd.Series(["SMITH JR", "Velez", "Cockrill", "Jones III", "Brown"], index=list("vwxyz"))
    suffix = pd.Series(["JR", "Jr.", "sr", None, "ESQ"], index=list("vwxyz"))
    assert _rows(split_suffix(last, suffix)) == [
        ("SMITH", "JR"),
        ("Velez", "JR"),  # WP writes Jr / Sr in title case
        ("Cockrill", "SR"),
        ("Jones", "III"),
        ("Brown", None),  # not generational: nothing to compare on
    ]


def test_split_suffix_before_or_after_normalize_agree() -> None:
    raw = pd.Series(["O'Brien, Jr.", "Peña-Soto III"])
    a = normalize_name(split_suffix(raw)["name"])
    b = split_suffix(normalize_name(raw))
    assert _values(a) == _values(b["name"]) == ["OBRIEN", "PENA SOTO"]
    assert _values(b["name_suffix"]) == ["JR", "III"]


def test_split_suffix_rejects_a_misaligned_suffix_column() -> None:
    with pytest.raises(ValueError, match="same index"):
        split_suffix(pd.Series(["SMITH"], index=[1]), pd.Series(["JR"], index=[2]))


def test_parse_last_first_vr_formats() -> None:
    raw = pd.Series(
        [
            "SMITH, JOHN Q, JR",
            "GARCIA LOPEZ, MARÍA J",
            "O'BRIEN, SEAN",
            "DE LA CRUZ, ANA",
            "HERNANDEZ, DAVID J",
            "MILLER-JONES, ANNE MARIE",
            "WILLIAMS, ROBERT, III",
            "SMITH,JOHN Q,JR",
            "SMITH , JOHN Q. , Jr.",
            "SMITH JR, JOHN",
            "KING, DEAN",  # no titles: KING and DEAN are names
            "BISHOP, JUDGE A",
            "SMITH, JOHN V",  # suffixes follow a comma: V here is a middle initial
            "SMITH, JOHN Q, V",
            "SMITH, JOHN, ESQ",  # not generational
            "SMITH",
            "SMITH,",
            "",
            None,
        ],
        index=range(100, 119),
    )
    out = parse_last_first(raw)
    assert list(out.columns) == ["first_name", "middle_name", "last_name", "name_suffix"]
    assert out.index.equals(raw.index)
    assert _rows(out) == [
        ("JOHN", "Q", "SMITH", "JR"),
        ("MARÍA", "J", "GARCIA LOPEZ", None),
        ("SEAN", None, "O'BRIEN", None),
        ("ANA", None, "DE LA CRUZ", None),
        ("DAVID", "J", "HERNANDEZ", None),
        ("ANNE", "MARIE", "MILLER-JONES", None),
        ("ROBERT", None, "WILLIAMS", "III"),
        ("JOHN", "Q", "SMITH", "JR"),
        ("JOHN", "Q.", "SMITH", "JR"),
        ("JOHN", None, "SMITH", "JR"),
        ("DEAN", None, "KING", None),
        ("JUDGE", "A", "BISHOP", None),
        ("JOHN", "V", "SMITH", None),
        ("JOHN", "Q", "SMITH", "V"),
        ("JOHN", None, "SMITH", None),
        (None, None, "SMITH", None),
        (None, None, "SMITH", None),
        (None, None, None, None),
        (None, None, None, None),
    ]


def test_parse_last_first_then_normalize() -> None:
    parsed = parse_last_first(pd.Series(["GARCIA LOPEZ, MARÍA J", "O'BRIEN, SEAN"]))
    assert _values(normalize_name(parsed["first_name"])) == ["MARIA", "SEAN"]
    assert _values(normalize_name(parsed["last_name"])) == ["GARCIA LOPEZ", "OBRIEN"]


def test_parse_last_first_repeated_values_parse_alike() -> None:
    raw = pd.Series(["ZARATE, MARKEISHA V, JR"] * 3 + [None] * 2)
    assert _rows(parse_last_first(raw)) == [("MARKEISHA", "V", "ZARATE", "JR")] * 3 + [(None,) * 4] * 2


def test_surname_parts() -> None:
    last = normalize_name(
        pd.Series(
            [
                "García López",
                "Miller-Jones",
                "De La Cruz",
                "Van der Berg",
                "Garcia y Lopez",
                "SMITH",
                "Le",
                "SMITH JR",
                None,
                "O Brien",
            ],
            index=range(20, 30),
        )
    )
    out = surname_parts(last)
    assert out.index.equals(last.index)
    assert _values(out) == [
        ["GARCIA", "LOPEZ", "GARCIALOPEZ"],
        ["MILLER", "JONES", "MILLERJONES"],
        ["CRUZ", "DELACRUZ"],
        ["BERG", "VANDERBERG"],
        ["GARCIA", "LOPEZ", "GARCIAYLOPEZ"],
        ["SMITH"],
        ["LE"],  # a one-word surname is never reduced, particle or not
        ["SMITH"],
        None,
        ["BRIEN", "OBRIEN"],
    ]


# ===================================================================================== dates of birth

AS_OF = date(2024, 3, 1)


def test_dob_yyyymmdd() -> None:
    raw = pd.Series(
        [
            "19801016",
            "00000000",
            "",
            None,
            "19880230",
            "1988023",
            "198810166",
            "1988AB16",
            "18991231",
            "19000101",
            "20250101",
            "20150101",
            "20100301",
            "20100302",
            "09880101",
        ],
        index=range(1000, 1015),
    )
    out = dob_standardize(raw, "%Y%m%d", AS_OF)
    assert list(out.columns) == ["birth_date", "birth_date_status"]
    assert out.index.equals(raw.index)
    assert str(out["birth_date"].dtype) == "datetime64[ns]"
    assert _rows(out) == [
        (pd.Timestamp("1980-10-16"), "VALID"),
        (None, "MISSING"),
        (None, "MISSING"),
        (None, "MISSING"),
        (None, "UNPARSEABLE"),  # 30 February
        (None, "UNPARSEABLE"),  # 7 digits: not read as 1988-02-03
        (None, "UNPARSEABLE"),
        (None, "UNPARSEABLE"),
        (None, "IMPLAUSIBLE"),  # before 1900
        (pd.Timestamp("1900-01-01"), "VALID"),
        (None, "IMPLAUSIBLE"),  # in the future
        (None, "IMPLAUSIBLE"),  # 9 years old
        (pd.Timestamp("2010-03-01"), "VALID"),  # 14 on the as-of date
        (None, "IMPLAUSIBLE"),  # 14 tomorrow
        (None, "IMPLAUSIBLE"),  # year 988: a date, outside pandas' range, implausible
    ]


def test_dob_month_day_year_with_and_without_leading_zeros() -> None:
    raw = pd.Series(["03/05/1992", "3/5/1992", "10/21/1976", "09/07/988", "13/01/1990", "02/29/1991"])
    raw = pd.concat([raw, pd.Series(["2/29/1992", "00/00/0000", "1/1/92", "abc"])], ignore_index=True)
    out = dob_standardize(raw, "%m/%d/%Y", AS_OF)
    assert _rows(out) == [
        (pd.Timestamp("1992-03-05"), "VALID"),
        (pd.Timestamp("1992-03-05"), "VALID"),
        (pd.Timestamp("1976-10-21"), "VALID"),
        (None, "UNPARSEABLE"),  # three-digit year
        (None, "UNPARSEABLE"),
        (None, "UNPARSEABLE"),  # 1991 is not a leap year
        (pd.Timestamp("1992-02-29"), "VALID"),
        (None, "MISSING"),
        (None, "UNPARSEABLE"),  # two-digit year
        (None, "UNPARSEABLE"),
    ]


def test_dob_iso() -> None:
    raw = pd.Series(["1975-04-29", "2000-03-22", "1975-02-30", "", "1975/04/29"], index=list("abcde"))
    out = dob_standardize(raw, "%Y-%m-%d", AS_OF)
    assert out.index.equals(raw.index)
    assert _rows(out) == [
        (pd.Timestamp("1975-04-29"), "VALID"),
        (pd.Timestamp("2000-03-22"), "VALID"),
        (None, "UNPARSEABLE"),
        (None, "MISSING"),
        (None, "UNPARSEABLE"),
    ]


def test_dob_min_age_on_a_leap_day() -> None:
    # On 2024-02-29 a person is 14 if born on or before 2010-02-28.
    raw = pd.Series(["20100228", "20100301"])
    assert _rows(dob_standardize(raw, "%Y%m%d", date(2024, 2, 29))) == [
        (pd.Timestamp("2010-02-28"), "VALID"),
        (None, "IMPLAUSIBLE"),
    ]


def test_dob_all_null_and_empty_inputs() -> None:
    out = dob_standardize(pd.Series([np.nan, None], index=[7, 8]), "%Y%m%d", AS_OF)
    assert _rows(out) == [(None, "MISSING"), (None, "MISSING")]
    empty = dob_standardize(pd.Series([], dtype=object), "%Y%m%d", AS_OF)
    assert list(empty.columns) == ["birth_date", "birth_date_status"] and len(empty) == 0


def test_dob_rejects_formats_it_cannot_check() -> None:
    with pytest.raises(ValueError, match="unsupported directive"):
        dob_standardize(pd.Series(["1/1/92"]), "%m/%d/%y", AS_OF)


# ===================================================================================== contact


def test_phone_digits() -> None:
    raw = pd.Series(
        [
            "(515) 555-0142",
            "515-555-0142",
            "(515)555-0142",
            "5155550142",
            "1-515-555-0142",
            "+1 (515) 555 0142",
            "515.555.0142 x12",
            "555-0142",
            "51555501422",
            "015-555-0142",
            "515-155-0142",
            "0000000000",
            "",
            None,
        ],
        index=range(40, 54),
    )
    out = phone_digits(raw)
    assert out.index.equals(raw.index)
    assert _values(out) == ["5155550142"] * 7 + [None] * 7


def test_split_zip() -> None:
    raw = pd.Series(
        [
            "50309",
            "12345-6789",
            "123456789",
            " 52402 ",
            "12345 6789",
            "50309-12",
            "5030",
            "ABCDE",
            "00000",
            "50309-0000",
            "",
            None,
        ],
        index=list("abcdefghijkl"),
    )
    out = split_zip(raw)
    assert list(out.columns) == ["zip5", "zip4"]
    assert out.index.equals(raw.index)
    assert _rows(out) == [
        ("50309", None),
        ("12345", "6789"),
        ("12345", "6789"),
        ("52402", None),
        ("12345", "6789"),
        ("50309", None),  # the ZIP5 survives a bad add-on
        (None, None),  # a lost leading zero is not guessed
        (None, None),
        (None, None),
        ("50309", None),
        (None, None),
        (None, None),
    ]


def test_normalize_email() -> None:
    raw = pd.Series(
        [
            " John.Doe@Example.COM ",
            "a.b@mail.example",
            "john",
            "john@example",
            "a@b@example.com",
            "@example.com",
            "john doe@example.com",
            "john@.com",
            "john@example.com.",
            "none@none.com",
            "",
            None,
        ]
    )
    assert _values(normalize_email(raw)) == ["john.doe@example.com", "a.b@mail.example"] + [None] * 10


def test_sex_for_matching() -> None:
    raw = pd.Series(["M", "F", "U", " f ", "X", "", None], index=range(7, 0, -1))
    out = sex_for_matching(raw)
    assert out.index.equals(raw.index)
    assert _values(out) == ["M", "F", None, "F", None, None, None]


# ===================================================================================== streets


def test_normalize_street() -> None:
    raw = pd.Series(
        [
            "14315 West Chestnut Drive",
            "14315 W. CHESTNUT DR",
            "2242 GERTRUDE STREET",
            "1326 Fairland Avenue",
            "4240 118 AVENU",  # USPS-listed misspelling
            "27743 n 103rd dr",
            "500 North First Street, Apt. #4",
            "12 Oak Lane",
            "8 Elm Court",
            "99 Grand Boulevard",
            "3 Park Place",
            "2883 prairie wind trail",
            "7 Sunset Circle",
            "1 Merle Hay Parkway",
            "40 Main Road Suite 200",
            "P.O. Box 12",
            "12 Côte-d'Or Rd",
            "",
            None,
        ],
        index=range(200, 219),
    )
    out = normalize_street(raw)
    assert out.index.equals(raw.index)
    assert _values(out) == [
        "14315 W CHESTNUT DR",
        "14315 W CHESTNUT DR",
        "2242 GERTRUDE ST",
        "1326 FAIRLAND AVE",
        "4240 118 AVE",
        "27743 N 103RD DR",
        "500 N 1ST ST APT 4",
        "12 OAK LN",
        "8 ELM CT",
        "99 GRAND BLVD",
        "3 PARK PL",
        "2883 PR WIND TRL",  # suffix words are abbreviated wherever they stand
        "7 SUNSET CIR",
        "1 MERLE HAY PKWY",
        "40 MAIN RD STE 200",
        "PO BOX 12",
        "12 COTE DOR RD",
        None,
        None,
    ]


# ===================================================================================== all functions


def test_every_function_keeps_a_duplicate_index() -> None:
    idx = pd.Index(["x", "x", "y"])
    s = pd.Series(["Smith Jr", None, "Smith Jr"], index=idx)
    for result in (
        normalize_name(s),
        split_suffix(s, s),
        parse_last_first(s),
        surname_parts(s),
        ssn_standardize(s),
        dob_standardize(s, "%Y%m%d", AS_OF),
        phone_digits(s),
        split_zip(s),
        normalize_email(s),
        sex_for_matching(s),
        normalize_street(s),
    ):
        assert result.index.equals(idx)
