"""The Splink (Fellegi-Sunter) linkage model on DuckDB: settings, training, prediction, clustering.

Public surface:

- ``LinkageSettings``: every knob (thresholds, sampling sizes, seed, blocking and training rules) in
  one place.
- ``prepare(records)``: the canonical ``person_records`` rows as the model reads them (a
  ``unique_id``, the nickname groups of the first name, the birth date as text and its parts).
- ``train(records, settings) -> TrainedModel``: u by random sampling, m by EM on a few blocking
  rules, the prior by deterministic rules. ``TrainedModel.to_json()`` / ``from_json()`` give a
  versioned JSON document that holds Splink's own model export.
- ``predict(model, records, threshold) -> pairs``: one row per scored pair with both source ids,
  ``match_probability`` and ``match_weight``.
- ``cluster(pairs, records, threshold) -> (source_system, source_record_id, cluster_id)``:
  connected components over the pairs at or above the threshold; every record gets a cluster.

The comparison levels (SSN, names, DOB, sex, address, phone, email) live only in
``_comparisons()``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from nicknames import NickNamer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from splink import DuckDBAPI, Linker

MODEL_FORMAT = "ww-linkage-model"
MODEL_VERSION = 1

ID_SEP = ":"

# Columns of person_records that the model reads (others are ignored).
INPUT_COLUMNS: tuple[str, ...] = (
    "source_system",
    "source_record_id",
    "first_name",
    "middle_name",
    "last_name",
    "last_name_parts",
    "birth_date",
    "ssn",
    "sex",
    "street",
    "zip5",
    "phone",
    "email",
)

# Blocking rules as SQL over the l/r aliases. Their union generates the compared pairs.
DEFAULT_BLOCKING_RULES: tuple[str, ...] = (
    "l.ssn = r.ssn",
    "l.birth_date = r.birth_date and l.last_initial = r.last_initial",
    "l.birth_date = r.birth_date and l.first_initial = r.first_initial",
    "l.phone = r.phone",
    "l.email = r.email",
    "l.first_name = r.first_name and l.last_name = r.last_name",
    "l.first3 = r.first3 and l.last3 = r.last3 and l.zip5 = r.zip5",
    "l.street = r.street and l.zip5 = r.zip5 and l.first_initial = r.first_initial",
    "l.ssn_sorted = r.ssn_sorted and l.first_initial = r.first_initial",
)

# EM sessions: each estimates m for every comparison the rule does not use.
DEFAULT_TRAINING_RULES: tuple[str, ...] = (
    "l.ssn = r.ssn",
    "l.first_name = r.first_name and l.last_name = r.last_name",
    "l.birth_date = r.birth_date and l.zip5 = r.zip5",
)

# Rules that admit (almost) no false positives: for the prior probability of a match.
DEFAULT_DETERMINISTIC_RULES: tuple[str, ...] = (
    "l.ssn = r.ssn and l.birth_date = r.birth_date",
    "l.first_name = r.first_name and l.last_name = r.last_name and l.birth_date = r.birth_date "
    "and l.ssn = r.ssn",
)


@dataclass(frozen=True)
class LinkageSettings:
    """Every setting of the linkage model. Thresholds are match probabilities."""

    match_threshold: float = 0.99
    cluster_threshold: float = 0.99
    u_max_pairs: float = 5e6
    seed: int = 42
    em_max_iterations: int = 25
    em_convergence: float = 1e-4
    deterministic_rules_recall: float = 0.8
    blocking_rules: tuple[str, ...] = DEFAULT_BLOCKING_RULES
    training_rules: tuple[str, ...] = DEFAULT_TRAINING_RULES
    deterministic_rules: tuple[str, ...] = DEFAULT_DETERMINISTIC_RULES
    name_tf_adjustments: bool = True
    first_name_jw_thresholds: tuple[float, ...] = (0.92, 0.85)
    last_name_jw_thresholds: tuple[float, ...] = (0.92, 0.85)
    street_jw_threshold: float = 0.9
    # Consecutive SSNs are how twins look, not how keying errors look: m is fixed, not learned.
    consecutive_ssn_m: float = 1e-7
    # Floor on every trained m probability, so a level rarely seen among the EM pairs (a DOB that
    # differs entirely) cannot veto a match on its own.
    m_floor: float = 1e-4
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinkageSettings:
        kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}
        return cls(**kw)


@dataclass
class TrainedModel:
    """A trained model: our settings plus Splink's exported model (comparisons with m and u)."""

    settings: LinkageSettings
    splink_model: dict[str, Any]
    version: int = MODEL_VERSION

    def to_json(self) -> str:
        doc = {
            "format": MODEL_FORMAT,
            "version": self.version,
            "settings": self.settings.to_dict(),
            "splink_model": self.splink_model,
        }
        return json.dumps(doc, indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> TrainedModel:
        doc = json.loads(text)
        if doc.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a linkage model document: format={doc.get('format')!r}")
        if doc.get("version") != MODEL_VERSION:
            raise ValueError(f"unsupported linkage model version {doc.get('version')!r}")
        return cls(LinkageSettings.from_dict(doc["settings"]), doc["splink_model"], doc["version"])

    def match_weights(self) -> pd.DataFrame:
        """One row per comparison level: m, u and the Bayes factor as log2 (for review)."""
        rows = []
        for comp in self.splink_model["comparisons"]:
            for lvl in comp["comparison_levels"]:
                if lvl.get("is_null_level"):
                    continue
                m, u = lvl.get("m_probability"), lvl.get("u_probability")
                w = float(np.log2(m / u)) if m and u else None
                rows.append(
                    {
                        "comparison": comp["output_column_name"],
                        "level": lvl.get("label_for_charts"),
                        "m": m,
                        "u": u,
                        "weight": w,
                    }
                )
        return pd.DataFrame(rows)


# --------------------------------------------------------------------------- preparation


@cache
def _nicknamer() -> NickNamer:
    return NickNamer()


def first_name_group(name: str | None) -> list[str] | None:
    """The name and every canonical name it is a nickname of (BILL -> BILL, WILLIAM, ...)."""
    if name is None or name == "":
        return None
    canon = {c.upper() for c in _nicknamer().canonicals_of(name.lower())}
    return sorted({name, *canon})


def prepare(records: pd.DataFrame) -> pd.DataFrame:
    """The model's input table: person_records plus derived matching columns."""
    missing = [c for c in INPUT_COLUMNS if c not in records.columns]
    if missing:
        raise ValueError(f"person records lack columns {missing}")
    df = records.loc[:, list(INPUT_COLUMNS)].copy()
    df = df.astype({c: object for c in INPUT_COLUMNS if c not in ("birth_date", "last_name_parts")})
    df = df.where(df.notna(), None)
    for col in ("first_name", "middle_name", "last_name", "ssn", "sex", "street", "zip5", "phone", "email"):
        df[col] = df[col].map(lambda v: None if v is None or v == "" else str(v))
    df.insert(0, "unique_id", df["source_system"].astype(str) + ID_SEP + df["source_record_id"].astype(str))
    if df["unique_id"].duplicated().any():
        raise ValueError("person records must have one row per (source_system, source_record_id)")
    firsts = df["first_name"].dropna().unique()
    groups = {n: first_name_group(n) for n in firsts}
    df["first_name_group"] = df["first_name"].map(lambda v: None if v is None else groups[v])
    df["last_name_parts"] = df["last_name_parts"].map(
        lambda v: None if v is None or len(v) == 0 else [str(x) for x in v]
    )
    dob = pd.to_datetime(df["birth_date"], errors="coerce")
    df["birth_date"] = dob.dt.strftime("%Y-%m-%d").where(dob.notna(), None)
    df["dob_y"] = dob.dt.year.astype("Int64")
    df["dob_m"] = dob.dt.month.astype("Int64")
    df["dob_d"] = dob.dt.day.astype("Int64")
    df["first_initial"] = df["first_name"].str[:1]
    df["last_initial"] = df["last_name"].str[:1]
    df["first3"] = df["first_name"].str[:3]
    df["last3"] = df["last_name"].str[:3]
    df["ssn_num"] = pd.to_numeric(df["ssn"], errors="coerce").astype("Int64")
    df["ssn_sorted"] = df["ssn"].map(lambda v: None if v is None else "".join(sorted(v)))
    return df.sort_values("unique_id", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- settings


def _null(cols: Sequence[str]) -> dict[str, Any]:
    cond = " or ".join(f"{c}_l is null or {c}_r is null" for c in cols)
    return {"sql_condition": cond, "label_for_charts": "null", "is_null_level": True}


def _level(sql: str, label: str, tf_col: str | None = None) -> dict[str, Any]:
    lvl: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if tf_col:
        lvl["tf_adjustment_column"] = tf_col
        lvl["tf_adjustment_weight"] = 1.0
    return lvl


_ELSE = {"sql_condition": "ELSE", "label_for_charts": "else"}


def _comparisons(s: LinkageSettings) -> list[dict[str, Any]]:
    """The comparison levels, in the one place they are defined."""
    tf_first = "first_name" if s.name_tf_adjustments else None
    tf_last = "last_name" if s.name_tf_adjustments else None
    ssn = {
        "output_column_name": "ssn",
        "comparison_description": "SSN: exact, consecutive (twins), transposition, one digit, else",
        "comparison_levels": [
            _null(["ssn"]),
            _level("ssn_l = ssn_r", "exact"),
            # Twins often carry consecutive SSNs: a separate level so it does not borrow the
            # weight of a keying error.
            {
                **_level("abs(ssn_num_l - ssn_num_r) = 1", "consecutive"),
                "m_probability": s.consecutive_ssn_m,
                "fix_m_probability": True,
            },
            _level(
                "damerau_levenshtein(ssn_l, ssn_r) = 1 and levenshtein(ssn_l, ssn_r) = 2",
                "adjacent transposition",
            ),
            _level("hamming(ssn_l, ssn_r) = 1", "one digit"),
            _ELSE,
        ],
    }
    first_levels = [
        _null(["first_name"]),
        _level("first_name_l = first_name_r", "exact", tf_first),
        _level("list_has_any(first_name_group_l, first_name_group_r)", "nickname"),
    ]
    for t in s.first_name_jw_thresholds:
        first_levels.append(_level(f"jaro_winkler_similarity(first_name_l, first_name_r) >= {t}", f"jw>={t}"))
    first_levels.append(_ELSE)
    first = {
        "output_column_name": "first_name",
        "comparison_description": "first name: exact, nickname, Jaro-Winkler, else",
        "comparison_levels": first_levels,
    }
    last_levels = [
        _null(["last_name"]),
        _level("last_name_l = last_name_r", "exact", tf_last),
        _level("list_has_any(last_name_parts_l, last_name_parts_r)", "one part matches"),
    ]
    for t in s.last_name_jw_thresholds:
        last_levels.append(_level(f"jaro_winkler_similarity(last_name_l, last_name_r) >= {t}", f"jw>={t}"))
    last_levels.append(_ELSE)
    last = {
        "output_column_name": "last_name",
        "comparison_description": "last name: exact, one part of a compound, Jaro-Winkler, else",
        "comparison_levels": last_levels,
    }
    one_off = " or ".join(
        [
            "(dob_y_l = dob_y_r and dob_m_l = dob_m_r and abs(dob_d_l - dob_d_r) = 1)",
            "(dob_y_l = dob_y_r and dob_d_l = dob_d_r and abs(dob_m_l - dob_m_r) = 1)",
            "(dob_m_l = dob_m_r and dob_d_l = dob_d_r and abs(dob_y_l - dob_y_r) = 1)",
        ]
    )
    dob = {
        "output_column_name": "birth_date",
        "comparison_description": "DOB: exact, day/month swapped, one component off by one, else",
        "comparison_levels": [
            _null(["birth_date"]),
            _level("birth_date_l = birth_date_r", "exact"),
            _level(
                "dob_y_l = dob_y_r and dob_m_l = dob_d_r and dob_d_l = dob_m_r",
                "day/month swapped",
            ),
            _level(one_off, "one component off by one"),
            _level("dob_y_l = dob_y_r", "same year"),
            _ELSE,
        ],
    }
    sex = {
        "output_column_name": "sex",
        "comparison_levels": [_null(["sex"]), _level("sex_l = sex_r", "exact"), _ELSE],
    }
    address = {
        "output_column_name": "address",
        "comparison_description": "street and ZIP5",
        "comparison_levels": [
            {
                "sql_condition": "(street_l is null or street_r is null) and (zip5_l is null or zip5_r is null)",
                "label_for_charts": "null",
                "is_null_level": True,
            },
            _level("street_l = street_r and zip5_l = zip5_r", "street and zip exact"),
            _level(
                f"zip5_l = zip5_r and jaro_winkler_similarity(street_l, street_r) >= {s.street_jw_threshold}",
                "zip exact, street similar",
            ),
            _level("zip5_l = zip5_r", "zip exact"),
            _ELSE,
        ],
    }
    phone = {
        "output_column_name": "phone",
        "comparison_levels": [_null(["phone"]), _level("phone_l = phone_r", "exact"), _ELSE],
    }
    email = {
        "output_column_name": "email",
        "comparison_levels": [_null(["email"]), _level("email_l = email_r", "exact"), _ELSE],
    }
    return [ssn, first, last, dob, sex, address, phone, email]


def splink_settings(s: LinkageSettings) -> dict[str, Any]:
    """The untrained Splink settings dictionary."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": _comparisons(s),
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": r, "sql_dialect": "duckdb"} for r in s.blocking_rules
        ],
        "additional_columns_to_retain": ["source_system", "source_record_id"],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "em_convergence": s.em_convergence,
        "max_iterations": s.em_max_iterations,
    }


def _linker(prepared: pd.DataFrame, settings: dict[str, Any]) -> Linker:
    db = DuckDBAPI()
    sdf = db.register(prepared, dataset_display_name="person_records")
    return Linker(sdf, settings, log_level=logging.WARNING)


# --------------------------------------------------------------------------- train / predict


def train(records: pd.DataFrame, settings: LinkageSettings | None = None) -> TrainedModel:
    """Fit the Fellegi-Sunter parameters on the records (unsupervised). Deterministic for a seed."""
    s = settings or LinkageSettings()
    prepared = prepare(records)
    linker = _linker(prepared, splink_settings(s))
    linker.training.estimate_probability_two_random_records_match(
        list(s.deterministic_rules), recall=s.deterministic_rules_recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=s.u_max_pairs, seed=s.seed)
    for rule in s.training_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    model = linker.misc.save_model_to_json()
    _apply_m_floor(model, s.m_floor)
    return TrainedModel(s, model)


def _apply_m_floor(model: dict[str, Any], floor: float) -> None:
    for comp in model["comparisons"]:
        for lvl in comp["comparison_levels"]:
            if lvl.get("is_null_level") or lvl.get("fix_m_probability"):
                continue
            m = lvl.get("m_probability")
            if m is not None and m < floor:
                lvl["m_probability"] = floor


PAIR_COLUMNS: tuple[str, ...] = (
    "source_system_l",
    "source_record_id_l",
    "source_system_r",
    "source_record_id_r",
    "match_weight",
    "match_probability",
)


def predict(model: TrainedModel, records: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
    """Scored pairs at or above ``threshold`` (a match probability; None keeps every blocked pair).

    Columns: ``unique_id_l``, ``unique_id_r``, ``PAIR_COLUMNS`` and the ``gamma_*`` level of each
    comparison. Sorted by the ids, so the output is deterministic.
    """
    prepared = prepare(records)
    linker = _linker(prepared, model.splink_model)
    out = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    keep = ["unique_id_l", "unique_id_r", *PAIR_COLUMNS]
    gammas = sorted(c for c in out.columns if c.startswith("gamma_"))
    out = out[keep + gammas]
    if threshold is not None:
        out = out[out["match_probability"] >= threshold]
    return out.sort_values(["unique_id_l", "unique_id_r"], kind="stable").reset_index(drop=True)


def cluster(pairs: pd.DataFrame, records: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Connected components of the links at or above ``threshold``; every record gets a cluster.

    ``cluster_id`` is the smallest ``source_system:source_record_id`` of the cluster, so it does
    not depend on row order (stable ids across nights are a separate step).
    """
    ids = np.sort(
        (records["source_system"].astype(str) + ID_SEP + records["source_record_id"].astype(str)).unique()
    )
    pos = pd.Series(np.arange(len(ids)), index=ids)
    links = pairs[pairs["match_probability"] >= threshold]
    left = (links["source_system_l"].astype(str) + ID_SEP + links["source_record_id_l"].astype(str)).map(pos)
    right = (links["source_system_r"].astype(str) + ID_SEP + links["source_record_id_r"].astype(str)).map(pos)
    ok = left.notna() & right.notna()
    a, b = left[ok].to_numpy(dtype=np.int64), right[ok].to_numpy(dtype=np.int64)
    n = len(ids)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    first_of = pd.Series(np.arange(n)).groupby(labels).transform("min").to_numpy()
    cluster_ids = ids[first_of]
    system, _, rec = pd.Series(ids).str.partition(ID_SEP).T.to_numpy()
    return pd.DataFrame({"source_system": system, "source_record_id": rec, "cluster_id": cluster_ids})
