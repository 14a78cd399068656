"""`voc`: generate the demo world, refresh the warehouse, run the whole demo.

Every command reads paths from dagster_project.settings (VOC_WAREHOUSE, VOC_LANDING, VOC_TRUTH, ...).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from dagster_project.settings import PROJECT_ROOT, load_settings

DEMO_CUSTOMERS = 5_000
DEMO_DAYS = 60
DEMO_SEED = 42


def _parse_day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day in YYYY-MM-DD form") from None


def landing_file_count(landing: Path) -> int:
    """Files in the landing zone's family folders (what `voc generate` would replace)."""
    from ingestion import FAMILIES

    return sum(1 for sub in FAMILIES if (landing / sub).is_dir() for path in (landing / sub).iterdir() if path.is_file())


def cmd_generate(args: argparse.Namespace) -> int:
    from ingestion.demo import truth_dir
    from ingestion.demo.generator import generate_world

    out = Path(args.out).resolve() if args.out else load_settings().landing
    existing = landing_file_count(out)
    if existing and not args.overwrite:
        raise SystemExit(
            f"voc generate: {out} already holds {existing:,} landing files; generating would replace them and "
            f"{truth_dir(out)}. Pass --overwrite to replace them (a warehouse keeps what it loaded from them: "
            f"delete {load_settings().warehouse} to start over), or choose another --out."
        )
    try:
        summary = generate_world(
            out, customers=args.customers, days=args.days, seed=args.seed, plants=not args.no_plants, end_date=args.end_date
        )
    except ValueError as error:
        raise SystemExit(f"voc generate: {error}") from None
    print(f"Landing zone: {out}\nPlanted truth: {truth_dir(out)}")
    for name, rows in sorted(summary.get("row_counts", summary).items()):
        print(f"  {name:<48} {rows:>10,}" if isinstance(rows, int) else f"  {name}: {rows}")
    return 0


def refresh_window(start: date | None, end: date | None) -> tuple[str, str]:
    """The partition range to refresh: the given days, or every export day in the landing zone."""
    from dagster_project.lib.landing import landing_days

    if start is None:
        days = landing_days(load_settings().landing)
        if not days:
            raise SystemExit(
                f"No dated landing files under {load_settings().landing}: run `voc generate` or set VOC_LANDING."
            )
        start, end = _parse_day(days[0]), _parse_day(days[-1])
    first_day, last_day = start.isoformat(), (end or start).isoformat()
    check_within_partitions(first_day, last_day)
    return first_day, last_day


def check_within_partitions(first_day: str, last_day: str) -> None:
    """Refuse days the daily partitions do not hold, before anything runs (Dagster would fail every step)."""
    from dagster_project.lib.partitions import daily_partitions

    if last_day < first_day:
        raise SystemExit(f"--end {last_day} is before --start {first_day}.")
    keys = daily_partitions.get_partition_keys()
    if not keys or first_day < keys[0]:
        raise SystemExit(
            f"{first_day} is before the first daily partition, {load_settings().partitions_start} "
            f"(VOC_PARTITIONS_START): set VOC_PARTITIONS_START={first_day} to refresh older days."
        )
    if last_day > keys[-1]:
        raise SystemExit(
            f"{last_day} is after the last daily partition, {keys[-1]}: a day (Asia/Shanghai) can be refreshed "
            "once it is over."
        )


YOUNG_GENERATION_OBJECTS = 10_000


@contextmanager
def _frozen_refresh_job():
    """The daily_refresh job, loaded with the collector paused, its objects frozen while the run uses them.

    Loading creates ~420,000 objects (Dagster, dbt's manifest, dlt, the definitions) that live as long
    as the run, and hardly any garbage: the collector's full passes over them took ~1 s while loading,
    and ~0.3 s each during the steps (two or three inside a daily refresh's ingestion and dbt steps).
    Frozen, they are skipped; the steps' own objects are collected as usual. They are thawed when the
    run is over, so that whatever they still reference (dlt's pipelines and their DuckDB connections)
    is collected and closed at exit.

    During the run the youngest generation is collected every YOUNG_GENERATION_OBJECTS allocations
    instead of Python's 700. At 700 an extra day's steps ran ~920 youngest, 83 middle and 7 full
    collections, each full one walking everything created after the freeze (GX's import among it):
    collections inside an extra day's steps 0.95-1.07 s in five runs, 0.36-0.58 s in five runs at
    5,000-50,000 (10,000: 0.50 s; 56 youngest, 5 middle, none full).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        from dagster_project.definitions import build_definitions

        job = build_definitions().resolve_job_def("daily_refresh")  # get_job_def warns on an asset job
        gc.freeze()  # only once loaded: a load that fails leaves nothing frozen
    finally:
        if was_enabled:
            gc.enable()
    thresholds = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_OBJECTS, *thresholds[1:])
    try:
        yield job
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def warehouse_salt_mismatch(settings) -> str | None:
    """The ingest steps refuse a salt the warehouse was not built with; said once, before the job loads."""
    from dagster_project.lib.pii_salt import salt_mismatch
    from dagster_project.lib.warehouse import warehouse_connection

    if not settings.warehouse.exists():
        return None
    with warehouse_connection(settings.warehouse, read_only=True) as connection:
        return salt_mismatch(connection, settings.pii_salt, settings.pii_salt_is_demo)


def run_refresh(first_day: str, last_day: str) -> bool:
    """Runs the daily_refresh job in-process over [first_day, last_day] as one run; prints a summary."""
    settings = load_settings()
    if settings.pii_salt_is_demo:
        print("Note: no PII salt is set (VOC_PII_SALT, or sources.pii_salt in .dlt/secrets.toml); phones are hashed "
              "with the public demo salt. Set one in production, before the first refresh.")
    from dagster_project.lib.warehouse import lock_conflict
    from udfs.codeframe.schema import CodeframeError, load_codeframe

    try:
        load_codeframe(settings.codeframe)  # the job's definitions read it: say what is wrong once, not in a traceback
    except CodeframeError as error:
        print(f"Cannot refresh: {error}\nFix the codeframe file and run the refresh again.", file=sys.stderr)
        return False
    conflict = lock_conflict(settings.warehouse)
    if conflict:
        print(
            f"Cannot refresh: the warehouse {settings.warehouse} is open in another process, and DuckDB allows one "
            f"writer.\n  {conflict}\nClose that process (a DuckDB client, a notebook, a run in `dagster dev`) and "
            "run the refresh again.",
            file=sys.stderr,
        )
        return False
    if problem := warehouse_salt_mismatch(settings):
        print(f"Cannot refresh {settings.warehouse}: {problem}", file=sys.stderr)
        return False
    started = time.monotonic()
    print(f"Refreshing {first_day} … {last_day} into {settings.warehouse}")
    with _frozen_refresh_job() as job:
        from dagster_project.lib.continuation import AFTER_INGEST, failed_ingest_steps
        from dagster_project.lib.instance import ephemeral_instance
        from dagster_project.lib.partitions import partition_range_tags
        from dagster_project.lib.summary import print_refresh_summary

        run = dict(
            tags=partition_range_tags(first_day, last_day),
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
        with ephemeral_instance() as instance:
            results = [job.execute_in_process(instance=instance, **run)]
            events = results[0].all_events
            if failed := failed_ingest_steps([e.step_key for e in events if e.is_step_failure],
                                             [e.step_key for e in events if e.is_step_success]):
                # The same as the build_after_failed_ingest job the Dagster daemon's sensor launches.
                print(f"\n{', '.join(failed)} failed: building staging, codes and marts from what the other sources loaded …")
                after_ingest = sorted(AFTER_INGEST.resolve(job.asset_layer.asset_graph))
                results.append(job.execute_in_process(instance=instance, asset_selection=after_ingest, **run))
    print_refresh_summary(settings.warehouse, settings.landing, results, time.monotonic() - started)
    return all(result.success for result in results)


def cmd_refresh(args: argparse.Namespace) -> int:
    if args.date and (args.start or args.end):
        raise SystemExit("Give either --date or --start/--end, not both.")
    start = args.date or args.start
    end = args.date or args.end
    if end and not start:
        raise SystemExit("--end needs --start.")
    first_day, last_day = refresh_window(start, end)
    return 0 if run_refresh(first_day, last_day) else 1


def demo_world_to_generate(landing: Path) -> str | None:
    """Why `voc demo` generates the demo world before refreshing, or None when the landing zone is refreshed as it is.

    The generator writes `truth/world.json` last, so a world without it was interrupted (a Ctrl-C during the
    first `voc demo`): refreshing it would load a world cut off in the middle of a day. Landing files with no
    truth folder beside them were not written by the generator (a copied or real landing zone): they are
    refreshed as they are, never generated over.
    """
    from ingestion.demo import WORLD_FILE, is_finished_world, truth_dir

    if is_finished_world(landing):
        return None
    truth = truth_dir(landing)
    size = f"{DEMO_CUSTOMERS:,} customers × {DEMO_DAYS} days"
    if not landing_file_count(landing):
        return f"No demo world at {landing}: generating {size} …"
    if truth.is_dir():
        return (f"The demo world at {landing} is unfinished ({truth} has no {WORLD_FILE}, which the generator writes "
                f"last: its generation was interrupted): generating it again, {size} …")
    return None


def cmd_demo(args: argparse.Namespace) -> int:
    settings = load_settings()
    if reason := demo_world_to_generate(settings.landing):
        print(reason)
        from ingestion.demo.generator import generate_world

        generate_world(settings.landing, customers=DEMO_CUSTOMERS, days=DEMO_DAYS, seed=DEMO_SEED)
    first_day, last_day = refresh_window(None, None)
    ok = run_refresh(first_day, last_day)
    print(where_to_look(settings.warehouse))
    return 0 if ok else 1


def where_to_look(warehouse: Path) -> str:
    """How to query the warehouse and open the Dagster UI, with what a fresh machine has: this virtualenv's
    Python and Dagster (neither the DuckDB CLI nor an activated virtualenv is assumed)."""
    bin_dir = Path(sys.executable).parent
    query = f"import duckdb; duckdb.connect({str(warehouse)!r}, read_only=True).sql('from marts.fct_feedback_codes limit 5').show()"
    return (
        f"\nWarehouse: {warehouse}\n"
        f'  query it: {sys.executable} -c "{query}"\n'
        "  (or any DuckDB client, read-only; close it before the next refresh: DuckDB has one writer)\n"
        f"Lineage and runs: cd {PROJECT_ROOT} && DAGSTER_HOME=$PWD/dagster_home {bin_dir / 'dagster'} dev -w workspace.yaml"
    )


def cmd_classify(args: argparse.Namespace) -> int:
    from udfs.codeframe.batch import classify_file
    from udfs.codeframe.schema import CodeframeError

    try:
        rows, unreadable = classify_file(args.input, args.output, codeframe_path=args.codeframe or load_settings().codeframe,
                             text_col=args.text_column, id_col=args.id_column, progress=True)
    except (FileNotFoundError, ValueError, CodeframeError) as error:
        raise SystemExit(f"voc classify: {error}") from None
    print(f"coded {rows:,} rows → {args.output}")
    if unreadable:
        print(f"{unreadable:,} of them unreadable in {args.input}: written uncoded, each with an \"error\" that "
              "names its line or item; fix those and code the file again")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from udfs.codeframe.evaluate import evaluate_real, evaluate_world
    from udfs.codeframe.schema import CodeframeError

    if not args.truth and not args.real:
        raise SystemExit("voc eval: give --truth [DIR] (a generated world's truth) and/or --real [DIR] (labelled real texts)")
    settings = load_settings()
    codeframe = args.codeframe or settings.codeframe
    try:
        if args.truth:
            truth = settings.truth if args.truth == "default" else args.truth
            evaluate_world(truth, codeframe_path=codeframe, detail=args.detail)
        if args.real:
            evaluate_real(None if args.real == "default" else args.real, split=args.split, codeframe_path=codeframe,
                          detail=args.detail)
    except (FileNotFoundError, ValueError, CodeframeError) as error:
        raise SystemExit(f"voc eval: {error}") from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voc", description="Voice-of-the-Customer warehouse")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write a demo landing zone and its planted truth")
    generate.add_argument("--customers", type=int, default=DEMO_CUSTOMERS, help="CRM customers (default: %(default)s)")
    generate.add_argument("--days", type=int, default=DEMO_DAYS, help="days of exports, ending --end-date (default: %(default)s)")
    generate.add_argument("--seed", type=int, default=DEMO_SEED, help="the same seed writes the same world (default: %(default)s)")
    generate.add_argument("--out", help="landing dir (default: VOC_LANDING); truth goes to OUT/../truth")
    generate.add_argument("--end-date", type=_parse_day, default=date(2026, 3, 31), help="last day of the world (default: %(default)s)")
    generate.add_argument("--no-plants", action="store_true", help="same world without planted causes, spikes or breakpoints")
    generate.add_argument("--overwrite", action="store_true", help="replace the landing files and truth already in OUT")
    generate.set_defaults(handler=cmd_generate)

    refresh = commands.add_parser(
        "refresh", help="run the daily refresh in-process for some days",
        description="Load the landing zone (VOC_LANDING) into the warehouse (VOC_WAREHOUSE), build the dbt models, "
                    "code the utterances and run the checks for the given days (Asia/Shanghai); without a day, every "
                    "day the landing zone holds. Prints per-source loaded/quarantined counts; exits 1 when a step failed.")
    refresh.add_argument("--date", type=_parse_day, help="one day, YYYY-MM-DD (e.g. yesterday's, as the 06:00 schedule does)")
    refresh.add_argument("--start", type=_parse_day, help="first day, YYYY-MM-DD (a backfill, e.g. after an outage)")
    refresh.add_argument("--end", type=_parse_day, help="last day, inclusive (default: --start)")
    refresh.set_defaults(handler=cmd_refresh)

    classify = commands.add_parser("classify", help="code a CSV/JSONL file with a `text` column against the codeframe")
    classify.add_argument("--in", dest="input", required=True,
                          help="CSV or TSV (UTF-8 or GB18030), JSONL or a JSON array, with a text column (an id column is kept)")
    classify.add_argument("--out", dest="output", required=True, help="JSONL, one line per input row")
    classify.add_argument("--codeframe", help="codeframe YAML (default: VOC_CODEFRAME or udfs/codeframe/codeframe.yaml)")
    classify.add_argument("--text-column", default="text", help="the column that holds the text (default: text)")
    classify.add_argument("--id-column", help="the column kept as each row's id (default: id, feedback_id or record_id; else the row number)")
    classify.set_defaults(handler=cmd_classify)

    evaluate = commands.add_parser("eval", help="precision/recall/F1 of the classifier on planted truth and/or real labelled texts")
    evaluate.add_argument("--truth", nargs="?", const="default",
                          help="truth dir of a generated world (alone: VOC_TRUTH, the demo world's truth by default)")
    evaluate.add_argument("--real", nargs="?", const="default", help="dir of the real labelled files (default ../shared/data/real)")
    evaluate.add_argument("--split", default="even", choices=["even", "odd", "all"], help="real-data rows to report on (tuning used odd rows)")
    evaluate.add_argument("--codeframe", help="codeframe YAML to evaluate")
    evaluate.add_argument("--detail", action="store_true", help="also print per-leaf and per-L2 tables")
    evaluate.set_defaults(handler=cmd_eval)

    demo = commands.add_parser(
        "demo", help="generate the demo world if absent, refresh every day, print a summary",
        description=f"Generate the demo world into VOC_LANDING when it holds none ({DEMO_CUSTOMERS:,} customers × {DEMO_DAYS} "
                    f"days, seed {DEMO_SEED}), refresh every day it holds into VOC_WAREHOUSE, print the summary and how "
                    "to query the warehouse. Run it again: only what is new loads.")
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
