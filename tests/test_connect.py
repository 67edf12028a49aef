"""Opening the restricted zone while another process holds it: a transient failure, retried."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from warehouse.ingest import connect, restricted_path

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process with the file open read-write (as `explain` or a notebook would hold it)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_the_pipeline_waits_for_a_lock_to_go_away(tmp_path: Path) -> None:
    connect(tmp_path).close()
    holder = _hold(restricted_path(tmp_path), 3)
    started = time.monotonic()
    con = connect(tmp_path, lock_wait_seconds=60)  # retried until the holder lets go
    waited = time.monotonic() - started
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    holder.wait()
    assert waited >= 1.0  # it did wait, and then it worked


def test_a_lock_held_too_long_is_an_error_naming_it(tmp_path: Path) -> None:
    connect(tmp_path).close()
    holder = _hold(restricted_path(tmp_path), 5)
    try:
        with pytest.raises(duckdb.IOException, match="lock"):
            connect(tmp_path, lock_wait_seconds=0)
    finally:
        holder.wait()
