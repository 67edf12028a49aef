"""The Splink linkage model on hand-made records: the hard cases link, the look-alikes do not.

A small background population (built here, seeded) gives the model something to learn m and u
from; the cases under test are written out by hand beside it.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import duckdb
import pandas as pd
import pytest

from linkage import evaluate
from linkage.model import (
    LinkageSettings,
    TrainedModel,
    _blocked_pairs,
    _comparisons,
    _jw_at_least,
    char_mask,
    cluster,
    first_name_group,
    linker_for,
    predict,
    prepare,
    set_mask,
    train,
)

FIRST = [
    "JAMES", "MARY", "ROBERT", "PATRICIA", "JOHN", "JENNIFER", "MICHAEL", "LINDA", "DAVID", "ELIZABETH",
    "RICHARD", "BARBARA", "JOSEPH", "SUSAN", "THOMAS", "JESSICA", "CHARLES", "SARAH", "CHRISTOPHER", "KAREN",
    "DANIEL", "LISA", "MATTHEW", "NANCY", "ANTHONY", "BETTY", "MARK", "SANDRA", "DONALD", "MARGARET",
    "STEVEN", "ASHLEY", "ANDREW", "KIMBERLY", "KENNETH", "EMILY", "JOSHUA", "DONNA", "KEVIN", "MICHELLE",
]  # fmt: skip
LAST = [
    "SMITH", "JOHNSON", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ", "MARTINEZ", "HERNANDEZ",
    "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON", "TAYLOR", "MOORE", "JACKSON", "MARTIN", "LEE", "PEREZ",
    "THOMPSON", "WHITE", "HARRIS", "SANCHEZ", "CLARK", "RAMIREZ", "LEWIS", "ROBINSON", "WALKER", "YOUNG",
    "ALLEN", "KING", "WRIGHT", "SCOTT", "TORRES", "NGUYEN", "HILL", "FLORES", "GREEN", "ADAMS",
]  # fmt: skip
NICK = {"ROBERT": "BOB", "JAMES": "JIM", "MICHAEL": "MIKE", "ELIZABETH": "LIZ", "RICHARD": "DICK"}
STREETS = ["MAIN ST", "OAK AVE", "PINE ST", "ELM ST", "MAPLE AVE", "CEDAR RD", "LAKE DR", "HILL ST"]
ZIPS = ["50309", "50310", "50314", "52401", "52402", "51101", "50601", "52801"]


def _record(sys: str, rid: str, **kw: Any) -> dict[str, Any]:
    last = kw["last_name"]
    parts = kw.pop("last_name_parts", None) or last.replace("-", " ").split()
    return {
        "source_system": sys,
        "source_record_id": rid,
        "first_name": kw["first_name"],
        "middle_name": kw.get("middle_name"),
        "last_name": last,
        "last_name_parts": parts,
        "birth_date": pd.Timestamp(kw["birth_date"]) if kw.get("birth_date") else pd.NaT,
        "ssn": kw.get("ssn"),
        "sex": kw.get("sex"),
        "street": kw.get("street"),
        "zip5": kw.get("zip5"),
        "phone": kw.get("phone"),
        "email": kw.get("email"),
    }


def _person(r: random.Random) -> dict[str, Any]:
    return {
        "first_name": r.choice(FIRST),
        "last_name": r.choice(LAST),
        "birth_date": f"{r.randint(1950, 2004)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
        "ssn": f"{r.randint(1, 665):03d}{r.randint(1, 99):02d}{r.randint(1, 9999):04d}",
        "sex": r.choice("MF"),
        "street": f"{r.randint(1, 9999)} {r.choice(STREETS)}",
        "zip5": r.choice(ZIPS),
        "phone": f"515555{r.randint(0, 9999):04d}",
    }


def _background(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """n people, each in two or three systems, some with a nickname, a typo, no SSN or a move."""
    r = random.Random(seed)
    rows = []
    for i in range(n):
        p = _person(r)
        for k, sys in enumerate(r.sample(["ui", "wp", "title1", "vr", "adult_ed"], r.choice([2, 2, 3]))):
            q = dict(p)
            x = r.random()
            if k and x < 0.1:
                q["first_name"] = NICK.get(q["first_name"], q["first_name"])
            elif k and x < 0.2:
                q["ssn"] = None
            elif k and x < 0.3:
                q.update(street=f"{r.randint(1, 9999)} {r.choice(STREETS)}", zip5=r.choice(ZIPS), phone=None)
            elif k and x < 0.35:
                f = q["first_name"]
                q["first_name"] = f[:2] + f[3:]
            rows.append(_record(sys, f"B{i:05d}{k}", **q))
    return rows


# The cases under test, one record each:
# (system, id, first, last, DOB, SSN, sex, street, ZIP5, phone)
CASES = [
    # nickname
    ("ui", "NICK1", "WILLIAM", "OKAFOR", "1980-04-02", "212345678", "M", "12 ASH ST", "50309", "5155550101"),
    ("wp", "NICK2", "BILL", "OKAFOR", "1980-04-02", "212345678", "M", "98 BIRCH RD", "52401", None),
    # transposed SSN, new address
    ("ui", "TSSN1", "GRETA", "VANDERMEER", "1975-11-30", "301234567", "F", "5 ELM ST", "50314", "5155550202"),
    ("title1", "TSSN2", "GRETA", "VANDERMEER", "1975-11-30", "302134567", "F", "77 LAKE DR", "52801", None),
    # DOB day and month swapped
    (
        "ui",
        "SDOB1",
        "TOMASZ",
        "KOWALCZYK",
        "1990-03-07",
        "401112222",
        "M",
        "3 OAK AVE",
        "50310",
        "5155550303",
    ),
    ("vr", "SDOB2", "TOMASZ", "KOWALCZYK", "1990-07-03", "401112222", "M", "3 OAK AVE", "50310", None),
    # married name: new surname, new address and phone; SSN and DOB carry it
    (
        "ui",
        "MARR1",
        "ABIGAIL",
        "FITZGERALD",
        "1988-08-19",
        "511223344",
        "F",
        "40 PINE ST",
        "51101",
        "5155550404",
    ),
    (
        "wp",
        "MARR2",
        "ABIGAIL",
        "ODONNELL",
        "1988-08-19",
        "511223344",
        "F",
        "9 CEDAR RD",
        "52402",
        "5155550505",
    ),
    # twins: same surname, DOB, address and phone; other first name, consecutive SSN
    ("ui", "TWNA1", "ETHAN", "LINDQVIST", "2001-06-15", "612000101", "M", "8 HILL ST", "50601", "5155550606"),
    ("wp", "TWNA2", "ETHAN", "LINDQVIST", "2001-06-15", "612000101", "M", "8 HILL ST", "50601", "5155550606"),
    ("ui", "TWNB1", "NOAH", "LINDQVIST", "2001-06-15", "612000102", "M", "8 HILL ST", "50601", "5155550606"),
    # twins with unrelated SSNs
    (
        "ui",
        "TWNC1",
        "OLIVIA",
        "BRANNIGAN",
        "1995-02-10",
        "133557799",
        "F",
        "21 MAPLE AVE",
        "52801",
        "5155550707",
    ),
    (
        "title1",
        "TWND1",
        "SOPHIA",
        "BRANNIGAN",
        "1995-02-10",
        "244668800",
        "F",
        "21 MAPLE AVE",
        "52801",
        "5155550707",
    ),
    # same first name, last name and DOB; different SSN and address: different people
    ("ui", "SAMA1", "MARIA", "GARCIA", "1970-01-01", "155443322", "F", "1 MAIN ST", "50309", "5155550808"),
    ("wp", "SAMB1", "MARIA", "GARCIA", "1970-01-01", "266554433", "F", "600 LAKE DR", "51101", "5155550909"),
]
CASE_FIELDS = ("first_name", "last_name", "birth_date", "ssn", "sex", "street", "zip5", "phone")

MUST_LINK = [
    ("NICK1", "NICK2"),
    ("TSSN1", "TSSN2"),
    ("SDOB1", "SDOB2"),
    ("MARR1", "MARR2"),
    ("TWNA1", "TWNA2"),
]
MUST_NOT_LINK = [("TWNA1", "TWNB1"), ("TWNA2", "TWNB1"), ("TWNC1", "TWND1"), ("SAMA1", "SAMB1")]

SETTINGS = LinkageSettings(u_max_pairs=2e5, seed=3)


def case_records(background: int, seed: int = 7) -> pd.DataFrame:
    """A seeded background population plus the hand-made cases (shared by the linkage tests)."""
    rows = _background(background, seed) + [
        _record(c[0], c[1], **dict(zip(CASE_FIELDS, c[2:], strict=True))) for c in CASES
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return case_records(400)


@pytest.fixture(scope="module")
def model(records: pd.DataFrame) -> TrainedModel:
    return train(records, SETTINGS)


@pytest.fixture(scope="module")
def pairs(model: TrainedModel, records: pd.DataFrame) -> pd.DataFrame:
    return predict(model, records)


def _prob(pairs: pd.DataFrame, a: str, b: str) -> float:
    hit = pairs[
        ((pairs["source_record_id_l"] == a) & (pairs["source_record_id_r"] == b))
        | ((pairs["source_record_id_l"] == b) & (pairs["source_record_id_r"] == a))
    ]
    assert len(hit) == 1, f"{a}/{b} not compared: no blocking rule generates the pair"
    return float(hit["match_probability"].iloc[0])


def test_nickname_groups() -> None:
    assert "WILLIAM" in (first_name_group("BILL") or [])
    assert first_name_group(None) is None


@pytest.mark.parametrize(("a", "b"), MUST_LINK)
def test_hard_cases_link(pairs: pd.DataFrame, a: str, b: str) -> None:
    assert _prob(pairs, a, b) >= SETTINGS.match_threshold


@pytest.mark.parametrize(("a", "b"), MUST_NOT_LINK)
def test_look_alikes_do_not_link(pairs: pd.DataFrame, a: str, b: str) -> None:
    assert _prob(pairs, a, b) < SETTINGS.match_threshold


def test_twins_are_vetoed_not_just_outscored(pairs: pd.DataFrame) -> None:
    """Different SSN and different first name: the veto rule, whatever the household evidence."""
    twins = pairs[(pairs["source_record_id_l"] == "TWNC1") | (pairs["source_record_id_r"] == "TWNC1")]
    twins = twins[(twins["source_record_id_l"] == "TWND1") | (twins["source_record_id_r"] == "TWND1")]
    assert twins["vetoed"].all() and (twins["match_probability"] == 0).all()


def test_clusters(pairs: pd.DataFrame, records: pd.DataFrame) -> None:
    cl = cluster(pairs, records, SETTINGS.cluster_threshold).set_index("source_record_id")["cluster_id"]
    assert len(cl) == len(records)
    assert cl["TWNA1"] == cl["TWNA2"] != cl["TWNB1"]
    assert cl["NICK1"] == cl["NICK2"]
    assert cl["SAMA1"] != cl["SAMB1"]
    assert cl["NICK1"] == "ui:NICK1"  # the smallest member id names the cluster


def test_background_accuracy(pairs: pd.DataFrame, records: pd.DataFrame) -> None:
    """The model finds the background people's own records (a sanity check, not a benchmark)."""
    person = (
        records["source_record_id"].str.slice(0, 6).where(records["source_record_id"].str.startswith("B"))
    )
    truth = records.assign(person_id=person.factorize()[0]).loc[person.notna()]
    m = evaluate.pairwise_metrics(pairs, evaluate.true_pairs(truth, truth), SETTINGS.match_threshold)
    assert m.recall > 0.95
    assert m.precision > 0.97


def _numbers_rounded(value: object) -> object:
    """The model document with floats to 9 significant digits: DuckDB aggregates in parallel, so the
    last bits of a sum depend on thread scheduling; everything else must be identical."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _numbers_rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_rounded(v) for v in value]
    return value


def test_training_is_deterministic(model: TrainedModel, records: pd.DataFrame) -> None:
    import json

    again = train(records, SETTINGS)
    assert _numbers_rounded(json.loads(again.to_json())) == _numbers_rounded(json.loads(model.to_json()))


def test_model_json_round_trip(model: TrainedModel, records: pd.DataFrame, pairs: pd.DataFrame) -> None:
    loaded = TrainedModel.from_json(model.to_json())
    assert loaded.settings == model.settings
    again = predict(loaded, records)
    pd.testing.assert_frame_equal(again, pairs)


# --------------------------------------------------------------------------- speed work
# The model's levels read precomputed keys and guards, Splink's id is an integer, blocking and
# scoring run outside Splink's public predict: the tests below pin each of these to what the plain
# definitions and Splink's own code give.


def test_prepare_derived_columns() -> None:
    recs = pd.DataFrame(
        [
            _record("wp", "2", first_name="BILL", middle_name="JO", last_name="GARCIA LOPEZ",
                    birth_date="1980-04-02", ssn="123456789"),
            _record("ui", "1", first_name="ÉLISE", last_name="NG", birth_date=None, ssn=None),
        ]
    )  # fmt: skip
    recs.at[1, "last_name_parts"] = None
    p = prepare(recs)
    # sorted by unique_id; row_id is the position, so row ids compare as the unique ids do
    assert p["unique_id"].tolist() == ["ui:1", "wp:2"]
    assert p["row_id"].tolist() == [0, 1]
    ui, wp = p.iloc[0], p.iloc[1]
    assert wp["dob"] == 19800402 and pd.isna(ui["dob"])
    assert wp["middle_initial"] == "J" and ui["middle_initial"] is None
    assert wp["ssn_sorted"] == "123456789" and wp["ssn_num"] == 123456789
    # the set keys hold the same values as the lists; the masks have a bit per value
    assert wp["first_name_group_key"].split("|") == wp["first_name_group"] == first_name_group("BILL")
    assert wp["last_name_parts_key"] == "GARCIA|LOPEZ"
    assert wp["last_name_parts_mask"] == set_mask(["GARCIA"]) | set_mask(["LOPEZ"])
    assert ui["last_name_parts_key"] is None and ui["last_name_parts_mask"] == 0
    # character masks: bit (code point mod 64) per character; É is U+00C9 = 201, 201 mod 64 = 9
    assert ui["first_name_chars"] == sum(
        1 << b for b in {9, ord("L") % 64, ord("I") % 64, ord("S") % 64, ord("E") % 64}
    )
    assert char_mask("NG") == (1 << (ord("N") % 64)) | (1 << (ord("G") % 64))
    with pytest.raises(ValueError, match="one row per"):
        prepare(pd.concat([recs, recs]))


def _reference_comparisons() -> list[str]:
    """The levels as plainly defined (no keys, guards or integer dates): gamma CASEs over l/r."""
    jw = "jaro_winkler_similarity({c}_l, {c}_r)"

    def name(c: str, special: str) -> str:
        return (
            f"CASE WHEN {c}_l IS NULL OR {c}_r IS NULL THEN -1 WHEN {c}_l = {c}_r THEN 4 WHEN {special} THEN 3 "
            f"WHEN {jw.format(c=c)} >= 0.92 THEN 2 WHEN {jw.format(c=c)} >= 0.85 THEN 1 ELSE 0 END"
        )

    street_close = "jaro_winkler_similarity(street_l, street_r) >= 0.9"
    addr_exact = "(street_l = street_r AND zip5_l = zip5_r)"
    addr_close = f"(zip5_l = zip5_r AND {street_close})"
    return [
        "CASE WHEN ssn_l IS NULL OR ssn_r IS NULL THEN -1 WHEN ssn_l = ssn_r THEN 5 "
        "WHEN abs(ssn_num_l - ssn_num_r) = 1 THEN 4 WHEN ssn_sorted_l = ssn_sorted_r AND "
        "damerau_levenshtein(ssn_l, ssn_r) = 1 AND levenshtein(ssn_l, ssn_r) = 2 THEN 3 "
        "WHEN hamming(ssn_l, ssn_r) = 1 THEN 2 WHEN ssn_sorted_l = ssn_sorted_r THEN 1 ELSE 0 END",
        name("first_name", "list_has_any(first_name_group_l, first_name_group_r)"),
        "CASE WHEN middle_name_l IS NULL OR middle_name_r IS NULL THEN -1 "
        "WHEN left(middle_name_l, 1) = left(middle_name_r, 1) THEN 1 ELSE 0 END",
        name("last_name", "list_has_any(last_name_parts_l, last_name_parts_r)"),
        "CASE WHEN birth_date_l IS NULL OR birth_date_r IS NULL THEN -1 WHEN birth_date_l = birth_date_r THEN 4 "
        "WHEN dob_y_l = dob_y_r AND dob_m_l = dob_d_r AND dob_d_l = dob_m_r THEN 3 "
        "WHEN (dob_y_l = dob_y_r AND dob_m_l = dob_m_r AND abs(dob_d_l - dob_d_r) = 1) "
        "OR (dob_y_l = dob_y_r AND dob_d_l = dob_d_r AND abs(dob_m_l - dob_m_r) = 1) "
        "OR (dob_m_l = dob_m_r AND dob_d_l = dob_d_r AND abs(dob_y_l - dob_y_r) = 1) THEN 2 "
        "WHEN dob_y_l = dob_y_r THEN 1 ELSE 0 END",
        "CASE WHEN sex_l IS NULL OR sex_r IS NULL THEN -1 WHEN sex_l = sex_r THEN 1 ELSE 0 END",
        "CASE WHEN (street_l IS NULL OR street_r IS NULL) AND (zip5_l IS NULL OR zip5_r IS NULL) "
        "AND (phone_l IS NULL OR phone_r IS NULL) THEN -1 "
        f"WHEN {addr_exact} AND phone_l = phone_r THEN 7 WHEN ({addr_exact} OR {addr_close}) AND phone_l = phone_r "
        f"THEN 6 WHEN {addr_exact} THEN 5 WHEN phone_l = phone_r THEN 4 WHEN {addr_close} THEN 3 "
        f"WHEN damerau_levenshtein(zip5_l, zip5_r) = 1 AND {street_close} THEN 2 WHEN zip5_l = zip5_r THEN 1 "
        "ELSE 0 END",
        "CASE WHEN email_l IS NULL OR email_r IS NULL THEN -1 WHEN email_l = email_r THEN 1 ELSE 0 END",
    ]


# Records that reach the rare levels: transposed and permuted SSNs, compound and near surnames,
# nicknames, accented names, swapped and near dates, a ZIP typo with a similar street.
LEVEL_FIELDS = (
    "first_name",
    "last_name",
    "birth_date",
    "ssn",
    "sex",
    "street",
    "zip5",
    "phone",
    "email",
    "middle_name",
)
LEVEL_CASES = [
    (
        "KATHERINE",
        "GARCIA LOPEZ",
        "1981-03-07",
        "123456789",
        "F",
        "12 OAK AVE",
        "50309",
        "5155551111",
        "K@X.ORG",
        "A",
    ),
    ("KATE", "LOPEZ", "1981-07-03", "123456798", "F", "12 OAK AV", "50390", None, "K@X.ORG", "B"),
    (
        "KATHRINE",
        "GARCIA",
        "1981-03-08",
        "213456789",
        "F",
        "12 OAK AVE",
        "50309",
        "5155551111",
        "Q@X.ORG",
        None,
    ),
    ("ÉLODIE", "MÜLLER", "1982-03-07", "123456790", None, "99 ELM ST", "50310", "5155552222", None, "A"),
    ("ELODIE", "MULLER", "1981-04-07", "123465789", "F", "99 ELM STREET", "50310", "5155552222", None, None),
    ("JON", "SMYTH", "1980-02-02", "987654321", "M", "1 PINE ST", "52401", "5155553333", None, None),
    ("JOHN", "SMITH", "1980-02-02", "987654312", "M", "1 PINE ST", "52401", "5155559999", None, None),
    (None, None, None, None, None, None, None, None, None, None),
]


def test_levels_equal_their_plain_definitions(records: pd.DataFrame) -> None:
    """Every pair of records gets the same level from the model's comparisons as from the plain
    definitions (the guards only skip work, the keys and integers only change representation)."""
    rows = []
    for i, case in enumerate(LEVEL_CASES):
        row = {
            "source_system": "vr",
            "source_record_id": f"LV{i}",
            **dict(zip(LEVEL_FIELDS, case, strict=True)),
        }
        row["last_name_parts"] = row["last_name"].split() if row["last_name"] else None
        row["birth_date"] = pd.Timestamp(row["birth_date"]) if row["birth_date"] else pd.NaT
        rows.append(row)
    p = prepare(pd.concat([records.iloc[:600], pd.DataFrame(rows)], ignore_index=True))
    ours = [_gamma_sql(c) for c in _comparisons(SETTINGS)]
    cols = [c for c in p.columns if c != "unique_id"]
    con = duckdb.connect()
    con.register("p", p[["unique_id", *cols]])
    sel = ", ".join(f'l."{c}" AS "{c}_l", r."{c}" AS "{c}_r"' for c in cols)
    pairs = f"SELECT {sel} FROM p l JOIN p r ON l.unique_id < r.unique_id"
    for i, (mine, ref) in enumerate(zip(ours, _reference_comparisons(), strict=True)):
        counts = con.execute(
            f"SELECT count(*) FILTER (WHERE ({mine}) IS DISTINCT FROM ({ref})), "
            f"count(DISTINCT {ref}) FROM ({pairs})"
        ).fetchall()[0]
        assert counts[0] == 0, f"comparison {i}: {counts[0]} pairs differ"
        # every level (null included) is reached, so a wrong level would show
        assert counts[1] == [7, 6, 3, 6, 6, 3, 9, 3][i]


def _gamma_sql(comparison: dict[str, Any]) -> str:
    levels = comparison["comparison_levels"]
    top = sum(1 for lvl in levels if not lvl.get("is_null_level")) - 1
    whens, gamma = [], top
    for lvl in levels:
        if lvl.get("is_null_level"):
            whens.append(f"WHEN {lvl['sql_condition']} THEN -1")
        elif lvl["sql_condition"] != "ELSE":
            whens.append(f"WHEN {lvl['sql_condition']} THEN {gamma}")
            gamma -= 1
    return f"CASE {' '.join(whens)} ELSE 0 END"


def test_jaro_winkler_guard_never_rules_out_a_similar_pair() -> None:
    """The cheap bound before each Jaro-Winkler level is only a necessary condition: random short
    strings over a small alphabet (many near pairs, some accented) never fail it while DuckDB's
    similarity reaches the threshold."""
    r = random.Random(5)
    alphabet = ["A", "B", "C", "É", " "]
    a = ["".join(r.choices(alphabet, k=r.randint(1, 9))) for _ in range(20000)]
    b = [x[: r.randint(0, len(x))] + "".join(r.choices(alphabet, k=r.randint(0, 2))) for x in a]
    frame = pd.DataFrame({"x_l": a, "x_r": b, "x_chars_l": [char_mask(v) for v in a]})
    frame["x_chars_r"] = [char_mask(v) for v in b]
    con = duckdb.connect()
    con.register("w", frame)
    for t in (0.7, 0.85, 0.9, 0.92, 0.97):
        guard = _jw_at_least("x", t).split(" and jaro_winkler")[0]
        missed, reached, ruled_out = con.execute(
            f"SELECT count(*) FILTER (WHERE jaro_winkler_similarity(x_l, x_r) >= {t} AND NOT ({guard})), "
            f"count(*) FILTER (WHERE jaro_winkler_similarity(x_l, x_r) >= {t}), "
            f"count(*) FILTER (WHERE NOT ({guard})) FROM w"
        ).fetchall()[0]
        assert missed == 0 and reached > 1000 and ruled_out > 1000
    # JOHN/MARY share no letter: at most 0 matches, so the bound 0 >= 1.25 fails
    frame = pd.DataFrame({"x_l": ["JOHN", "MARTHA"], "x_r": ["MARY", "MARHTA"]})
    frame["x_chars_l"] = [char_mask(v) for v in frame["x_l"]]
    frame["x_chars_r"] = [char_mask(v) for v in frame["x_r"]]
    con.register("two", frame)
    guard = _jw_at_least("x", 0.85).split(" and jaro_winkler")[0]
    # MARTHA/MARHTA: same six letters, 6 x (1/6 + 1/6) = 2 >= 1.25
    assert [g for (g,) in con.execute(f"SELECT {guard} FROM two").fetchall()] == [False, True]


def test_blocked_pairs_equal_splinks(model: TrainedModel, records: pd.DataFrame) -> None:
    """The hashed blocking gives exactly Splink's pairs and first rule (match_key), also for a
    rule across columns and for the dirty (incremental) pairs."""
    prepared = prepare(records)
    rules = [
        *model.splink_model["blocking_rules_to_generate_predictions"],
        {
            "blocking_rule": "l.first_name = r.last_name and l.last_name = r.first_name",
            "sql_dialect": "duckdb",
        },
    ]
    dirty = prepared.assign(_dirty=prepared.index % 10 == 0)  # one record in ten changed
    for frame, is_dirty in ((prepared, False), (dirty, True)):
        splink_rules = [
            {**r, "blocking_rule": f"({r['blocking_rule']}) and (l._dirty or r._dirty)"} if is_dirty else r
            for r in rules
        ]
        linker = linker_for(model, frame, blocking_rules_to_generate_predictions=splink_rules)
        ours = _blocked_pairs(linker, frame, rules, "row_id", dirty=is_dirty).as_pandas_dataframe()
        theirs = linker.inference.compute_blocked_pairs_for_predict().as_pandas_dataframe()
        key = ["join_key_l", "join_key_r"]
        assert len(theirs) > (100 if is_dirty else 1000)
        pd.testing.assert_frame_equal(
            ours.sort_values(key).reset_index(drop=True), theirs.sort_values(key).reset_index(drop=True)
        )


def test_predict_equals_splinks_predict(
    model: TrainedModel, records: pd.DataFrame, pairs: pd.DataFrame
) -> None:
    """Every blocked pair with the same levels and weight as Splink's public predict()."""
    prepared = prepare(records)
    theirs = (
        linker_for(model, prepared, retain_matching_columns=True).inference.predict().as_pandas_dataframe()
    )
    ids = prepared.set_index("row_id")["unique_id"]
    theirs = theirs.assign(
        unique_id_l=ids[theirs["row_id_l"]].to_numpy(), unique_id_r=ids[theirs["row_id_r"]].to_numpy()
    )
    theirs = theirs.sort_values(["unique_id_l", "unique_id_r"]).reset_index(drop=True)
    gammas = [c for c in pairs.columns if c.startswith("gamma_")]
    assert len(pairs) == len(theirs) > 1000
    pd.testing.assert_frame_equal(
        pairs[["unique_id_l", "unique_id_r", *gammas]], theirs[["unique_id_l", "unique_id_r", *gammas]]
    )
    assert (pairs["match_weight"] - theirs["match_weight"]).abs().max() < 1e-9
    assert (pairs["fs_match_probability"] - theirs["match_probability"]).abs().max() < 1e-12


def test_model_keyed_by_text_ids_still_predicts(
    model: TrainedModel, records: pd.DataFrame, pairs: pd.DataFrame
) -> None:
    """A model saved before ROW_ID (Splink keyed by unique_id, carrying the source columns) gives
    the same pairs."""
    older = copy.deepcopy(model.splink_model)
    older["unique_id_column_name"] = "unique_id"
    older["additional_columns_to_retain"] = ["source_system", "source_record_id"]
    again = predict(TrainedModel(model.settings, older, term_frequencies=model.term_frequencies), records)
    pd.testing.assert_frame_equal(again, pairs)


def test_cluster_reads_ids_of_any_type(pairs: pd.DataFrame, records: pd.DataFrame) -> None:
    """Record ids that are not text (here the background's numbers) give the same clusters as their
    text: the ids are ``system:record`` strings either way (the slow path of the id join)."""
    as_text = cluster(pairs, records, SETTINGS.cluster_threshold)
    numbered = records.assign(source_record_id=range(len(records)))
    renamed = dict(zip(records["source_record_id"], numbered["source_record_id"].astype(str), strict=True))
    numbered_pairs = pairs.assign(
        source_record_id_l=pairs["source_record_id_l"].map(renamed).astype(int),
        source_record_id_r=pairs["source_record_id_r"].map(renamed).astype(int),
    )
    again = cluster(numbered_pairs, numbered, SETTINGS.cluster_threshold)
    # same partition of the records: map each back to its text id and compare cluster members
    back = {v: k for k, v in renamed.items()}
    again_rec = again["source_record_id"].map(back)
    members = as_text.groupby("cluster_id")["source_record_id"].apply(frozenset)
    members_again = again.assign(r=again_rec).groupby("cluster_id")["r"].apply(frozenset)
    assert set(members) == set(members_again)
    assert again["source_record_id"].map(type).eq(str).all()  # ids come back as text
