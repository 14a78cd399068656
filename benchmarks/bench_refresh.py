"""Full-refresh, one-extra-day and no-op timings with peak memory, on a generated world.

    python benchmarks/bench_refresh.py --customers 170000 --days 60 --workdir /tmp/voc-bench

Generates a world of DAYS + 1 days (skipped when it exists), refreshes the first DAYS days
(the full refresh), then the extra day (the incremental refresh), then re-runs that day with
nothing new. Each refresh runs as `voc refresh` in a child process; peak RSS is sampled over
the whole process tree (Dagster, dlt and the dbt subprocess). Prints figures; asserts nothing.

The warehouse after the full refresh is kept in WORKDIR/after-full. The extra day is measured
`--extra-runs` times, each on a fresh copy of it (flushed to disk first, so the copy's writeback does
not overlap the run), and the median is the figure; `--extra-only` restores it and measures the extra
days and the no-op again (on this machine, whose speed drifts by 15-40 % within an hour, an A/B of the
extra day is only fair on the same warehouse, run alternately). Each run also prints the share of
its time that some task stalled on IO (Linux's /proc/pressure/io), which tells a run slowed by disk
reads from a slow run of the code.
Before the full refresh and before the extra days it prints the machine's load and speed at that moment
(machine_speed.py: the load average, a fixed pure-Python loop alone and as two copies at once).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import psutil
from machine_speed import machine_speed

END_DATE = date(2026, 3, 31)


IO_PRESSURE = Path("/proc/pressure/io")


def io_stall_microseconds() -> int | None:
    """Total microseconds in which some task waited on IO, since boot (None where the kernel has no PSI)."""
    try:
        some = IO_PRESSURE.read_text().splitlines()[0]
    except OSError:
        return None
    return int(some.rpartition("total=")[2])


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, int, dict[str, float], float | None]:
    """(wall seconds, peak memory of the process tree in GB, exit code, seconds per stage, IO stall %).

    Memory is the sum of PSS over the tree: forked classifier workers share the parent's pages,
    which a sum of RSS would count once per process. The stages are read from the refresh summary.
    """
    started, stalled_before = time.monotonic(), io_stall_microseconds()
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
    seconds, stalled_after = time.monotonic() - started, io_stall_microseconds()
    stall = None if None in (stalled_before, stalled_after) else 100 * (stalled_after - stalled_before) / 1e6 / seconds
    return seconds, peak / 1e9, code, stages, stall


def stall_note(stall: float | None) -> str:
    return "" if stall is None else f"; IO stall {stall:.0f} % of the run"


def issue_scope(stages: dict[str, float]) -> float:
    """Seconds of ingestion + staging/int_feedback_unified + their checks (the scope of the refresh target).

    The GX check of the classifier's output is a stage of its own ("checks of codes (GX)") and stays out:
    on a full refresh it is ~4.7 s, and counting it flattered the extra day's share by about half a point."""
    return sum(stages.get(name, 0.0) for name in ("ingest (dlt)", "dbt staging/int/audit", "checks (GX)"))


def utterance_count(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("select count(*) from intermediate.int_feedback_unified").fetchone()[0]


FULL_FIGURES = "full-refresh-figures.json"


def kept_full_figures(kept: Path) -> tuple[float, float, int, dict[str, float], float | None]:
    seconds, peak, code, stages, *stall = json.loads((kept / FULL_FIGURES).read_text())
    return seconds, peak, code, stages, (stall or [None])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=170_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/voc-bench"))
    parser.add_argument("--extra-only", action="store_true",
                        help="restore the warehouse kept after the last full refresh; time the extra day and the no-op")
    parser.add_argument("--extra-runs", type=int, default=3,
                        help="time the extra day this many times, each on a fresh copy of the kept warehouse (median reported)")
    args = parser.parse_args()

    landing = args.workdir / "landing"
    warehouse = args.workdir / "warehouse" / "voc.duckdb"
    voc = str(Path(sys.executable).parent / "voc")
    env = {**os.environ, "VOC_LANDING": str(landing), "VOC_WAREHOUSE": str(warehouse)}

    if not (landing / "survey" / "responses.jsonl").exists():
        seconds, peak, code, _, _ = run_measured(
            [voc, "generate", "--customers", str(args.customers), "--days", str(args.days + 1),
             "--seed", str(args.seed), "--out", str(landing), "--overwrite"], env)  # an unfinished one is replaced
        print(f"generate: {seconds:,.1f} s, peak {peak:.2f} GB (exit {code})")
    kept = args.workdir / "after-full"
    if args.extra_only:
        if not kept.exists():
            sys.exit(f"--extra-only: no warehouse kept in {kept}; run a full refresh first (without --extra-only)")
        full = kept_full_figures(kept)
    else:
        shutil.rmtree(warehouse.parent, ignore_errors=True)
        first_day = END_DATE - timedelta(days=args.days)
        last_full_day = END_DATE - timedelta(days=1)
        print(machine_speed())
        full = run_measured([voc, "refresh", "--start", first_day.isoformat(), "--end", last_full_day.isoformat()], env)
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(warehouse.parent, kept)
        (kept / FULL_FIGURES).write_text(json.dumps(full))
    rows_full = utterance_count(kept / warehouse.name)
    print(machine_speed())
    extras = []
    for _ in range(max(1, args.extra_runs)):
        shutil.rmtree(warehouse.parent, ignore_errors=True)
        shutil.copytree(kept, warehouse.parent)
        os.sync()  # the copy's writeback would otherwise compete with the timed run for the disk
        extras.append(run_measured([voc, "refresh", "--date", END_DATE.isoformat()], env))
    rows_extra = utterance_count(warehouse)
    noop = run_measured([voc, "refresh", "--date", END_DATE.isoformat()], env)

    full_scope = issue_scope(full[3])
    print(f"\nfull refresh ({args.days} days, {rows_full:,} utterances): {full[0]:,.1f} s, "
          f"{rows_full / full[0]:,.0f} utterances/s, peak {full[1]:.2f} GB (exit {full[2]}); "
          f"ingestion + staging/int + GX checks (step seconds): {full_scope:,.1f} s{stall_note(full[4])}")
    for number, extra in enumerate(extras, 1):
        extra_scope = issue_scope(extra[3])
        print(f"one extra day, run {number} (+{rows_extra - rows_full:,} utterances): {extra[0]:,.1f} s "
              f"= {100 * extra[0] / full[0]:.1f}% of the full refresh, peak {extra[1]:.2f} GB (exit {extra[2]}); "
              f"ingestion + staging/int + GX checks {extra_scope:,.1f} s = {100 * extra_scope / max(full_scope, 1e-9):.1f}%"
              f"{stall_note(extra[4])}")
    median_scope = statistics.median(issue_scope(extra[3]) for extra in extras)
    print(f"one extra day, median of {len(extras)}: {statistics.median(extra[0] for extra in extras):,.1f} s; "
          f"ingestion + staging/int + GX checks {median_scope:,.1f} s = {100 * median_scope / max(full_scope, 1e-9):.1f}% "
          "of the full refresh's")
    print(f"re-run with nothing new: {noop[0]:,.1f} s, peak {noop[1]:.2f} GB (exit {noop[2]}){stall_note(noop[4])}")

if __name__ == "__main__":
    main()
