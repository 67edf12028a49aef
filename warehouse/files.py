"""Publishing files atomically: write beside the target, then rename over it.

A reader sees either the previous complete file or the new complete file, never a partial
one. A failed write removes its temporary file and leaves the previous file in place; a
process killed mid-write can leave a stray `.<name>.<random>.tmp` beside it, never a torn
target.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["write_bytes_atomic", "write_parquet_atomic", "write_text_atomic"]


def write_parquet_atomic(table: pa.Table, path: Path) -> Path:
    """Write `table` to `path` as Parquet, atomically; create the parent directory. Returns `path`."""
    return _write_atomic(path, lambda sink: pq.write_table(table, sink), 0o666)


def write_text_atomic(path: Path, text: str, mode: int = 0o666) -> Path:
    """Write UTF-8 text to `path` atomically; ``mode`` (before the umask) e.g. 0600 for restricted files."""
    data = text.encode("utf-8")
    return _write_atomic(path, lambda sink: sink.write(data), mode)


def write_bytes_atomic(path: Path, data: bytes, mode: int = 0o666) -> Path:
    """Write bytes to `path` atomically (a workbook built in memory, say)."""
    return _write_atomic(path, lambda sink: sink.write(data), mode)


def _write_atomic(path: Path, write: Callable[[BinaryIO], object], mode: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # Created exclusively, with the mode asked for (minus the umask) from the first byte.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as sink:
            write(sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
