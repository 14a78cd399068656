"""The one daily partitioning every partitioned asset shares (event day, Asia/Shanghai)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from dagster import BackfillPolicy, DailyPartitionsDefinition, TimeWindow

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


def run_window_days(tags: Mapping[str, str]) -> int | None:
    """How many daily partitions a run covers, from its tags (None when it names none)."""
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if start and end:
        return (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
    return 1 if tags.get("dagster/partition") else None
