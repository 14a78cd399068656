"""The one daily partitioning every partitioned asset shares (event day, Asia/Shanghai)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from dagster import BackfillPolicy, DailyPartitionsDefinition, TimeWindow
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG, PARTITION_NAME_TAG

from dagster_project.settings import TIMEZONE, load_settings

daily_partitions = DailyPartitionsDefinition(
    start_date=load_settings().partitions_start,
    timezone=TIMEZONE,
)

# Late records: every incremental stage re-reads this many days before the window (dbt var `lookback_days`).
LOOKBACK_DAYS = 3

# A range of days runs as one run: one dlt load and one dbt build per refresh, not one per day.
single_run = BackfillPolicy.single_run()


def is_history_window(window: TimeWindow) -> bool:
    """The first partition also carries everything older than it (master data created years ago).

    The ingest assets treat a family's first-ever load the same way.
    """
    first = daily_partitions.start
    return window.start <= first


def window_days(window: TimeWindow, lookback_days: int = 0) -> tuple[str, str]:
    """The window as Shanghai calendar days: (first day, day after the last), `lookback_days` earlier at the start."""
    return (window.start - timedelta(days=lookback_days)).strftime("%Y-%m-%d"), window.end.strftime("%Y-%m-%d")


def dbt_window_env(window: TimeWindow) -> dict[str, str]:
    """The partition window for dbt (`start` inclusive, `end` exclusive), read by macros/dates.sql."""
    start, end = window_days(window)
    return {"VOC_DBT_START_DATE": start, "VOC_DBT_END_DATE": end, "VOC_DBT_LOOKBACK_DAYS": str(LOOKBACK_DAYS)}


def partition_range_tags(first_day: str, last_day: str) -> dict[str, str]:
    """The tags of one run over the days first_day … last_day (inclusive): the assets' single-run backfill."""
    return {ASSET_PARTITION_RANGE_START_TAG: first_day, ASSET_PARTITION_RANGE_END_TAG: last_day}


def consecutive_day_runs(days) -> list[list[str]]:
    """YYYY-MM-DD days, sorted, in runs of consecutive days: 1, 2, 3, 5 -> [1, 2, 3], [5]."""
    runs: list[list[str]] = []
    for day in sorted(days):
        if runs and date.fromisoformat(day) - date.fromisoformat(runs[-1][-1]) == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def run_window_days(tags: Mapping[str, str]) -> int | None:
    """How many daily partitions a run covers, from its tags (None when it names none)."""
    start, end = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start and end:
        return (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
    return 1 if tags.get(PARTITION_NAME_TAG) else None
