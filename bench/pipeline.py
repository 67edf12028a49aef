"""The whole pipeline on the state tier, as the team runs it: the initial load of every drop, then
one typical night (the last night on which every system sent a DELTA, arriving on its own), then
the nights after it (the generated data ends on a month-end FULL refresh of every system).

    python -m bench.pipeline LANDING WORK

Each run is `python -m pipelines run` in a child process (the CLI a scheduler would call). While it
runs, the resident memory of its whole process tree is sampled from /proc; afterwards the
Dagster event log gives each step's start and end, so every stage gets its wall time and the peak
memory seen while it ran. Prints one JSON document.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.25
STAGES = {
    "landing_inventory": "verify drops",
    "staging__person_records": "person records",
    "linkage__customers": "linkage",
    "warehouse__participation": "periods",
    "warehouse__wages": "wages",
    "warehouse__demographics": "demographics",
    "warehouse__indicators": "indicators",
    "warehouse__coenrollment": "co-enrollment",
    "warehouse__pirl": "PIRL extract",
    "analytics__published": "publish analytics zone",
    "reports__performance": "reports",
}


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants (kB), from /proc."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def _stage(step_key: str) -> str:
    if step_key.endswith(("_quality", "_verified")):  # the asset checks' own steps
        return "quality checks"
    if step_key.startswith("staging__") and step_key != "staging__person_records":
        return "ingest"
    return STAGES.get(step_key, step_key)


def run_pipeline(landing: Path, warehouse: Path, home: Path) -> dict[str, Any]:
    """One `python -m pipelines run`; wall, peak and per-stage numbers from the event log."""
    env = {**os.environ, "DAGSTER_HOME": str(home.resolve()), "WW_DAGSTER_STORAGE": str(home.resolve())}
    cmd = [sys.executable, "-m", "pipelines", "run", "--landing", str(landing), "--warehouse", str(warehouse)]
    samples: list[tuple[float, int]] = []
    start = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.time(), _tree_rss_kb(proc.pid)))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    wall = time.time() - start
    if proc.returncode != 0:
        raise SystemExit(f"pipeline run failed ({proc.returncode}):\n{out[-4000:]}")
    stages = _stage_times(home, start)
    for st in stages.values():
        peaks = [kb for t, kb in samples if st["first_start"] <= t <= st["last_end"]]
        st["peak_rss_gb"] = round(max(peaks, default=0) / 1024**2, 2)
    return {
        "wall_s": round(wall, 1),
        "peak_rss_gb": round(max((kb for _, kb in samples), default=0) / 1024**2, 2),
        "stages": {
            k: {"seconds": round(v["seconds"], 1), "peak_rss_gb": v["peak_rss_gb"]} for k, v in stages.items()
        },
        "log_tail": out.strip().splitlines()[-3:],
    }


def _stage_times(home: Path, since: float) -> dict[str, dict[str, float]]:
    """Per stage: summed step seconds (steps run one at a time) and the span they covered."""
    os.environ["DAGSTER_HOME"] = os.environ["WW_DAGSTER_STORAGE"] = str(home.resolve())
    from dagster import DagsterEventType, DagsterInstance

    stages: dict[str, dict[str, float]] = defaultdict(
        lambda: {"seconds": 0.0, "first_start": float("inf"), "last_end": 0.0}
    )
    kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
    with DagsterInstance.get() as instance:
        for run in instance.get_runs():
            starts: dict[str, float] = {}
            for e in instance.all_logs(run.run_id, of_type=kinds):
                if e.timestamp < since or not e.step_key or e.dagster_event is None:
                    continue
                if e.dagster_event.event_type == DagsterEventType.STEP_START:
                    starts[e.step_key] = e.timestamp
                elif (begun := starts.get(e.step_key)) is not None:
                    st = stages[_stage(e.step_key)]
                    st["seconds"] += e.timestamp - begun
                    st["first_start"] = min(st["first_start"], begun)
                    st["last_end"] = max(st["last_end"], e.timestamp)
    return dict(stages)


def _full_nights(landing: Path) -> set[str]:
    """Nights on which some system sent a FULL extract (the month-end refresh), from the verified
    drops' extract types."""
    from sources.landing import ExtractType, discover_drops

    return {
        d.name for d in discover_drops(landing) if any(f.extract_type is ExtractType.FULL for f in d.files)
    }


def split_landing(landing: Path, work: Path) -> tuple[str, list[Path]]:
    """Hard-link the landing zone into consecutive deliveries: `initial` (every drop before the
    last night on which every system sent a DELTA), that `night`, and `later` (the nights after
    it, the month-end FULL refresh if the data ends on one). Returns the night's name and the
    delivery directories, in order."""
    nightly = [d for d in landing.iterdir() if d.is_dir() and d.name != "ui_wages"]
    nights = sorted({p.name for s in nightly for p in s.iterdir() if p.is_dir()})
    full = _full_nights(landing)
    night = max(n for n in nights if n not in full)
    parts = {name: work / name for name in ("initial", "night", "later")}
    for target in parts.values():
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
    for system in landing.iterdir():
        for drop in system.iterdir():
            if system.name == "ui_wages" or drop.name < night:
                part = "initial"
            else:
                part = "night" if drop.name == night else "later"
            dest = parts[part] / system.name / drop.name
            dest.mkdir(parents=True)
            for f in drop.iterdir():
                os.link(f, dest / f.name)
    return night, [parts["initial"], parts["night"], parts["later"]]


def add_delivery(zone: Path, delivery: Path) -> None:
    """A delivery's drops arrive in the landing zone the earlier runs read."""
    for system in delivery.iterdir():
        for drop in system.iterdir():
            dest = zone / system.name / drop.name
            dest.mkdir(parents=True)
            for f in drop.iterdir():
                os.link(f, dest / f.name)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    landing, work = Path(args[0]), Path(args[1])
    work.mkdir(parents=True, exist_ok=True)
    night, (initial, tonight, later) = split_landing(landing, work / "deliveries")
    zone, warehouse, home = work / "landing", work / "warehouse", work / "dagster_home"
    for d in (zone, warehouse, home):
        if d.exists():
            shutil.rmtree(d)
    home.mkdir(parents=True)
    zone.mkdir()
    add_delivery(zone, initial)
    print(f"initial load of every drop before {night} ...", file=sys.stderr, flush=True)
    results: dict[str, Any] = {"night": night, "initial": run_pipeline(zone, warehouse, home)}
    add_delivery(zone, tonight)
    print(f"one night: the DELTA drops of {night} ...", file=sys.stderr, flush=True)
    results["nightly"] = run_pipeline(zone, warehouse, home)
    later_nights = sorted({d.name for s in later.iterdir() for d in s.iterdir()})
    if later_nights:
        add_delivery(zone, later)
        print(f"the nights after it ({', '.join(later_nights)}) ...", file=sys.stderr, flush=True)
        results["later"] = {"nights": later_nights, **run_pipeline(zone, warehouse, home)}
    size = sum(p.stat().st_size for p in warehouse.rglob("*") if p.is_file() and not p.is_symlink())
    print(json.dumps({**results, "warehouse_gb": round(size / 1024**3, 2)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
