"""`python -m pipelines run` as a user runs it: a subprocess with its own DAGSTER_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from landing_helpers import copy_samples

from pipelines.settings import REPO_ROOT


def _run(*args: str, dagster_home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WW_", "DAGSTER_"))}
    env["DAGSTER_HOME"] = str(dagster_home)
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=300,
    )


def test_run_builds_the_inventory(samples_dir: Path, tmp_path: Path) -> None:
    landing = copy_samples(samples_dir, tmp_path / "landing")
    warehouse = tmp_path / "warehouse"
    home = tmp_path / "dagster_home"
    proc = _run("run", "--landing", str(landing), "--warehouse", str(warehouse), dagster_home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    inventory = warehouse / "inventory" / "landing_inventory.parquet"
    assert pq.read_table(inventory).num_rows == 12
    assert "SUCCESS" in proc.stdout
    assert f"materialized landing_inventory -> {inventory}" in proc.stdout
    assert "check landing_drops_verified passed" in proc.stdout
    # The instance was created from the repository's dagster.yaml, storage defaulting to DAGSTER_HOME.
    assert (home / "dagster.yaml").read_text() == (REPO_ROOT / "dagster.yaml").read_text()
    assert (home / "history" / "runs.db").exists()


def test_rejected_drop_fails_the_run_naming_step_and_file(samples_dir: Path, tmp_path: Path) -> None:
    landing = copy_samples(samples_dir, tmp_path / "landing")
    (landing / "title1" / "20240301" / "t1_outcomes_20240301.csv.ctl").unlink()
    proc = _run(
        "run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), dagster_home=tmp_path / "home"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILURE" in proc.stdout
    assert "check landing_drops_verified FAILED" in proc.stdout
    assert "title1/20240301/t1_outcomes_20240301.csv: no control file" in proc.stdout
    assert "error: step landing_inventory_landing_drops_verified failed" in proc.stderr
    # The inventory is still written: it is the record of what arrived.
    assert (tmp_path / "wh" / "inventory" / "landing_inventory.parquet").exists()


def test_bad_landing_path_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-landing"
    proc = _run(
        "run", "--landing", str(missing), "--warehouse", str(tmp_path / "wh"), dagster_home=tmp_path / "h"
    )
    assert proc.returncode == 2
    assert f"error: landing zone not found: {missing}" in proc.stderr
    assert not (tmp_path / "wh").exists()


def test_missing_arguments_show_usage(tmp_path: Path) -> None:
    proc = _run("run", "--landing", str(tmp_path), dagster_home=tmp_path / "h")
    assert proc.returncode == 2
    assert "--warehouse" in proc.stderr


def test_run_fails_naming_the_rejected_file_and_reason_and_loads_the_rest(tmp_path: Path) -> None:
    from tests.drops import write_drop, write_file

    landing = tmp_path / "landing"
    write_drop(landing, "wp", "20240301", {"wp_services": [{}]}, full=True)
    write_file(landing, "vr_cases", "20240301", [{}], ctl_records=9)  # the control count is wrong
    write_file(landing, "vr_outcomes", "20240301", [])
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "run",
            "--landing",
            str(landing),
            "--warehouse",
            str(tmp_path / "wh"),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "drops_accepted FAILED: vr/20240301/VR_CASES_20240301.TXT: records mismatch" in proc.stdout
    assert "VR_CASES_20240301.TXT: vr/20240301/VR_CASES" not in proc.stdout  # the file is named once
    import duckdb

    con = duckdb.connect(str(tmp_path / "wh" / "restricted.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM stg_wp_services").fetchone() == (1,)  # the rest loaded
