"""dbt on its own: unit tests on the built warehouse, and the schema layout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from dagster_project.lib.warehouse import warehouse_connection
from dagster_project.settings import DBT_PROJECT_DIR, load_settings


def test_dbt_unit_tests_pass(first_refresh):
    """Masking, name reduction and the unification/incremental logic, mocked inputs (dbt unit tests)."""
    # A subprocess, as in production: in-process dbt-duckdb keeps its connection (and file lock) open.
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), "test", "--select", "test_type:unit", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    for name in {
        "test_pii_is_masked_in_free_text",
        "test_customer_names_are_masked_to_surname",
        "test_feedback_unioned_gives_every_channel_one_shape_with_its_identity_keys",
        "test_feedback_unified_finds_each_utterances_customer_vehicle_and_journey_stage",
        "test_feedback_unified_incremental_run_reads_only_the_window_with_lookback",
        "test_feedback_codes_fact_incremental_run_reads_only_the_window_of_the_current_version",
    }:
        assert name in result.stdout


def test_dbt_writes_exactly_its_four_schemas(first_refresh):
    with warehouse_connection(load_settings().warehouse, read_only=True) as connection:
        schemas = {row[0] for row in connection.execute("select distinct table_schema from information_schema.tables").fetchall()}
    dbt_schemas = {s for s in schemas if not s.startswith("raw_")}
    assert dbt_schemas <= {"staging", "intermediate", "marts", "audit"}
    assert {"staging", "intermediate", "audit"} <= dbt_schemas


def test_data_tests_of_a_refresh_read_only_its_window(first_refresh, tmp_path):
    """A model with `meta.test_window` is tested on the run's window (macros/test_window.sql): a duplicate
    outside the window passes a refresh of the last day, and fails a run whose window covers it, or none.
    The key's test is `primary_key` (tests/generic/primary_key.sql), so a null key in the window fails it too."""
    first_day, last_day = first_refresh
    warehouse = tmp_path / "voc.duckdb"
    shutil.copy(load_settings().warehouse, warehouse)
    with warehouse_connection(warehouse) as connection:
        connection.execute(
            "insert into intermediate.int_feedback_unified select * from intermediate.int_feedback_unified "
            "where event_date = cast(? as date) limit 1",
            [first_day],
        )

    def day_after(day: str) -> str:
        return (date.fromisoformat(day) + timedelta(days=1)).isoformat()

    def key_test_passes(window: tuple[str, str] | None) -> bool:
        env = {**os.environ, "VOC_WAREHOUSE": str(warehouse)}
        for name in ("VOC_DBT_START_DATE", "VOC_DBT_END_DATE"):
            env.pop(name, None)
        if window:
            env.update(VOC_DBT_START_DATE=window[0], VOC_DBT_END_DATE=window[1])
        result = subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), "test", "--select", "int_feedback_unified,test_name:primary_key",
             "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
            capture_output=True, text=True, env=env,
        )
        assert "primary_key_int_feedback_unified_feedback_id" in result.stdout, result.stdout[-3000:]
        return result.returncode == 0

    assert key_test_passes((last_day, day_after(last_day)))
    assert not key_test_passes((first_day, day_after(first_day)))
    assert not key_test_passes(None)
    with warehouse_connection(warehouse) as connection:
        connection.execute(
            "insert into intermediate.int_feedback_unified select * replace (null as feedback_id) "
            "from intermediate.int_feedback_unified where event_date = cast(? as date) limit 1",
            [last_day],
        )
    assert not key_test_passes((last_day, day_after(last_day)))


def test_staged_utterances_the_unified_model_does_not_hold_are_warned_of_with_their_days(first_refresh, tmp_path):
    """A record loaded after its day was built, beyond the lookback, waits in staging: the dbt test warns (the
    refresh goes on) and the summary names its days and the command that unifies it."""
    from dagster_project.lib.summary import utterances_not_unified

    warehouse = tmp_path / "voc.duckdb"
    shutil.copy(load_settings().warehouse, warehouse)

    def unified_test() -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), "test", "--select", "every_staged_utterance_is_unified",
             "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
            capture_output=True, text=True, env={**os.environ, "VOC_WAREHOUSE": str(warehouse)},
        )

    passed = unified_test()
    assert passed.returncode == 0 and "PASS=1" in passed.stdout, passed.stdout[-3000:]
    with warehouse_connection(warehouse) as connection:
        assert utterances_not_unified(connection) == []
        (day,) = connection.execute("select min(event_date) from intermediate.int_feedback_unified where channel = 'survey'").fetchone()
        connection.execute("delete from intermediate.int_feedback_unified where channel = 'survey' and event_date = ?", [day])
        (removed,) = connection.execute("select count(*) from intermediate.int_feedback_unioned "
                                        "where channel = 'survey' and event_date = ?", [day]).fetchone()
    warned = unified_test()
    assert warned.returncode == 0 and "WARN=1" in warned.stdout, warned.stdout[-3000:]
    with warehouse_connection(warehouse, read_only=True) as connection:
        assert utterances_not_unified(connection) == [("survey", removed, day, day)]


def test_a_view_is_recreated_only_when_its_definition_changed(first_refresh, tmp_path):
    """macros/materializations/view.sql: an unchanged view is left as it is (no ~90 ms re-create per view and
    run); a view whose stored definition differs is re-created, and so is every view on --full-refresh.
    A column comment marks each view: only a re-created view loses it."""
    warehouse = tmp_path / "voc.duckdb"
    shutil.copy(load_settings().warehouse, warehouse)
    stale = "stg_call_center__calls"

    def views() -> dict[str, tuple[str, bool]]:
        """view -> (its definition comment, whether it still carries the marker)."""
        with warehouse_connection(warehouse, read_only=True) as connection:
            rows = connection.execute(
                "select v.view_name, v.comment, coalesce(bool_or(c.comment = 'marker'), false) from duckdb_views() v "
                "join duckdb_columns() c on c.schema_name = v.schema_name and c.table_name = v.view_name "
                "where v.schema_name = 'staging' group by all"
            ).fetchall()
        return {name: (comment, marked) for name, comment, marked in rows}

    def mark_every_view() -> None:
        with warehouse_connection(warehouse) as connection:
            for (name,) in connection.execute("select view_name from duckdb_views() where schema_name = 'staging'").fetchall():
                column = connection.execute(f"select * from staging.{name} limit 0").description[0][0]
                connection.execute(f"comment on column staging.{name}.{column} is 'marker'")

    def dbt_run(*extra: str) -> None:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), "run", "--select", "staging", *extra,
             "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
            capture_output=True, text=True, env={**os.environ, "VOC_WAREHOUSE": str(warehouse)},
        )
        assert result.returncode == 0, result.stdout[-3000:]

    built = views()
    assert len(built) >= 13 and all(comment.startswith("voc:md5:") for comment, _ in built.values())
    mark_every_view()
    with warehouse_connection(warehouse) as connection:
        connection.execute(f"comment on view staging.{stale} is 'voc:md5:an-older-definition'")
    dbt_run()
    rerun = views()
    assert rerun[stale] == (built[stale][0], False)
    assert all(rerun[name] == (comment, True) for name, (comment, _) in built.items() if name != stale)
    dbt_run("--full-refresh")
    assert not any(marked for _, marked in views().values())


def test_a_daily_build_reselects_in_its_lookback_only_what_was_loaded_since(first_refresh, tmp_path):
    """int_feedback_unified re-selects its lookback days only for records of a newer load than it holds: a late
    call (a new load) is unified; a call it holds, edited in the raw table without a new load, is left as it is."""
    _, last_day = first_refresh
    lookback_day = (date.fromisoformat(last_day) - timedelta(days=2)).isoformat()
    warehouse = tmp_path / "voc.duckdb"
    shutil.copy(load_settings().warehouse, warehouse)
    with warehouse_connection(warehouse) as connection:
        (newest,) = connection.execute("select max(load_id) from intermediate.int_feedback_unified").fetchone()
        (held,) = connection.execute(
            "select call_id from raw_call_center.calls "
            "where cast(timezone('Asia/Shanghai', started_at) as date) = cast(? as date) order by call_id limit 1",
            [lookback_day],
        ).fetchone()
        connection.execute("update raw_call_center.calls set asr_text = '编辑过的原文' where call_id = ?", [held])
        connection.execute(
            "insert into raw_call_center.calls select * replace ('LATE' || call_id as call_id, ? as _dlt_load_id) "
            "from raw_call_center.calls where call_id = ?",
            [f"{float(newest) + 1:.6f}", held],
        )
    env = {**os.environ, "VOC_WAREHOUSE": str(warehouse), "VOC_DBT_START_DATE": last_day,
           "VOC_DBT_END_DATE": (date.fromisoformat(last_day) + timedelta(days=1)).isoformat(), "VOC_DBT_LOOKBACK_DAYS": "3"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--select", "int_feedback_unified",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    with warehouse_connection(warehouse, read_only=True) as connection:
        texts = dict(connection.execute(
            "select feedback_id, text from intermediate.int_feedback_unified where feedback_id in (?, ?)",
            [f"call_center:{held}", f"call_center:LATE{held}"],
        ).fetchall())
    assert texts[f"call_center:LATE{held}"] == "编辑过的原文"
    assert texts[f"call_center:{held}"] != "编辑过的原文"
