"""Full-refresh, one-extra-day and no-op timings with peak memory, on a generated world.

    python benchmarks/bench_refresh.py --customers 170000 --days 60 --workdir /tmp/voc-bench

Generates a world of DAYS + 1 days (skipped when it exists), refreshes the first DAYS days
(the full refresh), then the extra day (the incremental refresh), then re-runs that day with
nothing new. Each refresh runs as `voc refresh` in a child process; peak RSS is sampled over
the whole process tree (Dagster, dlt and the dbt subprocess). Prints figures; asserts nothing.

The warehouse after the full refresh is kept in WORKDIR/after-full; `--extra-only` restores it and
measures the extra day and the no-op again (on this machine, whose speed drifts by 15-25 % over
hours, an A/B of the extra day is only fair on the same warehouse, run alternately).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import psutil

END_DATE = date(2026, 3, 31)


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, int, dict[str, float]]:
    """(wall seconds, peak memory of the process tree in GB, exit code, seconds per stage).

    Memory is the sum of PSS over the tree: forked classifier workers share the parent's pages,
    which a sum of RSS would count once per process. The stages are read from the refresh summary.
    """
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    peak = 0
    peak_breakdown: list[str] = []
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_breakdown
        parent = psutil.Process(process.pid)
        while not done.is_set():
            total, breakdown = 0, []
            for member in [parent, *parent.children(recursive=True)]:
                try:
                    pss = member.memory_full_info().pss
                    name = " ".join(member.cmdline()[:3])[-60:]
                except psutil.Error:
                    continue
                total += pss
                breakdown.append(f"{pss / 1e9:.2f} GB {name}")
            if total > peak:
                peak, peak_breakdown = total, breakdown
            time.sleep(0.3)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stages: dict[str, float] = {}
    for line in process.stdout:
        print(line, end="")
        if line.startswith("seconds per stage: "):
            for part in line.removeprefix("seconds per stage: ").split(", "):
                name, _, value = part.rpartition(" ")
                stages[name] = float(value.replace(",", ""))
    code = process.wait()
    done.set()
    sampler.join()
    print("processes at the peak:\n  " + "\n  ".join(peak_breakdown))
    return time.monotonic() - started, peak / 1e9, code, stages


def issue_scope(stages: dict[str, float]) -> float:
    """Seconds of ingestion + staging/int_feedback_unified + GX checks (the scope of the refresh target)."""
    return sum(stages.get(name, 0.0) for name in ("ingest (dlt)", "dbt staging/int/audit", "checks (GX)"))


def utterance_count(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("select count(*) from intermediate.int_feedback_unified").fetchone()[0]


FULL_FIGURES = "full-refresh-figures.json"


def kept_full_figures(kept: Path) -> tuple[float, float, int, dict[str, float]]:
    seconds, peak, code, stages = json.loads((kept / FULL_FIGURES).read_text())
    return seconds, peak, code, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=170_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/voc-bench"))
    parser.add_argument("--extra-only", action="store_true",
                        help="restore the warehouse kept after the last full refresh; time the extra day and the no-op")
    args = parser.parse_args()

    landing = args.workdir / "landing"
    warehouse = args.workdir / "warehouse" / "voc.duckdb"
    voc = str(Path(sys.executable).parent / "voc")
    env = {**os.environ, "VOC_LANDING": str(landing), "VOC_WAREHOUSE": str(warehouse)}

    if not (landing / "survey" / "responses.jsonl").exists():
        seconds, peak, code, _ = run_measured(
            [voc, "generate", "--customers", str(args.customers), "--days", str(args.days + 1),
             "--seed", str(args.seed), "--out", str(landing)], env)
        print(f"generate: {seconds:,.1f} s, peak {peak:.2f} GB (exit {code})")
    kept = args.workdir / "after-full"
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    if args.extra_only:
        if not kept.exists():
            sys.exit(f"--extra-only: no warehouse kept in {kept}; run a full refresh first (without --extra-only)")
        shutil.copytree(kept, warehouse.parent)
        full = kept_full_figures(kept)
    else:
        first_day = END_DATE - timedelta(days=args.days)
        last_full_day = END_DATE - timedelta(days=1)
        full = run_measured([voc, "refresh", "--start", first_day.isoformat(), "--end", last_full_day.isoformat()], env)
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(warehouse.parent, kept)
        (kept / FULL_FIGURES).write_text(json.dumps(full))
    rows_full = utterance_count(warehouse)
    extra = run_measured([voc, "refresh", "--date", END_DATE.isoformat()], env)
    rows_extra = utterance_count(warehouse)
    noop = run_measured([voc, "refresh", "--date", END_DATE.isoformat()], env)

    print(f"\nfull refresh ({args.days} days, {rows_full:,} utterances): {full[0]:,.1f} s, "
          f"{rows_full / full[0]:,.0f} utterances/s, peak {full[1]:.2f} GB (exit {full[2]})")
    print(f"one extra day (+{rows_extra - rows_full:,} utterances): {extra[0]:,.1f} s "
          f"= {100 * extra[0] / full[0]:.1f}% of the full refresh, peak {extra[1]:.2f} GB (exit {extra[2]})")
    print(f"re-run with nothing new: {noop[0]:,.1f} s, peak {noop[1]:.2f} GB (exit {noop[2]})")
    full_scope, extra_scope = issue_scope(full[3]), issue_scope(extra[3])
    print(f"ingestion + staging/int + GX checks only (step seconds): full {full_scope:,.1f} s, "
          f"extra day {extra_scope:,.1f} s = {100 * extra_scope / max(full_scope, 1e-9):.1f}%")


if __name__ == "__main__":
    main()
