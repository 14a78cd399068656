"""The refresh summary: seconds per stage (a step's stage told by what it materialized or checked), its labels' columns."""

import time

import dagster as dg

from dagster_project.lib.summary import (
    STAGES,
    failure_reason,
    files_not_loaded,
    files_not_loaded_advice,
    pad_to_display_width,
    step_seconds_by_stage,
    unpassed_check_lines,
    utterances_not_unified_advice,
)


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

    def gx_check(asset: dg.AssetsDefinition, name: str):
        @dg.multi_asset_check(name=name, specs=[dg.AssetCheckSpec(name, asset=asset.key)])
        def _check():
            time.sleep(0.02)
            yield dg.AssetCheckResult(asset_key=asset.key, check_name=name, passed=True)

        return _check

    result = dg.materialize([raw, staging, codes, mart, gx_check(raw, "gx_raw_calls"), gx_check(codes, "gx_feedback_codes")])
    seconds = step_seconds_by_stage(result)
    assert list(seconds) == list(STAGES)
    assert all(value > 0 for value in seconds.values()), seconds
    # The classifier's own check is not a check of the loaded data (the refresh target's scope).
    only_codes_check = step_seconds_by_stage(dg.materialize([codes, gx_check(codes, "gx_feedback_codes")]))
    assert only_codes_check["checks of codes (GX)"] > 0 and only_codes_check["checks (GX)"] == 0
    only_ingest = step_seconds_by_stage(dg.materialize([raw]))
    assert only_ingest["ingest (dlt)"] > 0 and sum(only_ingest.values()) == only_ingest["ingest (dlt)"]


def test_a_failed_warn_check_is_a_warning_and_an_error_check_a_failure():
    @dg.asset(
        key=["staging", "stg_vehicles"],
        check_specs=[dg.AssetCheckSpec(name, asset=["staging", "stg_vehicles"])
                     for name in ("late_master", "unique_vin", "not_null", "gx_stg_vehicles")],
    )
    def vehicles():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(check_name="late_master", passed=False, severity=dg.AssetCheckSeverity.WARN)
        yield dg.AssetCheckResult(check_name="unique_vin", passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata={"dagster_dbt/failed_row_count": 2})
        yield dg.AssetCheckResult(check_name="not_null", passed=True)
        yield dg.AssetCheckResult(
            check_name="gx_stg_vehicles", passed=False, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"failed_expectations": '{"expect_column_values_to_match_regex(vin)": 3, "expect_column_values_to_not_be_null(model)": 1200, "expect_table_row_count_to_be_between()": 0}'},
        )

    assert sorted(unpassed_check_lines(dg.materialize([vehicles]))) == [
        "check failed: staging/stg_vehicles gx_stg_vehicles — expect_column_values_to_match_regex(vin): 3 unexpected rows; "
        "expect_column_values_to_not_be_null(model): 1,200 unexpected rows; expect_table_row_count_to_be_between()",
        "check failed: staging/stg_vehicles unique_vin — 2 failing rows",
        "check warning: staging/stg_vehicles late_master",
    ]


def test_a_failed_step_is_reported_by_its_own_error_not_dagsters_wrapper():
    """The summary printed 'Error occurred while executing op "ingest_survey":' and nothing of the cause."""

    @dg.asset(key=["raw_survey", "responses"])
    def responses():
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as error:
            raise RuntimeError("survey API at http://127.0.0.1:9 unreachable") from error

    result = dg.materialize([responses], raise_on_error=False)
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    reason = failure_reason(failure.step_failure_data.error)
    assert reason == ("RuntimeError: survey API at http://127.0.0.1:9 unreachable "
                      "(root cause: ConnectionRefusedError: [Errno 111] Connection refused)")
    assert failure_reason(None) == "unknown error"


def test_pain_point_counts_line_up_after_chinese_labels():
    labels = ["产品 / 操控/转向/底盘/悬挂", "跨渠道衔接 / 承诺回电未回", "数字体验 / 手机APP"]
    lines = [pad_to_display_width(label, 36) + "   12" for label in labels]
    # A terminal shows a Chinese character two columns wide: the counts start in one column.
    starts = {sum(2 if "\u4e00" <= char <= "\u9fff" else 1 for char in line[: line.rindex(" 12")]) for line in lines}
    assert starts == {36 + 2}
    assert pad_to_display_width("a label longer than the width", 4) == "a label longer than the width"


def test_a_failed_dbt_step_is_reported_by_dbts_errors_not_its_command_line():
    """dagster-dbt's message opens with the whole dbt command; cut at the summary's length, the model that
    failed and the database's error were never shown."""
    from types import SimpleNamespace

    from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    command = "voc-dbt build --select " + " ".join(f"voc_warehouse.staging.stg_{n}" for n in range(40))
    # dbt's error lines as dagster-dbt collects them, formatted by the installed dagster-dbt itself
    dbt_errors = DbtCliInvocation._format_error_messages(SimpleNamespace(_error_messages=[
        "3 of 66 ERROR creating sql view model staging.stg_crm__customers ... [\x1b[31mERROR\x1b[0m in 0.03s]",
        "\x1b[31mFailure in model stg_crm__customers (models/staging/crm/stg_crm__customers.sql)\x1b[0m",
        "  Runtime Error in model stg_crm__customers (models/staging/crm/stg_crm__customers.sql)\n"
        '  Catalog Error: Table with name "raw_crm.customers" does not exist because schema "raw_crm" does not exist.\n\n'
        "  compiled code at dbt/target/compiled/stg_crm__customers.sql",
    ]))

    @dg.asset(key=["staging", "stg_crm__customers"])
    def customers():
        raise DagsterDbtCliRuntimeError(f"The dbt CLI process with command\n\n`{command}`\n\nfailed with exit code `1`.{dbt_errors}")

    result = dg.materialize([customers], raise_on_error=False)
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert failure_reason(failure.step_failure_data.error) == (
        "dbt (its whole log: dbt/target/dbt.log): Failure in model stg_crm__customers "
        "(models/staging/crm/stg_crm__customers.sql) Runtime Error in model stg_crm__customers "
        '(models/staging/crm/stg_crm__customers.sql) Catalog Error: Table with name "raw_crm.customers" does not exist '
        'because schema "raw_crm" does not exist.')


def test_landing_files_that_no_completed_load_read_are_named_with_the_command_that_loads_them(tmp_path):
    """Files wait in the landing zone when no refresh covered their days; a load that did not complete read none."""
    import duckdb

    landing = tmp_path / "landing"
    for name in ("call_center/calls_2026-03-01.csv", "call_center/calls_2026-03-02.csv", "call_center/calls_2026-03-04.csv",
                 "private_domain/messages_2026-03-03.jsonl", "public_opinion/posts_2026-03-02_supplement.jsonl",
                 "call_center/calls_2020-01-01.csv",  # before the daily partitions: no refresh can cover it
                 "notes/minutes_2026-03-02.csv"):  # not a source's folder
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_text("")
    connection = duckdb.connect()
    for family in ("call_center", "public_opinion"):
        connection.execute(f"create schema raw_{family}")
        connection.execute(f"create table raw_{family}._dlt_loads (load_id varchar, status integer)")
        connection.execute(f"create table raw_{family}.load_stats (file varchar, _dlt_load_id varchar)")
    connection.execute("insert into raw_call_center._dlt_loads values ('1', 0), ('2', 1)")  # load 2 did not complete
    connection.execute("insert into raw_call_center.load_stats values ('calls_2026-03-01.csv', '1'), ('calls_2026-03-04.csv', '2')")
    connection.execute("insert into raw_public_opinion._dlt_loads values ('1', 0)")
    connection.execute("insert into raw_public_opinion.load_stats values ('posts_2026-03-02_supplement.jsonl', '1')")

    waiting = files_not_loaded(connection, landing)

    assert waiting == {"call_center": ["2026-03-02", "2026-03-04"], "private_domain": ["2026-03-03"]}
    assert files_not_loaded_advice(waiting) == (
        "files of 2026-03-02 … 2026-03-04 (call_center 2, private_domain 1) that no refresh has read: no refresh "
        "covered their days. Load them with: voc refresh --start 2026-03-02 --end 2026-03-04")


def test_utterances_loaded_after_their_days_were_built_are_named_with_the_command_that_unifies_them():
    from datetime import date

    waiting = [("public_opinion", 1, date(2026, 3, 2), date(2026, 3, 2)), ("survey", 1_200, date(2026, 3, 1), date(2026, 3, 5))]
    assert utterances_not_unified_advice(waiting) == (
        "utterances of 2026-03-01 … 2026-03-05 (public_opinion 1, survey 1,200) were loaded after their days were built, "
        "beyond the lookback; they reach int_feedback_unified, the codes and the marts with: "
        "voc refresh --start 2026-03-01 --end 2026-03-05")
