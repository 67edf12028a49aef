"""Privacy and access: keyed tokens, the restricted zone's encryption key, the write audit.

Two zones, two audiences:

- the **restricted zone** (`<warehouse>/restricted.duckdb`, `keys/`, `pirl/`, `review/`) holds
  PII (SSNs, names, dates of birth, addresses) and is for the pipeline's OS account only (files
  0600, directories 0700); it is encrypted at rest when a restricted key is configured;
- the **analytics zone** (`analytics.duckdb`, `parquet/<table>/`, `docs/data_dictionary.md`,
  the reports) is what analysts get: customer ids, periods, outcomes, indicators, no PII.
  Analysts are given read access to the analytics zone only, never to the restricted one.

An SSN leaves the restricted zone only as a keyed token: `customers.ssn_token`, for joins with
other agencies that hold the same key. Other internal keys that embed source record ids (period,
reportable and common-exit keys) and employer FEINs are published as tokens of their own kind.

**Tokens.** `token(kind, value)` is the first 32 hex digits of
`HMAC-SHA256(key, kind + ":" + normalized value)`. The kind prefix keeps tokens of different
kinds apart (an employer FEIN and an SSN with the same digits get unrelated tokens). Values are
normalized so that partners computing the same formula agree: SSNs and FEINs to their digits,
everything else stripped of surrounding blanks. Why 32 hex digits (128 bits): the published
keys stay short, and a collision among even 10^8 values has probability ~10^-23; the secret is
the key, not the length, so truncation costs no protection against guessing (without the key an
SSN cannot be tested, with it 10^9 SSNs can be enumerated whatever the length).

**The key.** In order: `WW_HMAC_KEY` (hex or base64, at least 32 bytes), `WW_HMAC_KEY_FILE`
(a file of that text, mode 0600 or stricter, owned by the pipeline's user), else a random key
generated once into `<warehouse>/keys/hmac.key` (directory 0700, file 0600) and reused every
night, so a demo works out of the box and tokens stay stable. Production sets the key
explicitly (and shares it with the partner agencies that join on `ssn_token`); the generated
key is not shared with anyone, so its tokens join nothing outside this warehouse. Rotating the
key changes every token. Neither the key nor anything derived from it except tokens is logged,
returned or shown: `repr()` gives its source and a short fingerprint (a digest of the key that
lets two parties check they hold the same key).

**Encryption at rest.** With `WW_RESTRICTED_KEY` or `WW_RESTRICTED_KEY_FILE` set,
`warehouse.ingest.connect` opens the restricted zone with DuckDB's AES-GCM encryption (see
`attach_encrypted`). `pipelines/settings.py` reads the variables; `pipelines.resources` hands the
keys to this module once per process (`configure_process`), so no caller of `connect()` changes.

No Dagster here, and no environment reads: the keys come in as values or files.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import os
import pwd
import re
import secrets
import socket
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import FunctionNullHandling, PythonUDFType

from warehouse.sql import has_table, ident, run_named

__all__ = [
    "HMAC_KEY_FILE",
    "KEY_DIR",
    "MIN_KEY_BYTES",
    "TOKEN_FUNCTION",
    "CryptoUnavailableError",
    "KeyFileError",
    "PrivacyConfig",
    "RestrictedKey",
    "TokenKey",
    "attach_encrypted",
    "audited_writes",
    "configure_process",
    "encrypt_database",
    "ensure_write_audit",
    "normalize",
    "process_config",
    "read_secret_file",
    "record_writes",
    "register_token_function",
    "resolve_token_key",
]

KEY_DIR = "keys"
HMAC_KEY_FILE = "hmac.key"
MIN_KEY_BYTES = 32
"""An HMAC key shorter than SHA-256's output would be the weak point of the token."""
MIN_RESTRICTED_KEY_CHARS = 32
TOKEN_FUNCTION = "ww_token"
"""The SQL name of the token function registered on a connection (`ww_token(kind, value)`)."""
_KIND = re.compile(r"^[a-z][a-z_]*$")
_DIGITS_ONLY_KINDS = frozenset({"ssn", "employer"})
_NON_DIGITS = re.compile(r"\D")


class KeyFileError(ValueError):
    """A key (file or value) the pipeline must not or cannot use; the message says why."""


class CryptoUnavailableError(RuntimeError):
    """Encryption was asked for but DuckDB has no secure cipher to write with."""


# ------------------------------------------------------------------------------------ key material


def _decode_key_text(text: str, where: str, min_bytes: int = MIN_KEY_BYTES) -> bytes:
    """Hex first (64 hex digits are also valid base64), then base64 (standard or URL-safe)."""
    cleaned = "".join(text.split())
    if not cleaned or not cleaned.isascii():
        raise KeyFileError(f"{where}: not hex or base64 text")
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", cleaned):
        key = bytes.fromhex(cleaned)
    else:
        try:
            key = base64.b64decode(cleaned.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise KeyFileError(f"{where}: not hex or base64 text") from None
    if len(key) < min_bytes:
        raise KeyFileError(f"{where}: the key has {len(key)} bytes, at least {min_bytes} are needed")
    return key


def read_secret_file(path: Path, what: str) -> str:
    """The text of a key file that only its owner, the pipeline's user, can read.

    Refused (KeyFileError naming the file and its mode): not a regular file, owned by another
    user, or readable or writable by group or others. The checks are made on the opened file, so
    a file swapped in between cannot slip through.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise KeyFileError(f"{what} {path}: cannot be opened ({exc.strerror}; a symlink is refused)") from exc
    try:
        st = os.fstat(fd)
        mode = stat.S_IMODE(st.st_mode)
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileError(f"{what} {path}: not a regular file")
        if st.st_uid != os.geteuid():
            raise KeyFileError(
                f"{what} {path}: owned by uid {st.st_uid}, not by the pipeline's user (uid {os.geteuid()})"
            )
        if mode & 0o077:
            raise KeyFileError(
                f"{what} {path}: mode {mode:04o} lets others read or change it; "
                f"it must be 0600 or stricter (chmod 600 {path})"
            )
        with os.fdopen(fd, "rb") as f:
            fd = -1
            data = f.read()
    finally:
        if fd >= 0:
            os.close(fd)
    try:
        return data.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise KeyFileError(f"{what} {path}: not text (hex or base64 expected)") from exc


class _Secret:
    """Base of the key holders: never shown, never pickled, compared by fingerprint."""

    __slots__ = ("_fingerprint", "source")
    _fingerprint: str
    source: str

    @property
    def fingerprint(self) -> str:
        """Eight hex digits of a digest of the key: enough to see two parties hold the same key."""
        return self._fingerprint

    def __repr__(self) -> str:
        return f"{type(self).__name__}(source={self.source!r}, fingerprint={self._fingerprint!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError(f"a {type(self).__name__} is not serialized (it would write the key out)")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and hmac.compare_digest(
            self._fingerprint_full(),
            other._fingerprint_full(),
        )

    def __hash__(self) -> int:
        return hash(self._fingerprint)

    def _fingerprint_full(self) -> str:
        raise NotImplementedError


class TokenKey(_Secret):
    """The HMAC key of the published tokens. Build it with `from_text`, `from_file` or
    `for_warehouse`; making tokens (`token`, `tokens`) is the only thing it does with the key."""

    __slots__ = ("_inner", "_key", "_outer", "hex_chars")

    def __init__(self, key: bytes, source: str, hex_chars: int = 32) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise KeyFileError(f"{source}: the key has {len(key)} bytes, at least {MIN_KEY_BYTES} are needed")
        if not (16 <= hex_chars <= 64 and hex_chars % 2 == 0):
            raise ValueError(f"hex_chars must be an even number from 16 to 64, got {hex_chars}")
        self._key = bytes(key)
        self.source = source
        self.hex_chars = hex_chars
        self._fingerprint = self._fingerprint_full()[:8]
        # HMAC by hand (RFC 2104) with the padded key hashed once: copying a prepared SHA-256
        # state per value is three times faster than hmac.new() per value.
        block = self._key if len(self._key) <= 64 else hashlib.sha256(self._key).digest()
        block = block.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def _fingerprint_full(self) -> str:
        return hashlib.sha256(b"ww-key-fingerprint:" + self._key).hexdigest()

    @classmethod
    def from_text(cls, text: str, source: str = "WW_HMAC_KEY") -> TokenKey:
        """A key given as hex or base64 text (at least 32 bytes)."""
        return cls(_decode_key_text(text, source), source)

    @classmethod
    def from_file(cls, path: Path, source: str | None = None) -> TokenKey:
        """A key file of hex or base64 text, mode 0600 or stricter, owned by the pipeline's user."""
        where = source or f"key file {path}"
        return cls(_decode_key_text(read_secret_file(path, "HMAC key file"), where), where)

    @classmethod
    def for_warehouse(cls, warehouse: Path) -> TokenKey:
        """The warehouse's generated key: created once (random, 32 bytes) into
        `<warehouse>/keys/hmac.key`, read back every later night."""
        key_dir = Path(warehouse) / KEY_DIR
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = key_dir.stat()
        if st.st_uid != os.geteuid():
            raise KeyFileError(
                f"key directory {key_dir}: owned by uid {st.st_uid}, not by the pipeline's user"
            )
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(key_dir, 0o700)
        path = key_dir / HMAC_KEY_FILE
        if not path.exists():
            # Written whole to a private temporary file, then linked into place: a crash leaves no
            # empty key, and of two processes racing, both end up with the one key that won.
            tmp = key_dir / f".{HMAC_KEY_FILE}.{secrets.token_hex(6)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(secrets.token_bytes(MIN_KEY_BYTES).hex().encode("ascii") + b"\n")
                    f.flush()
                    os.fsync(f.fileno())
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        return cls.from_file(path, source=f"generated key {path}")

    def token(self, kind: str, value: object) -> str | None:
        """The token of `value` as a `kind` (None for a missing or blank value)."""
        text = normalize(kind, value)
        if text is None:
            return None
        return self._digest(f"{kind}:{text}".encode())

    def tokens(self, kind: str, values: Sequence[object]) -> list[str | None]:
        """`token(kind, v)` for many values (the kind checked once; the SQL function's loop)."""
        normalize(kind, None)  # validates the kind
        digits_only = kind in _DIGITS_ONLY_KINDS
        prefix = kind + ":"
        inner0, outer0, width, strip_non_digits = self._inner, self._outer, self.hex_chars, _NON_DIGITS.sub
        out: list[str | None] = []
        append = out.append
        for value in values:
            if value is None:
                append(None)
                continue
            text = str(value).strip()
            if digits_only:
                text = strip_non_digits("", text)
            if not text:
                append(None)
                continue
            inner = inner0.copy()
            inner.update((prefix + text).encode())
            outer = outer0.copy()
            outer.update(inner.digest())
            append(outer.hexdigest()[:width])
        return out

    def _digest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[: self.hex_chars]


class RestrictedKey(_Secret):
    """The encryption key of the restricted zone (DuckDB derives the AES key from this text).

    `insecure_builtin_crypto` lets DuckDB write with its built-in Mbed TLS module when its
    OpenSSL-backed one (the `httpfs` extension) is not installed. DuckDB calls that mode "not
    securely encrypted" (its random nonces are not cryptographically strong): tests only, never
    reachable from the environment.
    """

    __slots__ = ("_text", "insecure_builtin_crypto")

    def __init__(self, text: str, source: str, *, insecure_builtin_crypto: bool = False) -> None:
        text = text.strip()
        if len(text) < MIN_RESTRICTED_KEY_CHARS:
            raise KeyFileError(
                f"{source}: the key has {len(text)} characters, at least {MIN_RESTRICTED_KEY_CHARS} are needed "
                "(e.g. `openssl rand -base64 32`)"
            )
        self._text = text
        self.source = source
        self.insecure_builtin_crypto = insecure_builtin_crypto
        self._fingerprint = self._fingerprint_full()[:8]

    def _fingerprint_full(self) -> str:
        return hashlib.sha256(b"ww-key-fingerprint:" + self._text.encode()).hexdigest()

    @classmethod
    def from_text(cls, text: str, source: str = "WW_RESTRICTED_KEY") -> RestrictedKey:
        return cls(text, source)

    @classmethod
    def from_file(cls, path: Path) -> RestrictedKey:
        return cls(read_secret_file(path, "restricted key file"), f"key file {path}")


# ---------------------------------------------------------------------------------- the process


@dataclass(frozen=True)
class PrivacyConfig:
    """The keys configured for this process (None: not configured)."""

    token_key: TokenKey | None = None
    restricted_key: RestrictedKey | None = None


_process = PrivacyConfig()


def configure_process(config: PrivacyConfig) -> None:
    """Set the keys `connect()` and `publish_analytics()` use when none is passed to them.

    Called once per process by `pipelines.resources` from the settings (every process that loads
    the Dagster definitions: the code server, each run and step worker, the CLI), so the assets'
    calls need no key argument. Passing `PrivacyConfig()` forgets them.
    """
    global _process
    _process = config


def process_config() -> PrivacyConfig:
    return _process


def resolve_token_key(warehouse: Path, key: TokenKey | None = None) -> TokenKey:
    """The key tokens are made with: the one given, else the process's, else the warehouse's own."""
    return key or _process.token_key or TokenKey.for_warehouse(warehouse)


# ------------------------------------------------------------------------------------ tokens


def normalize(kind: str, value: object) -> str | None:
    """The text a token is made of: digits only for `ssn` and `employer` (so 219-09-9999 and
    219099999 agree), the value stripped otherwise; None when nothing is left."""
    if not _KIND.match(kind):
        raise ValueError(f"not a token kind: {kind!r} (lowercase letters and _)")
    if value is None:
        return None
    text = str(value).strip()
    if kind in _DIGITS_ONLY_KINDS:
        text = _NON_DIGITS.sub("", text)
    return text or None


def register_token_function(con: duckdb.DuckDBPyConnection, key: TokenKey) -> None:
    """Make `ww_token(kind, value)` callable in SQL on `con` (replacing an earlier one).

    A vectorized (Arrow) Python function: DuckDB hands it a chunk of values at a time. Measured
    on 1M nine-digit values on this (shared, 2-core) machine: ~2 s, of which the HMAC loop is
    ~1.5 s; a scalar (native) UDF took 1.7-2.3 s, hmac.new() per value alone 2 s. A pure-SQL HMAC
    from DuckDB's sha256() ran in 1.2 s but needs the padded key inside the query: not worth it.
    """

    def ww_token(kinds: pa.Array | pa.ChunkedArray, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        distinct = pc.unique(kinds).to_pylist()
        texts = values.to_pylist()
        if len(distinct) == 1:
            kind = distinct[0]
            if kind is None:
                return pa.nulls(len(texts), pa.string())
            return pa.array(key.tokens(kind, texts), pa.string())
        return pa.array(
            [None if k is None else key.token(k, v) for k, v in zip(kinds.to_pylist(), texts, strict=True)],
            pa.string(),
        )

    with contextlib.suppress(duckdb.Error):
        con.remove_function(TOKEN_FUNCTION)
    con.create_function(
        TOKEN_FUNCTION,
        cast(Any, ww_token),  # an Arrow function: typed for Arrow arrays, not Python values
        [duckdb.sqltypes.VARCHAR, duckdb.sqltypes.VARCHAR],
        duckdb.sqltypes.VARCHAR,
        type=PythonUDFType.ARROW,
        null_handling=FunctionNullHandling.SPECIAL,
    )


# ------------------------------------------------------------------------- encryption at rest


def _load_secure_crypto(con: duckdb.DuckDBPyConnection, key: RestrictedKey) -> bool:
    """Make DuckDB able to write encrypted files; False when it cannot (only reading works)."""
    try:
        con.execute("LOAD httpfs")  # installs DuckDB's OpenSSL-backed cipher
        return True
    except duckdb.Error:
        if key.insecure_builtin_crypto:
            con.execute("SET force_mbedtls_unsafe = true")
            return True
        return False


_NO_SECURE_CIPHER = (
    "a restricted key is configured but DuckDB cannot write encrypted files here: its OpenSSL "
    "cipher comes with the httpfs extension, which is not installed (install it once with "
    "`python -c \"import duckdb; duckdb.connect().execute('INSTALL httpfs')\"` as the pipeline's user). "
    "Refusing to write the restricted zone unencrypted."
)


def attach_encrypted(
    con: duckdb.DuckDBPyConnection, path: Path, key: RestrictedKey, alias: str, *, read_only: bool = False
) -> None:
    """Attach the DuckDB file `path` encrypted with `key` as `alias` and make it the default catalog.

    The key is a bound parameter, never SQL text. DuckDB encrypts the write-ahead log with the
    database; temporary (spill) files only with `temp_file_encryption`, which DuckDB 2.0 leaves off
    for a database attached after start-up, so it is turned on here. A read-only connection
    without a secure cipher (it can still read) gets no spill directory instead: a query too large
    for memory fails rather than writing restricted rows to disk in the clear.
    """
    ident(alias)
    can_write = _load_secure_crypto(con, key)
    if not read_only and not can_write:
        raise CryptoUnavailableError(_NO_SECURE_CIPHER)
    options = "ENCRYPTION_KEY $key" + (", READ_ONLY" if read_only else "")
    try:
        con.execute(f"ATTACH $path AS {alias} ({options})", {"path": str(path), "key": key._text})
    except duckdb.Error as exc:
        message = str(exc)
        if "is not encrypted" in message:
            raise KeyFileError(
                f"{path} is not encrypted but a restricted key ({key.source}) is configured: encrypt it once "
                "with warehouse.privacy.encrypt_database(path, key), or unset the key"
            ) from None
        if "Wrong encryption key" in message:
            raise KeyFileError(f"{path}: the restricted key from {key.source} is not its key") from None
        raise
    con.execute(f"USE {alias}")
    if can_write:
        con.execute("SET temp_file_encryption = true")
    else:
        con.execute("SET temp_directory = ''")


def encrypt_database(path: Path, key: RestrictedKey) -> None:
    """Encrypt an existing unencrypted DuckDB file in place (once, when a key is first configured).

    The whole database is copied into a new encrypted file (0600) which then replaces the old one.
    The old file's blocks are not wiped by this: on a disk that was never encrypted, the previous
    clear data may remain recoverable until overwritten.
    """
    path = Path(path)
    new = path.with_name(f".{path.name}.{secrets.token_hex(6)}.encrypting")
    con = duckdb.connect()
    try:
        con.execute("ATTACH $path AS plain (READ_ONLY)", {"path": str(path)})
        attach_encrypted(con, new, key, "encrypted")
        con.execute("COPY FROM DATABASE plain TO encrypted")
        con.execute("USE memory")
        con.execute("DETACH encrypted")
        con.execute("DETACH plain")
    except BaseException:
        con.close()
        with contextlib.suppress(FileNotFoundError):
            new.unlink()
        raise
    con.close()
    os.chmod(new, 0o600)
    os.replace(new, path)


# ---------------------------------------------------------------------------------- write audit


def ensure_write_audit(con: duckdb.DuckDBPyConnection) -> None:
    run_named(con, "publish/write_audit_ddl.sql")


def _os_user() -> str:
    """The pipeline's OS account (from the password database, not the environment)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_writes(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    step: str,
    tables: Sequence[str],
    *,
    started_at: dt.datetime | None = None,
    finished_at: dt.datetime | None = None,
) -> int:
    """Record in `write_audit` that run `run_id`'s `step` wrote `tables` (their row counts now).

    `started_at`/`finished_at` are UTC; finished defaults to now, started to NULL (unknown).
    A table that does not exist is recorded with rows NULL. Returns the rows recorded.
    """
    ensure_write_audit(con)
    finished = finished_at or _now()
    user, host = _os_user(), socket.gethostname()
    for table in tables:
        rows: int | None = None
        if has_table(con, table):
            rows = int(con.execute(f"SELECT count(*) FROM {ident(table)}").fetchall()[0][0])
        run_named(
            con,
            "publish/write_audit_insert.sql",
            {
                "run_id": run_id,
                "step": step,
                "table_name": table,
                "rows": rows,
                "os_user": user,
                "host": host,
                "started_at": started_at,
                "finished_at": finished,
            },
        )
    return len(tables)


@contextmanager
def audited_writes(
    con: duckdb.DuckDBPyConnection, run_id: str, step: str, tables: Sequence[str]
) -> Iterator[None]:
    """`with audited_writes(con, run_id, step, [...]):` around a write records it, with when it
    began and ended, once the block has completed (a step that raised is not recorded as a write)."""
    started = _now()
    yield
    record_writes(con, run_id, step, tables, started_at=started)
