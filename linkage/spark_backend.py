"""The linkage model's prediction on Splink's Spark backend: the scale-out path beyond one machine.

Training stays on DuckDB (``linkage.model.train``); the trained model (m, u, prior, frozen term
frequencies) is scored here on Spark and gives pairs in the shape of ``linkage.model.predict``,
so ``linkage.model.cluster`` takes them unchanged.

Splink does not transpile a settings dictionary's comparison SQL: a ``Linker`` on ``SparkAPI``
parses each ``sql_condition`` as Spark SQL whatever dialect trained it. ``spark_condition``
therefore rewrites the model's DuckDB SQL with sqlglot and maps the functions Spark lacks:

- ``damerau_levenshtein`` -> the Scala UDF of that name in the jar that ships with Splink
  (``similarity_jar_location()``; ``local_spark`` loads it): true Damerau-Levenshtein like
  DuckDB's (the model only asks whether it is 1, where all variants agree).
- ``jaro_winkler_similarity`` -> by default DuckDB's own function in a pandas UDF
  (``register_duckdb_jaro_winkler``): the jar's ``jaro_winkler`` (Apache commons-text) counts
  transpositions differently for some strings with repeated letters, so a street pair at 0.9024
  in DuckDB is 0.8961 there and drops a level (1 pair in 14,280 on the demo state). The jar stays
  available (``jaro_winkler="jar"``) for clusters whose executors lack duckdb; it returns 0
  rather than NULL for a NULL input, which fails a ``>= t`` test all the same.
- ``hamming`` (none in Spark or in the jar) -> a count over ``sequence(1, length(a))`` with a
  higher-order ``aggregate``. DuckDB's raises on strings of different lengths; the model only
  calls it on equal lengths (SSNs; ZIPs behind a length test).
- ``list_has_any`` -> ``arrays_overlap``; ``string_split`` -> ``split`` on the quoted separator.
- decimal literals -> DOUBLE: DuckDB's ``1.0 / n`` is a double, Spark's a DECIMAL rounded to six
  places, which would move a pair across the Jaro-Winkler bound in ``_jw_at_least``.

The 64-bit set masks are unsigned in ``prepare``'s output; Spark has no unsigned type, so they
travel as their signed bit pattern (``mask_l & mask_r <> 0`` does not change).
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlglot
from splink.internals.pipeline import CTEPipeline
from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf
from sqlglot import exp

from linkage.model import PAIR_COLUMNS, TrainedModel, prepare, scoring_sqls, veto_mask

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

# prepare()'s list-valued columns: the levels read their ``_key``/``_mask`` scalars instead, and a
# list column would only cost transfer to the JVM.
_LIST_COLUMNS: tuple[str, ...] = ("first_name_group", "last_name_parts")
_MASK_COLUMNS: tuple[str, ...] = ("first_name_group_mask", "last_name_parts_mask")

# hamming(a, b) as Spark SQL: positions 1..length(a) where the characters differ.
_HAMMING = (
    "aggregate(sequence(1, length(__ham_a)), 0, (__ham_acc, __ham_i) -> __ham_acc + "
    "CASE WHEN substring(__ham_a, __ham_i, 1) <> substring(__ham_b, __ham_i, 1) THEN 1 ELSE 0 END)"
)


def _rewrite(node: exp.Expression, jaro_winkler: str) -> exp.Expression:
    """One DuckDB node as its Spark equivalent (see the module docstring)."""
    if isinstance(node, exp.JarowinklerSimilarity):
        return exp.Anonymous(this=jaro_winkler, expressions=[node.this, node.expression])
    if isinstance(node, exp.ArrayOverlaps):
        return exp.Anonymous(this="arrays_overlap", expressions=[node.this, node.expression])
    if isinstance(node, exp.Anonymous) and node.name.lower() == "hamming":
        a, b = node.expressions
        template = sqlglot.parse_one(_HAMMING, read="spark")
        args: dict[str, exp.Expression] = {"__ham_a": a, "__ham_b": b}

        def put(n: exp.Expression) -> exp.Expression:
            if isinstance(n, exp.Column) and n.name in args:
                return args[n.name].copy()
            return n

        return template.transform(put)
    if isinstance(node, exp.Literal) and not node.is_string and not node.this.isdigit():
        return exp.Cast(this=node.copy(), to=exp.DataType.build("double"))
    return node


# The Spark SQL function each ``jaro_winkler`` choice calls.
JARO_WINKLER_FUNCTIONS = {"duckdb": "ww_duckdb_jaro_winkler", "jar": "jaro_winkler"}


def spark_condition(sql: str, jaro_winkler: str = "duckdb") -> str:
    """A comparison level's or blocking rule's DuckDB SQL as Spark SQL (``ELSE`` stays).

    ``jaro_winkler``: ``duckdb`` (DuckDB's own function in a vectorized Python UDF, the same value
    as training and ``linkage.model.predict``) or ``jar`` (Splink's Scala UDF, commons-text's
    algorithm, no Python workers; it counts transpositions differently for some strings with repeated
    letters: '7677 PRAIRI EWIND AVE' / '7677 PR WIND AVE' is 0.9024 in DuckDB, 0.8961 there).
    """
    if sql.strip().upper() == "ELSE":
        return sql
    fn = JARO_WINKLER_FUNCTIONS[jaro_winkler]
    tree = sqlglot.parse_one(sql, read="duckdb").transform(_rewrite, fn)
    return tree.sql(dialect="spark")


def register_duckdb_jaro_winkler(spark: SparkSession) -> None:
    """``ww_duckdb_jaro_winkler(a, b)``: DuckDB's ``jaro_winkler_similarity`` as a pandas UDF, so
    a level's similarity is bit for bit the one the model was trained and scored with on DuckDB.
    Spark evaluates a Python UDF on every row of its projection (no short-circuit in CASE)."""
    from pyspark.sql.functions import pandas_udf

    def duckdb_jaro_winkler(a: pd.Series, b: pd.Series) -> pd.Series:
        import duckdb

        pairs = pd.DataFrame({"a": a, "b": b})
        with duckdb.connect() as con:
            con.register("pairs", pairs)
            sim = con.execute("SELECT jaro_winkler_similarity(a, b) AS s FROM pairs").df()["s"]
        return sim.set_axis(a.index)

    udf = pandas_udf(duckdb_jaro_winkler, "double")  # type: ignore[call-overload]
    spark.udf.register(JARO_WINKLER_FUNCTIONS["duckdb"], udf)


def spark_settings(model: TrainedModel, jaro_winkler: str = "duckdb") -> dict[str, Any]:
    """The model's Splink settings (trained parameters included) with Spark SQL conditions."""
    settings = {k: v for k, v in model.splink_model.items() if k != "sql_dialect"}
    comparisons = []
    for comp in settings["comparisons"]:
        levels = [
            {**lvl, "sql_condition": spark_condition(lvl["sql_condition"], jaro_winkler)}
            for lvl in comp["comparison_levels"]
        ]
        comparisons.append({**comp, "comparison_levels": levels})
    rules = [
        {
            **rule,
            "blocking_rule": spark_condition(rule["blocking_rule"], jaro_winkler),
            "sql_dialect": "spark",
        }
        for rule in settings["blocking_rules_to_generate_predictions"]
    ]
    return {
        **settings,
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": rules,
    }


def _scored(linker: Any, blocked: Any, threshold: float | None) -> Any:
    """The blocked pairs scored by Splink's own SQL generators, as ``linkage.model`` runs them:
    ``training_mode`` gives the gamma levels (for the veto) without the matching columns (identity
    values), which ``linker.inference.predict`` would carry into its output to get them."""
    pipeline = CTEPipeline([blocked])
    enqueue_df_concat_with_tf(linker, pipeline)
    pipeline.enqueue_list_of_sqls(scoring_sqls(linker, "__splink__df_concat_with_tf", threshold))
    return linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)


def _drop(spark: SparkSession, tables: list[Any]) -> None:
    """Uncache and drop the temp views of one prediction (Splink drops only Delta tables): the
    cached pairs and records hold identity values and memory."""
    for name in dict.fromkeys(t.physical_name for t in tables):
        if spark.catalog.tableExists(name):
            spark.catalog.uncacheTable(name)
            spark.catalog.dropTempView(name)


def local_spark(memory: str = "2g", *, cores: int = 2, work_dir: str | Path | None = None) -> SparkSession:
    """A local-mode SparkSession for the linkage: no UI, no network beyond loopback, Splink's
    similarity jar loaded, scratch (warehouse, spill, checkpoints) in a private directory.

    ``memory`` is the driver's heap; it takes effect only if no JVM is running in this process yet.
    Shuffle partitions are few: the default 200 costs more than the work at one machine's scale.
    """
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    # before the JVM starts: Python UDF workers run this interpreter (with this venv's packages),
    # and the driver binds to loopback
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if work_dir is None:  # ours: removed when the process exits
        scratch = Path(tempfile.mkdtemp(prefix="ww-spark-"))
        atexit.register(shutil.rmtree, scratch, True)
    else:
        scratch = Path(work_dir)
    scratch.mkdir(parents=True, exist_ok=True, mode=0o700)  # spilled pairs carry identity values
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("ww-linkage")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.memory", memory)
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config("spark.local.dir", str(scratch / "local"))
        .config("spark.sql.shuffle.partitions", str(max(4, 2 * cores)))
        .config("spark.default.parallelism", str(max(4, 2 * cores)))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(str(scratch / "checkpoints"))
    return spark


def spark_records(spark: SparkSession, records: pd.DataFrame) -> SparkDataFrame:
    """``prepare(records)`` as a Spark DataFrame (list columns dropped, masks as signed BIGINT)."""
    prepared = prepare(records).drop(columns=list(_LIST_COLUMNS))
    for col in _MASK_COLUMNS:
        prepared[col] = prepared[col].to_numpy(dtype=np.uint64).view(np.int64)
    sdf = spark.createDataFrame(prepared)
    # a column of None only (no middle names in a batch) arrives as Spark's void type: text
    voids = [f.name for f in sdf.schema.fields if f.dataType.typeName() == "void"]
    return sdf.withColumns({c: sdf[c].cast("string") for c in voids}) if voids else sdf


def predict_spark(
    model: TrainedModel,
    records: pd.DataFrame | SparkDataFrame,
    threshold: float | None,
    spark: SparkSession | None = None,
    *,
    break_lineage_method: str = "persist",
    jaro_winkler: str = "duckdb",
) -> pd.DataFrame:
    """``linkage.model.predict(model, records, threshold)`` computed by Splink on Spark.

    ``records``: person_records as pandas (prepared here), or a Spark DataFrame already in
    ``spark_records``' shape (prepared upstream, e.g. on a cluster). The same blocking rules,
    comparison levels, parameters and frozen term frequencies; the same columns, veto and order.
    ``break_lineage_method``: Splink's, ``persist`` (memory, spilling to ``spark.local.dir``) for
    local mode, ``parquet`` (files in the session's checkpoint directory, left there) on a
    cluster. ``jaro_winkler``: see ``spark_condition``. Without ``spark``, a ``local_spark()``.
    """
    from splink import Linker
    from splink.backends.spark import SparkAPI

    if jaro_winkler not in JARO_WINKLER_FUNCTIONS:
        raise ValueError(f"jaro_winkler must be one of {sorted(JARO_WINKLER_FUNCTIONS)}: {jaro_winkler!r}")
    spark = spark or local_spark()
    sdf = records if not isinstance(records, pd.DataFrame) else spark_records(spark, records)
    uid = model.splink_model.get("unique_id_column_name", "unique_id")
    db = SparkAPI(spark_session=spark, break_lineage_method=break_lineage_method)
    # generated table names: a session may run several predictions
    inputs = [db.register(sdf)]
    if jaro_winkler == "duckdb":
        register_duckdb_jaro_winkler(spark)
    linker = Linker(inputs[0], spark_settings(model, jaro_winkler), log_level=logging.WARNING)
    for col, freqs in model.term_frequencies.items():
        inputs.append(db.register(pd.DataFrame({col: list(freqs), f"tf_{col}": list(freqs.values())})))
        linker.table_management.register_term_frequency_lookup(inputs[-1], col)
    gammas = sorted(f"gamma_{c['output_column_name']}" for c in model.splink_model["comparisons"])
    try:
        blocked = linker.inference.compute_blocked_pairs_for_predict()
        scored = _scored(linker, blocked, threshold)
        inputs.append(scored)
        ids = sdf.select(*dict.fromkeys([uid, "unique_id", "source_system", "source_record_id"]))
        out = scored.as_spark_dataframe().select(
            f"{uid}_l", f"{uid}_r", "match_weight", "match_probability", *gammas
        )
        for side in ("l", "r"):
            renamed = ids.withColumnsRenamed({c: f"{c}_{side}" for c in ids.columns})
            out = out.join(renamed, on=f"{uid}_{side}", how="left")
        pairs = out.orderBy(f"{uid}_l", f"{uid}_r").toPandas()
    finally:
        _drop(spark, [*inputs, *linker._intermediate_table_cache.values()])
    pairs.insert(len(pairs.columns), "fs_match_probability", pairs["match_probability"])
    vetoed = veto_mask(model, pairs).to_numpy()
    pairs["vetoed"] = vetoed
    pairs.loc[vetoed, "match_probability"] = 0.0
    columns = ["unique_id_l", "unique_id_r", *PAIR_COLUMNS, "fs_match_probability", "vetoed", *gammas]
    result: pd.DataFrame = pairs[columns].reset_index(drop=True)
    return result
