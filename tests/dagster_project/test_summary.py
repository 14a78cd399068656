"""The refresh summary's seconds per stage: a step's stage is told by what it materialized or checked."""

import time

import dagster as dg

from dagster_project.lib.summary import STAGES, step_seconds_by_stage


def _asset(key: list[str], deps=()):
    @dg.asset(key=key, deps=list(deps))
    def _step():
        time.sleep(0.02)

    return _step


def test_each_step_counts_in_the_stage_of_what_it_wrote():
    raw = _asset(["raw_calls", "calls"])
    staging = _asset(["staging", "stg_calls"], [raw])
    codes = _asset(["intermediate", "feedback_codes"], [staging])
    mart = _asset(["marts", "fct_codes"], [codes])

    @dg.multi_asset_check(specs=[dg.AssetCheckSpec("gx_raw_calls", asset=raw.key)])
    def gx_check():
        time.sleep(0.02)
        yield dg.AssetCheckResult(asset_key=raw.key, check_name="gx_raw_calls", passed=True)

    result = dg.materialize([raw, staging, codes, mart, gx_check])
    seconds = step_seconds_by_stage(result)
    assert list(seconds) == list(STAGES)
    assert all(value > 0 for value in seconds.values()), seconds
    only_ingest = step_seconds_by_stage(dg.materialize([raw]))
    assert only_ingest["ingest (dlt)"] > 0 and sum(only_ingest.values()) == only_ingest["ingest (dlt)"]
