"""The canonical person record across the five systems: what linkage consumes.

Each system names its identity fields the same way in its layout (first_name, last_name,
birth_date, ssn, sex, street, city, state, zip or zip5/zip4, phone, email); a layout may instead
carry the whole name in one field whose `format` says `LAST, FIRST MIDDLE, SUFFIX` (VR). So a
new person-bearing system needs only its layout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import pandas as pd

from linkage import standardize as st
from sources.layout import FileLayout, SystemLayout, load_layouts
from warehouse.sql import ident, registered, sql

WHOLE_NAME_FORMAT = "LAST, FIRST MIDDLE, SUFFIX"


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series([None] * len(df), index=df.index, dtype=object)


def standardize_records(layout: FileLayout, df: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Canonical identity columns for one file type's staged rows."""
    out = pd.DataFrame(index=df.index)
    out["source_system"] = layout.system
    out["file_type"] = layout.file_type
    out["source_record_id"] = df[layout.key[0]].astype(str)
    out["person_key"] = df[layout.person_key or layout.key[0]].astype(str)
    whole = next((f for f in layout.fields if f.type == "name" and f.format == WHOLE_NAME_FORMAT), None)
    if whole is not None:
        names = st.parse_last_first(df[whole.name])
    else:
        names = pd.DataFrame(
            {c: _col(df, c) for c in ("first_name", "middle_name", "last_name", "name_suffix")}
        )
    last = st.split_suffix(names["last_name"], names["name_suffix"])
    out["first_name"] = st.normalize_name(names["first_name"])
    out["middle_name"] = st.normalize_name(names["middle_name"])
    out["last_name"] = st.normalize_name(last["name"])
    out["name_suffix"] = last["name_suffix"]
    out["last_name_parts"] = st.surname_parts(out["last_name"])
    dob_field = next((f for f in layout.fields if f.name == "birth_date"), None)
    if dob_field is not None and dob_field.format:
        dob = st.dob_standardize(_col(df, "birth_date__raw"), dob_field.format, as_of)
        out["birth_date"] = dob["birth_date"]
        out["birth_date_status"] = dob["birth_date_status"]
    else:
        out["birth_date"], out["birth_date_status"] = pd.NaT, "MISSING"
    ssn = st.ssn_standardize(_col(df, "ssn"))
    out["ssn"], out["ssn_status"] = ssn["ssn"], ssn["ssn_status"]
    out["sex"] = st.sex_for_matching(_col(df, "sex"))
    out["street"] = st.normalize_street(_col(df, "street"))
    out["city"] = st.normalize_name(_col(df, "city"))
    out["state"] = st.normalize_name(_col(df, "state"))
    zips = _col(df, "zip") if "zip" in df else (_col(df, "zip5").fillna("") + _col(df, "zip4").fillna(""))
    z = st.split_zip(zips)
    out["zip5"], out["zip4"] = z["zip5"], z["zip4"]
    out["phone"] = st.phone_digits(_col(df, "phone"))
    out["email"] = st.normalize_email(_col(df, "email"))
    out["last_delivered"] = pd.to_datetime(df["_extract_date"]).dt.date
    return out.reset_index(drop=True)


def build_person_records(
    con: duckdb.DuckDBPyConnection,
    layouts: Sequence[SystemLayout] | None = None,
    as_of: dt.date | None = None,
) -> dict[str, int]:
    """Rebuild `person_records` from the staged tables; returns the count per system."""
    layouts = tuple(layouts) if layouts is not None else load_layouts()
    if as_of is None:
        row = con.execute("SELECT max(extract_date) FROM load_audit WHERE status = 'LOADED'").fetchone()
        as_of = row[0] if row and row[0] else dt.date.today()
    frames = []
    for system in layouts:
        for lay in system.files:
            if not lay.person:
                continue
            df = con.execute(f"SELECT * FROM {ident('stg_' + lay.file_type)}").df()
            frames.append(standardize_records(lay, df, as_of))
    records = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    con.execute(sql("ingest/person_records_ddl.sql"))
    if len(records):
        with registered(con, "person_batch", records):
            con.execute("INSERT INTO person_records BY NAME SELECT * FROM person_batch")
    return (
        {str(k): int(v) for k, v in records.groupby("source_system").size().items()} if len(records) else {}
    )
