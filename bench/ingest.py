"""Ingest benchmarks, each in a child process: reading speed per file type (read + type every
file of the type, in one batch) and the full load of a landing zone into a fresh warehouse."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def _chunks(paths: list[Path]) -> list[list[Path]]:
    from warehouse.ingest import batches_by_size

    return batches_by_size(paths, lambda p: p.stat().st_size)


def read_speed(landing: Path) -> dict[str, dict[str, float]]:
    """Rows per second of reading and typing every file of each type."""
    from sources.convert import convert
    from sources.layout import load_layouts
    from sources.readers import read_file

    out: dict[str, dict[str, float]] = {}
    for system in load_layouts():
        for lay in system.files:
            paths = sorted(p for p in landing.glob(f"{system.system}/*/{lay.prefix}*{lay.suffix}"))
            rows = 0
            read_s = total_s = 0.0
            for batch in _chunks(paths):  # as the loader does: bounded batches
                start = time.perf_counter()
                parsed = [read_file(lay, p, str(p.relative_to(landing))) for p in batch]
                read_s += time.perf_counter() - start
                rows += sum(pf.rows_in_file for pf in parsed)
                convert(parsed)
                total_s += time.perf_counter() - start
                del parsed
            out[lay.file_type] = {
                "files": len(paths),
                "rows": rows,
                "read_s": round(read_s, 2),
                "total_s": round(total_s, 2),
                "rows_per_s": round(rows / total_s) if total_s else 0.0,
                "mb": round(sum(p.stat().st_size for p in paths) / 2**20, 1),
            }
    return out


def full_load(landing: Path, warehouse: Path) -> dict[str, object]:
    from warehouse.ingest import ingest

    start = time.perf_counter()
    report = ingest(landing, warehouse)
    return {
        "seconds": round(time.perf_counter() - start, 1),
        "files": report.by_status(),
        **report.totals(),
        "quarantined_by_kind": report.quarantine_reasons,
    }


if __name__ == "__main__":  # python -m bench.ingest read|load LANDING [WAREHOUSE]
    what, landing = sys.argv[1], Path(sys.argv[2])
    result = read_speed(landing) if what == "read" else full_load(landing, Path(sys.argv[3]))
    print(json.dumps(result))
