"""Publishing the analytics zone: `analytics.duckdb`, `parquet/<table>/` and the data dictionary.

The analytics zone is what analysts may read: customer ids, periods, outcomes, indicators,
co-enrollment, and no PII. `warehouse/analytics_catalog.yaml` lists every published table and
every column of it, with its description; only those columns are selected out of the restricted
zone, so the dictionary is complete by construction and a new restricted column never leaks.

A night's zone is built beside the published one and swapped in whole:

- `analytics.duckdb` is written to a temporary file in the warehouse directory, then renamed over
  the old one (a reader sees the previous file or the new one);
- `parquet` is a symlink to `analytics_versions/<version>/parquet`; the new version is written in
  full, then the symlink is replaced atomically. The previous version is kept (a reader in the
  middle of a scan keeps its files); older ones are removed.

Rows are written in the catalog's `order_by` order, so a rerun on the same data writes the same
rows in the same order.

Keys that would let a reader trace a row back to a source record or a person (period ids, FEINs,
the SSN behind `customers.ssn_token`) go out as keyed tokens: the publish queries call
`ww_token(kind, value)`, registered on the connection for the build with the warehouse's token key
(see `warehouse.privacy`). The key itself is never written to either zone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from warehouse.files import write_text_atomic
from warehouse.privacy import (
    TOKEN_FUNCTION,
    TokenKey,
    ensure_write_audit,
    register_token_function,
    resolve_token_key,
)
from warehouse.sql import has_table, ident, registered, sql

CATALOG_PATH = Path(__file__).resolve().parent / "analytics_catalog.yaml"
ANALYTICS_DB = "analytics.duckdb"
PARQUET_LINK = "parquet"
VERSIONS_DIR = "analytics_versions"
DICTIONARY = Path("docs") / "data_dictionary.md"
DICTIONARY_TABLE = "data_dictionary"
_SOURCE_SQL = re.compile(r"^publish/[a-z_]+\.sql$")


@dataclass(frozen=True)
class TableSpec:
    """One published table as the catalog describes it."""

    name: str
    one_row_per: str
    description: str
    source: str
    order_by: tuple[str, ...]
    columns: Mapping[str, str]
    partition_by: tuple[str, ...] = ()
    """Hive-partitioned Parquet (`<table>/<col>=<value>/data_0.parquet`) for the big tables, so
    Spark, Trino or DuckDB read only the partitions a query needs."""

    def select_sql(self) -> str:
        """The SELECT of exactly the documented columns, in catalog order."""
        source = f"({sql(self.source)})" if _SOURCE_SQL.match(self.source) else ident(self.source)
        cols = ", ".join(ident(c) for c in self.columns)
        order = ", ".join(ident(c) for c in self.order_by) or "ALL"
        return f"SELECT {cols} FROM {source} AS src ORDER BY {order}"

    @property
    def uses_tokens(self) -> bool:
        """Whether the publish query calls the token function (then the build needs the key)."""
        return bool(_SOURCE_SQL.match(self.source)) and f"{TOKEN_FUNCTION}(" in sql(self.source)

    @property
    def source_table(self) -> str:
        """The restricted table this one is built from (first FROM of a publish/ query)."""
        if not _SOURCE_SQL.match(self.source):
            return self.source
        found = re.search(r"\bFROM\s+([a-z_]+)", sql(self.source))
        if not found:
            raise ValueError(f"{self.source}: no FROM table")
        return found.group(1)


@cache
def load_catalog(path: Path = CATALOG_PATH) -> tuple[TableSpec, ...]:
    """The published tables, in the catalog's order; a malformed entry is an error naming it."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    specs = []
    for name, entry in doc["tables"].items():
        ident(name)
        missing = {"one_row_per", "description", "source", "columns"} - set(entry)
        if missing:
            raise ValueError(f"{path.name}: table {name} lacks {sorted(missing)}")
        columns = {str(c): str(d) for c, d in entry["columns"].items()}
        order_by = tuple(entry.get("order_by", ()))
        partition_by = tuple(entry.get("partition_by", ()))
        if unknown := [c for c in (*order_by, *partition_by) if c not in columns]:
            raise ValueError(f"{path.name}: table {name} orders by undocumented {unknown}")
        specs.append(
            TableSpec(
                name=name,
                one_row_per=str(entry["one_row_per"]),
                description=str(entry["description"]),
                source=str(entry["source"]),
                order_by=order_by,
                partition_by=partition_by,
                columns=columns,
            )
        )
    return tuple(specs)


@dataclass
class PublishResult:
    """What went out: rows per table, and which catalog tables had no source yet."""

    version: str
    rows: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    analytics_path: Path | None = None
    parquet_path: Path | None = None
    dictionary_path: Path | None = None


def publish_analytics(
    con: duckdb.DuckDBPyConnection,
    warehouse: Path,
    version: str,
    *,
    as_of: dt.date | None = None,
    required: bool = True,
    catalog: tuple[TableSpec, ...] | None = None,
    key: TokenKey | None = None,
) -> PublishResult:
    """Build the analytics zone from the restricted connection `con` and swap it in.

    `version` names the build (the run id). With `required`, a catalog table whose restricted
    source does not exist is an error; otherwise it is skipped and listed (a partial warehouse,
    e.g. before the first wage file). `key` makes the tokens; by default the key configured for
    the process (WW_HMAC_KEY[_FILE]), else the warehouse's generated `keys/hmac.key`.
    """
    specs = catalog or load_catalog()
    _check_version(version)
    warehouse = Path(warehouse)
    if any(s.uses_tokens for s in specs):
        register_token_function(con, resolve_token_key(warehouse, key))
    if any(s.source_table == "write_audit" for s in specs):
        ensure_write_audit(con)  # published even before any step has recorded a write
    result = PublishResult(version=version)
    _remove_debris(warehouse)
    tmp_db = warehouse / f".{ANALYTICS_DB}.{version}.tmp"
    version_dir = warehouse / VERSIONS_DIR / version
    with contextlib.suppress(FileNotFoundError):
        tmp_db.unlink()
    if version_dir.exists():
        shutil.rmtree(version_dir)
    (version_dir / PARQUET_LINK).mkdir(parents=True)
    alias = "analytics_build"
    con.execute(f"ATTACH {_literal(str(tmp_db))} AS {alias}")
    try:
        dictionary_rows: list[dict[str, Any]] = []
        for spec in specs:
            if not has_table(con, spec.source_table):
                if required:
                    raise LookupError(
                        f"analytics table {spec.name}: its source {spec.source_table} does not exist"
                    )
                result.skipped.append(spec.name)
                continue
            target = f"{alias}.{ident(spec.name)}"
            con.execute(f"CREATE TABLE {target} AS {spec.select_sql()}")
            result.rows[spec.name] = int(con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0])
            out = version_dir / PARQUET_LINK / spec.name
            out.mkdir()
            if spec.partition_by:
                parts = ", ".join(ident(c) for c in spec.partition_by)
                order = ", ".join(ident(c) for c in spec.order_by) or "ALL"
                con.execute(
                    f"COPY (SELECT * FROM {target} ORDER BY {order}) TO {_literal(str(out))} "
                    f"(FORMAT parquet, PARTITION_BY ({parts}), OVERWRITE_OR_IGNORE)"
                )
            else:
                con.execute(f"COPY {target} TO {_literal(str(out / 'data.parquet'))} (FORMAT parquet)")
            types = dict(
                con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_catalog = ? AND table_name = ? ORDER BY ordinal_position",
                    [alias, spec.name],
                ).fetchall()
            )
            for column, description in spec.columns.items():
                dictionary_rows.append(
                    {
                        "table_name": spec.name,
                        "column_name": column,
                        "data_type": types[column],
                        "description": description,
                    }
                )
        dictionary = pd.DataFrame(
            dictionary_rows, columns=["table_name", "column_name", "data_type", "description"]
        )
        with registered(con, "dictionary_frame", dictionary):
            con.execute(f"CREATE TABLE {alias}.{DICTIONARY_TABLE} AS SELECT * FROM dictionary_frame")
        con.execute("CHECKPOINT " + alias)
    except BaseException:
        con.execute(f"DETACH {alias}")
        with contextlib.suppress(FileNotFoundError):
            tmp_db.unlink()
        shutil.rmtree(version_dir, ignore_errors=True)
        raise
    con.execute(f"DETACH {alias}")
    dictionary_md = render_dictionary(specs, dictionary, result.rows, as_of)
    result.dictionary_path = write_text_atomic(warehouse / DICTIONARY, dictionary_md, 0o644)
    os.chmod(tmp_db, 0o644)
    previous = _link_version(warehouse / PARQUET_LINK)
    _swap_link(warehouse / PARQUET_LINK, version_dir / PARQUET_LINK)
    os.replace(tmp_db, warehouse / ANALYTICS_DB)
    _prune_versions(warehouse / VERSIONS_DIR, keep={version, *([previous] if previous else [])})
    result.analytics_path = warehouse / ANALYTICS_DB
    result.parquet_path = warehouse / PARQUET_LINK
    return result


def render_dictionary(
    specs: tuple[TableSpec, ...], dictionary: pd.DataFrame, rows: Mapping[str, int], as_of: dt.date | None
) -> str:
    """The data dictionary as markdown: every published table, what a row is, every column.

    No row counts: the dictionary changes only when the catalog or a type does."""
    types: dict[tuple[str, str], str] = {
        (str(t), str(c)): str(d)
        for t, c, d in zip(
            dictionary["table_name"], dictionary["column_name"], dictionary["data_type"], strict=True
        )
    }
    lines = [
        "# Analytics zone: data dictionary",
        "",
        "Generated by the pipeline from `warehouse/analytics_catalog.yaml` and the published tables"
        + (f" (as of {as_of.isoformat()})" if as_of else "")
        + ". The same tables are in `analytics.duckdb` (DuckDB; also `SELECT * FROM data_dictionary`) and "
        "as Parquet in `parquet/<table>/` (`data.parquet`, or Hive partitions `<column>=<value>/` for the "
        "tables marked partitioned below; read them with `read_parquet('parquet/<table>/**/*.parquet', "
        "hive_partitioning = true)` or any engine that reads Hive layouts). No names, SSNs, dates of birth or addresses: "
        "people are `customer_id`s. The only value derived from an SSN is a keyed HMAC token in `customers`, "
        "which joins only tokens made with the same key; the other keys (`period_key`, `employer_key`, …) "
        "are keyed tokens too. This zone is what analysts may read; the restricted zone is not theirs.",
        "",
        "| table | one row per |",
        "|---|---|",
    ]
    published = [s for s in specs if s.name in rows]
    lines += [f"| [`{s.name}`](#{s.name}) | {s.one_row_per} |" for s in published]
    for s in published:
        parted = f" Parquet partitioned by {', '.join(s.partition_by)}." if s.partition_by else ""
        lines += ["", f"## {s.name}", "", s.description, "", f"One row per {s.one_row_per}.{parted}", ""]
        lines += ["| column | type | description |", "|---|---|---|"]
        lines += [f"| `{c}` | {types[(s.name, c)]} | {d} |" for c, d in s.columns.items()]
    return "\n".join(lines) + "\n"


def _literal(text: str) -> str:
    """A quoted SQL string for ATTACH/COPY targets (paths DuckDB will not take as parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _check_version(version: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", version):
        raise ValueError(f"not a safe version name: {version!r}")


def _swap_link(link: Path, target: Path) -> None:
    """Point `link` at `target` atomically (a new symlink renamed over the old one)."""
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)  # a plain directory from an older layout
    tmp = link.with_name(f".{link.name}.{time.monotonic_ns()}.tmp")
    os.symlink(os.path.relpath(target, link.parent), tmp)
    os.replace(tmp, link)


def _link_version(link: Path) -> str | None:
    """The version the `parquet` link points at now (None: no link yet)."""
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).parent.name


def _remove_debris(warehouse: Path) -> None:
    """What a build killed mid-way left: its temporary database and a partial version directory
    (any version the `parquet` link does not point at is either that or already superseded)."""
    for stale in warehouse.glob(f".{ANALYTICS_DB}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    for stale in warehouse.glob(f".{ANALYTICS_DB}.*.tmp.wal"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


def _prune_versions(versions: Path, keep: set[str]) -> None:
    """Keep the version just published and the one it replaced (a reader may still be scanning
    it); everything else is older, or debris of a killed build."""
    for d in versions.iterdir():
        if d.is_dir() and d.name not in keep:
            shutil.rmtree(d, ignore_errors=True)
