"""Ingestion throughput and memory: every source family over one landing zone, then a no-op re-run.

    python benchmarks/bench_ingest.py --landing demo_world/landing --warehouse /tmp/bench.duckdb

Each family runs in its own child process so its peak RSS is its own. The survey family is read
through the demo survey API (ingestion.demo.survey_api), started here over survey/responses.jsonl.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingestion import FAMILIES  # noqa: E402
from ingestion.pipeline import family_source, make_pipeline  # noqa: E402

SALT = "bench-salt"
SURVEY_KEY = "demo-survey-key"


def run_family(family: str, landing: Path, warehouse: Path, pipelines_dir: Path, survey_url: str | None) -> dict:
    """One full (unwindowed) run of a family; what it saw, loaded and how long it took."""
    started, cpu_started = time.perf_counter(), time.process_time()
    pipeline = make_pipeline(family, warehouse, pipelines_dir)
    source = family_source(
        family, landing, pii_salt=SALT, run_id=f"bench-{time.time_ns()}", survey_url=survey_url, survey_api_key=SURVEY_KEY
    )
    pipeline.run(source)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    counts = pipeline.last_trace.last_normalize_info.row_counts
    loaded = sum(n for table, n in counts.items() if table not in ("quarantine", "load_stats", "_dlt_pipeline_state"))
    return {
        "family": family,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "rows_loaded": loaded,
        "rows_quarantined": counts.get("quarantine", 0),
        "rows_per_s": round(loaded / wall) if wall else 0,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _child(families: list[str], args: argparse.Namespace, survey_url: str | None) -> list[dict]:
    """Run families one after the other in a fresh process (its peak RSS is theirs)."""
    command = [
        sys.executable,
        __file__,
        "--landing", str(args.landing),
        "--warehouse", str(args.warehouse),
        "--pipelines-dir", str(args.pipelines_dir),
        "--only", ",".join(families),
    ]
    if survey_url:
        command += ["--survey-url", survey_url]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _start_survey_api(landing: Path):
    """The demo survey API over the landing zone's backing file, if there is one."""
    responses = landing / "survey" / "responses.jsonl"
    if not responses.exists():
        return None
    from ingestion.demo.survey_api import start_survey_api

    return start_survey_api(responses, SURVEY_KEY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--pipelines-dir", type=Path, default=None, help="default: beside the warehouse, wiped first")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    parser.add_argument("--survey-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        results = [
            run_family(family, args.landing, args.warehouse, args.pipelines_dir, args.survey_url)
            for family in args.only.split(",")
        ]
        print(json.dumps(results))
        return

    if args.pipelines_dir is None:
        args.pipelines_dir = args.warehouse.parent / ".bench_dlt_pipelines"
        shutil.rmtree(args.pipelines_dir, ignore_errors=True)
        args.warehouse.unlink(missing_ok=True)
    server = _start_survey_api(args.landing)
    survey_url = server.url if server is not None else None
    families = [f for f in FAMILIES if f != "survey" or survey_url]
    if "survey" not in families:
        print("survey skipped: the landing zone has no survey/responses.jsonl", file=sys.stderr)
    try:
        print(f"{'family':<16}{'wall s':>8}{'cpu s':>8}{'loaded':>10}{'quarant.':>10}{'rows/s':>10}{'peak MB':>9}")
        total_rows, total_wall, total_cpu = 0, 0.0, 0.0
        for family in families:
            [result] = _child([family], args, survey_url)
            total_rows += result["rows_loaded"]
            total_wall += result["wall_s"]
            total_cpu += result["cpu_s"]
            print(
                f"{family:<16}{result['wall_s']:>8}{result['cpu_s']:>8}{result['rows_loaded']:>10}"
                f"{result['rows_quarantined']:>10}{result['rows_per_s']:>10}{result['peak_rss_mb']:>9}"
            )
        print(
            f"{'all':<16}{round(total_wall, 2):>8}{round(total_cpu, 2):>8}{total_rows:>10}{'':>10}"
            f"{round(total_rows / total_wall):>10}"
        )
        started = time.perf_counter()
        noop = _child(families, args, survey_url)
        noop_wall = time.perf_counter() - started
        print(
            f"no-op re-run of all families in one process: {noop_wall:.1f} s wall incl. imports"
            f" ({sum(r['wall_s'] for r in noop):.1f} s in pipelines), rows loaded {sum(r['rows_loaded'] for r in noop)},"
            f" peak {max(r['peak_rss_mb'] for r in noop)} MB"
        )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
