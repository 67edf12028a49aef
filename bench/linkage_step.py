"""The nightly linkage step as the pipeline runs it (`warehouse.linkage.link`) at state scale:
a full relink of every person record, then a typical night in which 1 record in 300 changed
(an address edit) and is scored incrementally.

    python -m bench.linkage_step PERSON_RECORDS_PARQUET WORK_DIR    # prints JSON
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import resource
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from warehouse.linkage import LinkageConfig, link
from warehouse.sql import sql

CHANGED_ONE_IN = 300


def _peak_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.ERROR)
    records, work = Path(argv[0]), Path(argv[1])
    work.mkdir(parents=True, exist_ok=True)
    db = work / "restricted.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute(sql("ingest/person_records_ddl.sql"))
    con.execute("INSERT INTO person_records BY NAME SELECT * FROM read_parquet(?)", [str(records)])
    out: dict[str, Any] = {}
    for name, day in (("full", dt.date(2025, 7, 1)), ("nightly", dt.date(2025, 7, 2))):
        if name == "nightly":
            con.execute(
                "UPDATE person_records SET street = street || ' APT 2' WHERE hash(source_record_id) % ? = 0",
                [CHANGED_ONE_IN],
            )
        t = time.perf_counter()
        res = link(con, work, day, f"bench-{name}", LinkageConfig())
        out[name] = {
            "mode": res.mode,
            "wall_s": round(time.perf_counter() - t, 1),
            "seconds": res.seconds,
            "counts": res.counts,
            "peak_rss_gb_so_far": _peak_gb(),
        }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
