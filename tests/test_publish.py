"""The analytics zone: only catalogued columns leave the restricted zone; the swap is atomic."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from warehouse.publish import (
    ANALYTICS_DB,
    DICTIONARY,
    PARQUET_LINK,
    VERSIONS_DIR,
    TableSpec,
    load_catalog,
    publish_analytics,
)

PEOPLE = TableSpec(
    name="customers",
    one_row_per="customer",
    description="test customers",
    source="customer_demographics",
    order_by=("customer_id",),
    columns={"customer_id": "the id", "sex": "M/F/U"},
)


def _restricted(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "restricted.duckdb"))
    # a restricted table with a column the catalog does not list: it must not be published
    con.execute("CREATE TABLE customer_demographics (customer_id BIGINT, sex VARCHAR, ssn VARCHAR)")
    con.execute("INSERT INTO customer_demographics VALUES (2, 'F', '219099999'), (1, 'M', '219088888')")
    return con


def test_only_catalogued_columns_are_published_in_order(tmp_path: Path) -> None:
    con = _restricted(tmp_path)
    res = publish_analytics(con, tmp_path, "v1", catalog=(PEOPLE,))
    assert res.rows == {"customers": 2}
    ana = duckdb.connect(str(tmp_path / ANALYTICS_DB), read_only=True)
    assert ana.execute("SELECT * FROM customers").fetchall() == [(1, "M"), (2, "F")]
    assert ana.execute("SELECT column_name, data_type FROM data_dictionary").fetchall() == [
        ("customer_id", "BIGINT"),
        ("sex", "VARCHAR"),
    ]
    ana.close()
    parquet = pq.read_table(tmp_path / PARQUET_LINK / "customers" / "data.parquet")
    assert parquet.column_names == ["customer_id", "sex"]
    text = (tmp_path / DICTIONARY).read_text()
    assert "| `sex` | VARCHAR | M/F/U |" in text and "ssn" not in text
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "restricted.duckdb" and "restricted" not in path.name:
            assert b"219099999" not in path.read_bytes(), path


def test_a_failed_build_leaves_the_published_zone_and_no_debris(tmp_path: Path) -> None:
    con = _restricted(tmp_path)
    publish_analytics(con, tmp_path, "v1", catalog=(PEOPLE,))
    before = (tmp_path / ANALYTICS_DB).read_bytes()
    target_before = (tmp_path / PARQUET_LINK).resolve()
    broken = TableSpec(
        name="broken",
        one_row_per="x",
        description="x",
        source="customer_demographics",
        order_by=(),
        columns={"no_such_column": "x"},
    )
    with pytest.raises(duckdb.Error):
        publish_analytics(con, tmp_path, "v2", catalog=(PEOPLE, broken))
    assert (tmp_path / ANALYTICS_DB).read_bytes() == before
    assert (tmp_path / PARQUET_LINK).resolve() == target_before
    assert not (tmp_path / VERSIONS_DIR / "v2").exists()
    assert not list(tmp_path.glob(".analytics*"))


def test_reruns_write_identical_files_and_old_versions_are_pruned(tmp_path: Path) -> None:
    con = _restricted(tmp_path)
    publish_analytics(con, tmp_path, "v1", catalog=(PEOPLE,))
    first = (tmp_path / PARQUET_LINK / "customers" / "data.parquet").read_bytes()
    publish_analytics(con, tmp_path, "v2", catalog=(PEOPLE,))
    assert (tmp_path / PARQUET_LINK).resolve().parent.name == "v2"
    assert (tmp_path / PARQUET_LINK / "customers" / "data.parquet").read_bytes() == first
    publish_analytics(con, tmp_path, "v3", catalog=(PEOPLE,))
    # the current and the previous version stay (a reader may still be scanning it)
    assert sorted(p.name for p in (tmp_path / VERSIONS_DIR).iterdir()) == ["v2", "v3"]


def test_missing_sources_are_an_error_unless_partial(tmp_path: Path) -> None:
    con = duckdb.connect()
    with pytest.raises(LookupError, match="customer_demographics"):
        publish_analytics(con, tmp_path, "v1", catalog=(PEOPLE,))
    res = publish_analytics(con, tmp_path, "v1", catalog=(PEOPLE,), required=False, as_of=dt.date(2025, 1, 1))
    assert res.skipped == ["customers"] and res.rows == {}


def test_the_catalog_documents_every_column_it_publishes() -> None:
    catalog = load_catalog()
    names = [t.name for t in catalog]
    assert len(names) == len(set(names))
    for spec in catalog:
        assert spec.description and spec.one_row_per
        assert all(d.strip() for d in spec.columns.values()), spec.name
        assert not {"ssn", "first_name", "last_name", "birth_date", "street", "phone", "email"} & set(
            spec.columns
        )


def test_big_tables_are_published_as_hive_partitions(tmp_path: Path) -> None:
    con = _restricted(tmp_path)
    spec = dataclasses.replace(PEOPLE, partition_by=("sex",))
    publish_analytics(con, tmp_path, "v1", catalog=(spec,))
    root = tmp_path / PARQUET_LINK / "customers"
    assert sorted(p.name for p in root.iterdir()) == ["sex=F", "sex=M"]
    rows = (
        duckdb.connect()
        .execute(
            "SELECT customer_id, sex FROM read_parquet(?, hive_partitioning = true) ORDER BY 1",
            [str(root / "**" / "*.parquet")],
        )
        .fetchall()
    )
    assert rows == [(1, "M"), (2, "F")]
