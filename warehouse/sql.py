"""The one helper that loads SQL from `warehouse/sql/`. Values always go in as bound parameters;
only identifiers that come from our own layouts (validated here) are substituted into the text."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

SQL_DIR = Path(__file__).resolve().parent / "sql"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str) -> str:
    """A safe, quoted SQL identifier (our own layout names only; anything else is an error)."""
    if not _IDENT.match(name):
        raise ValueError(f"not a safe identifier: {name!r}")
    return f'"{name}"'


@cache
def _text(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def sql(name: str, **identifiers: str | list[str]) -> str:
    """The statement in `warehouse/sql/<name>` with `{placeholders}` filled by identifiers.

    A list becomes a comma-separated list of quoted identifiers; `{x_eq}`-style joins are built
    by the caller with `join_on`.
    """
    values = {}
    for key, val in identifiers.items():
        if isinstance(val, list):
            values[key] = ", ".join(ident(v) for v in val)
        elif key.endswith("_sql"):  # pre-built fragments from join_on()/ident() only
            values[key] = val
        else:
            values[key] = ident(val)
    return _text(name).format(**values)


def join_on(left: str, right: str, columns: list[str]) -> str:
    """`l.a IS NOT DISTINCT FROM r.a AND ...` for a compound key."""
    return " AND ".join(
        f"{ident(left)}.{ident(c)} IS NOT DISTINCT FROM {ident(right)}.{ident(c)}" for c in columns
    )


_NAMED = re.compile(r"\$([a-z_][a-z0-9_]*)")


def run_named(
    con: duckdb.DuckDBPyConnection, name: str, values: Mapping[str, Any] | None = None
) -> list[Any]:
    """Run `warehouse/sql/<name>` binding the `$x` values it names, and only those (DuckDB refuses
    unused named parameters); a named value that is missing is an error naming the file."""
    text = sql(name)
    used = set(_NAMED.findall(text))
    values = values or {}
    if missing := used - set(values):
        raise KeyError(f"{name}: no value for {sorted(missing)}")
    return con.execute(text, {k: v for k, v in values.items() if k in used}).fetchall()


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a (non-temporary) table or view of this name exists in the current schema."""
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = current_schema()",
        [name],
    ).fetchall()
    return bool(rows[0][0])


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> Iterator[str]:
    """A DataFrame visible to SQL as `name` for the block, unregistered however the block ends."""
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction for the block: committed when it completes, rolled back however it fails,
    so readers see the previous tables or the new ones, never half a rebuild."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
