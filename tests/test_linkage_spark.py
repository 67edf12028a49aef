"""The linkage scored on Splink's Spark backend (local mode) against the DuckDB scoring.

A model trained on DuckDB over a generated state scores the same records on both backends: the
same blocked pairs, levels and probabilities, hence the same clusters. Hand-made pairs check the
functions rewritten for Spark (hamming, Damerau-Levenshtein, Jaro-Winkler, the nickname sets, the
integer division of the DOB levels) against levels worked out by hand.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from linkage.model import TrainedModel, cluster, predict, train
from warehouse.ingest import connect, ingest
from warehouse.persons import build_person_records

pytestmark = [pytest.mark.spark, pytest.mark.slow]

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (the optional 'spark' extra)")
if shutil.which("java") is None:
    pytest.skip("no java on PATH: Spark needs a JVM (Java 17+)", allow_module_level=True)

from linkage.spark_backend import local_spark, predict_spark, spark_condition  # noqa: E402

KEY = ["unique_id_l", "unique_id_r"]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    session = local_spark("1g", work_dir=tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()


@pytest.fixture(scope="module")
def records(generated_state: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    wh = tmp_path_factory.mktemp("wh_spark")
    ingest(generated_state / "landing", wh)
    con = connect(wh)
    build_person_records(con)
    df = con.execute("SELECT * FROM person_records").df()
    con.close()
    return df


@pytest.fixture(scope="module")
def model(records: pd.DataFrame) -> TrainedModel:
    return train(records)


@pytest.fixture(scope="module")
def both(model: TrainedModel, records: pd.DataFrame, spark: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every blocked pair (no threshold) scored by DuckDB and by Spark."""
    return predict(model, records, None), predict_spark(model, records, None, spark)


def test_same_pairs_levels_and_probabilities(both: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    duck, spark = both
    assert list(spark.columns) == list(duck.columns)
    assert len(duck) > 1000  # a generated state of 1,500 people blocks thousands of pairs
    assert not spark.duplicated(KEY).any()
    assert set(map(tuple, spark[KEY].to_numpy())) == set(map(tuple, duck[KEY].to_numpy()))
    m = duck.merge(spark, on=KEY, suffixes=("_duck", "_spark"))
    assert len(m) == len(duck)
    gammas = [c for c in duck.columns if c.startswith("gamma_")]
    for col in [*gammas, "vetoed", "source_system_l", "source_record_id_r"]:
        assert (m[f"{col}_duck"] == m[f"{col}_spark"]).all(), col
    for col in ("match_probability", "fs_match_probability", "match_weight"):
        assert (m[f"{col}_duck"] - m[f"{col}_spark"]).abs().max() <= 1e-6, col
    # the similarity levels were reached, so the rewritten functions were exercised
    assert (duck["gamma_first_name"].isin([1, 2])).any() and (duck["gamma_ssn"].isin([2, 3])).any()


def test_same_clusters(
    both: tuple[pd.DataFrame, pd.DataFrame], records: pd.DataFrame, model: TrainedModel
) -> None:
    duck, spark = both
    t = model.settings.cluster_threshold
    a = cluster(duck, records, t).sort_values(["source_system", "source_record_id"], ignore_index=True)
    b = cluster(spark, records, t).sort_values(["source_system", "source_record_id"], ignore_index=True)
    pd.testing.assert_frame_equal(a, b)
    assert a["cluster_id"].nunique() < len(a)  # people in several systems were linked


def _rec(rid: str, first: str, last: str, dob: str, ssn: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_system": "wp",
        "source_record_id": rid,
        "first_name": first,
        "middle_name": None,
        "last_name": last,
        "last_name_parts": [last],
        "birth_date": dob,
        "ssn": ssn,
        "sex": None,
        "street": None,
        "zip5": None,
        "phone": None,
        "email": None,
    }
    return {**row, **kw}


HOME = {"street": "100 MAIN ST", "zip5": "12345", "phone": "5550001111"}
TWINS_HOME = {"street": "7 PINE CT", "zip5": "45678", "phone": "5550002222"}
HAND_MADE = pd.DataFrame(
    [
        # adjacent transposition of the SSN's last two digits; all else equal (blocked: ssn_sorted)
        _rec("1", "ANNA", "KOWALSKI", "1980-03-07", "123456789", sex="F", **HOME),
        _rec("2", "ANNA", "KOWALSKI", "1980-03-07", "123456798", sex="F", **HOME),
        # one SSN digit, surname typo, day and month swapped, same address (blocked: street, zip)
        _rec("3", "MARIA", "MARTINEZ", "1975-11-02", "234567891", street="5 OAK AVE", zip5="23456"),
        _rec("4", "MARIA", "MARTINES", "1975-02-11", "234567791", street="5 OAK AVE", zip5="23456"),
        # same SSN, DOB day off by one, ZIP one edit with the same street (blocked: ssn)
        _rec("5", "DAVID", "CHEN", "1990-01-15", "345678912", street="22 ELM RD", zip5="34567"),
        _rec("6", "DAVID", "CHEN", "1990-01-16", "345678912", street="22 ELM RD", zip5="34568"),
        # nickname, consecutive SSNs (blocked: DOB and last initial)
        _rec("7", "WILLIAM", "SMITH", "1970-05-05", "456789123"),
        _rec("8", "BILL", "SMITH", "1970-05-05", "456789124"),
        # twins: different SSN (two digits, not permuted), different first name -> vetoed
        _rec("9", "JAMES", "BROWN", "1985-06-20", "567891234", **TWINS_HOME),
        _rec("10", "ROBERT", "BROWN", "1985-06-20", "567891299", **TWINS_HOME),
    ]
)

# gamma counts down from the first non-null level (null is -1, else 0):
# ssn: exact 5, consecutive 4, adjacent transposition 3, one digit 2, permuted 1;
# first/last name: exact 4, nickname/one part 3, jw>=0.92 2, jw>=0.85 1;
# birth_date: exact 4, day/month swapped 3, one component off by one 2, same year 1;
# contact: address+phone 7, address similar+phone 6, address 5, phone 4, zip+street similar 3,
# zip one edit+street similar 2, zip 1.
EXPECTED = {
    # 123456789 / 123456798: hamming 2, Damerau-Levenshtein 1, same sorted digits
    ("wp:1", "wp:2"): {
        "gamma_ssn": 3,
        "gamma_first_name": 4,
        "gamma_last_name": 4,
        "gamma_birth_date": 4,
        "gamma_sex": 1,
        "gamma_contact": 7,
        "gamma_email": -1,
        "gamma_middle_name": -1,
    },
    # MARTINEZ / MARTINES: 7 of 8 characters match in place, Jaro 0.9167, prefix 4 -> JW 0.95;
    # 19751102 / 19750211: same year, month and day swapped; phone missing -> address exact
    ("wp:3", "wp:4"): {
        "gamma_ssn": 2,
        "gamma_first_name": 4,
        "gamma_last_name": 2,
        "gamma_birth_date": 3,
        "gamma_sex": -1,
        "gamma_contact": 5,
    },
    # 34567 / 34568: same length, one position differs, DL 1; the street identical (JW 1)
    ("wp:5", "wp:6"): {"gamma_ssn": 5, "gamma_birth_date": 2, "gamma_contact": 2},
    # BILL's nickname group holds WILLIAM; 456789123 and 456789124 differ by 1
    ("wp:7", "wp:8"): {"gamma_ssn": 4, "gamma_first_name": 3, "gamma_last_name": 4, "gamma_contact": -1},
    # 567891234 / 567891299: two positions differ, digits not a permutation -> else;
    # JAMES / ROBERT share no letter in place, no nickname -> else
    ("wp:10", "wp:9"): {"gamma_ssn": 0, "gamma_first_name": 0, "gamma_contact": 7},
}


def test_hand_made_levels(model: TrainedModel, spark: Any) -> None:
    pairs = predict_spark(model, HAND_MADE, None, spark)
    # ids sort as text: "wp:10" < "wp:9"
    assert set(map(tuple, pairs[KEY].to_numpy())) == set(EXPECTED)
    got = pairs.set_index(KEY)
    for key, levels in EXPECTED.items():
        for col, want in levels.items():
            assert got.loc[key, col] == want, (key, col)
    assert got["vetoed"].to_dict() == {k: k == ("wp:10", "wp:9") for k in EXPECTED}
    assert got.loc[("wp:10", "wp:9"), "match_probability"] == 0.0
    # the threshold is applied in Spark: only pairs at or above it come back
    cut = 0.5
    above = predict_spark(model, HAND_MADE, cut, spark)
    assert set(map(tuple, above[KEY].to_numpy())) == {
        k for k, p in got["fs_match_probability"].items() if p >= cut
    }


@pytest.mark.parametrize(
    ("duckdb_sql", "spark_sql"),
    [
        ("dob_l // 100 = dob_r // 100", "dob_l DIV 100 = dob_r DIV 100"),
        (
            "jaro_winkler_similarity(a_l, a_r) >= 0.9",
            "WW_DUCKDB_JARO_WINKLER(a_l, a_r) >= CAST(0.9 AS DOUBLE)",
        ),
        ("list_has_any(x_l, x_r)", "ARRAYS_OVERLAP(x_l, x_r)"),
        ("1.0 / length(a_l) > 2", "CAST(1.0 AS DOUBLE) / LENGTH(a_l) > 2"),
    ],
)
def test_spark_condition(duckdb_sql: str, spark_sql: str) -> None:
    assert spark_condition(duckdb_sql) == spark_sql


def test_jaro_winkler_choices(spark: Any) -> None:
    """'7677 PRAIRI EWIND AVE' (21) / '7677 PR WIND AVE' (16): 16 characters match; DuckDB counts 8
    half-transpositions (t = 4), commons-text 9 (t = 4.5). Jaro = (16/21 + 16/16 + (16 - t)/16) / 3
    and Winkler adds 0.4 (1 - Jaro) for the common prefix '7677':
    t = 4 -> 0.837302 -> 0.902381; t = 4.5 -> 0.826885 -> 0.896131. The street level (>= 0.9)
    holds with DuckDB's value only, hence the default UDF."""
    from linkage.spark_backend import register_duckdb_jaro_winkler

    register_duckdb_jaro_winkler(spark)
    a, b = "7677 PRAIRI EWIND AVE", "7677 PR WIND AVE"
    row = spark.sql(
        "SELECT ww_duckdb_jaro_winkler(:a, :b) AS duck, jaro_winkler(:a, :b) AS jar, "
        "ww_duckdb_jaro_winkler(:a, NULL) AS duck_null",
        args={"a": a, "b": b},
    ).collect()[0]
    jaro = {t: (16 / 21 + 1 + (16 - t) / 16) / 3 for t in (4, 4.5)}
    assert abs(row["duck"] - (jaro[4] + 0.4 * (1 - jaro[4]))) < 1e-12
    assert abs(row["jar"] - (jaro[4.5] + 0.4 * (1 - jaro[4.5]))) < 1e-12
    assert row["duck"] >= 0.9 > row["jar"]
    assert row["duck_null"] is None  # as DuckDB: NULL, not the jar's 0
