"""Fault injection, one test per delivery problem: what was loaded, what was set aside, and what
load_audit says. Drops are hand-built per the contract (tests/drops.py); loads run for real into
DuckDB files under tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from tests.drops import write_drop, write_file
from warehouse.ingest import LoadReport, connect, ingest


def load(tmp_path: Path) -> tuple[LoadReport, duckdb.DuckDBPyConnection]:
    report = ingest(tmp_path / "landing", tmp_path / "wh")
    return report, connect(tmp_path / "wh")


def audit(con: duckdb.DuckDBPyConnection, name_like: str = "%") -> list[tuple[object, ...]]:
    return con.execute(
        "SELECT file_name, status, rows_in_file, rows_loaded, rows_quarantined, reason FROM load_audit "
        "WHERE file_name LIKE $1 ORDER BY load_id",
        [name_like],
    ).fetchall()


def one(con: duckdb.DuckDBPyConnection, query: str, *params: object) -> object:
    row = con.execute(query, list(params)).fetchone()
    assert row is not None
    return row[0]


def svc(sid: str, **kw: str) -> dict[str, str]:
    return {"Service ID": sid, **kw}


@pytest.fixture()
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


def test_truncated_fixed_width_file_rejects_the_drop(tmp_path: Path, landing: Path) -> None:
    write_drop(landing, "ui", "20240301", {"ui_claims": [{"claim_id": "C1"}, {"claim_id": "C2"}]}, full=True)
    path = landing / "ui/20240301/UICLM.20240301.DAT"
    path.write_bytes(
        path.read_bytes()[:-300]
    )  # cut off in transit: the trailer and part of a record are gone
    report, con = load(tmp_path)
    rows = audit(con)
    assert [r[:2] for r in rows] == [("ui/20240301/UICLM.20240301.DAT", "REJECTED")]
    assert "trailer" in str(rows[0][5]).lower()
    assert one(con, "SELECT count(*) FROM hist_ui_claims") == 0
    assert report.rejected and not report.totals()["rows_loaded"]


def test_control_file_digest_mismatch_rejects_the_whole_drop(tmp_path: Path, landing: Path) -> None:
    write_file(landing, "wp_registrations", "20240301", [{}], ctl_digest="0" * 64)
    write_file(landing, "wp_services", "20240301", [svc("S1")])
    _, con = load(tmp_path)
    rows = {r[0]: r for r in audit(con)}
    assert rows["wp/20240301/wp_registrations_20240301.csv"][1] == "REJECTED"
    assert "sha256" in str(rows["wp/20240301/wp_registrations_20240301.csv"][5])
    assert rows["wp/20240301/wp_services_20240301.csv"][1] == "REJECTED"  # held back with its drop
    assert one(con, "SELECT count(*) FROM hist_wp_services") == 0
    assert one(con, "SELECT count(*) FROM hist_wp_registrations") == 0


def test_identical_redelivery_is_duplicate_and_loads_nothing_twice(tmp_path: Path, landing: Path) -> None:
    write_drop(landing, "wp", "20240301", {"wp_services": [svc("S1"), svc("S2")]})
    load(tmp_path)[1].close()
    target = landing / "wp/20240301/wp_services_20240301.csv"
    data = target.read_bytes()
    target.write_bytes(data)  # the system sends the same bytes again
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    report, con = load(tmp_path)
    statuses = [r[1] for r in audit(con, "%wp_services%")]
    assert statuses == ["LOADED", "DUPLICATE"]
    assert report.by_status() == {"DUPLICATE": 1}
    assert one(con, "SELECT count(*) FROM hist_wp_services") == 2
    # and a run with nothing new does nothing at all
    again, con2 = load(tmp_path)
    assert again.files == [] and one(con2, "SELECT count(*) FROM load_audit") == 3


def test_older_version_redelivered_after_newer_never_overwrites(tmp_path: Path, landing: Path) -> None:
    old = svc("S1", **{"Service Code": "101", "Last Updated": "03/01/2024 10:00:00"})
    new = svc("S1", **{"Service Code": "104", "Last Updated": "03/05/2024 09:00:00"})
    write_drop(landing, "wp", "20240302", {"wp_services": [old]})
    write_drop(landing, "wp", "20240306", {"wp_services": [new]})
    write_drop(landing, "wp", "20240310", {"wp_services": [old]})  # the older version sent again
    report, con = load(tmp_path)
    assert report.by_status() == {"LOADED": 6}
    assert one(con, "SELECT service_code FROM stg_wp_services WHERE service_id = 'S1'") == "104"
    assert one(con, "SELECT count(*) FROM hist_wp_services") == 2  # both versions kept, the re-send not twice
    assert [r[3] for r in audit(con, "%wp_services%")] == [1, 1, 1]


def test_out_of_order_nights_end_in_the_same_state(tmp_path: Path, landing: Path) -> None:
    nights = {
        "20240302": [svc("S1", **{"Service Code": "101", "Last Updated": "03/01/2024 10:00:00"})],
        "20240303": [
            svc("S1", **{"Service Code": "102", "Last Updated": "03/02/2024 10:00:00"}),
            svc("S2", **{"Last Updated": "03/02/2024 11:00:00"}),
        ],
        "20240304": [svc("S2", **{"Record Status": "Deleted", "Last Updated": "03/03/2024 08:00:00"})],
    }
    for night in ("20240304", "20240302"):  # the later night arrives first
        write_drop(landing, "wp", night, {"wp_services": nights[night]})
    load(tmp_path)[1].close()
    write_drop(landing, "wp", "20240303", {"wp_services": nights["20240303"]})  # late
    _, con = load(tmp_path)
    state = con.execute(
        "SELECT service_id, service_code, _is_deleted FROM cur_wp_services ORDER BY 1"
    ).fetchall()
    assert state == [("S1", "102", False), ("S2", "101", True)]
    assert one(con, "SELECT count(*) FROM stg_wp_services") == 1
    # an in-order load of the same nights gives the same current state
    other = tmp_path / "in_order"
    for night in sorted(nights):
        write_drop(other / "landing", "wp", night, {"wp_services": nights[night]})
    ingest(other / "landing", other / "wh")
    con2 = connect(other / "wh")
    assert (
        con2.execute(
            "SELECT service_id, service_code, _is_deleted FROM cur_wp_services ORDER BY 1"
        ).fetchall()
        == state
    )


def test_a_missing_night_is_caught_up_by_the_next_drop(tmp_path: Path, landing: Path) -> None:
    write_drop(landing, "wp", "20240301", {"wp_services": [svc("S1")]}, full=True)
    # no drop on 2024-03-02; the 03-03 delta carries both days' changes
    write_drop(
        landing,
        "wp",
        "20240303",
        {
            "wp_services": [
                svc("S2", **{"Service Date": "03/01/2024", "Last Updated": "03/01/2024 17:00:00"}),
                svc("S3", **{"Service Date": "03/02/2024", "Last Updated": "03/02/2024 09:00:00"}),
            ]
        },
    )
    report, con = load(tmp_path)
    assert report.by_status() == {"LOADED": 4}
    assert one(con, "SELECT count(*) FROM stg_wp_services") == 3
    assert one(con, "SELECT count(*) FROM load_audit WHERE file_name LIKE '%20240302%'") == 0


def test_full_drop_marks_absent_keys_removed_at_source(tmp_path: Path, landing: Path) -> None:
    write_drop(landing, "wp", "20240301", {"wp_services": [svc("S1"), svc("S2"), svc("S3")]}, full=True)
    write_drop(
        landing, "wp", "20240305", {"wp_services": [svc("S4", **{"Last Updated": "03/04/2024 10:00:00"})]}
    )
    write_drop(
        landing,
        "wp",
        "20240310",
        {"wp_services": [svc("S1"), svc("S3"), svc("S4", **{"Last Updated": "03/04/2024 10:00:00"})]},
        full=True,
    )
    _, con = load(tmp_path)
    removed = con.execute("SELECT service_id FROM cur_wp_services WHERE _removed_at_source").fetchall()
    assert removed == [("S2",)]
    assert sorted(r[0] for r in con.execute("SELECT service_id FROM stg_wp_services").fetchall()) == [
        "S1",
        "S3",
        "S4",
    ]
    assert one(con, "SELECT count(*) FROM hist_wp_services WHERE service_id = 'S2'") == 1  # history kept
    # the key comes back when delivered again after the FULL
    write_drop(
        landing, "wp", "20240312", {"wp_services": [svc("S2", **{"Last Updated": "03/11/2024 10:00:00"})]}
    )
    con.close()
    _, con = load(tmp_path)
    assert one(con, "SELECT count(*) FROM stg_wp_services WHERE service_id = 'S2'") == 1


def test_deleted_status_rows_leave_reporting_but_keep_history(tmp_path: Path, landing: Path) -> None:
    write_drop(landing, "ui", "20240301", {"ui_claims": [{"claim_id": "C1"}, {"claim_id": "C2"}]}, full=True)
    write_drop(
        landing,
        "ui",
        "20240302",
        {"ui_claims": [{"claim_id": "C2", "status": "D", "last_updated": "20240301180000"}]},
    )
    _, con = load(tmp_path)
    assert [r[0] for r in con.execute("SELECT claim_id FROM stg_ui_claims").fetchall()] == ["C1"]
    assert con.execute("SELECT status, _is_deleted FROM cur_ui_claims WHERE claim_id = 'C2'").fetchall() == [
        ("D", True)
    ]
    assert one(con, "SELECT count(*) FROM hist_ui_claims WHERE claim_id = 'C2'") == 2


def test_amended_wage_quarter_replaces_the_quarter(tmp_path: Path, landing: Path) -> None:
    first = [{"ssn": "123456780", "wages": "00000100000"}, {"ssn": "222334444", "wages": "00000050000"}]
    write_file(landing, "ui_wages", "2024Q1", first)
    write_file(
        landing,
        "ui_wages",
        "2023Q4",
        [{"ssn": "123456780", "year": "2023", "quarter": "4", "wages": "00000090000"}],
    )
    load(tmp_path)[1].close()
    amended = [
        {"ssn": "123456780", "wages": "00000120000"},
        {"ssn": "222334444", "wages": "00000050000"},
        {"ssn": "333445555", "wages": "00000070000"},
    ]
    write_file(landing, "ui_wages", "2024Q1", amended)  # the newer delivery of the quarter
    _, con = load(tmp_path)
    assert [r[1] for r in audit(con, "%2024Q1%")] == ["SUPERSEDED", "LOADED"]
    q1 = con.execute("SELECT ssn, wages FROM stg_ui_wages WHERE _period = '2024Q1' ORDER BY ssn").fetchall()
    assert [(s, float(w)) for s, w in q1] == [
        ("123456780", 1200.0),
        ("222334444", 500.0),
        ("333445555", 700.0),
    ]
    assert one(con, "SELECT count(*) FROM stg_ui_wages WHERE _period = '2023Q4'") == 1  # other quarters kept


def test_malformed_rows_are_set_aside_and_the_rest_loads(tmp_path: Path, landing: Path) -> None:
    good = [svc("S1"), svc("S7")]
    bad_lines = {
        "field_count": "S2,IA0000000001,101,03/01/2024,Y,Ames,Active",  # a field short
        "encoding": "S3,IA0000000001,101,03/01/2024,Y,Am\udcffes,Active,03/01/2024 10:00:00",
        "bad_date": "S4,IA0000000001,101,02/30/2024,Y,Ames,Active,03/01/2024 10:00:00",
        "bad_code": "S5,IA0000000001,999,03/01/2024,Y,Ames,Active,03/01/2024 10:00:00",
        "unbalanced_quote": 'S6,IA0000000001,101,03/01/2024,Y,"Ames,Active,03/01/2024 10:00:00',
        "missing_key": ",IA0000000001,101,03/01/2024,Y,Ames,Active,03/01/2024 10:00:00",
    }
    rows = [good[0], *bad_lines.values(), good[1]]
    write_drop(landing, "wp", "20240301", {"wp_services": rows})
    # bad amount: Adult Ed hours that are not a number, beside a good row
    write_drop(
        landing,
        "adult_ed",
        "20240301",
        {
            "ae_attendance": [
                {"ClassID": "CL1"},
                "100001\tCL2\t2/12/2024\ttwo",
                {"ClassID": "CL3", "Hours": "99"},
            ]
        },
    )
    report, con = load(tmp_path)
    q = con.execute(
        "SELECT file_name, line_number, kind, reason, raw_record FROM quarantine "
        "ORDER BY file_name, line_number"
    ).fetchall()
    wp = [r for r in q if "wp_services" in r[0]]
    assert [(r[1], r[2]) for r in wp] == [(i + 3, k) for i, k in enumerate(bad_lines)]
    assert all(r[3].startswith(f"line {r[1]}:") for r in q)
    assert "Service Code '999' is not one of" in next(r[3] for r in wp if r[2] == "bad_code")
    assert "'02/30/2024' is not a valid date" in next(r[3] for r in wp if r[2] == "bad_date")
    ae = [(r[1], r[2]) for r in q if "ae_attendance" in r[0]]
    assert ae == [(3, "bad_amount"), (4, "bad_amount")]  # not a number; an impossible 99 hours in a day
    assert sorted(x[0] for x in con.execute("SELECT service_id FROM stg_wp_services").fetchall()) == [
        "S1",
        "S7",
    ]
    row = audit(con, "%wp_services%")[0]
    assert row[1:5] == ("LOADED", 8, 2, 6)
    assert report.quarantine_reasons["bad_amount"] == 2


def test_schema_drift_stops_that_file_with_a_clear_error(tmp_path: Path, landing: Path) -> None:
    write_drop(landing, "wp", "20240301", {"wp_registrations": [{}], "wp_services": [svc("S1")]})
    path = landing / "wp/20240301/wp_services_20240301.csv"
    text = path.read_text().replace("Office,", "Office Code,", 1)  # a renamed column
    path.write_text(text)
    import hashlib

    ctl = path.with_name(path.name + ".ctl")
    ctl.write_text(
        ctl.read_text().split("sha256=")[0]
        + f"sha256={hashlib.sha256(path.read_bytes()).hexdigest()}\n"
        + "\n".join(ctl.read_text().splitlines()[2:])
        + "\n"
    )
    report, con = load(tmp_path)
    rows = {r[0]: r for r in audit(con)}
    services = rows["wp/20240301/wp_services_20240301.csv"]
    assert services[1] == "REJECTED"
    assert (
        "schema drift" in str(services[5])
        and "'Office Code'" in str(services[5])
        and "'Office'" in str(services[5])
    )
    assert rows["wp/20240301/wp_registrations_20240301.csv"][1] == "LOADED"  # the rest of the drop loads
    assert one(con, "SELECT count(*) FROM hist_wp_services") == 0
    assert [f.file_name for f in report.rejected] == ["wp/20240301/wp_services_20240301.csv"]


def test_bad_identity_values_never_set_a_row_aside(tmp_path: Path, landing: Path) -> None:
    write_drop(
        landing,
        "wp",
        "20240301",
        {
            "wp_registrations": [
                {
                    "Individual ID": "IA1",
                    "SSN": "77S-71-2346",
                    "Date of Birth": "09/07/988",
                    "Gender": "Unknown",
                },
                {"Individual ID": "IA2", "SSN": "", "Date of Birth": "", "First Name": ""},
            ]
        },
    )
    report, con = load(tmp_path)
    assert report.totals()["rows_quarantined"] == 0
    got = con.execute(
        "SELECT individual_id, ssn, birth_date, birth_date__invalid, birth_date__raw, sex, sex__invalid "
        "FROM stg_wp_registrations ORDER BY 1"
    ).fetchall()
    assert got[0] == ("IA1", "77S-71-2346", None, True, "09/07/988", None, True)
    assert got[1][:3] == ("IA2", None, None)
    from warehouse.persons import build_person_records

    build_person_records(con)
    assert con.execute(
        "SELECT source_record_id, ssn, ssn_status, birth_date_status FROM person_records ORDER BY 1"
    ).fetchall() == [("IA1", None, "MALFORMED", "UNPARSEABLE"), ("IA2", None, "MISSING", "MISSING")]


def test_a_drop_still_arriving_waits_then_loads(tmp_path: Path, landing: Path) -> None:
    write_drop(landing, "wp", "20240301", {"wp_registrations": [{}], "wp_services": [svc("S1")]})
    ctl = landing / "wp/20240301/wp_services_20240301.csv.ctl"
    text = ctl.read_text()
    ctl.unlink()  # the data file is there, its control file not yet
    report, con = load(tmp_path)
    assert report.files == [] and one(con, "SELECT count(*) FROM load_audit") == 0
    con.close()
    ctl.write_text(text)
    report, con = load(tmp_path)
    assert report.by_status() == {"LOADED": 2}
    assert one(con, "SELECT count(*) FROM stg_wp_services") == 1


def test_a_rejected_drop_loads_once_resent_correctly(tmp_path: Path, landing: Path) -> None:
    write_file(landing, "vr_cases", "20240301", [{}], ctl_records=5)  # a wrong count: rejected
    write_file(landing, "vr_outcomes", "20240301", [])
    _, con = load(tmp_path)
    assert {r[1] for r in audit(con)} == {"REJECTED"}
    con.close()
    write_file(landing, "vr_cases", "20240301", [{}])  # the sender re-sends a correct control file
    report, con = load(tmp_path)
    assert report.by_status() == {"LOADED": 2}
    assert one(con, "SELECT count(*) FROM stg_vr_cases") == 1


def test_a_load_that_dies_midway_leaves_a_consistent_warehouse_and_the_next_run_finishes(
    tmp_path: Path, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warehouse.ingest as wi

    for night in ("20240301", "20240302", "20240303"):
        write_drop(
            landing,
            "wp",
            night,
            {
                "wp_services": [svc(f"S{night}"), svc(f"T{night}")],
                "wp_registrations": [{"Individual ID": f"IA{night}"}],
            },
            full=night == "20240301",
        )
    monkeypatch.setattr(wi, "BATCH_BYTES", 1)  # one file a batch
    real = wi._load_type
    calls = {"n": 0}

    def dies_on_the_fourth(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(wi, "_load_type", dies_on_the_fourth)
    with pytest.raises(RuntimeError, match="killed"):
        ingest(landing, tmp_path / "wh")
    con = connect(tmp_path / "wh")
    loaded = {
        r[0] for r in con.execute("SELECT file_name FROM load_audit WHERE status = 'LOADED'").fetchall()
    }
    assert len(loaded) == 3  # three batches committed, the fourth rolled back whole
    in_hist = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT _file FROM hist_wp_services UNION SELECT DISTINCT _file FROM hist_wp_registrations"
        ).fetchall()
    }
    assert in_hist == loaded  # no rows without their audit record, no audit record without its rows
    con.close()
    monkeypatch.setattr(wi, "_load_type", real)
    ingest(landing, tmp_path / "wh")
    ingest(landing, tmp_path / "once")
    a, b = connect(tmp_path / "wh"), connect(tmp_path / "once")
    for table in ("stg_wp_services", "stg_wp_registrations"):
        q = f"SELECT * EXCLUDE (_load_id) FROM {table} ORDER BY ALL"
        assert a.execute(q).fetchall() == b.execute(q).fetchall()
    assert a.execute("SELECT count(*) FROM load_audit").fetchone() == (6,)


def test_a_changed_row_with_the_same_stamp_is_set_aside_not_silently_dropped(
    tmp_path: Path, landing: Path
) -> None:
    stamp = {"Last Updated": "03/01/2024 10:00:00"}
    write_drop(landing, "wp", "20240302", {"wp_services": [svc("S1", **stamp), svc("S2", **stamp)]})
    write_drop(
        landing,
        "wp",
        "20240303",
        {
            "wp_services": [
                svc("S1", **stamp),  # the same version re-sent: fine
                svc(
                    "S2", **{**stamp, "Service Code": "104"}
                ),  # other content under the same stamp: a conflict
                svc("S3", **stamp),
                svc("S3", **{**stamp, "Office": "Waterloo"}),
            ]
        },
    )  # a conflict inside one file
    report, con = load(tmp_path)
    q = con.execute("SELECT file_name, line_number, kind, reason FROM quarantine ORDER BY 1, 2").fetchall()
    assert [(f.split("/")[1], n, k) for f, n, k, _ in q] == [
        ("20240303", 3, "conflicting_version"),
        ("20240303", 5, "conflicting_version"),
    ]
    assert "wp/20240302/wp_services_20240302.csv line 3" in q[0][3]
    assert "wp/20240303/wp_services_20240303.csv line 4" in q[1][3]
    assert con.execute(
        "SELECT service_id, service_code, office FROM stg_wp_services ORDER BY 1"
    ).fetchall() == [("S1", "101", "Ames"), ("S2", "101", "Ames"), ("S3", "101", "Ames")]
    second = audit(con, "%20240303%wp_services%")[0]
    assert second[1:5] == ("LOADED", 4, 2, 2)  # every row accounted for
    assert report.quarantine_reasons == {"conflicting_version": 2}
