"""Crash safety and idempotency of `python -m pipelines run`, killed with SIGKILL (issue 6, items 2, 3).

A small synthetic state is split into two landing zones: night A (every drop up to `NIGHT_A`) and
A+B (everything). Baseline W0: the CLI runs A, then A+B, uninterrupted. Crash chain: a copy of the
warehouse as A left it runs A+B and is SIGKILLed (its whole process group) in the middle of
(a) the nightly ingest, then again in the middle of (b) the linkage, then again in the middle of
(c) the analytics publish, each run resuming what the previous crash left; then a run completes.
After every kill the published zone must still be the one A published, byte for byte, and the
restricted database must open; after the completing run the published zone and the reports must
equal W0's. Finally a complete warehouse run again on the same landing zone must change nothing.

B spans seven nights after A, so the A+B run relinks in full (`WW_LINKAGE_FULL_RELINK_DAYS` is 7):
the linkage kill lands after the retrained model was saved (outside the linkage transaction) and
before that transaction committed.
Every run gets its own DAGSTER_HOME (see `test_a_killed_run_does_not_block_the_next_run_in_its_instance`
for why, and for the run that reuses the killed run's instance).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import run_generator

from pipelines.settings import REPO_ROOT
from synthetic.config import GeneratorConfig

pytestmark = pytest.mark.slow

PEOPLE, SEED = 400, 3  # about the fewest people the generator takes (at 250 it fails: no look-alikes)
GENERATOR_ARGS = (
    "--history-start",
    "2022-01-01",
    "--full-date",
    "2023-02-05",
    "--end-date",
    "2023-03-20",  # the generator wants 41+ nights after the FULL drop ...
    "--as-of",
    "2023-02-13",  # ... but the landing zone is cut here: 9 nights, all in program year 2022
)
NIGHT_A = "20230206"  # A: the FULL drop and one DELTA night, and every wage quarter delivered by then
NIGHT_B = date(2023, 2, 13)  # the A+B run acts as of its last night: 7 days later, a full relink

RUN_TIMEOUT = 300.0  # seconds: one CLI run takes well under a minute here
POLL = 0.01  # seconds between looks at the running process's event log and files
INGEST_KILL_DELAY = 0.1  # after the step starts: past Dagster's preamble, inside the loads
STALL_SECONDS = 6.0  # a run whose first step has not started by then is stuck (normally < 1 s)

REPORTS = ("reports/performance_report.xlsx", "reports/performance_report.html")
DICTIONARY = "docs/data_dictionary.md"
TMP_DB_GLOB = ".analytics.duckdb.*.tmp"

# What the comparison with the uninterrupted run leaves out, and why. Everything else (every other
# table, every other column, the reports' and the dictionary's bytes) must be equal.
RUN_LOG_TABLES = {
    # one row per linkage run with its run id and wall-clock start and end: the crash chain ran (and
    # committed) linkage in other runs than W0 did, and once more (the killed publish run's linkage
    # had committed), so its rows can only differ
    "linkage_runs",
    # one row per write of a restricted table by a step of a run, with wall-clock times (when
    # published): killed runs committed writes too
    "write_audit",
}
VOLATILE_COLUMNS = {
    "load_audit": (
        "run_id",  # the Dagster run that loaded the file: the crash chain's files were loaded by other runs
        "loaded_at",  # wall-clock time of the load
        # the sequence number: when the kill lands after a system's first transaction (which draws a
        # number for every pending file) committed, those numbers are not handed out again, and the
        # files loaded after the crash get higher numbers than in W0 - gaps, as any database sequence
        # has, in the same order. Whether it happens depends on the instant of the kill.
        "load_id",
    ),
    "customer_id_history": ("run_id",),  # the Dagster run of the linkage that made the change
}


# --------------------------------------------------------------------------- the state and its nights


def _delivered_on(system: str, drop: str) -> str:
    """The night a drop arrives: its folder name, or for a wage quarter the quarter's end plus the lag."""
    if system != "ui_wages":
        return drop
    year, q = (int(x) for x in drop.split("Q"))
    quarter_end = date(year + q // 4, 3 * q % 12 + 1, 1) - timedelta(days=1)
    return (quarter_end + timedelta(days=GeneratorConfig().wage_lag_days)).strftime("%Y%m%d")


def _split_landing(landing: Path, night_a: Path, night_ab: Path) -> tuple[int, int]:
    """Copy the drops delivered by NIGHT_A into `night_a` and every drop into `night_ab`."""
    counts = [0, 0]
    for system in sorted(p for p in landing.iterdir() if p.is_dir()):
        for drop in sorted(p for p in system.iterdir() if p.is_dir()):
            shutil.copytree(drop, night_ab / system.name / drop.name)
            counts[1] += 1
            if _delivered_on(system.name, drop.name) <= NIGHT_A:
                shutil.copytree(drop, night_a / system.name / drop.name)
                counts[0] += 1
    return counts[0], counts[1]


# --------------------------------------------------------------------------- running the CLI


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WW_", "DAGSTER_"))}
    env["DAGSTER_HOME"] = str(home.resolve())
    env["PYTHONUNBUFFERED"] = "1"  # what the CLI printed before the kill is in the file
    return env


def _cmd(landing: Path, warehouse: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipelines",
        "run",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
    ]


def _run(landing: Path, warehouse: Path, home: Path, timings: dict[str, float], label: str) -> str:
    """One complete CLI run; its stdout (it must succeed)."""
    started = time.monotonic()
    proc = subprocess.run(
        _cmd(landing, warehouse),
        cwd=REPO_ROOT,
        env=_env(home),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=RUN_TIMEOUT,
    )
    timings[label] = time.monotonic() - started
    assert proc.returncode == 0, f"{label}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return proc.stdout


Events = dict[str, list[tuple[str, str | None]]]


def _events(home: Path) -> Events:
    """Per run id, the (event type, step key) of every Dagster event in the instance's SQLite event log."""
    out: Events = {}
    for db in sorted((home / "history" / "runs").glob("*.db")):
        if db.name == "index.db":
            continue
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)
            try:
                out[db.stem] = con.execute(
                    "SELECT dagster_event_type, step_key FROM event_logs "
                    "WHERE dagster_event_type IS NOT NULL ORDER BY id"
                ).fetchall()
            finally:
                con.close()
        except sqlite3.Error:
            continue  # being created by the run: look again at the next poll
    return out


def _step_events(events: Events, step: str) -> list[str]:
    return [kind for run in events.values() for kind, key in run if key == step]


@dataclass(frozen=True)
class KillPoint:
    """Where to kill: the step that must be running, and when (given the warehouse and the event log)."""

    name: str
    step: str
    fire: Callable[[Path, Events], bool]
    delay: float = 0.0


def _started(step: str) -> Callable[[Path, Events], bool]:
    return lambda _wh, events: "STEP_START" in _step_events(events, step)


def _new_model_saved(models_after_a: frozenset[str]) -> Callable[[Path, Events], bool]:
    def fire(wh: Path, events: Events) -> bool:
        models = {p.name for p in (wh / "models").glob("linkage-model-*.json")}
        return "STEP_START" in _step_events(events, "linkage__customers") and bool(models - models_after_a)

    return fire


def _publish_building(wh: Path, events: Events) -> bool:
    return "STEP_START" in _step_events(events, "analytics__published") and any(wh.glob(TMP_DB_GLOB))


@dataclass
class Killed:
    """What a killed run left behind."""

    point: str
    step: str
    returncode: int
    stdout: str
    step_events: list[str]
    zone: Zone
    restricted: Restricted
    tmp_dbs: list[str]
    wal: bool  # restricted.duckdb.wal was there: uncommitted or unCHECKPOINTed work for DuckDB to replay


def _run_and_kill(
    landing: Path, wh: Path, home: Path, point: KillPoint, timings: dict[str, float]
) -> tuple[int, str]:
    """Start the CLI in its own process group and SIGKILL the group when `point` fires."""
    out_path = home.with_name(home.name + ".stdout")
    started = time.monotonic()
    err_path = home.with_name(home.name + ".stderr")
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            _cmd(landing, wh),
            cwd=REPO_ROOT,
            env=_env(home),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        fired = False
        try:
            while proc.poll() is None and time.monotonic() - started < RUN_TIMEOUT:
                if point.fire(wh, _events(home)):
                    time.sleep(point.delay)
                    os.killpg(proc.pid, signal.SIGKILL)
                    fired = True
                    break
                time.sleep(POLL)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    timings[f"crash run killed in {point.name}"] = time.monotonic() - started
    stdout = out_path.read_text()
    assert fired, (
        f"kill point {point.name} never came (exit {proc.returncode}):\n{stdout}\n{err_path.read_text()[-4000:]}"
    )
    return proc.returncode, stdout


def _resume_in_instance(landing: Path, wh: Path, home: Path, timings: dict[str, float]) -> str | None:
    """Run again in the instance of a killed run. None if it completed; else the id of the run whose
    warehouse_writer slot the new run was left waiting for (the process is then killed)."""
    before = set(_events(home))
    started = time.monotonic()
    seen: float | None = None
    with open(os.devnull, "w") as sink:
        proc = subprocess.Popen(
            _cmd(landing, wh),
            cwd=REPO_ROOT,
            env=_env(home),
            stdout=sink,
            stderr=sink,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            while proc.poll() is None and time.monotonic() - started < RUN_TIMEOUT:
                new = {k: v for k, v in _events(home).items() if k not in before}
                if any(kind == "STEP_START" for run in new.values() for kind, _ in run):
                    proc.wait(timeout=RUN_TIMEOUT)  # a step runs: not stuck, let it finish
                    break
                if new and seen is None:
                    seen = time.monotonic()
                if seen is not None and time.monotonic() - seen > STALL_SECONDS:
                    break
                time.sleep(0.2)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    timings["rerun in the killed run's instance"] = time.monotonic() - started
    if proc.returncode == 0:
        return None
    con = sqlite3.connect(f"file:{home / 'history' / 'runs' / 'index.db'}?mode=ro", uri=True)
    try:
        holders = con.execute(
            "SELECT run_id FROM concurrency_slots WHERE run_id IS NOT NULL AND NOT deleted"
        ).fetchall()
    finally:
        con.close()
    return ", ".join(str(r[0]) for r in holders) or f"nothing (exit {proc.returncode})"


# --------------------------------------------------------------------------- what a run published


@dataclass(frozen=True)
class Zone:
    """The published zone as its readers see it."""

    link: str  # where `parquet` points
    tables: dict[str, list[tuple[object, ...]]]  # analytics.duckdb, every row (sorted)
    stable: dict[str, list[tuple[object, ...]]]  # the same without RUN_LOG_TABLES and VOLATILE_COLUMNS
    # parquet/<table>/ (one file or Hive partitions) read back, without the same columns
    parquet: dict[str, list[tuple[object, ...]]]
    files: dict[str, bytes]  # parquet files, dictionary, reports
    unclassified: list[str]  # run-id or timestamp columns neither excluded nor in a run log table


def _zone(wh: Path) -> Zone:
    link = os.readlink(wh / "parquet")
    con = duckdb.connect(str(wh / "analytics.duckdb"), read_only=True)
    try:
        names = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        tables = {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in names}
        stable, parquet, unclassified = {}, {}, []
        for t in names:
            if t in RUN_LOG_TABLES:
                continue
            types = dict(
                con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [t]
                ).fetchall()
            )
            cols = list(types)
            dropped = VOLATILE_COLUMNS.get(t, ())
            unclassified += [
                f"{t}.{c}"
                for c, kind in types.items()
                if c not in dropped and (c.endswith("run_id") or str(kind).startswith("TIMESTAMP"))
            ]
            assert set(dropped) <= set(cols), f"{t}: an excluded column is gone: {set(dropped) - set(cols)}"
            keep = ", ".join(f'"{c}"' for c in cols if c not in dropped)
            stable[t] = con.execute(f'SELECT {keep} FROM "{t}" ORDER BY ALL').fetchall()
            if t != "data_dictionary":
                pattern = str(wh / "parquet" / t / "**" / "*.parquet")
                parquet[t] = con.execute(
                    f"SELECT {keep} FROM read_parquet(?, hive_partitioning = true) ORDER BY ALL", [pattern]
                ).fetchall()
    finally:
        con.close()
    paths = [*(wh / "parquet").rglob("*.parquet"), wh / DICTIONARY, *(wh / r for r in REPORTS)]
    files = {p.relative_to(wh).as_posix(): p.read_bytes() for p in paths}
    return Zone(
        link=link, tables=tables, stable=stable, parquet=parquet, files=files, unclassified=unclassified
    )


@dataclass(frozen=True)
class Restricted:
    """What the restricted database says after a kill (opened read-only: the next run recovers it)."""

    loaded: frozenset[tuple[str, str]]  # (system, drop) of every LOADED file
    linkage_nights: tuple[date, ...]


def _restricted(wh: Path) -> Restricted:
    con = duckdb.connect(str(wh / "restricted.duckdb"), read_only=True)
    try:
        loaded = con.execute(
            "SELECT DISTINCT source_system, drop_name FROM load_audit WHERE status = 'LOADED'"
        ).fetchall()
        nights = con.execute("SELECT run_date FROM linkage_runs ORDER BY run_date").fetchall()
    finally:
        con.close()
    return Restricted(frozenset((str(s), str(d)) for s, d in loaded), tuple(n for (n,) in nights))


# --------------------------------------------------------------------------- the scenario


@dataclass
class Scenario:
    night_a: Path
    night_ab: Path
    drops: tuple[int, int]
    after_a: Zone
    baseline: Zone  # W0 after A and A+B, uninterrupted
    baseline_wh: Path
    baseline_home: Path
    baseline_linkage: list[tuple[object, ...]]  # W0's linkage_runs (run_date, mode)
    kills: dict[str, Killed] = field(default_factory=dict)
    stuck_on: str | None = None  # the run whose slot held up a rerun in a killed run's instance
    recovered: Zone | None = None
    recovered_wh: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _kill_points(models_after_a: frozenset[str]) -> list[KillPoint]:
    return [
        # (a) the nightly ingest: adult_ed, title1 and ui have loaded B, vr is loading, wp waits
        KillPoint("ingest", "staging__vr", _started("staging__vr"), delay=INGEST_KILL_DELAY),
        # (b) the linkage: retrained model saved, the linkage transaction not committed
        KillPoint("linkage", "linkage__customers", _new_model_saved(models_after_a)),
        # (c) the analytics publish: the new analytics.duckdb being built beside the published one
        KillPoint("publish", "analytics__published", _publish_building),
    ]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    root = tmp_path_factory.mktemp("crash")
    timings: dict[str, float] = {}
    started = time.monotonic()
    state = run_generator(root / "state", *GENERATOR_ARGS, people=PEOPLE, seed=SEED)
    timings["generator"] = time.monotonic() - started
    night_a, night_ab = root / "landing_a", root / "landing_ab"
    drops = _split_landing(state / "landing", night_a, night_ab)

    w0, crash = root / "w0", root / "crash"
    _run(night_a, w0, root / "home_w0", timings, "night A")
    shutil.copytree(w0, crash, symlinks=True)  # the warehouse as night A left it
    after_a = _zone(crash)
    _run(night_ab, w0, root / "home_w0", timings, "night A+B (baseline)")
    con = duckdb.connect(str(w0 / "restricted.duckdb"), read_only=True)
    try:
        linkage = con.execute("SELECT run_date, mode FROM linkage_runs ORDER BY run_date").fetchall()
    finally:
        con.close()
    sc = Scenario(
        night_a, night_ab, drops, after_a, _zone(w0), w0, root / "home_w0", linkage, timings=timings
    )

    models_after_a = frozenset(p.name for p in (crash / "models").glob("linkage-model-*.json"))
    home = root / "home_w0"
    for point in _kill_points(models_after_a):
        home = root / f"home_{point.name}"  # a fresh instance each time: see the stale-slot test
        rc, stdout = _run_and_kill(night_ab, crash, home, point, timings)
        wal = (crash / "restricted.duckdb.wal").exists()  # before anything opens the database
        sc.kills[point.name] = Killed(
            wal=wal,
            point=point.name,
            step=point.step,
            returncode=rc,
            stdout=stdout,
            step_events=_step_events(_events(home), point.step),
            zone=_zone(crash),
            restricted=_restricted(crash),
            tmp_dbs=sorted(p.name for p in crash.glob(TMP_DB_GLOB)),
        )
    # The next run, first in the last killed run's own instance (as `make run` would), then, if
    # that is stuck, in a fresh one.
    sc.stuck_on = _resume_in_instance(night_ab, crash, home, timings)
    if sc.stuck_on is not None:
        _run(night_ab, crash, root / "home_recovery", timings, "recovery run (fresh instance)")
    sc.recovered, sc.recovered_wh = _zone(crash), crash
    timings["scenario total"] = time.monotonic() - started
    print("\ncrash scenario timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    print("kills: " + ", ".join(f"{k.point} (WAL left: {k.wal})" for k in sc.kills.values()))
    return sc


# --------------------------------------------------------------------------- the tests


def test_the_scenario_has_two_nights_and_a_full_relink(scenario: Scenario) -> None:
    """The premises of the kills: B brings new drops, and the A+B run relinks in full."""
    # A: 5 nightly systems x 2 nights (0205, 0206) + 7 wage quarters (2021Q1-2022Q3, all arrived by
    # 2022-11-14) = 17; A+B: 5 x 9 nights (0205-0213) less title1's missing 0210, + 7 = 51
    assert scenario.drops == (17, 51)
    assert scenario.baseline_linkage == [(date(2023, 2, 6), "FULL"), (NIGHT_B, "FULL")]
    assert scenario.baseline.tables["participation"], "the baseline published periods"
    # B changes what is published (else "the zone is still A's" after a kill would prove nothing)
    changed = [
        t for t in scenario.baseline.stable if scenario.after_a.stable.get(t) != scenario.baseline.stable[t]
    ]
    assert {"load_audit", "participation", "customers"} <= set(changed), changed


@pytest.mark.parametrize("point", ["ingest", "linkage", "publish"])
def test_a_kill_mid_step_leaves_the_published_zone_as_night_a_left_it(scenario: Scenario, point: str) -> None:
    killed = scenario.kills[point]
    assert killed.returncode == -signal.SIGKILL
    # the kill landed inside the step: it had started and had not produced its output
    assert "STEP_START" in killed.step_events, killed.step_events
    assert not {"STEP_OUTPUT", "STEP_SUCCESS", "STEP_FAILURE"} & set(killed.step_events), killed.step_events
    # the CLI announced the nightly run and never got to its summary
    assert "nightly_job: partitions" in killed.stdout, killed.stdout
    assert "materialized reports/performance" not in killed.stdout
    assert "run " not in killed.stdout.split("nightly_job: partitions")[-1], killed.stdout

    after_a, zone = scenario.after_a, killed.zone
    assert zone.link == after_a.link  # parquet/ still points at night A's version ...
    assert zone.tables == after_a.tables  # ... analytics.duckdb still holds night A's rows, all of them
    assert zone.parquet == after_a.parquet  # ... the Parquet files resolve and read ...
    assert zone.files == after_a.files  # ... and every published byte, dictionary and reports included

    # the restricted database opened (DuckDB replays its WAL); the kill fell where it was meant to
    loaded, nights = killed.restricted.loaded, killed.restricted.linkage_nights
    b_night = ("wp", "20230207")
    if point == "ingest":
        assert {("adult_ed", "20230207"), ("ui", "20230207")} <= loaded  # loaded before vr
        assert b_night not in loaded  # wp comes after vr
        assert NIGHT_B not in nights
    elif point == "linkage":
        assert b_night in loaded
        assert NIGHT_B not in nights  # the linkage transaction never committed
    else:
        assert NIGHT_B in nights  # linkage done, the warehouse assets done ...
        assert killed.tmp_dbs, "the new analytics.duckdb was being built when the kill landed"


def test_the_run_after_the_crashes_publishes_what_an_uninterrupted_run_does(scenario: Scenario) -> None:
    recovered, baseline = scenario.recovered, scenario.baseline
    assert recovered is not None
    assert not baseline.unclassified, f"published run ids / timestamps to classify: {baseline.unclassified}"
    assert recovered.stable.keys() == baseline.stable.keys()
    different = [t for t in baseline.stable if recovered.stable[t] != baseline.stable[t]]
    assert not different, different
    assert recovered.parquet == baseline.parquet
    assert recovered.tables["linkage_runs"] and recovered.tables["load_audit"]
    volatile = tuple(f"parquet/{t}/" for t in [*RUN_LOG_TABLES, *VOLATILE_COLUMNS])
    assert recovered.files.keys() == baseline.files.keys()
    different = [
        f for f in baseline.files if not f.startswith(volatile) and recovered.files[f] != baseline.files[f]
    ]
    assert not different, different
    assert {*REPORTS, DICTIONARY} <= baseline.files.keys()


def test_a_killed_run_does_not_block_the_next_run_in_its_instance(scenario: Scenario) -> None:
    assert scenario.stuck_on is None, f"the next run waited for the pool slot held by run {scenario.stuck_on}"


def test_the_run_after_a_crash_leaves_no_debris_of_it(scenario: Scenario) -> None:
    wh = scenario.recovered_wh
    assert wh is not None and scenario.recovered is not None
    assert not sorted(p.name for p in wh.glob(TMP_DB_GLOB))
    versions = {p.name for p in (wh / "analytics_versions").iterdir()}
    current = Path(scenario.recovered.link).parent.name
    previous = Path(scenario.after_a.link).parent.name  # the last version published before it
    assert versions == {current, previous}


def test_the_same_nights_twice_change_nothing(scenario: Scenario) -> None:
    """A complete warehouse, run again on the same landing zone: nothing is pending, the nightly job
    still runs for the last night (the CLI's real behaviour), and nothing published changes."""
    stdout = _run(scenario.night_ab, scenario.baseline_wh, scenario.baseline_home, scenario.timings, "again")
    assert "quarterly_job" not in stdout  # no wage quarter pending
    assert f"nightly_job: partitions {NIGHT_B} .. {NIGHT_B} (0 pending drops)" in stdout
    assert "materialized reports/performance" in stdout
    before, after = scenario.baseline, _zone(scenario.baseline_wh)
    # the run logs keep their rows and gain this run's (linkage: one run, one row); every other table
    # is equal, run ids and timestamps included (nothing was loaded, no id changed)
    assert len(after.tables["linkage_runs"]) == len(before.tables["linkage_runs"]) + 1
    for log in RUN_LOG_TABLES & before.tables.keys():
        assert set(before.tables[log]) < set(after.tables[log]), log
    rest = {t: r for t, r in before.tables.items() if t not in RUN_LOG_TABLES}
    assert {t: r for t, r in after.tables.items() if t not in RUN_LOG_TABLES} == rest
    assert after.parquet == before.parquet
    logs = tuple(f"parquet/{t}/" for t in RUN_LOG_TABLES)
    assert after.files.keys() == before.files.keys()
    changed = [f for f in before.files if not f.startswith(logs) and after.files[f] != before.files[f]]
    assert not changed, changed
