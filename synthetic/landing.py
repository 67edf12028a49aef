"""Cut record versions into drops and write the landing zone to the byte.

The schedule (missing nights, FULL refreshes, re-sent old versions, corrupted rows) is drawn over
the whole span first and only then cut at `as_of`, so an earlier cut is a prefix of a later one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from synthetic.config import GeneratorConfig
from synthetic.formats import SPECS, FileSpec
from synthetic.population import EPOCH, day

ENCODING = {
    "ui": "ascii",
    "ui_wages": "ascii",
    "wp": "utf-8",
    "title1": "utf-8",
    "vr": "cp1252",
    "adult_ed": "utf-8",
}
NEWLINE = {"vr": "\r\n"}
BAD_BYTE = {"cp1252": "\udc81", "utf-8": "\udcff", "ascii": "\udcff"}
BAD_DATE = {
    "ui": "20240231",
    "wp": "02/30/2024",
    "title1": "2024-02-30",
    "vr": "20230931",
    "adult_ed": "2/30/2024",
}


def ymd(d: int) -> str:
    return (EPOCH + dt.timedelta(days=d)).strftime("%Y%m%d")


@dataclass
class Schedule:
    """The nights a system delivers on, and which of them are FULL."""

    system: str
    dates: np.ndarray  # sorted day numbers
    full: set[int]

    def drop_after(self, d: np.ndarray) -> np.ndarray:
        """Index of the first drop strictly after day d (len(dates) when none)."""
        return np.searchsorted(self.dates, d, side="right")


def schedule(cfg: GeneratorConfig, system: str, rng: np.random.Generator) -> Schedule:
    first, last = day(cfg.full_date), day(cfg.end_date)
    nights = np.arange(first, last + 1)
    fulls = {
        first + k * cfg.refresh_full_every_days
        for k in range(0, 100)
        if first + k * cfg.refresh_full_every_days <= last
    }
    keep = (rng.random(len(nights)) >= cfg.flow.missing_night) | np.isin(nights, list(fulls))
    keep[-1] = True
    return Schedule(system, nights[keep], fulls)


@dataclass
class Delivery:
    """Which version goes into which drop, and which copies are corrupted on purpose."""

    version: np.ndarray  # row index into the versions table
    drop: np.ndarray  # index into Schedule.dates
    fault: np.ndarray  # "" or the fault kind


@dataclass
class FaultLog:
    rows: list[tuple[str, int, str, str]] = field(default_factory=list)  # path, line, kind, key


def plan_deliveries(
    cfg: GeneratorConfig,
    spec: FileSpec,
    v: pd.DataFrame,
    sch: Schedule,
    removed_day: np.ndarray,
    rng: np.random.Generator,
) -> Delivery:
    n = len(v)
    key = v["_key"].to_numpy()
    ts_day = v["ts"].to_numpy(dtype=np.int64) // 86_400
    drop = sch.drop_after(ts_day)
    full_idx = [int(i) for i, d in enumerate(sch.dates) if int(d) in sch.full]
    versions: list[np.ndarray] = []
    drops: list[np.ndarray] = []
    # DELTA: a version goes out with the first drop after its change (missing nights carry over)
    delta = (drop < len(sch.dates)) & ~np.isin(drop, full_idx) & (ts_day >= sch.dates[0])
    versions.append(np.flatnonzero(delta))
    drops.append(drop[delta])
    # FULL: the latest version of every key changed before that night and not removed at source
    order = np.lexsort((v["ts"].to_numpy(), key))
    for fi in full_idx:
        g = int(sch.dates[fi])
        cand = order[ts_day[order] < g]
        if len(cand) == 0:
            continue
        last_of_key = np.r_[key[cand][1:] != key[cand][:-1], True]
        latest = cand[last_of_key]
        latest = latest[~((removed_day[latest] >= 0) & (removed_day[latest] < g))]
        versions.append(latest)
        drops.append(np.full(len(latest), fi))
    # an older version sent again after a newer one (must never overwrite it)
    if n:
        nxt_same = np.r_[key[order][1:] == key[order][:-1], False]
        superseded = order[nxt_same]
        newer = order[np.r_[False, nxt_same[:-1]]]
        pick = rng.random(len(superseded)) < cfg.flow.redelivered_old_version
        later = drop[newer[pick]] + rng.integers(1, 30, int(pick.sum()))
        ok = later < len(sch.dates)
        ok &= ~np.isin(later, full_idx)
        versions.append(superseded[pick][ok])
        drops.append(later[ok])
    ver = np.concatenate(versions) if versions else np.zeros(0, dtype=np.int64)
    dr = np.concatenate(drops) if drops else np.zeros(0, dtype=np.int64)
    fault = np.full(len(ver), "", dtype=object)
    # corrupted rows: the sender re-sends a clean copy with its next (DELTA) drop
    kinds = fault_kinds(spec)
    if cfg.malformed_rate > 0 and kinds and len(ver):
        hit = (rng.random(len(ver)) < cfg.malformed_rate) & (dr + 1 < len(sch.dates))
        hit &= ~np.isin(dr + 1, full_idx)
        hit_idx = np.flatnonzero(hit)
        fault[hit_idx] = np.asarray(kinds, dtype=object)[rng.integers(0, len(kinds), len(hit_idx))]
        ver = np.r_[ver, ver[hit_idx]]
        dr = np.r_[dr, dr[hit_idx] + 1]
        fault = np.r_[fault, np.full(len(hit_idx), "", dtype=object)]
    return Delivery(ver.astype(np.int64), dr.astype(np.int64), fault)


def fault_kinds(spec: FileSpec) -> list[str]:
    kinds = ["encoding", "missing_key"]
    kinds.append("record_length" if spec.kind == "fixed" else "field_count")
    if spec.dates:
        kinds.append("bad_date")
    if spec.codes:
        kinds.append("bad_code")
    if spec.amounts:
        kinds.append("bad_amount")
    if spec.kind == "csv":
        kinds.append("unbalanced_quote")
    return kinds


# ------------------------------------------------------------------------------------ formatting


def csv_quote(values: np.ndarray) -> np.ndarray:
    s = pd.Series(values, dtype=object)
    needs = s.str.contains(r'[",\r\n]', regex=True)
    if needs.any():
        s[needs] = '"' + s[needs].str.replace('"', '""', regex=False) + '"'
    return s.to_numpy(dtype=object)


def join_fields(spec: FileSpec, cols: dict[str, np.ndarray]) -> np.ndarray:
    arrays = []
    for i, name in enumerate(spec.columns):
        arr = pa.array(cols[name], type=pa.string())
        if spec.kind == "fixed":
            w = spec.widths[i]
            arr = pc.utf8_rpad(pc.utf8_slice_codeunits(arr, 0, w), width=w, padding=" ")
        arrays.append(arr)
    joined = pc.binary_join_element_wise(*arrays, spec.sep)
    return np.asarray(joined.to_pylist(), dtype=object)


def join_one(spec: FileSpec, values: list[str]) -> str:
    """Join one row in plain Python (a corrupted row may hold bytes pyarrow will not take)."""
    if spec.kind == "fixed":
        return "".join(v[:w].ljust(w) for v, w in zip(values, spec.widths, strict=True))
    return spec.sep.join(values)


def fixed_width_bytes(columns: list[np.ndarray], widths: list[int]) -> bytes:
    """ASCII fixed-width records, LF-terminated, straight out of pyarrow's value buffer."""
    arrays = []
    for arr, w in zip(columns, widths, strict=True):
        a = pa.array(arr, type=pa.string())
        arrays.append(pc.utf8_rpad(pc.utf8_slice_codeunits(a, 0, w), width=w, padding=" "))
    arrays.append(pa.array(np.full(len(columns[0]), "\n", dtype=object), type=pa.string()))
    joined = pc.binary_join_element_wise(*arrays, "")
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    if len(joined) == 0:
        return b""
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)[
        joined.offset : joined.offset + len(joined) + 1
    ]
    data = joined.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
    return bytes(data)


def corrupt(spec: FileSpec, fields: dict[str, str], kind: str, rng: np.random.Generator) -> str:
    """One delivered row made malformed in the way `kind` names; returns the whole line."""
    f = dict(fields)
    enc = ENCODING[spec.system]
    stray: str | None = None
    if kind == "encoding":
        target = next(c for c in spec.columns if c not in spec.key and c != "record_type")
        val = f[target] or "X"
        cut = int(rng.integers(0, len(val)))
        f[target] = val[:cut] + BAD_BYTE[enc] + val[cut + 1 :]
    elif kind == "missing_key":
        f[spec.key[0]] = ""
    elif kind == "bad_date":
        f[spec.dates[int(rng.integers(0, len(spec.dates)))]] = BAD_DATE[spec.system]
    elif kind == "bad_code":
        col, bad = spec.codes[int(rng.integers(0, len(spec.codes)))]
        f[col] = bad
    elif kind == "bad_amount":
        col, bad = spec.amounts[int(rng.integers(0, len(spec.amounts)))]
        f[col] = bad
    elif kind == "unbalanced_quote":
        stray = next(c for c in spec.columns if c not in spec.key and f.get(c) and "," not in f[c])
        f[stray] = '"' + f[stray]
    values = []
    for c in spec.columns:
        v = f[c]
        if spec.kind == "csv" and c != stray and any(ch in v for ch in ',"\r\n'):
            v = '"' + v.replace('"', '""') + '"'
        values.append(v)
    line = join_one(spec, values)
    if kind == "field_count":
        line = line + spec.sep + "EXTRA" if rng.random() < 0.5 else line.rsplit(spec.sep, 1)[0]
    elif kind == "record_length":
        line = line[: -int(rng.integers(1, 40))]
    return line


# -------------------------------------------------------------------------------------- writing


def write_bytes(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def write_ctl(path: Path, records: int, digest: str, full: bool, drop_day: int) -> None:
    d = EPOCH + dt.timedelta(days=drop_day)
    text = (
        f"records={records}\nsha256={digest}\nextract_type={'FULL' if full else 'DELTA'}\n"
        f"extract_date={d.isoformat()}\n"
    )
    path.write_bytes(text.encode("ascii"))


def encode_lines(lines: list[str], system: str, bom: bool, trailing_blank: bool) -> bytes:
    nl = NEWLINE.get(system, "\n")
    text = nl.join(lines) + nl + (nl if trailing_blank else "")
    data = text.encode(ENCODING[system], errors="surrogateescape")
    return (b"\xef\xbb\xbf" + data) if bom else data


def write_file_type(
    landing: Path,
    name: str,
    v: pd.DataFrame,
    cols: dict[str, np.ndarray],
    plan: Delivery,
    sch: Schedule,
    cutoff: int,
    rng: np.random.Generator,
    cfg: GeneratorConfig,
    faults: FaultLog,
) -> int:
    """Write every drop (up to the cutoff) of one file type; returns the number of files written."""
    spec = SPECS[name]
    raw = {k: np.asarray(a, dtype=object) for k, a in cols.items()}
    quoted = {k: csv_quote(a) for k, a in raw.items()} if spec.kind == "csv" else raw
    lines = join_fields(spec, quoted) if len(v) else np.zeros(0, dtype=object)
    ts = v["ts"].to_numpy(dtype=np.int64) if len(v) else np.zeros(0, dtype=np.int64)
    keys = v["_key"].to_numpy() if len(v) else np.zeros(0, dtype=object)
    order: np.ndarray = (
        np.lexsort((keys[plan.version], ts[plan.version], plan.drop))
        if len(plan.version)
        else np.zeros(0, int)
    )
    ver, drp, flt = plan.version[order], plan.drop[order], plan.fault[order]
    bounds = np.searchsorted(drp, np.arange(len(sch.dates) + 1))
    blank_line = rng.random(len(sch.dates)) < cfg.flow.trailing_blank_line  # drawn for every night
    written = 0
    for i, d in enumerate(sch.dates):
        if int(d) > cutoff:
            break
        a, b = bounds[i], bounds[i + 1]
        stamp = ymd(int(d))
        folder = landing / spec.system / stamp
        fname = spec.pattern.format(d=stamp)
        out: list[str] = []
        for j in range(a, b):
            if flt[j]:
                fields = {c: str(raw[c][ver[j]]) for c in spec.columns}
                out.append(corrupt(spec, fields, str(flt[j]), rng))
                faults.rows.append(
                    (f"{spec.system}/{stamp}/{fname}", len(out) + 1, str(flt[j]), str(keys[ver[j]]))
                )
            else:
                out.append(str(lines[ver[j]]))
        full = int(d) in sch.full
        if spec.kind == "fixed":
            head = ("H" + stamp + "UICLM" + ("F" if full else "D")).ljust(210)
            tail = ("T" + f"{len(out):09d}").ljust(210)
            data = encode_lines([head, *out, tail], spec.system, False, False)
            write_bytes(folder / fname, data)
        else:
            header = spec.sep.join(spec.columns)
            data = encode_lines([header, *out], spec.system, spec.system == "adult_ed", bool(blank_line[i]))
            digest = write_bytes(folder / fname, data)
            write_ctl(folder / (fname + ".ctl"), len(out), digest, full, int(d))
        written += 1
    return written
