"""Privacy and access (issue 6): keyed tokens, key files, encryption at rest, the write audit.

Expected tokens are computed here with the standard library's `hmac` from the documented formula
(first 32 hex digits of HMAC-SHA256(key, kind + ":" + normalized value)), not by the code under test.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import os
import pickle
import pwd
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.resources import PipelinePaths, privacy_config
from pipelines.settings import Settings, SettingsError
from warehouse.ingest import connect, restricted_path
from warehouse.privacy import (
    HMAC_KEY_FILE,
    KEY_DIR,
    CryptoUnavailableError,
    KeyFileError,
    PrivacyConfig,
    RestrictedKey,
    TokenKey,
    audited_writes,
    configure_process,
    encrypt_database,
    process_config,
    record_writes,
    register_token_function,
)
from warehouse.publish import ANALYTICS_DB, DICTIONARY, TableSpec, publish_analytics

KEY_HEX = "a1" * 16 + "5e" * 16  # 32 bytes, as `openssl rand -hex 32` would give
KEY = bytes.fromhex(KEY_HEX)
OTHER_KEY_HEX = "07" * 32
SSN = "219099999"
FEIN = "123456789"
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _expected(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:32]


def _httpfs_available() -> bool:
    try:
        duckdb.connect().execute("LOAD httpfs")
    except duckdb.Error:
        return False
    return True


HTTPFS = _httpfs_available()


@pytest.fixture(autouse=True)
def _no_process_keys() -> Iterator[None]:
    """Every test starts and ends with no keys configured for the process."""
    configure_process(PrivacyConfig())
    yield
    configure_process(PrivacyConfig())


# ------------------------------------------------------------------------------------ tokens


def test_tokens_follow_the_documented_formula_and_normalize_ssns() -> None:
    key = TokenKey.from_text(KEY_HEX)
    assert key.token("ssn", SSN) == _expected(KEY, "ssn:219099999")
    # the same SSN written with dashes and blanks is the same person for a partner agency
    assert key.token("ssn", " 219-09-9999 ") == key.token("ssn", SSN)
    assert key.token("ssn", None) is None and key.token("ssn", " - ") is None
    # the same key given as base64 is the same key
    assert TokenKey.from_text(base64.b64encode(KEY).decode()).token("ssn", SSN) == key.token("ssn", SSN)


def test_tokens_are_stable_across_processes_and_differ_by_key_and_kind() -> None:
    here = TokenKey.from_text(KEY_HEX).token("ssn", SSN)
    code = (
        "import sys; from warehouse.privacy import TokenKey; "
        "print(TokenKey.from_text(sys.argv[1]).token('ssn', sys.argv[2]))"
    )
    there = subprocess.run(
        [sys.executable, "-c", code, KEY_HEX, SSN], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert there == here == _expected(KEY, "ssn:219099999")
    assert TokenKey.from_text(OTHER_KEY_HEX).token("ssn", SSN) != here
    # the same nine digits as an employer FEIN: another kind, an unrelated token
    assert TokenKey.from_text(KEY_HEX).token("employer", SSN) != here


def test_the_sql_function_gives_the_same_tokens() -> None:
    key = TokenKey.from_text(KEY_HEX)
    con = duckdb.connect()
    register_token_function(con, key)
    register_token_function(con, key)  # a second build on the same connection replaces it
    con.execute("CREATE TABLE v (kind VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO v VALUES ('ssn', '219-09-9999'), ('period', 'WP:1:20240301'), ('ssn', NULL)")
    rows = con.execute("SELECT ww_token(kind, value) FROM v ORDER BY rowid").fetchall()
    assert rows == [(_expected(KEY, "ssn:219099999"),), (_expected(KEY, "period:WP:1:20240301"),), (None,)]


def test_the_key_is_never_shown_or_serialized() -> None:
    key = TokenKey.from_text(KEY_HEX, "WW_HMAC_KEY")
    shown = repr(key) + str(key) + f"{key}"
    assert KEY_HEX not in shown and "WW_HMAC_KEY" in shown and key.fingerprint in shown
    with pytest.raises(TypeError):
        pickle.dumps(key)
    restricted = RestrictedKey("r" * 40, "WW_RESTRICTED_KEY")
    assert "r" * 40 not in repr(restricted)
    # a bad key is refused without echoing it
    with pytest.raises(KeyFileError) as bad:
        TokenKey.from_text("zz-not-a-key-zz", "WW_HMAC_KEY")
    assert "zz-not-a-key-zz" not in str(bad.value)
    with pytest.raises(KeyFileError, match="16 bytes, at least 32"):
        TokenKey.from_text("ab" * 16)


# ---------------------------------------------------------------------------------- key files


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hmac.key"
    path.write_text(KEY_HEX + "\n")
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError) as refused:
        TokenKey.from_file(path)
    assert str(path) in str(refused.value) and "0644" in str(refused.value)
    os.chmod(path, 0o600)
    assert TokenKey.from_file(path).token("ssn", SSN) == _expected(KEY, "ssn:219099999")
    link = tmp_path / "link.key"
    link.symlink_to(path)
    with pytest.raises(KeyFileError, match="symlink"):
        TokenKey.from_file(link)


def test_the_generated_key_is_private_and_reused(tmp_path: Path) -> None:
    first = TokenKey.for_warehouse(tmp_path)
    key_dir = tmp_path / KEY_DIR
    key_file = key_dir / HMAC_KEY_FILE
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    text = key_file.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", text)  # 32 random bytes
    assert first.token("ssn", SSN) == _expected(bytes.fromhex(text), "ssn:219099999")
    # the next night reads the same key: the same tokens
    assert TokenKey.for_warehouse(tmp_path).token("ssn", SSN) == first.token("ssn", SSN)
    assert [p.name for p in key_dir.iterdir()] == [HMAC_KEY_FILE]  # no temporary file left


# ------------------------------------------------------------------------------- publishing

CUSTOMERS = TableSpec(
    name="customers",
    one_row_per="customer",
    description="test",
    source="publish/customers.sql",
    order_by=("customer_id",),
    columns={"customer_id": "id", "sex": "sex", "ssn_token": "token"},
)
PERIODS = TableSpec(
    name="participation",
    one_row_per="period",
    description="test",
    source="publish/participation.sql",
    order_by=("period_key",),
    columns={"period_key": "key", "customer_id": "id", "program": "p", "common_exit_group": "group"},
)
EMPLOYERS = TableSpec(
    name="wages_by_customer_employer_quarter",
    one_row_per="customer, employer and quarter",
    description="test",
    source="publish/wages_by_customer_employer_quarter.sql",
    order_by=("customer_id", "employer_key"),
    columns={"customer_id": "id", "employer_key": "employer", "wages": "wages"},
)
AUDIT = TableSpec(
    name="write_audit",
    one_row_per="write",
    description="test",
    source="write_audit",
    order_by=("table_name",),
    columns={"run_id": "r", "step": "s", "table_name": "t", "rows": "n", "os_user": "u"},
)


def _restricted(warehouse: Path) -> duckdb.DuckDBPyConnection:
    con = connect(warehouse)
    con.execute("CREATE TABLE customer_demographics (customer_id BIGINT, sex VARCHAR)")
    con.execute("INSERT INTO customer_demographics VALUES (1, 'F'), (2, 'M')")
    con.execute(
        "CREATE TABLE customer_identity (customer_id BIGINT, ssn VARCHAR, first_name VARCHAR, "
        "birth_date DATE)"
    )
    con.execute(
        "INSERT INTO customer_identity VALUES (1, $ssn, 'ANNA', DATE '1980-02-03'), (2, NULL, 'BO', NULL)",
        {"ssn": SSN},
    )
    con.execute(
        "CREATE TABLE participation (period_id VARCHAR, customer_id BIGINT, program VARCHAR, "
        "source_record_id VARCHAR, source_person_id VARCHAR, common_exit_group VARCHAR)"
    )
    con.execute(
        "INSERT INTO participation VALUES "
        "('ADULT:P77:20240301', 1, 'ADULT', 'P77', 'X1', 'ADULT:P77:20240301'), "
        "('WP:W9:20240305', 1, 'WP', 'W9', 'X1', 'ADULT:P77:20240301')"
    )
    con.execute(
        "CREATE TABLE wages_by_customer_employer_quarter (customer_id BIGINT, year INTEGER, "
        "quarter INTEGER, employer_fein VARCHAR, wages DECIMAL(18, 2), wage_records BIGINT)"
    )
    con.execute(
        "INSERT INTO wages_by_customer_employer_quarter VALUES (1, 2024, 2, $fein, 5000, 1)", {"fein": FEIN}
    )
    return con


def _published_files(warehouse: Path) -> list[Path]:
    """Everything outside the restricted zone: the analytics zone, Parquet, the dictionary."""
    private = {restricted_path(warehouse).name, restricted_path(warehouse).name + ".wal"}
    return [
        p
        for p in warehouse.rglob("*")
        if p.is_file() and p.name not in private and KEY_DIR not in p.relative_to(warehouse).parts
    ]


def test_publishing_leaks_neither_the_ssn_nor_the_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wh = tmp_path / "wh"
    con = _restricted(wh)
    try:
        publish_analytics(
            con, wh, "v1", catalog=(CUSTOMERS, PERIODS, EMPLOYERS), key=TokenKey.from_text(KEY_HEX)
        )
    finally:
        con.close()
    ana = duckdb.connect(str(wh / ANALYTICS_DB), read_only=True)
    try:
        customers = ana.execute("SELECT customer_id, ssn_token FROM customers").fetchall()
        periods = ana.execute("SELECT period_key, program, common_exit_group FROM participation").fetchall()
        employers = ana.execute("SELECT employer_key FROM wages_by_customer_employer_quarter").fetchall()
    finally:
        ana.close()
    # customer 1's best SSN, as a 32-hex token of the documented formula; customer 2 has none
    assert customers == [(1, _expected(KEY, "ssn:219099999")), (2, None)]
    assert HEX32.match(customers[0][1]) and SSN not in customers[0][1]
    # period keys: tokens of the period ids; the WP period's chain starts with the ADULT period
    adult_key = _expected(KEY, "period:ADULT:P77:20240301")
    assert sorted(periods) == sorted(
        [(adult_key, "ADULT", adult_key), (_expected(KEY, "period:WP:W9:20240305"), "WP", adult_key)]
    )
    assert employers == [(_expected(KEY, "employer:123456789"),)]
    files = _published_files(wh)
    assert {f.name for f in files} >= {ANALYTICS_DB, "data.parquet", DICTIONARY.name}
    secrets_ = [KEY, KEY_HEX.encode(), base64.b64encode(KEY), SSN.encode(), FEIN.encode(), b"P77", b"ANNA"]
    for path in files:
        data = path.read_bytes()
        for secret in secrets_:
            assert secret not in data, (path, secret)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert KEY_HEX not in logged and SSN not in logged


def test_without_a_key_publish_uses_the_process_key_else_the_generated_one(tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    con = _restricted(wh)
    try:
        publish_analytics(con, wh, "v1", catalog=(CUSTOMERS,))  # as the asset calls it today
        generated = (wh / KEY_DIR / HMAC_KEY_FILE).read_text().strip()
        first = duckdb.connect(str(wh / ANALYTICS_DB), read_only=True)
        token = first.execute("SELECT ssn_token FROM customers WHERE customer_id = 1").fetchall()[0][0]
        first.close()
        assert token == _expected(bytes.fromhex(generated), "ssn:219099999")
        configure_process(PrivacyConfig(token_key=TokenKey.from_text(OTHER_KEY_HEX)))
        publish_analytics(con, wh, "v2", catalog=(CUSTOMERS,))
    finally:
        con.close()
    ana = duckdb.connect(str(wh / ANALYTICS_DB), read_only=True)
    token = ana.execute("SELECT ssn_token FROM customers WHERE customer_id = 1").fetchall()[0][0]
    ana.close()
    assert token == _expected(bytes.fromhex(OTHER_KEY_HEX), "ssn:219099999")


# ---------------------------------------------------------------------------------- write audit


def test_writes_are_recorded_and_published(tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    con = _restricted(wh)
    try:
        before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with audited_writes(con, "run-1", "warehouse/participation", ["participation", "no_such_table"]):
            con.execute("INSERT INTO participation VALUES ('VR:C1:20240401', 2, 'VR', 'C1', NULL, NULL)")
        record_writes(con, "run-1", "warehouse/wages", ["wages_by_customer_employer_quarter"])
        rows = con.execute(
            "SELECT run_id, step, table_name, rows, os_user, host, started_at, finished_at "
            "FROM write_audit ORDER BY table_name"
        ).fetchall()
        publish_analytics(con, wh, "v1", catalog=(AUDIT,))
    finally:
        con.close()
    user = pwd.getpwuid(os.geteuid()).pw_name
    # participation: the two rows made by _restricted plus the one inserted = 3; a missing table: NULL
    assert [r[:5] for r in rows] == [
        ("run-1", "warehouse/participation", "no_such_table", None, user),
        ("run-1", "warehouse/participation", "participation", 3, user),
        ("run-1", "warehouse/wages", "wages_by_customer_employer_quarter", 1, user),
    ]
    assert all(r[5] for r in rows)  # the host
    assert rows[1][6] is not None and before <= rows[1][6] <= rows[1][7]
    assert rows[2][6] is None  # record_writes alone does not know when the write began
    ana = duckdb.connect(str(wh / ANALYTICS_DB), read_only=True)
    assert ana.execute("SELECT count(*) FROM write_audit").fetchall() == [(3,)]
    ana.close()


def test_the_audit_table_is_published_before_any_write_is_recorded(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "restricted.duckdb"))
    try:
        result = publish_analytics(con, tmp_path, "v1", catalog=(AUDIT,))
    finally:
        con.close()
    assert result.rows == {"write_audit": 0}


# ---------------------------------------------------------------------------- encryption at rest


def _test_key(text: str = "k" * 40) -> RestrictedKey:
    # without DuckDB's httpfs (OpenSSL) extension only the unsafe built-in cipher can write: tests only
    return RestrictedKey(text, "test key", insecure_builtin_crypto=not HTTPFS)


def test_an_encrypted_restricted_zone_hides_its_bytes_and_needs_its_key(tmp_path: Path) -> None:
    plain_wh, enc_wh = tmp_path / "plain", tmp_path / "enc"
    key = _test_key()
    for wh, k in ((plain_wh, None), (enc_wh, key)):
        con = connect(wh, encryption_key=k)
        con.execute(
            "CREATE TABLE customer_identity AS SELECT $ssn AS ssn, range AS i FROM range(5000)", {"ssn": SSN}
        )
        con.execute("CHECKPOINT")
        con.close()
    # the control: unencrypted, the SSN is in the file's bytes (so the check below can fail)
    assert SSN.encode() in restricted_path(plain_wh).read_bytes()
    path = restricted_path(enc_wh)
    assert SSN.encode() not in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(duckdb.Error, match="encrypted"):
        duckdb.connect(str(path), read_only=True)
    with pytest.raises(KeyFileError, match="is encrypted"):
        connect(enc_wh, read_only=True)
    with pytest.raises(KeyFileError, match="not its key"):
        connect(enc_wh, read_only=True, encryption_key=_test_key("w" * 40))
    # with the key, configured for the process as the resources do it: unqualified names work
    configure_process(PrivacyConfig(restricted_key=key))
    con = connect(enc_wh)
    try:
        assert con.execute("SELECT count(*), min(ssn) FROM customer_identity").fetchall() == [(5000, SSN)]
        # spill files are encrypted too (DuckDB leaves this off for a database attached later)
        assert con.execute("SELECT current_setting('temp_file_encryption')").fetchall() == [(True,)]
    finally:
        con.close()


def test_an_existing_warehouse_is_encrypted_in_place(tmp_path: Path) -> None:
    con = connect(tmp_path)
    con.execute("CREATE TABLE customer_identity AS SELECT $ssn AS ssn", {"ssn": SSN})
    con.close()
    key = _test_key()
    with pytest.raises(KeyFileError, match="not encrypted"):
        connect(tmp_path, encryption_key=key)
    encrypt_database(restricted_path(tmp_path), key)
    assert SSN.encode() not in restricted_path(tmp_path).read_bytes()
    assert stat.S_IMODE(restricted_path(tmp_path).stat().st_mode) == 0o600
    con = connect(tmp_path, encryption_key=key, read_only=True)
    assert con.execute("SELECT ssn FROM customer_identity").fetchall() == [(SSN,)]
    con.close()


@pytest.mark.skipif(HTTPFS, reason="DuckDB's secure cipher is installed here")
def test_without_a_secure_cipher_nothing_is_written_in_the_clear(tmp_path: Path) -> None:
    strict = RestrictedKey("k" * 40, "test key")  # the same key, without the tests-only cipher
    with pytest.raises(CryptoUnavailableError, match="httpfs"):
        connect(tmp_path / "new", encryption_key=strict)
    assert not restricted_path(tmp_path / "new").exists()  # no unencrypted zone made instead
    con = connect(tmp_path / "old", encryption_key=_test_key())
    con.execute("CREATE TABLE t AS SELECT 1 AS i")
    con.close()
    # reading still works, but with no spill directory: a large query fails rather than spilling
    con = connect(tmp_path / "old", read_only=True, encryption_key=strict)
    try:
        assert con.execute("SELECT i FROM t").fetchall() == [(1,)]
        assert con.execute("SELECT current_setting('temp_directory')").fetchall() == [("",)]
    finally:
        con.close()


# ------------------------------------------------------------------------------------ settings


def test_settings_read_the_keys_without_showing_them(tmp_path: Path) -> None:
    key_file = tmp_path / "restricted.key"
    key_file.write_text("s" * 44 + "\n")
    os.chmod(key_file, 0o600)
    env = {"WW_HMAC_KEY": KEY_HEX, "WW_RESTRICTED_KEY_FILE": str(key_file), "WW_WAREHOUSE": str(tmp_path)}
    settings = Settings.from_env(env)
    assert KEY_HEX not in repr(settings) and settings.restricted_key_file == key_file
    config = privacy_config(settings)
    assert config.token_key is not None and config.token_key.token("ssn", SSN) == _expected(
        KEY, "ssn:219099999"
    )
    assert config.restricted_key == RestrictedKey("s" * 44, "same text, any source")
    # building the resource hands the keys to the process (what connect() and publish use)
    PipelinePaths.from_settings(settings)
    assert process_config() == config
    with pytest.raises(SettingsError, match="not both"):
        Settings.from_env({**env, "WW_HMAC_KEY_FILE": str(key_file)})
    os.chmod(key_file, 0o640)
    with pytest.raises(KeyFileError, match="0640"):
        privacy_config(settings)
