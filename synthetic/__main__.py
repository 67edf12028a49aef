"""`python -m synthetic --people N --seed S --out DIR` writes DIR/landing and DIR/truth."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from synthetic.config import TIERS
from synthetic.generate import generate


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m synthetic", description=__doc__)
    ap.add_argument(
        "--tier",
        choices=sorted(TIERS),
        default="demo",
        help="preset size: demo (~5k people) or state (~400k people, ~1M person records)",
    )
    ap.add_argument("--people", type=int, help="number of true people (overrides the tier)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, required=True, help="writes OUT/landing and OUT/truth (replaced)")
    ap.add_argument(
        "--as-of", type=_date, help="cut the landing zone as the systems had delivered by this night"
    )
    ap.add_argument("--history-start", type=_date)
    ap.add_argument("--full-date", type=_date, help="night of the first (FULL) drop of every nightly system")
    ap.add_argument("--end-date", type=_date, help="night of the last drop")
    ap.add_argument("--malformed-rate", type=float, help="share of delivered rows corrupted on purpose")
    args = ap.parse_args(argv)
    cfg = TIERS[args.tier].with_(seed=args.seed)
    for flag, attr in (
        ("people", "people"),
        ("as_of", "as_of"),
        ("history_start", "history_start"),
        ("full_date", "full_date"),
        ("end_date", "end_date"),
        ("malformed_rate", "malformed_rate"),
    ):
        if getattr(args, flag) is not None:
            cfg = cfg.with_(**{attr: getattr(args, flag)})
    if not cfg.history_start < cfg.full_date <= cfg.cutoff <= cfg.end_date:
        ap.error("dates must satisfy history-start < full-date <= as-of <= end-date")
    m = generate(cfg, args.out, log=lambda msg: print(msg, file=sys.stderr))
    print(f"landing zone: {args.out / 'landing'}")
    print(f"ground truth: {args.out / 'truth'}")
    print(
        f"{m['people']:,} people, {m['person_records']:,} person records, {m['wage_rows']:,} wage rows, "
        f"{m['nightly_files']:,} nightly files, {m['injected_faults']} corrupted rows, {m['seconds']}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
