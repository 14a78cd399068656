"""The refresh summary a person reads after `voc refresh` / `voc demo`."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.lib.keys import is_raw_key, raw_dataset
from dagster_project.lib.landing import dated_files
from dagster_project.lib.partitions import daily_partitions
from dagster_project.lib.recoding import NotRecoded, not_recoded
from dagster_project.lib.warehouse import warehouse_connection
from ingestion import FAMILIES
from ingestion.quarantine import completed_load_stats


def _rows(connection: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    try:
        return connection.execute(sql, params or []).fetchall()
    except duckdb.CatalogException:
        return []


MAX_REASON_CHARS = 400
STAGES = ("ingest (dlt)", "dbt staging/int/audit", "checks (GX)", "codes", "checks of codes (GX)", "dbt marts")


def step_seconds_by_stage(*results) -> dict[str, float]:
    """Seconds of the runs' steps summed per stage, a step's stage told by what it materialized or checked.

    A GX check counts in the stage of the asset it checks: "checks (GX)" for the loaded and unified
    data (the refresh target's scope), "checks of codes (GX)" for the classifier's output.
    """
    durations, materialized, gx_checked = {}, {}, {}  # keyed by (run, step): a refresh may take two runs
    events = ((result.run_id, event) for result in results for event in result.all_events)
    for run_id, event in events:
        step = (run_id, event.step_key)
        if event.is_step_success and event.event_specific_data and event.event_specific_data.duration_ms:
            durations[step] = event.event_specific_data.duration_ms / 1000
        elif event.is_step_materialization:
            materialized.setdefault(step, set()).add(event.asset_key)
        elif event.event_type_value == "ASSET_CHECK_EVALUATION" and event.event_specific_data.check_name.startswith("gx_"):
            gx_checked.setdefault(step, set()).add(event.event_specific_data.asset_key)

    def stage_of_assets(keys: set[dg.AssetKey]) -> str | None:
        schemas = {key.path[0] for key in keys}
        if any(is_raw_key(key) for key in keys):
            return "ingest (dlt)"
        if "marts" in schemas:
            return "dbt marts"
        if schemas & {"staging", "audit"} or any(key.path[-1] == "int_feedback_unified" for key in keys):
            return "dbt staging/int/audit"
        return "codes" if schemas else None

    def stage(step: tuple[str, str]) -> str | None:
        if step in gx_checked:
            return "checks of codes (GX)" if stage_of_assets(gx_checked[step]) == "codes" else "checks (GX)"
        return stage_of_assets(materialized.get(step, set()))

    totals = dict.fromkeys(STAGES, 0.0)
    for step, seconds in durations.items():
        if (name := stage(step)) is not None:
            totals[name] += seconds
    return totals


def pad_to_display_width(text: str, width: int) -> str:
    """`text` padded with spaces to `width` terminal columns: a Chinese character takes two, so `f"{text:<16}"`
    leaves the columns after Chinese labels out of line."""
    columns = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
    return text + " " * max(0, width - columns)


def coded_percent(share: float) -> str:
    """Rounded down to 0.1 %: 32,169 of 32,291 texts coded is 99.6 % (not 100 %); only all of them is 100.0 %."""
    return f"{math.floor(share * 1000 + 1e-9) / 10:.1f}%"  # 1e-9: 0.996 * 1000 may be 995.99…


def _not_recoded_history(connection: duckdb.DuckDBPyConnection) -> tuple[str | None, NotRecoded | None]:
    """The current codeframe version, and what BI still reads coded with an older one (None before the marts exist)."""
    versions = _rows(connection, "select max(codeframe_version) from marts.dim_codeframe")
    current_version = versions[0][0] if versions else None
    if current_version is None:
        return None, None
    try:
        return current_version, not_recoded(connection, "marts.fct_feedback_codes", current_version)
    except duckdb.CatalogException:
        return current_version, None


def files_not_loaded(connection: duckdb.DuckDBPyConnection, landing: Path) -> dict[str, list[str]]:
    """Per family folder, the export days of its dated landing files that no completed load has read.

    A refresh reads the files of its own days only: after days without one (an outage, the landing sensor off,
    a later day refreshed by hand) the files of those days wait in the landing zone, and nothing else says so.
    Days outside the daily partitions (before VOC_PARTITIONS_START, today) cannot be refreshed and are left out.
    """
    first, last = daily_partitions.get_first_partition_key(), daily_partitions.get_last_partition_key()
    waiting: dict[str, list[str]] = {}
    if first is None or last is None:
        return waiting
    loaded_by_family: dict[str, set[str]] = {}
    for path, day in dated_files(landing).items():
        family = path.relative_to(landing).parts[0]
        if family not in FAMILIES or not first <= day <= last:
            continue
        if family not in loaded_by_family:
            loaded_by_family[family] = {file for (file,) in _rows(
                connection, f"select distinct stats.file from {completed_load_stats(raw_dataset(family))}"
            )}
        if path.name not in loaded_by_family[family]:
            waiting.setdefault(family, []).append(day)
    return waiting


def files_not_loaded_advice(waiting: dict[str, list[str]]) -> str:
    days = sorted({day for family_days in waiting.values() for day in family_days})
    files = ", ".join(f"{family} {len(family_days)}" for family, family_days in sorted(waiting.items()))
    return (f"files of {days[0]} … {days[-1]} ({files}) that no refresh has read: no refresh covered their days. "
            f"Load them with: voc refresh --start {days[0]} --end {days[-1]}")


def utterances_not_unified(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, int, object, object]]:
    """(channel, utterances, first day, last day) of the staged utterances int_feedback_unified does not hold.

    A refresh unifies its window's days and the lookback before them: a record loaded later than that (a post
    crawled weeks after it was written, survey responses of days no refresh covered) waits in staging until a
    refresh covers its day. The dbt test every_staged_utterance_is_unified counts them; this names their days.
    """
    counts = "select channel, count(*) as utterances from intermediate.{} group by channel"
    behind = [channel for (channel,) in _rows(
        connection,
        f"select staged.channel from ({counts.format('int_feedback_unioned')}) as staged "
        f"left join ({counts.format('int_feedback_unified')}) as unified on unified.channel = staged.channel "
        "where staged.utterances > coalesce(unified.utterances, 0)",
    )]
    if not behind:  # the usual answer, from counts alone (~20 ms on 1.2M utterances; the anti-join takes ~0.2 s)
        return []
    return _rows(
        connection,
        "select channel, count(*), min(event_date), max(event_date) from intermediate.int_feedback_unioned as staged "
        "where channel in (select unnest(?)) and not exists (select 1 from intermediate.int_feedback_unified as unified "
        "where unified.feedback_id = staged.feedback_id) group by channel order by channel",
        [behind],
    )


def utterances_not_unified_advice(waiting: list[tuple[str, int, object, object]]) -> str:
    first, last = min(row[2] for row in waiting), max(row[3] for row in waiting)
    channels = ", ".join(f"{channel} {count:,}" for channel, count, _, _ in waiting)
    return (f"utterances of {first} … {last} ({channels}) were loaded after their days were built, beyond the "
            f"lookback; they reach int_feedback_unified, the codes and the marts with: voc refresh --start {first} --end {last}")


def print_refresh_summary(warehouse: Path, landing: Path, results: list, seconds: float) -> None:
    """Per source: seen/loaded/quarantined/deduplicated of this refresh; per channel: utterances; then failures.

    `results` are the refresh's runs: the daily refresh, and the build after ingestion when a source failed.
    """
    run_id = results[0].run_id
    with warehouse_connection(warehouse, read_only=True) as connection:
        loads = _rows(
            connection,
            "select source, sum(records_seen), sum(records_loaded), sum(records_quarantined), "
            "sum(records_deduplicated), bool_and(adds_up) from audit.load_reconciliation "
            "where run_id = ? group by source order by source",
            [run_id],
        )
        reasons = _rows(
            connection,
            "select source, reason, count(*) from audit.quarantine where run_id = ? group by all order by all",
            [run_id],
        )
        rejected_files = _rows(
            connection,
            "select source, file, any_value(detail), count(*) from audit.quarantine "
            "where run_id = ? and reason = 'missing_required_column' group by source, file order by all",
            [run_id],
        )
        channels = _rows(
            connection,
            "select u.channel, count(*), max(c.with_text), min(u.event_date), max(u.event_date), max(c.coded_share) "
            "from intermediate.int_feedback_unified as u left join ("
            "  select channel, sum(utterances_with_text) as with_text, "
            "         sum(coded_utterances) / nullif(sum(utterances_with_text), 0) as coded_share "
            "  from marts.mart_codeframe_coverage group by channel) as c on u.channel = c.channel "
            "group by u.channel order by u.channel",
        )
        current_version, older = _not_recoded_history(connection)
        waiting = files_not_loaded(connection, landing)
        not_unified = utterances_not_unified(connection)
        pains = _rows(
            connection,
            "select l1_name, l2_name, count(distinct feedback_id) as utterances, "
            "count(distinct case when severity = 'critical' then feedback_id end) as critical "
            "from marts.fct_feedback_codes where point_type = 'pain' group by all order by utterances desc, l1_name, l2_name limit 5",
        )
    outcome = "success" if all(result.success for result in results) else "FAILED"
    print(f"\nRun {' + '.join(result.run_id for result in results)} finished in {seconds:,.0f} s: {outcome}")
    print(f"\n{'source':<16}{'seen':>10}{'loaded':>10}{'quarantined':>13}{'deduplicated':>14}  adds up")
    for source, seen, loaded, quarantined, deduplicated, adds_up in loads:
        print(f"{source:<16}{seen:>10,}{loaded:>10,}{quarantined:>13,}{deduplicated:>14,}  {'yes' if adds_up else 'NO'}")
    if not loads:
        print("(nothing new to load)")
    if reasons:
        print("\nquarantined this run, by reason:")
        for source, reason, count in reasons:
            print(f"  {source:<16}{reason:<26}{count:>8,}")
    for source, file, detail, count in rejected_files:
        print(
            f"\nREJECTED FILE {source}/{file}: {detail}. Its {count:,} records are in audit.quarantine; "
            "fix the export (or map the column) and drop the fixed file into the landing zone again."
        )
    print(f"\n{'channel':<16}{'utterances':>12}{'with text':>11}{'coded':>8}  days")
    for channel, count, with_text, first, last, coded_share in channels:
        coded = coded_percent(coded_share) if coded_share is not None else "–"
        with_text = f"{with_text:,}" if with_text is not None else "–"
        print(f"{channel:<16}{count:>12,}{with_text:>11}{coded:>8}  {first} … {last}")
    if pains:
        print("\ntop pain points (marts.fct_feedback_codes):")
        for l1, l2, count, critical in pains:
            print(f"  {pad_to_display_width(f'{l1} / {l2}', 36)}{count:>8,} utterances{f', {critical} critical' if critical else ''}")
    if older:
        print(f"\nHISTORY NOT RE-CODED: {older.advice(current_version)}")
    if waiting:
        print(f"\nLANDING FILES NOT LOADED: {files_not_loaded_advice(waiting)}")
    if not_unified:
        print(f"\nUTTERANCES NOT YET UNIFIED: {utterances_not_unified_advice(not_unified)}")
    stage_seconds = step_seconds_by_stage(*results)
    print("\nseconds per stage: " + ", ".join(f"{name} {value:,.1f}" for name, value in stage_seconds.items()))
    failures = [event for result in results for event in result.all_events if event.is_step_failure]
    for event in failures:
        print(f"\nFAILED step {event.step_key}: {failure_reason(event.step_failure_data.error)}")
    if failures and len(results) > 1 and results[-1].success:
        print("The other sources' records went on through staging, codes and marts. Fix the cause and run the "
              "refresh again: it loads only what is still missing, and builds the days again with it.")
    elif failures:
        print("Steps after a failed one were not run; what loaded stays loaded. Fix the cause and run the refresh "
              "again: it loads only what is still missing.")
    for result in results:
        for line in unpassed_check_lines(result):
            print(line)


def failure_reason(error) -> str:
    """The error a step raised, under Dagster's wrapper ("Error occurred while executing op …"): the first
    error of the cause chain that is not Dagster's own, on one line, cut at MAX_REASON_CHARS, and the
    innermost cause (a refused connection, a missing file)."""
    chain = []
    while error is not None:
        chain.append(error)
        error = error.cause or error.context
    if not chain:
        return "unknown error"
    own = next((e for e in chain if not e.cls_name.startswith("Dagster")), chain[0])
    own, reason = next(((e, errors) for e in chain if (errors := _dbt_errors(e.message))), (own, _one_line(own)))
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    if chain[-1] is not own:
        reason += f" (root cause: {_one_line(chain[-1])})"
    return reason


DBT_ERRORS_HEADER = "Errors parsed from dbt logs:"  # dagster-dbt's, before dbt's own error lines
_ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
_DBT_PROGRESS_LINE = re.compile(r"\d+ of \d+ ")


def _dbt_errors(message: str) -> str | None:
    """A failed dbt invocation by dbt's own errors (the model and the database's message), on one line: dagster-dbt's
    message opens with the whole command line, which left no room for them."""
    _, found, errors = message.partition(DBT_ERRORS_HEADER)
    if not found:
        return None
    lines = (_ANSI_COLOUR.sub("", line).strip() for line in errors.splitlines())
    kept = [line for line in lines if line and not _DBT_PROGRESS_LINE.match(line) and not line.startswith("compiled code at")]
    return f"dbt (its whole log: dbt/target/dbt.log): {' '.join(kept)}" if kept else None


def _one_line(error) -> str:
    message = " ".join(error.message.split())
    if message.split(":", 1)[0].endswith(error.cls_name):  # Python's own format names the class already
        return message
    return f"{error.cls_name}: {message}"


def unpassed_check_lines(result) -> list[str]:
    """One line per check that did not pass, with what failed where the check says (GX: each failed
    expectation and its unexpected rows; dbt: the failing rows); a WARN-severity check (e.g. master data a
    day late) is a warning."""
    return [
        f"check {'warning' if check.severity == dg.AssetCheckSeverity.WARN else 'failed'}: "
        f"{check.asset_key.to_user_string()} {check.check_name}{_failure_detail(check.metadata)}"
        for check in result.get_asset_check_evaluations()
        if not check.passed
    ]


def _failure_detail(metadata: dict) -> str:
    def value(key: str):
        entry = metadata.get(key)
        return getattr(entry, "value", entry)

    if failed := value("failed_expectations"):
        expectations = json.loads(failed) if isinstance(failed, str) else failed
        # a table-level expectation (row count, columns) counts no unexpected rows
        return " — " + "; ".join(f"{label}: {rows:,} unexpected rows" if rows else label for label, rows in expectations.items())
    if (rows := value("dagster_dbt/failed_row_count")) is not None:
        return f" — {rows:,} failing rows"
    return ""