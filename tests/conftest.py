"""Shared fixtures: where the contract lives and one generated synthetic state per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    env = os.environ.get("WW_SHARED_DIR")
    return Path(env).resolve() if env else (REPO_ROOT.parent / "shared").resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared` beside the clone (CI lays it there); WW_SHARED_DIR overrides."""
    path = _shared_dir()
    if not (path / "extracts" / "README.md").is_file():
        pytest.fail(f"the source contract is missing: {path}/extracts/README.md (set WW_SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def samples_dir(shared_dir: Path) -> Path:
    """The contract's own sample delivery (a landing-zone root)."""
    return shared_dir / "extracts" / "samples"


GENERATED_PEOPLE = 1500
GENERATED_SEED = 7


def run_generator(out: Path, *extra: str, people: int = GENERATED_PEOPLE, seed: int = GENERATED_SEED) -> Path:
    """Write a synthetic state with the real CLI into `out` (`out/landing`, `out/truth`)."""
    cmd = [
        sys.executable,
        "-m",
        "synthetic",
        "--people",
        str(people),
        "--seed",
        str(seed),
        "--out",
        str(out),
        *extra,
    ]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"synthetic generator failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return out


@pytest.fixture(scope="session")
def generated_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic state written by the real CLI: `<out>/landing` and `<out>/truth`."""
    return run_generator(tmp_path_factory.mktemp("synthetic_state"))
