"""Helpers for tests that need a writable landing zone (a copy of the contract's samples)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path


def copy_samples(samples_dir: Path, dest: Path) -> Path:
    """Copy the sample landing zone to `dest` (writable: the shared samples are read-only)."""
    shutil.copytree(samples_dir, dest, symlinks=True)
    for directory, _dirs, files in os.walk(dest):
        os.chmod(directory, os.stat(directory).st_mode | stat.S_IWUSR)
        for name in files:
            path = Path(directory) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return dest


def write_data(path: Path, content: bytes, *, records: int | None = None, fix_digest: bool = True) -> None:
    """Replace a delimited data file; update its control file's sha256 (and records if given)."""
    path.write_bytes(content)
    ctl = path.with_name(path.name + ".ctl")
    if not ctl.exists():
        return
    lines = []
    for line in ctl.read_text().splitlines():
        key, _, _value = line.partition("=")
        if key == "sha256" and fix_digest:
            line = f"sha256={hashlib.sha256(content).hexdigest()}"
        elif key == "records" and records is not None:
            line = f"records={records}"
        lines.append(line)
    ctl.write_text("\n".join(lines) + "\n")
