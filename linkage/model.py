"""The Splink (Fellegi-Sunter) linkage model on DuckDB: settings, training, prediction, clustering.

Public surface:

- ``LinkageSettings``: every knob (thresholds, sampling sizes, seed, blocking and training rules) in
  one place.
- ``prepare(records)``: the canonical ``person_records`` rows as the model reads them (a
  ``unique_id``, the nickname groups of the first name, the birth date as text and its parts).
- ``train(records, settings) -> TrainedModel``: u by random sampling, m by EM on a few blocking
  rules, the prior by deterministic rules. ``TrainedModel.to_json()`` / ``from_json()`` give a
  versioned JSON document that holds Splink's own model export.
- ``predict(model, records, threshold, dirty=None) -> pairs``: one row per scored pair with both
  source ids, ``match_probability`` and ``match_weight`` (after the twin veto: different SSN and
  different first name is never a match). With ``dirty`` only the pairs touching those records
  are scored (the incremental nightly path). A pair's score depends only on its two records and
  the model: term frequencies are frozen into the model at training time.
- ``cluster(pairs, records, threshold) -> (source_system, source_record_id, cluster_id)``:
  links at or above the threshold, strongest first, never joining two conflicting SSNs; every
  record gets a cluster.
- ``blocking_counts(records, settings)``: comparisons each blocking rule generates.

The comparison levels (SSN, first, middle and last name, DOB, sex, address with phone, email)
live only in ``_comparisons()``; every other knob in ``LinkageSettings``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from nicknames import NickNamer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from splink import DuckDBAPI, Linker

MODEL_FORMAT = "ww-linkage-model"
MODEL_VERSION = 2

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
    "l.phone = r.phone and l.first_initial = r.first_initial",
    "l.email = r.email",
    "l.first_name = r.first_name and l.last_name = r.last_name",
    "l.first3 = r.first3 and l.last3 = r.last3 and l.zip5 = r.zip5",
    "l.street = r.street and l.zip5 = r.zip5",
    "l.last_name = r.last_name and l.dob_y = r.dob_y and l.first_initial = r.first_initial",
    "l.ssn_sorted = r.ssn_sorted and l.first_initial = r.first_initial",
)

# EM sessions: each estimates m for every comparison the rule does not use.
DEFAULT_TRAINING_RULES: tuple[str, ...] = (
    "l.ssn = r.ssn",
    # Not first + last name alone: people with the same name and birth date would teach the
    # model that a different SSN is common among matches.
    "l.first_name = r.first_name and l.last_name = r.last_name and l.zip5 = r.zip5",
)

# Rules that admit (almost) no false positives: for the prior probability of a match.
DEFAULT_DETERMINISTIC_RULES: tuple[str, ...] = (
    "l.ssn = r.ssn and l.birth_date = r.birth_date",
    "l.first_name = r.first_name and l.last_name = r.last_name and l.birth_date = r.birth_date "
    "and l.street = r.street",
)


# Settings that change how fast or where a run computes, never a score.
RUNTIME_SETTINGS: tuple[str, ...] = ("duckdb_memory_limit", "duckdb_threads", "spill_directory")


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
    middle_name_mismatch_m: float = 0.02
    # Twins share surname, DOB, address and phone, which outweighs everything in a model that
    # treats fields as independent. Veto: both SSNs present and different (not a keying error)
    # and the first names different (not a nickname or typo) -> not the same person.
    veto_different_ssn_and_first_name: bool = True
    # Floor on every trained m probability, so a level rarely seen among the EM pairs (a DOB that
    # differs entirely) cannot veto a match on its own.
    m_floor: float = 1e-4
    # DuckDB under Splink: a cap, and a place to spill beyond it (state scale scores ~17M pairs).
    # Not model parameters: they do not change a score.
    duckdb_memory_limit: str = "3GB"
    duckdb_threads: int | None = None
    spill_directory: str | None = None  # default: <tmp>/ww-linkage-spill

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinkageSettings:
        kw: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}
        return cls(**kw)


@dataclass
class TrainedModel:
    """A trained model: our settings plus Splink's exported model (comparisons with m and u)."""

    settings: LinkageSettings
    splink_model: dict[str, Any]
    version: int = MODEL_VERSION
    # column -> value -> share of non-null values, as seen by training. Frozen so that tonight's
    # new records do not change the score of a pair scored last week (incremental = full).
    term_frequencies: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> str:
        doc = {
            "format": MODEL_FORMAT,
            "version": self.version,
            "settings": self.settings.to_dict(),
            "splink_model": self.splink_model,
            "term_frequencies": self.term_frequencies,
        }
        return json.dumps(doc, indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> TrainedModel:
        doc = json.loads(text)
        if doc.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a linkage model document: format={doc.get('format')!r}")
        if doc.get("version") != MODEL_VERSION:
            raise ValueError(f"unsupported linkage model version {doc.get('version')!r}")
        return cls(
            LinkageSettings.from_dict(doc["settings"]),
            doc["splink_model"],
            doc["version"],
            doc.get("term_frequencies", {}),
        )

    def model_id(self) -> str:
        """A content digest: the same parameters give the same id, whatever the run or machine."""
        doc = json.loads(self.to_json())
        for knob in RUNTIME_SETTINGS:
            doc["settings"].pop(knob, None)
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]

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


PREPARED_MARK = "first_name_group"  # a column only prepare() adds


def unique_id(system: pd.Series, record: pd.Series) -> pd.Series:
    """A record's id across systems, ``source_system:source_record_id`` (the one place it is built)."""
    return system.astype(str) + ID_SEP + record.astype(str)


def unique_ids(
    df: pd.DataFrame, system: str = "source_system", record: str = "source_record_id"
) -> pd.Series:
    return unique_id(df[system], df[record])


def _nulls(s: pd.Series) -> pd.Series:
    """NaN/NA/NaT as None in an object column (what Splink's DuckDB reads as NULL)."""
    values = s.to_numpy(dtype=object, copy=True)
    values[~s.notna().to_numpy()] = None
    return pd.Series(values, index=s.index, dtype=object)


def _texts(s: pd.Series) -> pd.Series:
    """Text values as str, missing and empty ones as None."""
    values = _nulls(s).to_numpy()
    present = pd.notna(values)
    values[present] = values[present].astype(str)
    values[present & (values == "")] = None
    return pd.Series(values, index=s.index, dtype=object)


def _sorted_digits(ssn: pd.Series) -> pd.Series:
    """Each SSN's characters in sorted order (a transposition-proof blocking key)."""
    out = pd.Series(None, index=ssn.index, dtype=object)
    present = ssn[ssn.notna()]
    for length, part in present.groupby(present.str.len()):
        chars = np.frombuffer("".join(part).encode("ascii", "replace"), dtype=np.uint8).reshape(
            -1, int(length)
        )
        ordered = np.sort(chars, axis=1)
        out[part.index] = [row.tobytes().decode("ascii") for row in ordered]
    return out


def prepare(records: pd.DataFrame) -> pd.DataFrame:
    """The model's input table: person_records plus derived matching columns.

    A frame that is already prepared passes through, so a caller can prepare once for both
    ``train`` and ``predict`` (at state scale preparing takes ~9 s).
    """
    if PREPARED_MARK in records.columns and "unique_id" in records.columns:
        return records
    missing = [c for c in INPUT_COLUMNS if c not in records.columns]
    if missing:
        raise ValueError(f"person records lack columns {missing}")
    df = records.loc[:, list(INPUT_COLUMNS)].copy()
    # Vectorized throughout: at state scale (~1M records) per-row Python took ~15 s per call.
    for col in INPUT_COLUMNS:
        if col not in ("birth_date", "last_name_parts"):
            df[col] = _texts(df[col])
    df.insert(0, "unique_id", unique_ids(df))
    if df["unique_id"].duplicated().any():
        raise ValueError("person records must have one row per (source_system, source_record_id)")
    firsts = df["first_name"].dropna().unique()
    groups = pd.Series({n: first_name_group(n) for n in firsts}, dtype=object)
    df["first_name_group"] = _nulls(df["first_name"].map(groups))
    parts = [
        [str(x) for x in v] if isinstance(v, list | tuple | np.ndarray) and len(v) else None
        for v in df["last_name_parts"].to_numpy()
    ]
    df["last_name_parts"] = pd.Series(parts, index=df.index, dtype=object)
    dob = pd.to_datetime(df["birth_date"], errors="coerce")
    df["birth_date"] = _nulls(dob.dt.strftime("%Y-%m-%d"))
    df["dob_y"] = dob.dt.year.astype("Int64")
    df["dob_m"] = dob.dt.month.astype("Int64")
    df["dob_d"] = dob.dt.day.astype("Int64")
    df["first_initial"] = df["first_name"].str[:1]
    df["last_initial"] = df["last_name"].str[:1]
    df["first3"] = df["first_name"].str[:3]
    df["last3"] = df["last_name"].str[:3]
    df["ssn_num"] = pd.to_numeric(df["ssn"], errors="coerce").astype("Int64")
    df["ssn_sorted"] = _sorted_digits(df["ssn"])
    out: pd.DataFrame = df.sort_values("unique_id", kind="stable").reset_index(drop=True)
    return out


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


def _name_levels(
    col: str, special: dict[str, Any], thresholds: Sequence[float], tf_col: str | None
) -> list[dict[str, Any]]:
    """null; exact (term-frequency adjusted); the name's own special level; Jaro-Winkler levels; else."""
    levels = [_null([col]), _level(f"{col}_l = {col}_r", "exact", tf_col), special]
    levels += [_level(f"jaro_winkler_similarity({col}_l, {col}_r) >= {t}", f"jw>={t}") for t in thresholds]
    return [*levels, _ELSE]


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
            # the multiset test first: it is cheap, implied by a transposition, and DuckDB
            # evaluates the edit distances only for the pairs that pass it
            _level(
                "ssn_sorted_l = ssn_sorted_r and damerau_levenshtein(ssn_l, ssn_r) = 1 "
                "and levenshtein(ssn_l, ssn_r) = 2",
                "adjacent transposition",
            ),
            _level("hamming(ssn_l, ssn_r) = 1", "one digit"),
            # two transpositions, or a transposition on each side: the same digits in another order
            _level("ssn_sorted_l = ssn_sorted_r", "digits permuted"),
            _ELSE,
        ],
    }
    first = {
        "output_column_name": "first_name",
        "comparison_description": "first name: exact, nickname, Jaro-Winkler, else",
        "comparison_levels": _name_levels(
            "first_name",
            _level("list_has_any(first_name_group_l, first_name_group_r)", "nickname"),
            s.first_name_jw_thresholds,
            tf_first,
        ),
    }
    last = {
        "output_column_name": "last_name",
        "comparison_description": "last name: exact, one part of a compound, Jaro-Winkler, else",
        "comparison_levels": _name_levels(
            "last_name",
            _level("list_has_any(last_name_parts_l, last_name_parts_r)", "one part matches"),
            s.last_name_jw_thresholds,
            tf_last,
        ),
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
    middle = {
        "output_column_name": "middle_name",
        "comparison_description": "middle name: same initial, else",
        "comparison_levels": [
            _null(["middle_name"]),
            _level("left(middle_name_l, 1) = left(middle_name_r, 1)", "same initial"),
            # Most systems keep only an initial, and the synthetic data never varies it, so EM
            # would learn an m near zero; a fixed m keeps a keyed-in wrong initial from vetoing.
            {**_ELSE, "m_probability": s.middle_name_mismatch_m, "fix_m_probability": True},
        ],
    }
    sex = {
        "output_column_name": "sex",
        "comparison_levels": [_null(["sex"]), _level("sex_l = sex_r", "exact"), _ELSE],
    }
    # Street, ZIP and phone in one comparison: a household shares all three, so scoring them
    # separately would count the same evidence twice (twins and household members).
    addr_exact = "(street_l = street_r and zip5_l = zip5_r)"
    addr_close = (
        f"(zip5_l = zip5_r and jaro_winkler_similarity(street_l, street_r) >= {s.street_jw_threshold})"
    )
    contact = {
        "output_column_name": "contact",
        "comparison_description": "address (street, ZIP5) and phone",
        "comparison_levels": [
            {
                "sql_condition": "(street_l is null or street_r is null)"
                " and (zip5_l is null or zip5_r is null)"
                " and (phone_l is null or phone_r is null)",
                "label_for_charts": "null",
                "is_null_level": True,
            },
            _level(f"{addr_exact} and phone_l = phone_r", "address and phone exact"),
            _level(f"({addr_exact} or {addr_close}) and phone_l = phone_r", "address similar, phone exact"),
            _level(addr_exact, "address exact"),
            _level("phone_l = phone_r", "phone exact"),
            _level(addr_close, "zip exact, street similar"),
            _level(
                "damerau_levenshtein(zip5_l, zip5_r) = 1 and "
                f"jaro_winkler_similarity(street_l, street_r) >= {s.street_jw_threshold}",
                "zip one edit, street similar",
            ),
            _level("zip5_l = zip5_r", "zip exact"),
            _ELSE,
        ],
    }
    email = {
        "output_column_name": "email",
        "comparison_levels": [_null(["email"]), _level("email_l = email_r", "exact"), _ELSE],
    }
    return [ssn, first, middle, last, dob, sex, contact, email]


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


def _connection(s: LinkageSettings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    spill = Path(s.spill_directory or Path(tempfile.gettempdir()) / "ww-linkage-spill")
    spill.mkdir(parents=True, exist_ok=True, mode=0o700)  # pairs carry identity values
    con.execute("SET memory_limit = ?", [s.duckdb_memory_limit])
    con.execute("SET temp_directory = ?", [str(spill)])
    con.execute("SET preserve_insertion_order = false")
    if s.duckdb_threads:
        con.execute("SET threads = ?", [s.duckdb_threads])
    return con


def _linker(prepared: pd.DataFrame, settings: dict[str, Any], s: LinkageSettings | None = None) -> Linker:
    db = DuckDBAPI(connection=_connection(s or LinkageSettings()))
    sdf = db.register(prepared, dataset_display_name="person_records")
    return Linker(sdf, settings, log_level=logging.WARNING)


def tf_columns(settings: dict[str, Any]) -> list[str]:
    """Columns whose levels carry a term-frequency adjustment."""
    cols = {
        lvl["tf_adjustment_column"]
        for comp in settings["comparisons"]
        for lvl in comp["comparison_levels"]
        if lvl.get("tf_adjustment_column")
    }
    return sorted(cols)


def term_frequencies(prepared: pd.DataFrame, columns: Sequence[str]) -> dict[str, dict[str, float]]:
    """Each value's share of the non-null values of its column (Splink's definition)."""
    out: dict[str, dict[str, float]] = {}
    for col in columns:
        counts = prepared[col].dropna().value_counts()
        total = int(counts.sum())
        out[col] = {str(k): float(v) / total for k, v in counts.sort_index().items()} if total else {}
    return out


def linker_for(model: TrainedModel, prepared: pd.DataFrame, **overrides: Any) -> Linker:
    """A Linker over prepared records with the model's parameters and its frozen term frequencies."""
    linker = _linker(prepared, {**model.splink_model, **overrides}, model.settings)
    for col, freqs in model.term_frequencies.items():
        tf = pd.DataFrame({col: list(freqs), f"tf_{col}": list(freqs.values())})
        sdf = linker._db_api.register(tf, dataset_display_name=f"tf_{col}")
        linker.table_management.register_term_frequency_lookup(sdf, col)
    return linker


# --------------------------------------------------------------------------- train / predict


def train(records: pd.DataFrame, settings: LinkageSettings | None = None) -> TrainedModel:
    """Fit the Fellegi-Sunter parameters on the records (unsupervised). Deterministic for a seed."""
    s = settings or LinkageSettings()
    prepared = prepare(records)
    linker = _linker(prepared, splink_settings(s), s)
    linker.training.estimate_probability_two_random_records_match(
        list(s.deterministic_rules), recall=s.deterministic_rules_recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=s.u_max_pairs, seed=s.seed)
    for rule in s.training_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    model = linker.misc.save_model_to_json()
    model.pop("linker_uid", None)  # random per Linker; the model must not depend on it
    _fill_untrained(model, s)
    _apply_m_floor(model, s.m_floor)
    return TrainedModel(s, model, term_frequencies=term_frequencies(prepared, tf_columns(model)))


def _fill_untrained(model: dict[str, Any], s: LinkageSettings) -> None:
    """Give levels the data never showed a value instead of Splink's defaults.

    u: a level no random pair reached (a one-digit SSN difference) is rarer than one in the pairs
    sampled, so u = 1 / (2 x pairs sampled), not Splink's default (which made an SSN typo count
    against a match); an unseen "else" level gets the rest of the probability mass. (m of a level
    EM never saw gets the m floor below.)
    """
    rare_u = 0.5 / s.u_max_pairs
    for comp in model["comparisons"]:
        levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        for lvl in levels:
            if lvl.get("u_probability") is None and lvl.get("sql_condition") != "ELSE":
                lvl["u_probability"] = rare_u
        for lvl in levels:
            if lvl.get("u_probability") is None:
                rest = sum(x["u_probability"] for x in levels if x is not lvl and x.get("u_probability"))
                lvl["u_probability"] = max(1.0 - rest, rare_u)


def _apply_m_floor(model: dict[str, Any], floor: float) -> None:
    for comp in model["comparisons"]:
        for lvl in comp["comparison_levels"]:
            if lvl.get("is_null_level") or lvl.get("fix_m_probability"):
                continue
            m = lvl.get("m_probability")
            if m is None or m < floor:
                lvl["m_probability"] = floor


def blocking_counts(records: pd.DataFrame, settings: LinkageSettings | None = None) -> pd.DataFrame:
    """Exact comparisons each blocking rule adds (marginal) and the running total (cumulative)."""
    s = settings or LinkageSettings()
    linker = _linker(prepare(records), splink_settings(s), s)
    rows = linker.blocking_analysis.count_comparisons_from_blocking_rules(record_sample_proportion=1.0)
    return pd.DataFrame(
        {
            "blocking_rule": list(s.blocking_rules),
            "marginal": [int(r["marginal_comparison_count"]) for r in rows],
            "cumulative": [int(r["cumulative_comparison_count"]) for r in rows],
        }
    )


PAIR_COLUMNS: tuple[str, ...] = (
    "source_system_l",
    "source_record_id_l",
    "source_system_r",
    "source_record_id_r",
    "match_weight",
    "match_probability",
)


def _gamma_of(model: dict[str, Any], comparison: str, labels: Sequence[str]) -> list[int]:
    """The comparison vector values (gamma) of the levels with these labels."""
    for comp in model["comparisons"]:
        if comp["output_column_name"] != comparison:
            continue
        levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        top = len(levels) - 1
        return [top - i for i, lvl in enumerate(levels) if lvl.get("label_for_charts") in labels]
    raise KeyError(comparison)


def _vetoed(model: TrainedModel, pairs: pd.DataFrame) -> pd.Series:
    if not model.settings.veto_different_ssn_and_first_name:
        return pd.Series(False, index=pairs.index)
    ssn_differs = _gamma_of(model.splink_model, "ssn", ["else", "consecutive"])
    first_differs = _gamma_of(model.splink_model, "first_name", ["else"])
    return pairs["gamma_ssn"].isin(ssn_differs) & pairs["gamma_first_name"].isin(first_differs)


DIRTY = "_dirty"


def predict(
    model: TrainedModel,
    records: pd.DataFrame,
    threshold: float | None = None,
    *,
    dirty: Sequence[str] | pd.Series | None = None,
) -> pd.DataFrame:
    """Scored pairs whose Fellegi-Sunter probability is at or above ``threshold`` (None keeps every
    blocked pair); a vetoed pair is kept with ``match_probability`` 0.

    ``dirty``: ids (``source_system:source_record_id``) of new or changed records; only pairs with
    at least one of them are scored (the blocking rules gain ``l._dirty or r._dirty``), which is
    exactly the subset of a full prediction that tonight's changes can touch.

    Columns: ``unique_id_l``, ``unique_id_r``, ``PAIR_COLUMNS``, ``fs_match_probability`` (the
    Fellegi-Sunter score before the veto rules), ``vetoed``, and the ``gamma_*`` level of each
    comparison. ``match_probability`` is 0 for a vetoed pair. Sorted by the ids.
    """
    prepared = prepare(records)
    # gamma_* columns come out only with the matching columns retained
    overrides: dict[str, Any] = {"retain_matching_columns": True}
    if dirty is not None:
        prepared = prepared.assign(**{DIRTY: prepared["unique_id"].isin(set(dirty))})
        if not prepared[DIRTY].any():
            return _empty_pairs(model)
        overrides["blocking_rules_to_generate_predictions"] = [
            {**rule, "blocking_rule": f"({rule['blocking_rule']}) and (l.{DIRTY} or r.{DIRTY})"}
            for rule in model.splink_model["blocking_rules_to_generate_predictions"]
        ]
    linker = linker_for(model, prepared, **overrides)
    # The veto only lowers a score, so Splink may drop pairs below the threshold before it.
    scored = linker.inference.predict(threshold_match_probability=threshold).as_duckdbpyrelation()
    gammas = sorted(c for c in scored.columns if c.startswith("gamma_"))
    # only the columns we keep leave DuckDB: the retained matching columns (names, lists) would
    # multiply the memory of a state-scale prediction
    out = (
        scored.select(*["unique_id_l", "unique_id_r", *PAIR_COLUMNS, *gammas])
        .order("unique_id_l, unique_id_r")
        .df()
    )
    out.insert(len(PAIR_COLUMNS) + 2, "fs_match_probability", out["match_probability"])
    vetoed = _vetoed(model, out)
    out.insert(len(PAIR_COLUMNS) + 3, "vetoed", vetoed.to_numpy())
    out.loc[vetoed, "match_probability"] = 0.0
    if threshold is not None:  # vetoed pairs stay (with probability 0): they explain a non-link
        out = out[out["fs_match_probability"] >= threshold]
    result: pd.DataFrame = out.reset_index(drop=True)  # sorted by the ids in DuckDB (faster)
    return result


def _empty_pairs(model: TrainedModel) -> pd.DataFrame:
    gammas = sorted(f"gamma_{c['output_column_name']}" for c in model.splink_model["comparisons"])
    cols = ["unique_id_l", "unique_id_r", *PAIR_COLUMNS, "fs_match_probability", "vetoed", *gammas]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})


def cluster(
    pairs: pd.DataFrame,
    records: pd.DataFrame,
    threshold: float,
    *,
    ssn_constraint: bool = True,
    must_link: pd.DataFrame | None = None,
    cannot_link: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Clusters of the links at or above ``threshold``; every record gets a cluster.

    ``must_link`` pairs (columns ``unique_id_l``, ``unique_id_r``: a reviewer said "same", or one
    system's own person id) are joined first, whatever their score or SSNs. Then the scored links,
    strongest first (ties by ids). A link is skipped when it would put two records a reviewer
    called different (``cannot_link``) in one cluster, or, with ``ssn_constraint``, two
    conflicting SSNs (different, and not keying errors apart) — so a record without an SSN cannot
    bridge two people who share a name and birth date. Without constraints the clusters are the
    plain connected components. Must-links do not override cannot-links.

    ``cluster_id`` is the smallest ``source_system:source_record_id`` of the cluster, so it does
    not depend on row order (stable customer ids across nights are a separate step).
    """
    uid = unique_ids(records)
    ids = np.sort(uid.unique())
    pos = pd.Series(np.arange(len(ids)), index=ids)
    links = pairs[pairs["match_probability"] >= threshold]
    left = unique_ids(links, "source_system_l", "source_record_id_l").map(pos)
    right = unique_ids(links, "source_system_r", "source_record_id_r").map(pos)
    edges = pd.DataFrame({"a": left, "b": right, "p": links["match_probability"]}).dropna()
    edges = edges.astype({"a": np.int64, "b": np.int64})
    edges = edges.sort_values(["p", "a", "b"], ascending=[False, True, True], kind="stable")
    ssns = np.full(len(ids), None, dtype=object)
    if ssn_constraint and "ssn" in records.columns:
        ssns = pd.Series(_texts(records["ssn"]).to_numpy(), index=uid.to_numpy()).reindex(ids).to_numpy()
    root = _constrained_components(
        len(ids),
        edges["a"].to_numpy(),
        edges["b"].to_numpy(),
        ssns,
        must=_positions(must_link, pos),
        cannot=_positions(cannot_link, pos),
    )
    cluster_ids = ids[root]
    system, _, rec = pd.Series(ids).str.partition(ID_SEP).T.to_numpy()
    return pd.DataFrame({"source_system": system, "source_record_id": rec, "cluster_id": cluster_ids})


def _positions(pairs: pd.DataFrame | None, pos: pd.Series) -> list[tuple[int, int]]:
    """Pairs of unique ids as node positions, in a fixed order; pairs naming an absent record drop."""
    if pairs is None or pairs.empty:
        return []
    a = pairs["unique_id_l"].astype(str).map(pos)
    b = pairs["unique_id_r"].astype(str).map(pos)
    both = pd.DataFrame({"a": a, "b": b}).dropna().astype(np.int64)
    both = both.sort_values(["a", "b"], kind="stable")
    return list(zip(both["a"].tolist(), both["b"].tolist(), strict=True))


def ssn_near(a: str, b: str) -> bool:
    """Could be one person's SSN as keyed in two records, each with up to one error (a wrong
    digit or a transposition): at most three positions differ. Two random SSNs are that close
    about once in 15,000 pairs."""
    if len(a) != len(b):
        return a == b
    return sum(x != y for x, y in zip(a, b, strict=True)) <= 3


def _compatible(x: frozenset[str], y: frozenset[str]) -> bool:
    return all(ssn_near(a, b) for a in x for b in y)


def _constrained_components(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    ssns: np.ndarray,
    *,
    must: Sequence[tuple[int, int]] = (),
    cannot: Sequence[tuple[int, int]] = (),
) -> np.ndarray:
    """``ssns``: each node's SSN or None. The result of ``_components``, computed fast: plain connected components (scipy) first; only
    a component holding conflicting SSNs or a cannot-link pair needs the ordered, constrained
    union-find, which then runs on that component alone (components never interact)."""
    must_a = np.array([x for x, _ in must], dtype=np.int64)
    must_b = np.array([y for _, y in must], dtype=np.int64)
    rows = np.concatenate([a, must_a])
    cols = np.concatenate([b, must_b])
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # a plain component's label is its smallest node, as the union-find would give
    first = pd.Series(np.arange(n)).groupby(comp).transform("min").to_numpy()
    hard = {int(comp[x]) for x, y in cannot if comp[x] == comp[y]}
    held = pd.DataFrame({"comp": comp, "ssn": ssns}).dropna()
    held = held.drop_duplicates()
    several = held[held.duplicated("comp", keep=False)]
    for c, group in several.groupby("comp"):
        values = sorted(group["ssn"])
        if any(not ssn_near(x, y) for i, x in enumerate(values) for y in values[i + 1 :]):
            hard.add(int(str(c)))
    if not hard:
        return first
    nodes = np.flatnonzero(np.isin(comp, sorted(hard)))  # sorted: smallest-node labels carry over
    local = np.full(n, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    keep = local[a] >= 0  # edges stay in their global strongest-first order
    sub = _components(
        len(nodes),
        local[a[keep]],
        local[b[keep]],
        [frozenset([ssns[i]]) if isinstance(ssns[i], str) else frozenset() for i in nodes],
        must=[(int(local[x]), int(local[y])) for x, y in must if local[x] >= 0],
        cannot=[(int(local[x]), int(local[y])) for x, y in cannot if local[x] >= 0 and local[y] >= 0],
    )
    out = first.copy()
    out[nodes] = nodes[sub]
    return out


def _components(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    ssns: list[frozenset[str]],
    *,
    must: Sequence[tuple[int, int]] = (),
    cannot: Sequence[tuple[int, int]] = (),
) -> np.ndarray:
    """Union-find: must-links first, then the edges in order, skipping a union whose SSN sets
    conflict or that would join a cannot-link pair. Each node's label is the smallest node of
    its component."""
    parent = list(range(n))
    held = list(ssns)
    apart: dict[int, set[int]] = {}  # root -> nodes its component must never join
    for x, y in cannot:
        if x != y:
            apart.setdefault(x, set()).add(y)
            apart.setdefault(y, set()).add(x)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def kept_apart(rx: int, ry: int) -> bool:
        return any(find(z) == ry for z in apart.get(rx, ())) if apart else False

    def union(rx: int, ry: int) -> None:
        lo, hi = (rx, ry) if rx < ry else (ry, rx)
        parent[hi] = lo
        held[lo] = held[lo] | held[hi]
        if hi in apart:
            apart.setdefault(lo, set()).update(apart.pop(hi))

    for x, y in must:
        rx, ry = find(x), find(y)
        if rx != ry and not kept_apart(rx, ry):
            union(rx, ry)
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        rx, ry = find(x), find(y)
        if rx == ry or not _compatible(held[rx], held[ry]) or kept_apart(rx, ry):
            continue
        union(rx, ry)
    return np.array([find(x) for x in range(n)], dtype=np.int64)
