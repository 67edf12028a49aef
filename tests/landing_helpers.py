"""Helpers for tests that need a writable landing zone (a copy of the contract's samples)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path

from sources.layout import LAYOUT_DIR


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


def copy_layouts(dest: Path, extra: Mapping[str, str] | None = None) -> Path:
    """Copy the repository's layout directory to `dest` and add `extra` layout files (name → YAML)."""
    shutil.copytree(LAYOUT_DIR, dest)
    for name, text in (extra or {}).items():
        (dest / name).write_text(text, encoding="utf-8")
    return dest


def write_control_file(
    data: Path,
    *,
    records: int,
    extract_date: str,
    extract_type: str = "DELTA",
    sha256: str | None = None,
) -> Path:
    """Write `<data>.ctl` as the contract has it (the data file's true digest unless one is given)."""
    digest = sha256 if sha256 is not None else hashlib.sha256(data.read_bytes()).hexdigest()
    ctl = data.with_name(data.name + ".ctl")
    ctl.write_text(
        f"records={records}\nsha256={digest}\nextract_type={extract_type}\nextract_date={extract_date}\n"
    )
    return ctl
