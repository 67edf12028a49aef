"""`python -m bench [generate] [--people N]`: run the benchmarks and update bench/results.md.

Each benchmark runs its workload in a child process so that wall time and peak memory
(the child's maximum resident set) are its own, then stores its numbers under its own name in
bench/results.json; results.md is rendered from that file, with the machine noted per entry.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import machine

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "results.md"


_LAST_STDOUT: list[str] = [""]


def run_child(cmd: list[str], capture: bool = False) -> tuple[float, float, str]:
    """Run a command in a fresh process; return (wall seconds, its peak RSS in GB, stderr).

    Peak memory is read in a wrapper process of its own, so one step's peak is not another's.
    """
    wrapper = (
        "import resource,subprocess,sys,json;p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
        "sys.stdout.write(p.stdout);sys.stderr.write(p.stderr);"
        "sys.stderr.write('\\nPEAK_KB=%d\\n'%resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(p.returncode)"
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], cwd=REPO, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    peak_kb = int(re.findall(r"PEAK_KB=(\d+)", proc.stderr)[-1])
    _LAST_STDOUT[0] = proc.stdout if capture else ""
    return wall, peak_kb / 1024 / 1024, proc.stderr


def _dir_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def bench_generate(tier: str, people: int | None, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "synthetic", "--tier", tier, "--seed", "42", "--out", str(out)]
    if people:
        cmd += ["--people", str(people)]
    wall, peak_gb, log = run_child(cmd)
    manifest = json.loads((out / "truth" / "manifest.json").read_text())
    files, size = _dir_size(out / "landing")
    phases: dict[str, float] = {}
    for pattern, name in (
        (r"simulated .* in ([\d.]+)s", "simulate"),
        (r"wrote (\w+) drops \(([\d.]+)s\)", ""),
        (r"wrote \d+ wage quarters.*\(([\d.]+)s\)", "wages"),
    ):
        for m in re.finditer(pattern, log):
            phases[name or m.group(1)] = float(m.group(m.lastindex or 1))
    return {
        "command": " ".join(cmd[2:]),
        "wall_s": round(wall, 1),
        "peak_rss_gb": round(peak_gb, 2),
        "people": manifest["people"],
        "person_records": manifest["person_records"],
        "person_records_by_system": manifest["person_records_by_system"],
        "wage_rows": manifest["wage_rows"],
        "wage_quarters": len(manifest["wage_quarters"]),
        "landing_files": files,
        "landing_gb": round(size / 1024**3, 2),
        "phases_s": phases,
        "machine": machine.describe(),
    }


def bench_ingest(work: Path, skip_read: bool = False) -> dict[str, Any]:
    landing = work / "state" / "landing"
    if not landing.is_dir():
        raise SystemExit(f"no state tier at {landing}: run `python -m bench generate` first")
    previous = json.loads(RESULTS_JSON.read_text()).get("ingest", {}) if RESULTS_JSON.exists() else {}
    if skip_read and previous.get("read"):
        speeds, peak_r = previous["read"], previous["read_peak_rss_gb"]
    else:
        _, peak_r, _ = run_child([sys.executable, "-m", "bench.ingest", "read", str(landing)], capture=True)
        speeds = json.loads(_LAST_STDOUT[0])
        saved = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
        saved["ingest"] = {**previous, "read": speeds, "read_peak_rss_gb": round(peak_r, 2)}
        RESULTS_JSON.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")  # kept if the load fails
    warehouse = work / "warehouse"
    if warehouse.exists():
        shutil.rmtree(warehouse)
    wall_l, peak_l, _ = run_child(
        [sys.executable, "-m", "bench.ingest", "load", str(landing), str(warehouse)], capture=True
    )
    load = json.loads(_LAST_STDOUT[0])
    return {
        "read": speeds,
        "read_peak_rss_gb": round(peak_r, 2),
        "load": load,
        "load_wall_s": round(wall_l, 1),
        "load_peak_rss_gb": round(peak_l, 2),
        "machine": machine.describe(),
    }


def _measured(m: dict[str, Any]) -> str:
    return (
        f"{m['measured_at']} on {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, {m['os']}, "
        f"Python {m['python']}"
    )


def render(results: dict[str, Any]) -> str:
    out = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m bench`); each entry notes the machine it ran on.",
        "Numbers are measurements, never test assertions.",
        "",
    ]
    g = results.get("generate")
    if g:
        m = g["machine"]
        out += [
            "## Synthetic state generation",
            "",
            f"`python -m {g['command']}` — measured {_measured(m)}.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| wall time | {g['wall_s']} s |",
            f"| peak memory (max RSS) | {g['peak_rss_gb']} GB |",
            f"| people | {g['people']:,} |",
            f"| person records | {g['person_records']:,} |",
            f"| wage rows | {g['wage_rows']:,} in {g['wage_quarters']} quarters |",
            f"| landing zone | {g['landing_files']:,} files, {g['landing_gb']} GB |",
            "",
            "Person records by system: "
            + ", ".join(f"{k} {v:,}" for k, v in g["person_records_by_system"].items()),
            "",
            "Seconds since start at the end of each phase: "
            + ", ".join(f"{k} {v}" for k, v in g["phases_s"].items()),
            "",
        ]
    ing = results.get("ingest")
    if ing:
        m = ing["machine"]
        out += [
            "## Ingest",
            "",
            f"Measured {_measured(m)}, on the state tier above.",
            "",
            "Reading speed: every file of a type read and typed, in batches of ~192 MB as the loader does (`sources.readers` + "
            f"`sources.convert`), peak {ing['read_peak_rss_gb']} GB.",
            "",
            "| file type | files | MB | rows | seconds | rows/s |",
            "|---|---|---|---|---|---|",
            *[
                f"| {k} | {v['files']:,} | {v['mb']} | {v['rows']:,} | {v['total_s']} | {v['rows_per_s']:,.0f} |"
                for k, v in ing["read"].items()
            ],
            "",
            f"Full load of every drop into an empty warehouse (`warehouse.ingest.ingest`, a transaction per batch of files): "
            f"{ing['load_wall_s']} s wall, peak {ing['load_peak_rss_gb']} GB; files {ing['load']['files']}, "
            f"{ing['load']['rows_loaded']:,} rows loaded, {ing['load']['rows_quarantined']:,} set aside "
            f"({ing['load']['quarantined_by_kind']}).",
            "",
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("which", nargs="*", help="benchmarks to run: generate (default: all)")
    ap.add_argument("--tier", default="state")
    ap.add_argument("--people", type=int, help="override the tier's size (for a quick run)")
    ap.add_argument("--skip-read", action="store_true", help="ingest: keep the last reading-speed numbers")
    ap.add_argument("--work", type=Path, default=REPO / "var" / "bench", help="where the benchmark data goes")
    args = ap.parse_args(argv)
    known = ["generate", "ingest"]
    which = args.which or known
    if unknown := sorted(set(which) - set(known)):
        ap.error(f"unknown benchmark(s) {unknown}; known: {known}")
    results: dict[str, Any] = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    if "generate" in which:
        print(f"generating the {args.tier} tier into {args.work / 'state'} ...", flush=True)
        results["generate"] = bench_generate(args.tier, args.people, args.work / "state")
        g = results["generate"]
        print(
            f"  {g['wall_s']} s, peak {g['peak_rss_gb']} GB, {g['person_records']:,} person records, "
            f"{g['wage_rows']:,} wage rows"
        )
    if "ingest" in which:
        print(f"ingesting {args.work / 'state' / 'landing'} ...", flush=True)
        results["ingest"] = bench_ingest(args.work, skip_read=args.skip_read)
        i = results["ingest"]
        print(f"  full load {i['load_wall_s']} s, peak {i['load_peak_rss_gb']} GB")
    RESULTS_JSON.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    RESULTS_MD.write_text(render(results))
    print(f"results: {RESULTS_MD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
