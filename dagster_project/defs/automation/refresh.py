"""The daily refresh job, its 06:00 Asia/Shanghai schedule, and the new-landing-file sensor."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

import dagster as dg
from dagster._core.storage.tags import PARTITION_NAME_TAG

from dagster_project.lib.continuation import AFTER_INGEST, failed_ingest_steps, partition_tags
from dagster_project.lib.landing import dated_files, fingerprint, landing_key
from dagster_project.lib.partitions import consecutive_day_runs, daily_partitions, partition_range_tags
from dagster_project.settings import load_settings

daily_refresh = dg.define_asset_job(
    name="daily_refresh",
    selection=dg.AssetSelection.all(),
    description="Ingest every channel, build staging → intermediate → marts, and run all checks for the chosen days.",
)

# A source that fails (its API or database down) stops the steps after ingestion for every channel, since
# they read all the raw tables. This job builds those steps from what the other sources loaded; the sensor
# below and `voc refresh` run it for the failed run's days when only ingest steps failed.
build_after_failed_ingest = dg.define_asset_job(
    name="build_after_failed_ingest",
    selection=AFTER_INGEST,
    description="Staging → intermediate → codes → marts and their checks, without ingestion: what the sources "
    "that did load carry through when another source failed.",
)

daily_refresh_schedule = dg.build_schedule_from_partitioned_job(
    daily_refresh,
    hour_of_day=6,
    minute_of_hour=0,
    name="daily_refresh_at_0600_shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


@dg.sensor(job=daily_refresh, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def new_landing_files(context: dg.SensorEvaluationContext):
    """Requests a refresh of the export days whose landing files are new or changed since the last tick.

    Consecutive days go in one run over their range (the assets' single-run backfill), like `voc refresh`
    over them: the first tick on a landing zone of 60 days asks for one run, not 60 that each load and build
    again what the next one does. A lone day is a run of its partition.
    The cursor holds the fingerprint of every file already requested, keyed by its path within the landing
    zone (families may name their exports alike), and the run key is the days plus a digest of their files'
    fingerprints, so the same files never trigger two runs.
    """
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    known_days = set(daily_partitions.get_partition_keys())
    changed_by_day: dict[str, list[str]] = defaultdict(list)
    current: dict[str, str] = {}
    landing = load_settings().landing
    for path, day in dated_files(landing).items():
        key = landing_key(landing, path)
        current[key] = fingerprint(path, key)
        if seen.get(key) != current[key] and not _seen_by_name(seen, path):
            changed_by_day[day].append(current[key])
    for day, fingerprints in sorted(changed_by_day.items()):
        if day not in known_days:
            context.log.info(f"Landing files for {day} wait until the {day} partition exists.")
            for name, value in list(current.items()):
                if value in fingerprints:
                    current.pop(name)
    for days in consecutive_day_runs(day for day in changed_by_day if day in known_days):
        first, last = days[0], days[-1]
        files = hashlib.sha256("|".join(sorted(f for day in days for f in changed_by_day[day])).encode()).hexdigest()[:16]
        if first == last:
            yield dg.RunRequest(run_key=f"{first}:{files}", partition_key=first)
        else:
            yield dg.RunRequest(run_key=f"{first}...{last}:{files}", tags=partition_range_tags(first, last))
    kept = {key: value for key, value in seen.items() if "/" in key}  # name-only keys are read once, then dropped
    context.update_cursor(json.dumps({**kept, **current}, sort_keys=True))


def _seen_by_name(seen: dict[str, str], path) -> bool:
    """A cursor written before files were keyed by their path held name -> fingerprint of name, size and
    mtime: a file it holds unchanged is not new. Fingerprinted again only when such a key is there."""
    return path.name in seen and seen[path.name] == fingerprint(path, path.name)


@dg.run_failure_sensor(
    monitored_jobs=[daily_refresh],
    request_job=build_after_failed_ingest,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def build_after_failed_ingest_sensor(context: dg.RunFailureSensorContext):
    """When only ingest steps of a daily refresh failed, build the rest for the same days from what the other
    sources loaded: one source down must not keep every channel's marts a day behind."""
    succeeded = context.instance.get_records_for_run(
        context.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS, limit=1000
    ).records
    failed = failed_ingest_steps(
        [event.step_key for event in context.get_step_failure_events()],
        [record.event_log_entry.step_key for record in succeeded],
    )
    if not failed:
        return dg.SkipReason("a step after ingestion failed, or no source loaded: nothing to carry through")
    context.log.info(f"{', '.join(failed)} failed in run {context.dagster_run.run_id}: building the rest without them")
    days = partition_tags(context.dagster_run.tags)  # a range of days (a backfill) stays in its tags
    return dg.RunRequest(
        run_key=f"after-failed-ingest:{context.dagster_run.run_id}",
        partition_key=days.pop(PARTITION_NAME_TAG, None),
        tags=days,
    )
