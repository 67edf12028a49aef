"""The Splink (Fellegi-Sunter) linkage model on DuckDB: settings, training, prediction, clustering.

Public surface:

- ``LinkageSettings``: every knob (thresholds, sampling sizes, seed, blocking and training rules) in
  one place.
- ``prepare(records)``: the canonical ``person_records`` rows as the model reads them (a
  ``unique_id`` and Splink's integer ``row_id``, the nickname groups of the first name, the birth
  date as text, its parts and as one integer, and the keys that make the levels cheap).
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

Speed (state scale, ~1M records, ~14M blocked pairs): the levels read keys ``prepare`` computes
once per distinct value (set masks and keys instead of lists, a date as one integer, character
masks that bound Jaro-Winkler before it is computed); Splink keys records by an integer; and
``predict`` blocks on hashed keys and runs Splink's own scoring SQL without the columns Splink's
``predict()`` would carry and write for every pair. Each is pinned to Splink's or the plain
definitions' result by tests/test_linkage_model.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from nicknames import NickNamer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from splink import DuckDBAPI, Linker
from splink.internals.comparison_vector_values import compute_comparison_vector_values_from_id_pairs_sqls
from splink.internals.dialects import SplinkDialect
from splink.internals.pipeline import CTEPipeline
from splink.internals.predict import predict_from_comparison_vectors_sqls
from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

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

# Splink's record id: the row number in unique_id order, so a pair's ids compare as its
# unique_ids do (Splink keeps l < r). Integers make the joins and the sort of ~14M pairs at state
# scale much cheaper than the ``system:record`` text, which predict() puts back afterwards.
ROW_ID = "row_id"

# Separator of the values in a set key (first_name_group_key, last_name_parts_key): standardized
# names hold letters, digits and spaces only.
SET_SEP = "|"


def _bit(value: str) -> int:
    """One of 64 bits, fixed for a value on every machine and run (Python's hash() is salted)."""
    return 1 << (hashlib.blake2b(value.encode(), digest_size=1).digest()[0] & 63)


def set_mask(values: Sequence[str] | None) -> int:
    """A one-hash Bloom filter of a set of names in 64 bits: two sets with a common value always
    share a bit, so ``mask_l & mask_r = 0`` rules out an overlap without looking at the sets
    (that cheap test settles ~85% of the pairs that reach a set level)."""
    m = 0
    for v in values or ():
        m |= _bit(v)
    return m


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
    values = s.to_numpy(dtype=object, copy=True)
    missing = pd.isna(values)
    values[missing] = None
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values[~missing] = values[~missing].astype(str)  # slow: only when some value is not a str
    values[values == ""] = None
    return pd.Series(values, index=s.index, dtype=object)


def _sorted_digits(ssn: np.ndarray) -> np.ndarray:
    """Each SSN's characters in sorted order (a transposition-proof blocking key); NaN if none."""
    out = np.full(len(ssn), np.nan, dtype=object)
    present = pd.notna(ssn)
    values = ssn[present]
    lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
    where = np.flatnonzero(present)
    for length in np.unique(lengths):
        at = lengths == length
        if length == 0:
            out[where[at]] = ""
            continue
        chars = np.frombuffer("".join(values[at]).encode("ascii", "replace"), dtype=np.uint8)
        ordered = np.sort(chars.reshape(-1, int(length)), axis=1)
        out[where[at]] = ordered.view(f"S{length}").ravel().astype(str).astype(object)
    return out


def _int_array(values: pd.Series) -> pd.arrays.IntegerArray:
    """Whole numbers (float with NaN for missing, or int) as a nullable Int64 array."""
    missing = values.isna().to_numpy()
    return pd.arrays.IntegerArray(values.fillna(0).to_numpy().astype(np.int64), missing)


def _lookup(codes: np.ndarray, per_value: Sequence[Any], missing: Any = None) -> np.ndarray:
    """``per_value[code]`` for each code, ``missing`` where the code is -1 (pandas' factorize)."""
    table = np.empty(len(per_value) + 1, dtype=object)
    for i, v in enumerate(per_value):  # element by element: a list must stay one value
        table[i] = v
    table[-1] = missing
    out: np.ndarray = table[codes]
    return out


def _name_parts(values: np.ndarray) -> tuple[np.ndarray, list[list[str]]]:
    """``last_name_parts`` as lists of str (None when missing or empty): a code per row into the
    distinct lists (-1: none), and those lists."""
    try:
        lists = pa.array(values, type=pa.list_(pa.string()), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        lists = None
    if lists is None or pc.any(pc.match_substring(pc.list_flatten(lists), SET_SEP)).as_py():
        # not all lists of str (or a value holding the separator): one row at a time
        rows = np.empty(len(values), dtype=object)
        rows[:] = [
            tuple(str(x) for x in v) if isinstance(v, list | tuple | np.ndarray) and len(v) else None
            for v in values
        ]
        codes, distinct = pd.factorize(rows)
        return codes, [list(v) for v in distinct]
    # rows keyed by their parts joined; one Python list per distinct value
    empty = pc.equal(pc.list_value_length(lists), 0)
    keys = pc.if_else(empty, None, pc.binary_join(lists, SET_SEP)).to_numpy(zero_copy_only=False)
    codes, uniques = pd.factorize(keys)
    first_row = np.zeros(len(uniques), dtype=np.int64)
    rows = np.flatnonzero(codes >= 0)[::-1]
    first_row[codes[rows]] = rows  # a row holding each distinct value
    return codes, lists.take(pa.array(first_row)).to_pylist()


def char_mask(value: str) -> int:
    """The characters of a value as bits (code point mod 64) of a signed 64-bit integer."""
    m = 0
    for ch in value:
        m |= 1 << (ord(ch) & 63)
    return m - (1 << 64) if m >= 1 << 63 else m


def _lookup_masks(codes: np.ndarray, distinct: Sequence[str]) -> np.ndarray:
    """``char_mask`` of each row's value (by its code into ``distinct``), 0 for none."""
    masks = np.zeros(len(distinct) + 1, dtype=np.uint64)
    lengths = np.fromiter(map(len, distinct), dtype=np.int64, count=len(distinct))
    if lengths.sum():
        # all values' code points in one array, OR-reduced per value: ~20x faster than char_mask
        points = np.frombuffer("".join(distinct).encode("utf-32-le"), dtype=np.uint32)
        bits = np.left_shift(np.uint64(1), (points & 63).astype(np.uint64))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        some = lengths > 0
        masks[:-1][some] = np.bitwise_or.reduceat(bits, starts[some])
    out: np.ndarray = masks.view(np.int64)[codes]
    return out


def _set_columns(codes: np.ndarray, sets: Sequence[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """For each row's set (``sets[code]``, none for -1): the mask as uint64 and the key, the
    values joined by SET_SEP (None without a set)."""
    masks = np.array([set_mask(v) for v in sets] + [0], dtype=np.uint64)
    return masks[codes], _lookup(codes, [SET_SEP.join(v) for v in sets])


def prepare(records: pd.DataFrame) -> pd.DataFrame:
    """The model's input table: person_records plus derived matching columns.

    A frame that is already prepared passes through, so a caller can prepare once for both
    ``train`` and ``predict``. Rows are sorted by ``unique_id``; ``row_id`` is the row number.
    Text is derived once per distinct value and looked up per row (~3 s at state scale; per-row
    Python took ~15 s, pandas' string methods ~9 s).
    """
    if {PREPARED_MARK, "unique_id", ROW_ID} <= set(records.columns):
        return records
    missing = [c for c in INPUT_COLUMNS if c not in records.columns]
    if missing:
        raise ValueError(f"person records lack columns {missing}")
    texts = {
        c: _texts(records[c]).to_numpy() for c in INPUT_COLUMNS if c not in ("birth_date", "last_name_parts")
    }
    uid = _uid_array(pd.Series(texts["source_system"]), pd.Series(texts["source_record_id"]))
    order = pc.sort_indices(uid).to_numpy()  # stable
    uid_sorted = uid.take(order)
    if len(uid_sorted) > 1 and pc.any(pc.equal(uid_sorted[1:], uid_sorted[:-1])).as_py():
        raise ValueError("person records must have one row per (source_system, source_record_id)")
    col = {c: v[order] for c, v in texts.items()}
    # text derived a value at a time: from each distinct value, then looked up per row
    codes, distinct = {}, {}
    for c in ("first_name", "last_name", "middle_name", "ssn", "street"):
        codes[c], distinct[c] = pd.factorize(col[c])

    def per_value(c: str, values: Sequence[Any], missing: Any = None) -> np.ndarray:
        return _lookup(codes[c], values, missing)

    group_sets = [first_name_group(n) or [] for n in distinct["first_name"]]
    groups = per_value("first_name", group_sets)
    parts_codes, parts_sets = _name_parts(records["last_name_parts"].to_numpy(dtype=object)[order])
    parts = _lookup(parts_codes, parts_sets)
    dob = pd.to_datetime(pd.Series(records["birth_date"].to_numpy()[order]), errors="coerce")
    if dob.dt.tz is None:
        dob_text = np.datetime_as_string(dob.to_numpy(dtype="datetime64[D]")).astype(object)
        dob_text[dob.isna().to_numpy()] = None
    else:
        dob_text = _nulls(dob.dt.strftime("%Y-%m-%d")).to_numpy()
    year, month, day = (_int_array(part) for part in (dob.dt.year, dob.dt.month, dob.dt.day))
    out = {"unique_id": uid_sorted.to_numpy(zero_copy_only=False)}
    for c in INPUT_COLUMNS:
        out[c] = {"last_name_parts": parts, "birth_date": dob_text}.get(c, col.get(c))
    out["first_name_group"] = groups
    out["dob_y"], out["dob_m"], out["dob_d"] = year, month, day
    out["first_initial"] = per_value("first_name", [v[:1] for v in distinct["first_name"]])
    out["last_initial"] = per_value("last_name", [v[:1] for v in distinct["last_name"]])
    out["first3"] = per_value("first_name", [v[:3] for v in distinct["first_name"]])
    out["last3"] = per_value("last_name", [v[:3] for v in distinct["last_name"]])
    ssn_num = pd.to_numeric(pd.Series(distinct["ssn"], dtype=object), errors="coerce").astype("Int64").array
    out["ssn_num"] = ssn_num.take(codes["ssn"], allow_fill=True)
    out["ssn_sorted"] = per_value(
        "ssn", list(_sorted_digits(np.asarray(distinct["ssn"], dtype=object))), np.nan
    )
    # The set levels compare these scalars rather than the lists: a list column multiplies the
    # cost of every pair's join, and the mask settles most pairs without the sets.
    for name, set_codes, sets in (
        ("first_name_group", codes["first_name"], group_sets),
        ("last_name_parts", parts_codes, parts_sets),
    ):
        out[f"{name}_mask"], out[f"{name}_key"] = _set_columns(set_codes, sets)
    out["middle_initial"] = per_value("middle_name", [v[:1] for v in distinct["middle_name"]])
    out["dob"] = pd.arrays.IntegerArray(
        (
            year.to_numpy(na_value=0) * 10000 + month.to_numpy(na_value=0) * 100 + day.to_numpy(na_value=0)
        ).astype(np.int32),
        year.isna(),
    )
    for c in ("first_name", "last_name", "street"):
        out[f"{c}_chars"] = _lookup_masks(codes[c], distinct[c])
    out[ROW_ID] = np.arange(len(order), dtype=np.int64)
    return pd.DataFrame(out, copy=False)  # not consolidated: copying the blocks took ~1 s


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


def _sets_overlap(col: str) -> str:
    """The two records' sets (``col``: first_name_group, last_name_parts) have a common value:
    the 64-bit masks first (no false negatives), the sets themselves only where the masks meet."""
    split = [f"string_split({col}_key_{side}, '{SET_SEP}')" for side in ("l", "r")]
    return f"({col}_mask_l & {col}_mask_r) <> 0 and list_has_any({split[0]}, {split[1]})"


def _jw_at_least(col: str, t: float) -> str:
    """``jaro_winkler_similarity >= t``, the similarity computed only where it can reach ``t``.

    Jaro-Winkler is at most 0.6 j + 0.4 (a common prefix of 4 at most, weight 0.1), so reaching
    t needs Jaro j >= (t - 0.4) / 0.6, i.e. m (1/|a| + 1/|b|) >= 5t - 3 for m matching characters.
    m is at most each string's length less its characters absent from the other, of which there
    are at least as many as the bits of its character mask (``{col}_chars``) absent from the
    other's. That bound is a few integer operations; it rules out ~75% of the pairs that reach
    these levels, and the similarity costs ~70 ns a pair.
    """
    a, b, ma, mb = f"{col}_l", f"{col}_r", f"{col}_chars_l", f"{col}_chars_r"
    bound = 5 * t - 3 - 1e-9  # the margin keeps rounding from ruling out a pair at the bound
    return (
        f"least(length({a}) - bit_count({ma} & ~{mb}), length({b}) - bit_count({mb} & ~{ma}))"
        f" * (1.0 / length({a}) + 1.0 / length({b})) >= {bound:.9f}"
        f" and jaro_winkler_similarity({a}, {b}) >= {t}"
    )


def _name_levels(
    col: str, special: dict[str, Any], thresholds: Sequence[float], tf_col: str | None
) -> list[dict[str, Any]]:
    """null; exact (term-frequency adjusted); the name's own special level; Jaro-Winkler levels; else."""
    levels = [_null([col]), _level(f"{col}_l = {col}_r", "exact", tf_col), special]
    levels += [_level(_jw_at_least(col, t), f"jw>={t}") for t in thresholds]
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
            # One adjacent transposition. With the same digits (a blocking rule brings ~1.5M such
            # pairs at state scale), Damerau-Levenshtein 1 and Levenshtein 2 is the same as two
            # positions differing and Damerau-Levenshtein 1: the cheap Hamming distance rules out
            # nearly all pairs before the edit distance (~1 us a pair).
            _level(
                "ssn_sorted_l = ssn_sorted_r and hamming(ssn_l, ssn_r) = 2 "
                "and damerau_levenshtein(ssn_l, ssn_r) = 1",
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
            _level(_sets_overlap("first_name_group"), "nickname"),
            s.first_name_jw_thresholds,
            tf_first,
        ),
    }
    last = {
        "output_column_name": "last_name",
        "comparison_description": "last name: exact, one part of a compound, Jaro-Winkler, else",
        "comparison_levels": _name_levels(
            "last_name",
            _level(_sets_overlap("last_name_parts"), "one part matches"),
            s.last_name_jw_thresholds,
            tf_last,
        ),
    }
    # ``dob`` is the date as the integer yyyymmdd: one column to carry per record instead of four,
    # and a component off by one is a difference of 1, 100 or 10000 with the others equal.
    one_off = " or ".join(
        [
            "(dob_l // 100 = dob_r // 100 and abs(dob_l - dob_r) = 1)",
            "(dob_l // 10000 = dob_r // 10000 and dob_l % 100 = dob_r % 100 and abs(dob_l - dob_r) = 100)",
            "(dob_l % 10000 = dob_r % 10000 and abs(dob_l - dob_r) = 10000)",
        ]
    )
    dob = {
        "output_column_name": "birth_date",
        "comparison_description": "DOB: exact, day/month swapped, one component off by one, else",
        "comparison_levels": [
            _null(["dob"]),
            _level("dob_l = dob_r", "exact"),
            _level(
                "dob_l // 10000 = dob_r // 10000 and dob_l // 100 % 100 = dob_r % 100 "
                "and dob_l % 100 = dob_r // 100 % 100",
                "day/month swapped",
            ),
            _level(one_off, "one component off by one"),
            _level("dob_l // 10000 = dob_r // 10000", "same year"),
            _ELSE,
        ],
    }
    middle = {
        "output_column_name": "middle_name",
        "comparison_description": "middle name: same initial, else",
        "comparison_levels": [
            _null(["middle_initial"]),
            _level("middle_initial_l = middle_initial_r", "same initial"),
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
    street_close = _jw_at_least("street", s.street_jw_threshold)
    addr_close = f"(zip5_l = zip5_r and {street_close})"
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
            # (exact or close address) and phone, with the cheap equalities first
            _level(
                f"phone_l = phone_r and zip5_l = zip5_r and (street_l = street_r or {street_close})",
                "address similar, phone exact",
            ),
            _level(addr_exact, "address exact"),
            _level("phone_l = phone_r", "phone exact"),
            _level(addr_close, "zip exact, street similar"),
            # ZIPs one edit apart differ in at most two positions (or in length by one): that
            # cheap test first, then the street's similarity, then the edit distance (~4x the
            # similarity), in that order whatever DuckDB's filter reordering would do.
            _level(
                "CASE WHEN CASE WHEN length(zip5_l) = length(zip5_r) THEN hamming(zip5_l, zip5_r) <= 2 "
                f"ELSE abs(length(zip5_l) - length(zip5_r)) = 1 END and {street_close} "
                "THEN damerau_levenshtein(zip5_l, zip5_r) = 1 ELSE false END",
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
        "unique_id_column_name": ROW_ID,
        "comparisons": _comparisons(s),
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": r, "sql_dialect": "duckdb"} for r in s.blocking_rules
        ],
        "additional_columns_to_retain": [],
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
    """A Linker over the records, which Splink sees with only the columns its settings name.

    Splink reads every column of its input (``select *``), e.g. all records to draw the sample
    for u: without the list columns and the ones no level or rule reads, that alone takes ~0.5 s
    less at state scale.
    """
    con = _connection(s or LinkageSettings())
    text = json.dumps(settings)
    used = [c for c in prepared.columns if re.search(rf"\b{re.escape(c)}(_l|_r)?\b", text)]
    con.register("__ww_prepared", prepared)
    con.execute(
        "CREATE VIEW person_records AS SELECT " + ", ".join(f'"{c}"' for c in used) + " FROM __ww_prepared"
    )
    sdf = DuckDBAPI(connection=con).register("person_records", dataset_display_name="person_records")
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
    # Trained on the text id: Splink's random sample of records for u hashes the id, and the text
    # keeps that sample independent of row positions (a new record does not reshuffle it).
    untrained = {**splink_settings(s), "unique_id_column_name": "unique_id"}
    prior = _prior(prepared, s)
    if prior is not None:
        untrained["probability_two_random_records_match"] = prior
    linker = _linker(prepared, untrained, s)
    if prior is None:
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
    model["unique_id_column_name"] = ROW_ID
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


def veto_mask(model: TrainedModel, pairs: pd.DataFrame) -> pd.Series:
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
    overrides: dict[str, Any] = {}
    if dirty is not None:
        prepared = prepared.assign(**{DIRTY: prepared["unique_id"].isin(set(dirty))})
        if not prepared[DIRTY].any():
            return _empty_pairs(model)
        overrides["blocking_rules_to_generate_predictions"] = [
            {**rule, "blocking_rule": f"({rule['blocking_rule']}) and (l.{DIRTY} or r.{DIRTY})"}
            for rule in model.splink_model["blocking_rules_to_generate_predictions"]
        ]
    linker = linker_for(model, prepared, **overrides)
    gammas = sorted(f"gamma_{c['output_column_name']}" for c in model.splink_model["comparisons"])
    uid = model.splink_model.get("unique_id_column_name", "unique_id")
    ids = [f"{uid}_l", f"{uid}_r"]
    # models before ROW_ID carry the text ids and the source columns through Splink
    carried = [*ids, *PAIR_COLUMNS] if uid == "unique_id" else [*ids, *PAIR_COLUMNS[4:]]
    rules = model.splink_model["blocking_rules_to_generate_predictions"]
    tables = [_blocked_pairs(linker, prepared, rules, uid, dirty=dirty is not None)]
    try:
        # The veto only lowers a score, so Splink may drop pairs below the threshold before it.
        scored = _scored(linker, tables, threshold)
        out = scored.select(*carried, *gammas).order(", ".join(ids)).df()
    finally:
        for table in tables:
            table.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
    # the result built column by column, once: each pandas step on the whole frame copied it
    columns: dict[str, Any] = (
        {c: out[c].to_numpy() for c in ["unique_id_l", "unique_id_r", *PAIR_COLUMNS[:4]]}
        if uid == "unique_id"
        else _record_ids(out, prepared, uid)
    )
    fs = out["match_probability"].to_numpy()
    vetoed = veto_mask(model, out).to_numpy()
    columns["match_weight"] = out["match_weight"].to_numpy()
    columns["match_probability"] = np.where(vetoed, 0.0, fs)
    columns["fs_match_probability"] = fs
    columns["vetoed"] = vetoed
    columns.update({g: out[g].to_numpy() for g in gammas})
    if threshold is not None:  # vetoed pairs stay (with probability 0): they explain a non-link
        keep = fs >= threshold
        if not keep.all():
            columns = {c: v[keep] for c, v in columns.items()}
    return pd.DataFrame(columns, copy=False)  # sorted by the ids in DuckDB (faster)


def _record_ids(pairs: pd.DataFrame, prepared: pd.DataFrame, uid: str) -> dict[str, np.ndarray]:
    """``unique_id_l/r`` and the source columns of pairs keyed by ``uid`` (ROW_ID)."""
    keys = prepared[uid].to_numpy()
    order = np.argsort(keys, kind="stable")
    at = {
        side: order[np.searchsorted(keys, pairs[f"{uid}_{side}"].to_numpy(), sorter=order)] for side in "lr"
    }
    cols = {f"unique_id_{side}": prepared["unique_id"].to_numpy()[at[side]] for side in "lr"}
    for side in "lr":
        for c in ("source_system", "source_record_id"):
            cols[f"{c}_{side}"] = prepared[c].to_numpy()[at[side]]
    return cols


_EQUALITY = re.compile(r"^\(?\s*l\.(\w+)\s*=\s*r\.(\w+)\s*\)?$")


def _equalities(rule: dict[str, Any]) -> list[tuple[str, str]] | None:
    """A blocking rule ``l.a = r.b and ...`` as its (a, b) column pairs; None for any other rule."""
    if set(rule) - {"blocking_rule", "sql_dialect"}:
        return None
    pairs = []
    for part in re.split(r"\band\b", rule["blocking_rule"].strip(), flags=re.IGNORECASE):
        m = _EQUALITY.match(part.strip())
        if m is None:
            return None
        pairs.append((m.group(1), m.group(2)))
    return pairs


def _hashed_blocking_sql(
    con: duckdb.DuckDBPyConnection,
    prepared: pd.DataFrame,
    rules: Sequence[dict[str, Any]],
    uid: str,
    *,
    dirty: bool = False,
) -> str | None:
    """Splink's blocking SQL (each rule's pairs not already generated by an earlier rule, the
    lower ``uid`` on the left; columns match_key, join_key_l, join_key_r), with each rule's
    equalities replaced by one between two 64-bit hashes: of the left record's key columns and of
    the right's (NULL if any of them is). One integer join per rule rather than a join on text:
    ~40% less CPU for ~14M pairs at state scale. Equal keys have equal hashes; two different keys
    sharing a hash (about once in 10^7 rules at a million records) would only add a pair.

    Creates the temporary table ``__ww_block_keys`` the SQL reads (the caller drops it). None, and
    no table, when a rule is not a conjunction of ``l.a = r.b`` on columns of one type each.
    ``dirty``: only the pairs with a DIRTY record.
    """
    equalities = [_equalities(rule) for rule in rules]
    keys, conditions = [], []
    for i, eq in enumerate(equalities):
        if not eq or not all(
            a in prepared.columns and b in prepared.columns and prepared[a].dtype == prepared[b].dtype
            for a, b in eq
        ):
            return None
        sides = {"l": [a for a, _ in eq], "r": [b for _, b in eq]}
        for side in sides if sides["l"] != sides["r"] else ["l"]:  # a symmetric rule: one key
            cols = ", ".join(f'"{c}"' for c in sides[side])
            nulls = " OR ".join(f'"{c}" IS NULL' for c in sides[side])
            keys.append(f"CASE WHEN {nulls} THEN NULL ELSE hash({cols}) END AS k{i}{side}")
        conditions.append(f"l.k{i}l = r.k{i}{'r' if sides['l'] != sides['r'] else 'l'}")
    flag = f', "{DIRTY}"' if dirty else ""
    con.register("__ww_block_input", prepared)
    try:
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE __ww_block_keys AS SELECT "{uid}"{flag}, {", ".join(keys)} '
            "FROM __ww_block_input"
        )
    finally:
        con.unregister("__ww_block_input")
    selects = []
    for i, cond in enumerate(conditions):
        where = [f'l."{uid}" < r."{uid}"']
        if i:
            where.append("NOT (" + " OR ".join(f"coalesce({c}, false)" for c in conditions[:i]) + ")")
        # dirty: two disjoint branches, each filtering one side alone, so the filter reaches that
        # side's scan and the join probes only tonight's records (`l OR r` would join everything)
        branches = [[f'l."{DIRTY}"'], [f'r."{DIRTY}"', f'NOT l."{DIRTY}"']] if dirty else [[]]
        for branch in branches:
            selects.append(
                f'SELECT \'{i}\' AS match_key, l."{uid}" AS join_key_l, r."{uid}" AS join_key_r '
                f"FROM __ww_block_keys AS l JOIN __ww_block_keys AS r ON {cond} "
                f"WHERE {' AND '.join([*where, *branch])}"
            )
    return " UNION ALL ".join(selects)


def _blocked_pairs(
    linker: Linker, prepared: pd.DataFrame, rules: Sequence[dict[str, Any]], uid: str, *, dirty: bool
) -> Any:
    """The pairs the blocking rules generate, as Splink's ``__splink__blocked_id_pairs``: by
    ``_hashed_blocking_sql``, or Splink's ``compute_blocked_pairs_for_predict`` for other rules."""
    db = linker._db_api
    con: duckdb.DuckDBPyConnection = db.duckdb_con
    pairs_sql = _hashed_blocking_sql(con, prepared, rules, uid, dirty=dirty)
    if pairs_sql is None:
        return linker.inference.compute_blocked_pairs_for_predict()
    name = "__ww_blocked_id_pairs"
    try:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {pairs_sql}")
    finally:
        con.execute("DROP TABLE IF EXISTS __ww_block_keys")
    return db.table_to_splink_dataframe("__splink__blocked_id_pairs", name)


def _prior(prepared: pd.DataFrame, s: LinkageSettings) -> float | None:
    """Splink's ``estimate_probability_two_random_records_match`` for the deterministic rules
    (the pairs they find, over their recall, over all pairs), counted on hashed keys: ~0.6 s less
    at state scale. None when the rules are not all equalities (Splink then estimates it)."""
    con = _connection(s)
    try:
        rules = [{"blocking_rule": r} for r in s.deterministic_rules]
        pairs_sql = _hashed_blocking_sql(con, prepared, rules, ROW_ID)
        if pairs_sql is None:
            return None
        found = con.execute(f"SELECT count(*) FROM ({pairs_sql})").fetchall()[0][0]
    finally:
        con.close()
    total = len(prepared) * (len(prepared) - 1) / 2
    if found > total * s.deterministic_rules_recall:
        raise ValueError(
            "Deterministic matching rules led to more observed matches than is consistent with "
            f"supplied recall. With these rules, recall must be at least {found / total:,.2f}."
        )
    return float(found / s.deterministic_rules_recall / total)


_WITH_TF = "__ww_records_with_tf"


def scoring_sqls(linker: Linker, records_table: str, threshold: float | None) -> list[dict[str, str]]:
    """Splink's SQL that scores blocked pairs (the comparison levels, then the match weights and
    probabilities) reading both sides from `records_table`, in ``training_mode``: the gamma levels
    (the veto needs them) without the matching columns (identity values). One place for every
    backend: DuckDB here, Spark in `linkage.spark_backend`."""
    so = linker._settings_obj
    info = so.column_info_settings
    return [
        *compute_comparison_vector_values_from_id_pairs_sqls(
            so._columns_to_select_for_blocking,
            so._columns_to_select_for_comparison_vector_values,
            input_tablename_l=records_table,
            input_tablename_r=records_table,
            source_dataset_input_column=info.source_dataset_input_column,
            unique_id_input_column=info.unique_id_input_column,
            link_type=so._link_type,
            sql_dialect_str=linker._sql_dialect_str,
        ),
        *predict_from_comparison_vectors_sqls(
            unique_id_input_columns=info.unique_id_input_columns,
            core_model_settings=so.core_model_settings,
            sql_dialect=SplinkDialect.from_string(linker._sql_dialect_str),
            threshold_match_probability=threshold,
            retain_matching_columns=False,
            training_mode=True,
            additional_columns_to_retain=so._additional_columns_to_retain,
        ),
    ]


def _scored(linker: Linker, tables: list[Any], threshold: float | None) -> duckdb.DuckDBPyRelation:
    """Splink's prediction SQL for the blocked pairs (``tables[0]``), as a relation not yet run;
    the tables it reads are appended to ``tables`` (the caller drops them once it has the rows).

    ``linker.inference.predict`` gives the comparison levels (gamma) only together with every
    column the levels read, and writes them all to a table: at state scale that costs more than
    the scoring. Here the same SQL generators run as Splink's own EM does (``training_mode``:
    gammas, no matching columns), and the result goes straight to the caller's query.
    """
    so = linker._settings_obj
    db = linker._db_api
    # The records with their term frequencies as a table of the columns the levels read, not
    # Splink's CTE: both sides of the pair join read it (~1 s less at state scale).
    records = CTEPipeline()
    enqueue_df_concat_with_tf(linker, records)
    cols = [c.name for c in (*so._columns_used_by_comparisons, *so._additional_columns_to_retain)]
    cols += [c.tf_name for c in so._term_frequency_columns]
    records.enqueue_sql(f"select {', '.join(dict.fromkeys(cols))} from __splink__df_concat_with_tf", _WITH_TF)
    with_tf = db.sql_pipeline_to_splink_dataframe(records)
    tables.append(with_tf)
    pipeline = CTEPipeline([tables[0], with_tf])
    pipeline.enqueue_list_of_sqls(scoring_sqls(linker, _WITH_TF, threshold))
    con: duckdb.DuckDBPyConnection = db.duckdb_con
    return con.sql(pipeline.generate_cte_pipeline_sql())


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
    # Arrow's hashing and sorting of the ids: pandas' took most of the time at state scale.
    uid = _uid_array(records["source_system"], records["source_record_id"])
    by_id = pc.sort_indices(uid).to_numpy()
    ids = uid.take(by_id)  # byte order of UTF-8 = Python's order of str
    at = np.empty(len(ids), dtype=np.int64)  # each record's position among the ids
    at[by_id] = np.arange(len(ids))
    if len(ids) > 1 and pc.any(pc.equal(ids[1:], ids[:-1])).as_py():
        ids = pc.unique(ids)
        at = pc.index_in(uid, value_set=ids).to_numpy(zero_copy_only=False).astype(np.int64)
    links = pairs[pairs["match_probability"] >= threshold]
    ends = pc.index_in(
        pa.concat_arrays(
            [
                _uid_array(links["source_system_l"], links["source_record_id_l"]),
                _uid_array(links["source_system_r"], links["source_record_id_r"]),
            ]
        ),
        value_set=ids,
    )
    p = links["match_probability"].to_numpy(dtype=float)
    pos = ends.to_numpy(zero_copy_only=False)  # float with NaN where a record is absent
    a_pos, b_pos = pos[: len(links)], pos[len(links) :]
    keep = ~(np.isnan(a_pos) | np.isnan(b_pos) | np.isnan(p))
    a_pos, b_pos, p = a_pos[keep].astype(np.int64), b_pos[keep].astype(np.int64), p[keep]
    order = np.lexsort((b_pos, a_pos, -p))  # strongest first, ties by ids
    ssns = np.full(len(ids), None, dtype=object)
    if ssn_constraint and "ssn" in records.columns:
        ssns[at] = _texts(records["ssn"]).to_numpy()
    root = _constrained_components(
        len(ids),
        a_pos[order],
        b_pos[order],
        ssns,
        must=_positions(must_link, ids),
        cannot=_positions(cannot_link, ids),
    )
    parts = pc.split_pattern(ids, ID_SEP, max_splits=1)
    id_values = ids.to_numpy(zero_copy_only=False)
    return pd.DataFrame(
        {
            "source_system": pc.list_element(parts, 0).to_numpy(zero_copy_only=False),
            "source_record_id": pc.list_element(parts, 1).to_numpy(zero_copy_only=False),
            "cluster_id": id_values[root],
        }
    )


def _uid_array(system: pd.Series, record: pd.Series) -> pa.Array:
    """``unique_id`` as an Arrow string array (the same text as ``unique_id``); joined by Arrow
    when both columns hold only str (~8x faster than pandas' string addition)."""
    parts = []
    for col in (system, record):
        values = col.to_numpy()
        if values.dtype != object or pd.api.types.infer_dtype(values, skipna=False) != "string":
            return pa.array(unique_id(system, record).to_numpy(), type=pa.string())
        parts.append(pa.array(values, type=pa.string()))
    return pc.binary_join_element_wise(parts[0], parts[1], ID_SEP)


def _positions(pairs: pd.DataFrame | None, ids: pa.Array) -> list[tuple[int, int]]:
    """Pairs of unique ids as node positions, in a fixed order; pairs naming an absent record drop."""
    if pairs is None or pairs.empty:
        return []
    a = pc.index_in(pa.array(pairs["unique_id_l"].astype(str).to_numpy(), type=pa.string()), value_set=ids)
    b = pc.index_in(pa.array(pairs["unique_id_r"].astype(str).to_numpy(), type=pa.string()), value_set=ids)
    both = pd.DataFrame({"a": a.to_pandas(), "b": b.to_pandas()}).dropna().astype(np.int64)
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
    _, smallest = np.unique(comp, return_index=True)  # first occurrence = smallest node
    first: np.ndarray = smallest[comp]
    hard = {int(comp[x]) for x, y in cannot if comp[x] == comp[y]}
    hard |= _conflicting(comp, ssns)
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
    out: np.ndarray = first.copy()
    out[nodes] = nodes[sub]
    return out


def _conflicting(comp: np.ndarray, ssns: np.ndarray) -> set[int]:
    """Components holding two SSNs that are not keying errors of each other."""
    present = pd.notna(ssns)
    held = pd.DataFrame({"comp": comp[present], "ssn": ssns[present]}).drop_duplicates()
    several = held[held.duplicated("comp", keep=False)]
    pairs = several.merge(several, on="comp")
    pairs = pairs[pairs["ssn_x"] < pairs["ssn_y"]]
    near = [ssn_near(x, y) for x, y in zip(pairs["ssn_x"].tolist(), pairs["ssn_y"].tolist(), strict=True)]
    return {int(c) for c in pairs["comp"].to_numpy()[~np.array(near, dtype=bool)]}


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
