"""Measure the demo world generator: utterances per second, wall time, peak memory.

    python benchmarks/bench_generate.py --customers 170000 --days 60 --out /tmp/bench_world/landing

Target: 1,000,000 utterances in at most 10 minutes on 2 cores, peak RSS at most 2 GB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingestion.demo.generator import generate_world  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=170_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True, help="landing dir; truth goes beside it")
    parser.add_argument("--no-plants", action="store_true")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    summary = generate_world(args.out, args.customers, args.days, args.seed, plants=not args.no_plants,
                             progress=args.progress)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux
    written = [args.out, args.out.parent / "truth"]  # the landing zone and the truth beside it, nothing else
    size_mb = sum(p.stat().st_size for folder in written for p in folder.rglob("*") if p.is_file()) / 2 ** 20
    n = summary["utterances"]
    print(f"customers={args.customers} days={args.days} seed={args.seed} plants={not args.no_plants}")
    print(f"utterances={n:,} bad_records={summary['truth']['bad_records.csv']:,} output={size_mb:,.0f} MB")
    print(f"wall={wall:,.1f} s  utterances/s={n / wall:,.0f}  peak_rss={peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
