"""A daily refresh whose only failures are ingest steps is followed by the build after ingestion, for its days."""

import dagster as dg
import pytest

from dagster_project.defs.automation.refresh import build_after_failed_ingest, build_after_failed_ingest_sensor
from dagster_project.lib.continuation import failed_ingest_steps

RANGE_TAGS = {"dagster/asset_partition_range_start": "2026-03-29", "dagster/asset_partition_range_end": "2026-03-31"}


def _failed_run_context(failing_step: str, other_step: str = "ingest_call_center", days: dict = RANGE_TAGS):
    """A real failed run on an ephemeral instance, and the failure sensor's context for it."""

    @dg.asset(name=failing_step)
    def failing():
        raise RuntimeError("survey API down")

    @dg.asset(name=other_step)
    def loads():
        return 1

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([failing, loads], instance=instance, raise_on_error=False, tags={**days, "team": "voc"})
    assert not result.success
    run_failure = next(event for event in result.all_events if event.event_type == dg.DagsterEventType.RUN_FAILURE)
    return dg.build_run_status_sensor_context(
        sensor_name=build_after_failed_ingest_sensor.name,
        dagster_event=run_failure,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
    ).for_run_failure()


def test_only_ingest_failed_requests_the_build_for_the_same_days():
    context = _failed_run_context("ingest_survey")
    request = build_after_failed_ingest_sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags == RANGE_TAGS  # the days, not the other tags of the failed run
    assert request.run_key == f"after-failed-ingest:{context.dagster_run.run_id}"  # one build per failed run
    assert build_after_failed_ingest_sensor.job_name == build_after_failed_ingest.name


def test_a_scheduled_day_is_requested_as_its_partition():
    request = build_after_failed_ingest_sensor(_failed_run_context("ingest_survey", days={"dagster/partition": "2026-03-31"}))
    assert request.partition_key == "2026-03-31" and request.tags == {}


def test_a_failure_after_ingestion_is_not_built_around():
    assert isinstance(build_after_failed_ingest_sensor(_failed_run_context("voc_dbt_models")), dg.SkipReason)


def test_no_build_when_no_source_loaded():
    context = _failed_run_context("ingest_survey", other_step="voc_codes")
    assert isinstance(build_after_failed_ingest_sensor(context), dg.SkipReason)


@pytest.mark.parametrize(("failed", "succeeded", "expected"), [
    (["ingest_survey", "ingest_crm", "ingest_survey"], ["ingest_ops"], ["ingest_crm", "ingest_survey"]),
    (["ingest_survey", "voc_dbt_models"], ["ingest_ops"], []),
    (["ingest_survey"], ["codeframe_assets"], []),  # every source failed: nothing new to build from
    ([], ["ingest_ops"], []),
])
def test_failed_ingest_steps(failed, succeeded, expected):
    assert failed_ingest_steps(failed, succeeded) == expected
