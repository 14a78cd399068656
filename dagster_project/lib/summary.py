"""The refresh summary a person reads after `voc refresh` / `voc demo`."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project.lib.warehouse import warehouse_connection


def _rows(connection: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    try:
        return connection.execute(sql, params or []).fetchall()
    except duckdb.CatalogException:
        return []


def print_refresh_summary(warehouse: Path, result, seconds: float) -> None:
    """Per source: seen/loaded/quarantined/deduplicated of this run; per channel: utterances; then failures."""
    run_id = result.run_id
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
        channels = _rows(
            connection,
            "select channel, count(*), min(event_date), max(event_date) from intermediate.int_feedback_unified "
            "group by channel order by channel",
        )
    print(f"\nRun {run_id} finished in {seconds:,.0f} s: {'success' if result.success else 'FAILED'}")
    print(f"\n{'source':<16}{'seen':>10}{'loaded':>10}{'quarantined':>13}{'deduplicated':>14}  adds up")
    for source, seen, loaded, quarantined, deduplicated, adds_up in loads:
        print(f"{source:<16}{seen:>10,}{loaded:>10,}{quarantined:>13,}{deduplicated:>14,}  {'yes' if adds_up else 'NO'}")
    if not loads:
        print("(nothing new to load)")
    if reasons:
        print("\nquarantined this run, by reason:")
        for source, reason, count in reasons:
            print(f"  {source:<16}{reason:<26}{count:>8,}")
    print(f"\n{'channel':<16}{'utterances':>12}  days")
    for channel, count, first, last in channels:
        print(f"{channel:<16}{count:>12,}  {first} … {last}")
    failures = [event for event in result.all_events if event.is_step_failure]
    for event in failures:
        error = event.step_failure_data.error
        print(f"\nFAILED step {event.step_key}: {error.message.strip() if error else 'unknown error'}")
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            print(f"check failed: {check.asset_key.to_user_string()} {check.check_name}")
