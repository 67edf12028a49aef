"""Command line: `python -m pipelines run --landing DIR --warehouse DIR`, and
`python -m pipelines explain --warehouse DIR ui:<claim id> wp:<individual id>` (restricted users).

Processes every drop of the landing zone that the warehouse has not recorded, in order: the
pending drops are read from the warehouse's `load_audit`, then `quarterly_job` and
`nightly_job` run in this process over the partition ranges that cover them (one run each),
against the Dagster instance in DAGSTER_HOME (created, with the repository's `dagster.yaml`,
when missing), so the runs appear in `make dev`'s UI. Prints what ran and where the outputs
are; exits 1 when a run fails (naming the failing steps and their errors) and 2 when the
arguments are unusable.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pipelines.planning import plan_runs
from pipelines.settings import Settings, SettingsError

if TYPE_CHECKING:
    from dagster import DagsterInstance, ExecuteInProcessResult

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description="Workforce warehouse pipeline (Dagster code location: pipelines.definitions).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run nightly_job in-process against DAGSTER_HOME",
        description=(
            "Run nightly_job in this process: verify the landing zone and build the warehouse. "
            "The run is recorded in the Dagster instance at DAGSTER_HOME (default var/dagster_home)."
        ),
    )
    run.add_argument("--landing", required=True, type=Path, help="landing-zone root (<landing>/<system>/...)")
    run.add_argument("--warehouse", required=True, type=Path, help="warehouse directory (created if missing)")
    run.add_argument(
        "--run-date", type=_iso_date, default=None, help="act as of this date (YYYY-MM-DD); default today"
    )
    explain = commands.add_parser(
        "explain",
        help="why two person records are (not) one customer: the waterfall of match weights",
        description=(
            "Print the comparison levels and match weights of two person records under the current "
            "linkage model and write Splink's waterfall chart as a self-contained HTML page. Shows "
            "identity values: for users of the restricted zone only."
        ),
    )
    explain.add_argument("--warehouse", required=True, type=Path, help="warehouse directory")
    explain.add_argument("record_a", help="source_system:source_record_id, e.g. ui:000000123456")
    explain.add_argument("record_b", help="source_system:source_record_id")
    explain.add_argument(
        "--out", type=Path, default=None, help="HTML file (default <warehouse>/review/explain-<a>-<b>.html)"
    )
    return parser


def explain_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from pipelines.resources import privacy_config
    from warehouse.ingest import connect, restricted_path
    from warehouse.linkage import REVIEW_DIR, explain
    from warehouse.privacy import configure_process

    if not restricted_path(Path(args.warehouse)).is_file():
        return _error(err, f"no warehouse at {args.warehouse} (restricted.duckdb missing)")
    configure_process(privacy_config(Settings.from_env()))  # an encrypted zone opens with its key
    con = connect(Path(args.warehouse), read_only=True)
    try:
        result = explain(con, Path(args.warehouse), args.record_a, args.record_b)
    except (KeyError, ValueError) as exc:
        return _error(err, str(exc).strip("'\""))
    finally:
        con.close()
    safe = "-".join(re.sub(r"[^A-Za-z0-9_.-]", "_", r) for r in (args.record_a, args.record_b))
    path = args.out or Path(args.warehouse) / REVIEW_DIR / f"explain-{safe}.html"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    old_umask = os.umask(0o077)  # identity values: created 0600 from the first byte
    try:
        result.write_html(path)
    finally:
        os.umask(old_umask)
    print(result.to_markdown(), file=out)
    print(f"\nwaterfall chart: {path}", file=out)
    return EXIT_OK


def _error(out: TextIO, message: str) -> int:
    print(f"error: {message}", file=out)
    return EXIT_USAGE


def run_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        settings = Settings.from_env().with_paths(
            landing=args.landing, warehouse=args.warehouse, run_date=args.run_date
        )
    except SettingsError as exc:
        return _error(err, str(exc))
    if not settings.landing.exists():
        return _error(err, f"landing zone not found: {settings.landing}")
    if not settings.landing.is_dir():
        return _error(err, f"landing zone is not a directory: {settings.landing}")
    if settings.warehouse.exists() and not settings.warehouse.is_dir():
        return _error(err, f"warehouse is not a directory: {settings.warehouse}")
    settings.warehouse.mkdir(parents=True, exist_ok=True)
    dagster_home = settings.prepare_dagster_instance()

    # Dagster is imported only now: DAGSTER_HOME and WW_DAGSTER_STORAGE are set.
    from dagster import DagsterInstance

    from pipelines.definitions import build_defs

    try:
        plan = plan_runs(settings)
    except ValueError as exc:
        return _error(err, str(exc))
    defs = build_defs(settings)
    print(f"landing {settings.landing} -> warehouse {settings.warehouse}", file=out)
    if not plan:
        print("nothing delivered: no drop in the landing zone", file=out)
        return EXIT_OK
    lock = _warehouse_lock(settings.warehouse)
    if lock is None:
        return _error(err, f"another run is using the warehouse {settings.warehouse} (lock {LOCK_FILE} held)")
    with lock, DagsterInstance.get() as instance:
        for run_id in _fail_dead_runs(instance, settings):
            print(
                f"run {run_id} was killed before it finished: marked failed, its writer slot freed", file=out
            )
        for planned in plan:
            job_name, first, last = planned.job, planned.first, planned.last
            job = defs.resolve_job_def(job_name)
            print(f"{job_name}: partitions {first} .. {last} ({planned.pending} pending drops)", file=out)
            started = time.monotonic()
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                tags={
                    LAUNCHED_BY_TAG: LAUNCHED_BY_CLI,
                    "dagster/asset_partition_range_start": first,
                    "dagster/asset_partition_range_end": last,
                },
            )
            elapsed = time.monotonic() - started
            _print_summary(result, elapsed, settings, dagster_home, out)
            if not result.success:
                _print_failures(result, err)
                return EXIT_RUN_FAILED
    return EXIT_OK


LOCK_FILE = ".pipeline.lock"
LAUNCHED_BY_TAG = "ww/launched_by"
LAUNCHED_BY_CLI = "cli"


def _warehouse_lock(warehouse: Path) -> TextIO | None:
    """An exclusive lock on the warehouse for the life of this command (None: another holds it).

    Every CLI run holds it while it runs, so a CLI run of this warehouse found unfinished by the
    next one that gets the lock was killed (SIGKILL, power loss): see `_fail_dead_runs`."""
    import fcntl

    handle = open(warehouse / LOCK_FILE, "a")  # noqa: SIM115 - held until the command ends
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _fail_dead_runs(instance: DagsterInstance, settings: Settings) -> list[str]:
    """Mark this warehouse's unfinished CLI runs failed and free their concurrency slots.

    A killed in-process run stays STARTED and keeps its `warehouse_writer` slot, so every later run
    would wait for it forever. Only runs launched by this command for this warehouse are touched
    (runs of the UI or a daemon are the daemon's to watch), and only while this process holds the
    warehouse lock, which every such run held while it was alive."""
    from dagster import DagsterRunStatus, RunsFilter

    from pipelines.resources import WAREHOUSE_TAG

    unfinished = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.NOT_STARTED]
    runs = instance.get_runs(
        RunsFilter(
            statuses=unfinished,
            tags={LAUNCHED_BY_TAG: LAUNCHED_BY_CLI, WAREHOUSE_TAG: str(settings.warehouse)},
        )
    )
    for run in runs:
        instance.report_run_failed(run, message="killed before it finished; found by the next run")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return [run.run_id for run in runs]


def _print_summary(
    result: ExecuteInProcessResult, elapsed: float, settings: Settings, dagster_home: Path, out: TextIO
) -> None:
    status = "SUCCESS" if result.success else "FAILURE"
    print(f"run {result.run_id}: {status} in {elapsed:.1f}s", file=out)
    partitions: dict[str, int] = {}
    where: dict[str, str] = {}
    for event in result.all_events:
        if event.is_step_materialization:
            mat = event.step_materialization_data.materialization
            name = mat.asset_key.to_user_string()
            partitions[name] = partitions.get(name, 0) + 1
            path = mat.metadata.get("path")
            if path is not None:
                where[name] = f" -> {path.value}"
    for name, count in partitions.items():
        parts = f" ({count} partitions)" if count > 1 else ""
        print(f"  materialized {name}{parts}{where.get(name, '')}", file=out)
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.asset_check_evaluation_data
            verdict = "passed" if evaluation.passed else "FAILED"
            note = f": {evaluation.description}" if evaluation.description else ""
            print(f"  check {evaluation.check_name} {verdict}{note}", file=out)
    print(f"  warehouse: {settings.warehouse}", file=out)
    print(f"  dagster home: {dagster_home}", file=out)


def _print_failures(result: ExecuteInProcessResult, err: TextIO) -> None:
    failures = [e for e in result.all_events if e.is_step_failure]
    for event in failures:
        data = event.step_failure_data
        message = data.error.message.strip() if data is not None and data.error else "(no message)"
        print(f"error: step {event.step_key} failed: {message}", file=err)
    if not failures:
        run_failure = next((e for e in result.all_events if e.event_type_value == "RUN_FAILURE"), None)
        detail = run_failure.message if run_failure is not None else None
        print(f"error: {detail or 'run failed'}", file=err)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return run_command(args)
    if args.command == "explain":
        return explain_command(args)
    return EXIT_USAGE  # pragma: no cover - argparse enforces the command
