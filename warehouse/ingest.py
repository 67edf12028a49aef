"""Load verified drops into the restricted zone, exactly once, in order, with nothing lost.

Every delivered file ends in `load_audit` as LOADED, REJECTED (the drop failed verification, or
the file's columns drifted from the layout), DUPLICATE (the same bytes delivered again) or
SUPERSEDED (a wage quarter replaced by a newer delivery). For a LOADED file
rows_in_file = rows_loaded + rows_quarantined; set-aside rows are in `quarantine` with file,
line and reason. Row versions go to `hist_<file type>` (history is kept); `cur_<file type>`
is the newest version per key (by last-updated stamp, so late and re-sent older rows never
overwrite newer ones) with voided/removed flags, and `stg_<file type>` what reporting reads.
Which drops are pending is decided here, from `load_audit`, never from the orchestrator.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pandas as pd

from sources.convert import convert
from sources.landing import DeliveredFile, Drop, Status, VerificationMemo, discover_drops
from sources.layout import FileLayout, SystemLayout, load_layouts
from sources.readers import ParsedFile, Reject, SchemaDriftError, read_file
from warehouse.privacy import KeyFileError, RestrictedKey, attach_encrypted, process_config
from warehouse.sql import ident, join_on, registered, sql, transaction

T = TypeVar("T")
RESTRICTED_DB = "restricted.duckdb"
SQL_TYPES = {
    "key": "VARCHAR",
    "text": "VARCHAR",
    "name": "VARCHAR",
    "ssn": "VARCHAR",
    "zip": "VARCHAR",
    "phone": "VARCHAR",
    "email": "VARCHAR",
    "code": "VARCHAR",
    "codes": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "flag": "BOOLEAN",
    "amount": "DECIMAL(15,2)",
    "decimal": "DOUBLE",
    "integer": "BIGINT",
}
META_COLUMNS = (
    ("_file", "VARCHAR"),
    ("_line", "BIGINT"),
    ("_drop", "VARCHAR"),
    ("_period", "VARCHAR"),
    ("_extract_date", "DATE"),
    ("_extract_type", "VARCHAR"),
    ("_load_id", "BIGINT"),
    ("_is_deleted", "BOOLEAN"),
    ("_row_hash", "UBIGINT"),  # the row's content: tells a re-sent version from a conflicting one
)


def restricted_path(warehouse: Path) -> Path:
    return warehouse / RESTRICTED_DB


DUCKDB_MEMORY_LIMIT = "4GB"
"""DuckDB's own cap (it would otherwise cache up to 80% of the machine); it spills beyond it."""
SPILL_DIR = ".tmp"
RESTRICTED_ALIAS = "restricted"
"""The catalog name of the restricted zone when it is attached encrypted (then the default one)."""


LOCK_WAIT_SECONDS = 120.0
"""How long `connect` waits for another process's lock on the restricted zone to go away."""
_LOCK_POLL_SECONDS = 2.0


def connect(
    warehouse: Path,
    *,
    read_only: bool = False,
    memory_limit: str = DUCKDB_MEMORY_LIMIT,
    encryption_key: RestrictedKey | None = None,
    lock_wait_seconds: float | None = None,
) -> duckdb.DuckDBPyConnection:
    """The restricted zone (PII, history, quarantine, audit); created 0600 on first use.

    DuckDB lets one process write a file, or several read it, not both: a restricted-zone user
    holding the file open (`python -m pipelines explain`, a notebook) makes the pipeline's open
    fail. That is transient, so the open is retried every few seconds for up to
    `lock_wait_seconds` (default `LOCK_WAIT_SECONDS`) before the error, which names the holder's
    PID, is raised.

    With a restricted key (`encryption_key`, else the one configured for the process from
    WW_RESTRICTED_KEY[_FILE], see `warehouse.privacy.configure_process`) the file is encrypted
    at rest: the connection is an in-memory database that attaches the file encrypted and makes
    it the default catalog, so every unqualified table name works as before. Without a key the
    file is opened directly, unencrypted, as tools and tests do.
    """
    wait = LOCK_WAIT_SECONDS if lock_wait_seconds is None else lock_wait_seconds
    deadline = time.monotonic() + wait
    while True:
        try:
            return _connect(warehouse, read_only, memory_limit, encryption_key)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(_LOCK_POLL_SECONDS)


def _connect(
    warehouse: Path, read_only: bool, memory_limit: str, encryption_key: RestrictedKey | None
) -> duckdb.DuckDBPyConnection:
    warehouse.mkdir(parents=True, exist_ok=True)
    spill = _private_dir(warehouse / SPILL_DIR)
    path = restricted_path(warehouse)
    key = encryption_key or process_config().restricted_key
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": memory_limit,
        "temp_directory": str(spill),
    }
    if not read_only and not path.exists():
        _create_private(path, spill, key)
    if key is None:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            if "encrypted" not in str(exc):
                raise
            raise KeyFileError(
                f"{path} is encrypted: configure its key (WW_RESTRICTED_KEY_FILE or WW_RESTRICTED_KEY)"
            ) from None
    con = duckdb.connect(config=config)
    try:
        attach_encrypted(con, path, key, RESTRICTED_ALIAS, read_only=read_only)
    except BaseException:
        con.close()
        raise
    return con


def _private_dir(directory: Path) -> Path:
    """A directory only the pipeline's user can enter (spill files hold restricted rows)."""
    directory.mkdir(mode=0o700, exist_ok=True)
    if stat.S_IMODE(directory.stat().st_mode) & 0o077:
        os.chmod(directory, 0o700)
    return directory


def _create_private(path: Path, private_dir: Path, key: RestrictedKey | None) -> None:
    """Create the empty database in a private directory, 0600, then link it into place: nobody
    can open it before it is private (a file descriptor opened in between would outlive a chmod)."""
    tmp = private_dir / f".{path.name}.{secrets.token_hex(6)}.new"
    try:
        if key is None:
            duckdb.connect(str(tmp)).close()
        else:
            con = duckdb.connect()
            try:
                attach_encrypted(con, tmp, key, "new_restricted")
                con.execute("USE memory")
                con.execute("DETACH new_restricted")
            finally:
                con.close()
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:  # another process created it first: theirs stands
            pass
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def hist_columns(layout: FileLayout) -> list[tuple[str, str]]:
    cols: list[tuple[str, str]] = []
    for f in layout.fields:
        if f.type == "const":
            continue
        cols.append((f.name, SQL_TYPES[f.type]))
        if f.identity and f.type in ("date", "code"):
            cols += [(f"{f.name}__invalid", "BOOLEAN"), (f"{f.name}__raw", "VARCHAR")]
    return cols + list(META_COLUMNS)


def version_columns(layout: FileLayout) -> list[str]:
    return [*layout.key, *([layout.last_updated] if layout.last_updated else [])]


def ensure_schema(con: duckdb.DuckDBPyConnection, layouts: Sequence[SystemLayout]) -> None:
    con.execute(sql("ingest/audit_ddl.sql"))
    for system in layouts:
        for lay in system.files:
            ft = lay.file_type
            cols = ", ".join(f"{ident(n)} {t}" for n, t in hist_columns(lay))
            # DDL generated from the declarative layout: identifiers validated, no values.
            con.execute(f"CREATE TABLE IF NOT EXISTS {ident('hist_' + ft)} ({cols})")
            if not lay.key:
                con.execute(
                    f"CREATE OR REPLACE VIEW {ident('cur_' + ft)} AS SELECT *, false AS _removed_at_source "
                    f"FROM {ident('hist_' + ft)}"
                )
            else:
                key_cols = ", ".join(f"{ident(k)} VARCHAR NOT NULL" for k in lay.key)
                con.execute(
                    f"CREATE TABLE IF NOT EXISTS {ident('seen_' + ft)} ({key_cols}, last_seen DATE, "
                    f"removed_on DATE, PRIMARY KEY ({', '.join(ident(k) for k in lay.key)}))"
                )
                order = ", ".join(
                    [
                        *([f"{ident(lay.last_updated)} DESC NULLS LAST"] if lay.last_updated else []),
                        "_extract_date DESC",
                        "_load_id DESC",
                        "_line DESC",
                    ]
                )
                con.execute(
                    sql(
                        "ingest/current_view.sql",
                        cur="cur_" + ft,
                        hist="hist_" + ft,
                        seen="seen_" + ft,
                        key=list(lay.key),
                        order_sql=order,
                        join_sql=join_on("h", "s", list(lay.key)),
                    )
                )
            con.execute(sql("ingest/staged_view.sql", stg="stg_" + ft, cur="cur_" + ft))


# ------------------------------------------------------------------------------------ pending


def _mtime_ns(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0


def _control_digest(f: DeliveredFile) -> str:
    ctl = f.path.with_name(f.path.name + ".ctl")
    return hashlib.sha256(ctl.read_bytes()).hexdigest() if ctl.is_file() else ""


def delivery_identity(f: DeliveredFile) -> tuple[str, str, int, str]:
    """What makes a delivery new: the file's name, content, delivery time and its control file."""
    return (f.relpath, f.sha256 or "", _mtime_ns(f.path), _control_digest(f))


def recorded_files(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, int, str], str]:
    """Every delivery this warehouse has recorded, with the status it last got."""
    rows = con.execute(
        "SELECT file_name, coalesce(sha256, ''), coalesce(file_mtime_ns, 0), coalesce(control_sha256, ''), status "
        "FROM load_audit ORDER BY load_id"
    ).fetchall()
    return {(str(a), str(b), int(c), str(d)): str(e) for a, b, c, d, e in rows}


def awaiting_control(drop: Drop, layouts: Sequence[SystemLayout]) -> bool:
    """A delimited file whose control file has not arrived yet: the drop is still arriving.

    The sender writes the control file last, so its absence means "not yet", not "broken"; the
    drop is left for a later run (the landing inventory shows it meanwhile).
    """
    by_type = {f.file_type: f for s in layouts for f in s.files}
    for f in drop.files:
        lay = by_type.get(f.file_type or "")
        if lay is not None and lay.control_file and not f.path.with_name(f.path.name + ".ctl").is_file():
            return True
    return False


def _drop_order(d: Drop) -> tuple[str, str]:
    return (d.name.replace("Q", "-Q"), d.system)


def pending_drops(
    con: duckdb.DuckDBPyConnection, drops: Iterable[Drop], layouts: Sequence[SystemLayout] | None = None
) -> list[Drop]:
    """Complete drops holding a delivery this warehouse has not recorded."""
    layouts = tuple(layouts) if layouts is not None else load_layouts()
    seen = recorded_files(con)
    out = []
    for d in drops:
        if awaiting_control(d, layouts):
            continue
        files = [f for f in d.files if f.file_type is not None or d.status is Status.REJECTED]
        if not files or any(delivery_identity(f) not in seen for f in files):
            out.append(d)
    return sorted(out, key=_drop_order)


# --------------------------------------------------------------------------------------- load


@dataclass
class FileOutcome:
    file_name: str
    status: str
    rows_in_file: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_new: int = 0
    reason: str | None = None


@dataclass
class LoadReport:
    drops: int = 0
    files: list[FileOutcome] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)

    def by_status(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            out[f.status] = out.get(f.status, 0) + 1
        return out

    @property
    def rejected(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "REJECTED"]

    def totals(self) -> dict[str, int]:
        return {
            "rows_in_file": sum(f.rows_in_file for f in self.files if f.status == "LOADED"),
            "rows_loaded": sum(f.rows_loaded for f in self.files if f.status == "LOADED"),
            "rows_quarantined": sum(f.rows_quarantined for f in self.files if f.status == "LOADED"),
            "rows_new": sum(f.rows_new for f in self.files if f.status == "LOADED"),
        }


@dataclass
class _Pending:
    drop: Drop
    file: DeliveredFile
    layout: FileLayout
    load_id: int
    parsed: ParsedFile | None = None


def _audit(
    con: duckdb.DuckDBPyConnection,
    drop: Drop,
    f: DeliveredFile,
    status: str,
    out: FileOutcome,
    load_id: int,
    now: dt.datetime,
    run_id: str | None,
) -> None:
    _, sha, mtime, control = delivery_identity(f)
    con.execute(
        "INSERT INTO load_audit VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        [
            load_id,
            drop.system,
            f.file_type,
            drop.name,
            f.relpath,
            f.extract_date,
            f.extract_type.value if f.extract_type else None,
            status,
            out.rows_in_file,
            out.rows_loaded,
            out.rows_quarantined,
            out.rows_new,
            out.reason,
            sha or None,
            f.path.stat().st_size if f.path.exists() else None,
            mtime,
            control or None,
            now,
            run_id,
        ],
    )


def _next_ids(con: duckdb.DuckDBPyConnection, n: int) -> list[int]:
    if n == 0:
        return []
    rows = con.execute("SELECT nextval('load_id_seq') FROM range($1)", [n]).fetchall()
    return [int(r[0]) for r in rows]


def _quarantine(
    con: duckdb.DuckDBPyConnection, layout: FileLayout, rejects: list[Reject], load_ids: dict[str, int]
) -> None:
    if not rejects:
        return
    frame = pd.DataFrame(
        {
            "load_id": [load_ids[r.file] for r in rejects],
            "source_system": layout.system,
            "file_type": layout.file_type,
            "file_name": [r.file for r in rejects],
            "line_number": [r.line for r in rejects],
            "kind": [r.kind for r in rejects],
            "field": [r.field for r in rejects],
            "reason": [
                f"line {r.line}: {r.reason}" if not r.reason.startswith("line ") else r.reason
                for r in rejects
            ],
            "raw_record": [r.raw for r in rejects],
        }
    )
    with registered(con, "quarantine_batch", frame):
        con.execute("INSERT INTO quarantine BY NAME SELECT * FROM quarantine_batch")


BATCH_BYTES = 192 * 2**20
"""Files of one type are read, typed and stored in batches of about this many bytes: many small
nightly files go together (the per-call cost is paid once), a large wage quarter alone, so
memory stays bounded however long the catch-up."""


def batches_by_size(items: Sequence[T], size: Callable[[T], int], limit: int = BATCH_BYTES) -> list[list[T]]:
    """Consecutive batches of about `limit` bytes (an item larger than that goes alone)."""
    out: list[list[T]] = [[]]
    total = 0
    for item in items:
        n = size(item)
        if out[-1] and total + n > limit:
            out.append([])
            total = 0
        out[-1].append(item)
        total += n
    return [b for b in out if b]


def _batches(items: list[_Pending]) -> list[list[_Pending]]:
    return batches_by_size(
        items, lambda p: p.file.path.stat().st_size if p.file.path.exists() else 0, BATCH_BYTES
    )


def _load_type(
    con: duckdb.DuckDBPyConnection,
    layout: FileLayout,
    items: list[_Pending],
    now: dt.datetime,
    report: LoadReport,
    run_id: str | None,
) -> None:
    """Read, type and store one batch of pending files of one file type."""
    ft = layout.file_type
    readable: list[_Pending] = []
    for p in items:
        try:
            p.parsed = read_file(layout, p.file.path, p.file.relpath)
            readable.append(p)
        except SchemaDriftError as exc:
            out = FileOutcome(p.file.relpath, "REJECTED", reason=str(exc))
            _audit(con, p.drop, p.file, "REJECTED", out, p.load_id, now, run_id)
            report.files.append(out)
    if not readable:
        return
    parsed = [p.parsed for p in readable if p.parsed is not None]
    typed, convert_rejects = convert(parsed)
    rejects = [r for pf in parsed for r in pf.rejects] + convert_rejects
    by_file = {p.file.relpath: p for p in readable}
    meta = pd.DataFrame(
        {
            "_file": [p.file.relpath for p in readable],
            "_drop": [p.drop.key for p in readable],
            "_period": [p.drop.name for p in readable],
            "_extract_date": pd.to_datetime(
                [p.file.extract_date or _quarter_start(p.drop.name) for p in readable]
            ),
            "_extract_type": [p.file.extract_type.value if p.file.extract_type else None for p in readable],
            "_load_id": [p.load_id for p in readable],
        }
    )
    batch = typed.merge(meta, on="_file", how="left")
    if layout.status:
        batch["_is_deleted"] = batch[layout.status].isin(layout.deleted_values)
    else:
        batch["_is_deleted"] = False
    hist = "hist_" + ft
    content = [c for c in typed.columns if not c.startswith("_")]
    batch["_row_hash"] = pd.util.hash_pandas_object(batch[content], index=False).to_numpy()
    if layout.key:
        batch, conflicts = _set_aside_conflicts(con, layout, hist, batch, content)
        rejects += conflicts
    if layout.replace_by:  # whole periods: a newer delivery replaces the period
        for p in readable:
            con.execute(sql("ingest/replace_period.sql", hist=hist), {"period": p.drop.name})
            con.execute(
                "UPDATE load_audit SET status = 'SUPERSEDED' WHERE file_name = $1 AND status = 'LOADED'",
                [p.file.relpath],
            )
    con.register("ingest_batch", batch)
    try:
        if layout.key:
            vcols = version_columns(layout)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE ingest_new AS "
                + sql(
                    "ingest/select_new_versions.sql",
                    hist=hist,
                    batch="ingest_batch",
                    version_cols=vcols,
                    match_sql=join_on("h", "b", vcols),
                )
            )
            new_by_file = dict(con.execute("SELECT _file, count(*) FROM ingest_new GROUP BY ALL").fetchall())
            con.execute(f"INSERT INTO {ident(hist)} BY NAME SELECT * FROM ingest_new")
            con.execute(
                sql("ingest/update_seen.sql", seen="seen_" + ft, batch="ingest_batch", key=list(layout.key))
            )
            fulls = sorted(
                {
                    p.file.extract_date
                    for p in readable
                    if p.file.extract_type is not None
                    and p.file.extract_type.value == "FULL"
                    and p.file.extract_date is not None
                }
            )
            for full_date in fulls:
                con.execute(sql("ingest/apply_full.sql", seen="seen_" + ft), {"full_date": full_date})
        else:
            con.execute(f"INSERT INTO {ident(hist)} BY NAME SELECT * FROM ingest_batch")
            new_by_file = batch.groupby("_file").size().to_dict()
    finally:
        con.unregister("ingest_batch")
    _quarantine(con, layout, rejects, {p.file.relpath: p.load_id for p in readable})
    loaded_by_file = batch.groupby("_file").size().to_dict() if len(batch) else {}
    rejected_by_file: dict[str, int] = {}
    for r in rejects:
        rejected_by_file[r.file] = rejected_by_file.get(r.file, 0) + 1
        report.quarantine_reasons[r.kind] = report.quarantine_reasons.get(r.kind, 0) + 1
    for rel, p in by_file.items():
        assert p.parsed is not None
        out = FileOutcome(
            rel,
            "LOADED",
            rows_in_file=p.parsed.rows_in_file,
            rows_loaded=int(loaded_by_file.get(rel, 0)),
            rows_quarantined=rejected_by_file.get(rel, 0),
            rows_new=int(new_by_file.get(rel, 0)),
        )
        if p.file.records is not None and p.file.records != out.rows_in_file:
            out.reason = (
                f"the control count says {p.file.records} records, {out.rows_in_file} were read "
                "(blank lines are not records)"
            )
        _audit(con, p.drop, p.file, "LOADED", out, p.load_id, now, run_id)
        report.files.append(out)


def _set_aside_conflicts(
    con: duckdb.DuckDBPyConnection, layout: FileLayout, hist: str, batch: pd.DataFrame, content: list[str]
) -> tuple[pd.DataFrame, list[Reject]]:
    """Rows claiming a version (same key and stamp) already held or earlier in the batch, with other content."""
    vcols = version_columns(layout)
    batch = batch.sort_values(["_extract_date", "_file", "_line"], kind="mergesort").reset_index(drop=True)
    first = batch.groupby(vcols, dropna=False, sort=False)[["_row_hash", "_file", "_line"]].transform("first")
    inside = (batch["_row_hash"] != first["_row_hash"]).to_numpy()
    held: dict[tuple[str, int], tuple[str, int]] = {}
    con.register("conflict_batch", batch[~inside])
    try:
        rows = con.execute(
            sql(
                "ingest/conflicting_versions.sql",
                batch="conflict_batch",
                hist=hist,
                match_sql=join_on("b", "h", vcols),
            )
        ).fetchall()
    finally:
        con.unregister("conflict_batch")
    for f, line, hf, hl in rows:
        held[(str(f), int(line))] = (str(hf), int(hl))
    files = batch["_file"].to_numpy(dtype=object)
    lines = batch["_line"].to_numpy(dtype=np.int64)
    first_files = first["_file"].to_numpy(dtype=object)
    first_lines = first["_line"].to_numpy(dtype=np.int64)
    bad = inside.copy()
    if held:  # rare: look the held lines up only then (a row-by-row test costs seconds a batch)
        bad |= np.asarray([(str(f), int(n)) in held for f, n in zip(files, lines, strict=True)], dtype=bool)
    rejects = []
    flagged = np.flatnonzero(bad)
    values = batch[content].iloc[flagged].to_numpy(dtype=object)
    for j, i in enumerate(flagged):
        f, n = str(files[i]), int(lines[i])
        other_file, other_line = held.get((f, n), (str(first_files[i]), int(first_lines[i])))
        reason = (
            f"line {n}: same key and last-updated stamp ({', '.join(vcols)}) as {other_file} line "
            f"{other_line}, but different content: a changed row needs a newer stamp"
        )
        raw = " | ".join("" if v is None or v is pd.NA or v != v else str(v) for v in values[j])
        rejects.append(Reject(n, "conflicting_version", reason, raw, None, f))
    return batch[~bad].reset_index(drop=True), rejects


def _quarter_start(period: str) -> dt.date:
    year, q = period.split("Q")
    return dt.date(int(year), 3 * int(q) - 2, 1)


def load_drops(
    con: duckdb.DuckDBPyConnection,
    drops: Sequence[Drop],
    layouts: Sequence[SystemLayout] | None = None,
    now: dt.datetime | None = None,
    run_id: str | None = None,
) -> LoadReport:
    """Load the given drops (normally `pending_drops`), a batch per transaction; return what happened.

    `run_id` names the run that wrote (the orchestrator's run id); it is kept in `load_audit`.
    """
    layouts = tuple(layouts) if layouts is not None else load_layouts()
    ensure_schema(con, layouts)
    file_layouts = {f.file_type: f for s in layouts for f in s.files}
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report = LoadReport(drops=len(drops))
    recorded = recorded_files(con)
    # content that was loaded once makes a later identical delivery a DUPLICATE; a rejection does not
    loaded_digests = {
        (a, b) for (a, b, _, _), status in recorded.items() if status in ("LOADED", "SUPERSEDED")
    }
    todo: dict[str, list[_Pending]] = {}
    with transaction(con):  # what is decided without reading rows: rejections and duplicates
        for drop in sorted(drops, key=_drop_order):
            files = [f for f in drop.files if f.file_type is not None or drop.status is Status.REJECTED]
            ids = _next_ids(con, len(files))
            for f, load_id in zip(files, ids, strict=True):
                if recorded.get(delivery_identity(f), "REJECTED") != "REJECTED":
                    continue  # done before; a file held back with a rejected drop is tried again
                if drop.status is Status.REJECTED:
                    out = FileOutcome(f.relpath, "REJECTED", reason=f.reason or drop.reason)
                    _audit(con, drop, f, "REJECTED", out, load_id, now, run_id)
                    report.files.append(out)
                elif (f.relpath, f.sha256 or "") in loaded_digests:
                    out = FileOutcome(
                        f.relpath,
                        "DUPLICATE",
                        reason="identical to a delivery already recorded: nothing loaded twice",
                    )
                    _audit(con, drop, f, "DUPLICATE", out, load_id, now, run_id)
                    report.files.append(out)
                elif f.file_type is not None:
                    todo.setdefault(f.file_type, []).append(
                        _Pending(drop, f, file_layouts[f.file_type], load_id)
                    )
    for ft in sorted(todo):
        for batch in _batches(todo[ft]):  # in drop order: the earliest copy of a version is kept
            # one transaction a batch: its rows, set-aside rows and audit records commit together,
            # so the warehouse is always consistent; after a crash the rest is simply still pending
            with transaction(con):
                _load_type(con, file_layouts[ft], batch, now, report, run_id)
            for p in batch:  # the batch is stored: let its rows go (memory stays one batch deep)
                p.parsed = None
    return report


def ingest(
    landing: Path,
    warehouse: Path,
    layouts: Sequence[SystemLayout] | None = None,
    systems: Iterable[str] | None = None,
    up_to: str | None = None,
    now: dt.datetime | None = None,
    run_id: str | None = None,
) -> LoadReport:
    """Find what this warehouse lacks in the landing zone and load it, in order.

    `up_to` (a drop name, `YYYYMMDD` or `YYYYQn`) leaves later drops for a later run; earlier
    pending drops are always caught up, so a missed night heals itself.
    """
    layouts = tuple(layouts) if layouts is not None else load_layouts()
    wanted = set(systems) if systems is not None else None
    drops = [
        d
        for d in discover_drops(landing, layouts=layouts, memo=verification_memo(warehouse))
        if (wanted is None or d.system in wanted) and (up_to is None or d.name <= up_to)
    ]
    con = connect(warehouse)
    try:
        ensure_schema(con, layouts)
        return load_drops(con, pending_drops(con, drops, layouts), layouts, now, run_id)
    finally:
        con.close()


def verification_memo(warehouse: Path) -> VerificationMemo:
    """The verdicts of landing files this warehouse's runs verified (so a night reads only its drops)."""
    return VerificationMemo(warehouse / "inventory" / "verified_files.json")


def audit_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT * FROM load_audit ORDER BY load_id").df()


__all__ = ["LoadReport", "connect", "ensure_schema", "ingest", "load_drops", "pending_drops"]


def loaded_by_run(
    con: duckdb.DuckDBPyConnection, file_type: str, run_id: str, load_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """The row versions a run stored for a file type (of the given loads only, if named)."""
    return con.execute(
        sql("ingest/loaded_by_run.sql", hist="hist_" + file_type),
        {"run_id": run_id, "file_type": file_type, "load_ids": None if load_ids is None else list(load_ids)},
    ).df()


def run_load_parts(
    con: duckdb.DuckDBPyConnection, file_type: str, run_id: str, max_rows: int
) -> list[list[int]]:
    """The loads of a run's files of a type, in file order, grouped into parts of at most
    `max_rows` stored rows (a bigger file is a part of its own)."""
    rows = con.execute(
        "SELECT load_id, coalesce(rows_loaded, 0) FROM load_audit WHERE run_id = $1 AND file_type = $2 "
        "AND status = 'LOADED' ORDER BY file_name, load_id",
        [run_id, file_type],
    ).fetchall()
    parts = batches_by_size(rows, lambda row: int(row[1]), max_rows)
    return [[int(load_id) for load_id, _ in part] for part in parts]


def run_files(
    con: duckdb.DuckDBPyConnection, file_type: str, run_id: str
) -> list[tuple[str, dt.date | None]]:
    """(extract type, extract date) of every file of a type the run loaded."""
    rows = con.execute(
        "SELECT extract_type, extract_date FROM load_audit WHERE run_id = $1 AND file_type = $2 "
        "AND status = 'LOADED'",
        [run_id, file_type],
    ).fetchall()
    return [(str(a), b) for a, b in rows]


def delta_history(con: duckdb.DuckDBPyConnection, file_type: str, run_id: str) -> list[int]:
    """Rows loaded per DELTA file of a type by earlier runs (the volume baseline)."""
    rows = con.execute(sql("ingest/delta_history.sql"), {"file_type": file_type, "run_id": run_id}).fetchall()
    return [int(r[0] or 0) for r in rows]
